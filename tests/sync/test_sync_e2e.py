"""Two real instances on loopback — the province and a city mirror — each its own uvicorn
process and database; the city follows the province with `catalogue sync pull`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app import clock
from app.config import get_settings
from app.db import make_engine
from app.migrate import upgrade
from app.security import create_key
from app.seed import load_reference
from bench.common import bench_env, server
from tests.conftest import ROOT, build_database
from tests.helpers import run_cli

REGION = "230100"


def cli(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = run_cli(url, *args)
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


class Instances:
    def __init__(
        self,
        province_url: str,
        city_url: str,
        province: httpx.Client,
        city: httpx.Client,
        admin: str,
    ) -> None:
        self.province_url, self.city_url = province_url, city_url
        self.province, self.city = province, city
        self.admin = {"Authorization": f"Bearer {admin}"}

    def pull(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return cli(
            self.city_url,
            "sync",
            "pull",
            "--from",
            str(self.province.base_url),
            "--region",
            REGION,
            "--history",  # every version copied: the copies' histories are compared
            *extra,
            check=False,
        )

    def codes(self) -> list[str]:
        return [
            i["code"]
            for i in self.province.get(
                "/api/v1/sync/digest", params={"region": REGION, "items": True}
            ).json()["items"]
        ]

    def assert_identical(self) -> None:
        p = self.province.get("/api/v1/sync/digest", params={"region": REGION}).json()
        c = self.city.get("/api/v1/sync/digest", params={"region": REGION}).json()
        assert (c["count"], c["hash"]) == (p["count"], p["hash"])
        for code in self.codes():
            mine, theirs = (
                self.city.get(f"/api/v1/items/{code}"),
                self.province.get(f"/api/v1/items/{code}"),
            )
            assert mine.status_code == theirs.status_code == 200
            assert mine.content == theirs.content, code


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    folder = tmp_path_factory.mktemp("two-instances")
    province_url, city_url = f"sqlite:///{folder}/province.db", f"sqlite:///{folder}/city.db"
    # in-process, as `catalogue migrate`, `seed [--reference-only]` and `keys create` do (a
    # CLI start costs seconds of imports): the command this module checks is `sync pull`
    province = build_database(province_url)
    with Session(province) as session:
        admin = create_key(session, name="ops", role="admin")
        session.commit()
    province.dispose()
    upgrade(city_url)
    city = make_engine(city_url)
    with Session(city) as session:
        load_reference(session, Path(get_settings().seed_dir))
        session.commit()
    city.dispose()
    with (
        server(province_url) as p_port,
        server(city_url) as c_port,
        httpx.Client(base_url=f"http://127.0.0.1:{p_port}", timeout=30) as p,
        httpx.Client(base_url=f"http://127.0.0.1:{c_port}", timeout=30) as c,
    ):
        yield Instances(province_url, city_url, p, c, admin)


def event(**extra: Any) -> dict[str, Any]:
    return {
        "decision": {"number": "黑政规〔2026〕12号", "title": "调整决定"},
        "reason": "下放至市级",
        "effective_date": clock.today().isoformat(),
        **extra,
    }


def test_city_follows_province_through_edits_cancellation_and_delegation(
    instances: Instances,
) -> None:
    first = instances.pull()
    assert first.returncode == 0, first.stderr + first.stdout
    assert "digests equal" in first.stdout
    instances.assert_identical()

    p = instances.province
    codes = instances.codes()
    doc = p.get(f"/api/v1/items/{codes[0]}").json()
    materials = [{k: v for k, v in m.items() if k != "position"} for m in doc["materials"]]
    materials[0]["copies"] += 1
    assert (
        p.patch(
            f"/api/v1/items/{codes[0]}", json={"materials": materials}, headers=instances.admin
        ).status_code
        == 200
    )
    assert (
        p.post(
            f"/api/v1/items/{codes[1]}/cancel", json=event(), headers=instances.admin
        ).status_code
        == 200
    )
    provincial = p.get("/api/v1/items", params={"level": "2", "limit": 1}).json()["items"][0]
    harbin = [
        d
        for d in p.get("/api/v1/departments", params={"region": REGION, "limit": 1000}).json()[
            "items"
        ]
        if d["level"] == "3"
    ]
    target = next(
        d
        for d in harbin
        if p.get(f"/api/v1/items/{d['credit_code']}3{provincial['basic_code']}").status_code == 404
    )
    delegated = p.post(
        f"/api/v1/items/{provincial['code']}/delegate",
        json=event(
            mode="delegate",
            handover_date=clock.today().isoformat(),
            to=[{"department": target["credit_code"], "region": REGION}],
        ),
        headers=instances.admin,
    )
    assert delegated.status_code == 200, delegated.text
    new_code = delegated.json()["created"][0]

    second = instances.pull()
    assert second.returncode == 0, second.stderr + second.stdout
    instances.assert_identical()
    city = instances.city
    assert city.get(f"/api/v1/items/{codes[1]}").json()["status"] == "3"
    assert city.get(f"/api/v1/items/{new_code}").json()["status"] == "4"
    assert (
        city.get(f"/api/v1/items/{codes[0]}").json()["materials"][0]["copies"]
        == materials[0]["copies"]
    )
    versions = city.get(f"/api/v1/items/{codes[1]}/versions").json()["items"]
    assert (
        versions[-1]["event"] == "cancel"
        and versions[-1]["decision"]["number"] == "黑政规〔2026〕12号"
    )


def test_a_killed_pull_resumes_without_applying_anything_twice(instances: Instances) -> None:
    assert instances.pull().returncode == 0
    p = instances.province
    codes = instances.codes()
    for n in range(150):
        code = codes[n % 40]
        visits = p.get(f"/api/v1/items/{code}").json()["guide"]["visits"]
        resp = p.patch(
            f"/api/v1/items/{code}",
            json={"guide": {"visits": (visits + 1) % 4}},
            headers=instances.admin,
        )
        assert resp.status_code in (200, 409), resp.text  # 409: a cancelled one
    head = p.get("/api/v1/changes", params={"after": 10**9}).json()["head_seq"]

    db = Path(instances.city_url.removeprefix("sqlite:///"))
    puller = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "sync",
            "pull",
            "--from",
            str(p.base_url),
            "--region",
            REGION,
            "--batch",
            "3",
        ],
        cwd=ROOT,
        env=bench_env(instances.city_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    start = position(db)
    deadline = time.monotonic() + 60
    while position(db) < start + 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(puller.pid, signal.SIGKILL)
    puller.wait()
    stopped = position(db)
    assert start < stopped < head, (start, stopped, head)  # killed in the middle

    resumed = instances.pull()
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    instances.assert_identical()
    with sqlite3.connect(db) as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT kind || code || '/' || version) FROM change_log"
        ).fetchone()
    assert rows == distinct  # no change applied twice
    for code in codes[:40]:
        here = [
            v["version"]
            for v in instances.city.get(
                f"/api/v1/items/{code}/versions", params={"limit": 1000}
            ).json()["items"]
        ]
        there = [
            v["version"]
            for v in p.get(f"/api/v1/items/{code}/versions", params={"limit": 1000}).json()["items"]
        ]
        assert here == there


def position(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT max(last_seq) FROM sync_position").fetchone()
    except sqlite3.OperationalError:
        return 0
    return row[0] or 0
