"""HTTP imports (POST /imports) against a real server: the file applied in the background
with the caller's key and scope, its progress and row report by GET, a dry run that answers
the same report and writes nothing, and ``catalogue import --dry-run``."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app.db import make_engine
from app.security import create_key
from bench.common import server, server_process
from tests.conftest import build_database
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('imports')}/catalogue.db"
    build_database(url).dispose()  # the seeded template's copy: not the CLI's seed
    with (
        server(url) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as client,
    ):
        yield client, url


def _key(url: str, role: str, name: str, region: str | None = None) -> dict[str, str]:
    """A key made in-process, as `catalogue keys create` makes it (a CLI start costs
    seconds of imports; the keys are not what this module checks)."""
    engine = make_engine(url)
    with Session(engine) as session:
        secret = create_key(session, name=name, role=role, region=region)
        session.commit()
    engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


def _items(client: httpx.Client, region: str, n: int) -> list[dict[str, Any]]:
    page = client.get("/items", params={"region": region, "limit": n}).json()["items"]
    return [client.get(f"/items/{i['code']}").json() for i in page]


def _ndjson(tmp: Path, docs: list[Any]) -> Path:
    path = tmp / "items.ndjson"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs) + "\n", "utf-8")
    return path


def _wait(client: httpx.Client, job: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = client.get(job["status_url"].removeprefix("/api/v1"), headers=headers).json()
        if now["status"] in ("done", "failed"):
            return now
        time.sleep(0.2)
    raise AssertionError(f"import {job['id']} still {now['status']}")


def _upload(client: httpx.Client, path: Path, headers: dict[str, str], **params: Any) -> Any:
    with path.open("rb") as f:
        return client.post(
            "/imports", files={"file": (path.name, f)}, params=params, headers=headers
        )


def test_an_upload_is_applied_with_the_keys_scope_and_reported(
    served: tuple[httpx.Client, str], tmp_path: Path
) -> None:
    client, url = served
    sync = _key(url, "sync", "city-harbin", "230100")
    docs = _items(client, "230100", 3)
    docs[0]["guide"]["visits"] = 2  # an edit
    docs[1]["materials"][0]["copies"] = 101  # over the bound: rejected
    outside = _items(client, "230600", 1)[0]  # another city's item: outside the key's region
    path = _ndjson(tmp_path, [*docs, outside])
    before = [client.get(f"/items/{d['code']}").json()["version"] for d in docs]

    dry = _upload(client, path, sync, dry_run="true")
    assert dry.status_code == 202, dry.text
    dry_done = _wait(client, dry.json(), sync)
    assert dry_done["status"] == "done" and dry_done["dry_run"] is True
    assert [client.get(f"/items/{d['code']}").json()["version"] for d in docs] == before

    real = _upload(client, path, sync)
    assert real.status_code == 202 and real.headers["location"] == real.json()["status_url"]
    done = _wait(client, real.json(), sync)
    assert done["status"] == "done", done
    assert done["counts"]["updated"] == 1 and done["counts"]["unchanged"] == 1
    assert done["counts"]["rejected"] == 2
    rows = {(r["row"], r["rule"]) for r in done["report"]}
    assert (2, "less_than_equal") in {(r, rule) for r, rule in rows}
    assert any(r == 4 for r, _ in rows)  # the other city's item, by its line in the file
    assert dry_done["report"] == done["report"] and dry_done["counts"] == done["counts"]
    after = [client.get(f"/items/{d['code']}").json()["version"] for d in docs]
    assert after == [before[0] + 1, before[1], before[2]]

    other = _key(url, "sync", "city-daqing", "230600")
    assert (
        client.get(real.json()["status_url"].removeprefix("/api/v1"), headers=other).status_code
        == 404
    )


def test_what_an_upload_may_not_do(served: tuple[httpx.Client, str], tmp_path: Path) -> None:
    client, url = served
    path = _ndjson(tmp_path, [{"a": 1}])
    assert _upload(client, path, {}).status_code == 401
    reviewer = _key(url, "reviewer", "rev", "23")
    assert _upload(client, path, reviewer).status_code == 403
    sync = _key(url, "sync", "city-2", "230100")
    listing = _upload(client, path, sync, profile="listing")
    assert listing.status_code == 403
    odd = tmp_path / "items.txt"
    odd.write_text("x")
    bad = _upload(client, odd, sync)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "file"]


def test_the_command_line_dry_run_writes_nothing(
    served: tuple[httpx.Client, str], tmp_path: Path
) -> None:
    client, url = served
    doc = _items(client, "230100", 1)[0]
    doc["guide"]["visits"] = 3
    path = _ndjson(tmp_path, [doc])
    out = run_cli(url, "import", str(path), "--dry-run")
    assert out.returncode == 0 and "1 updated" in out.stdout, out.stdout + out.stderr
    assert client.get(f"/items/{doc['code']}").json()["version"] == doc["version"]


def test_a_job_whose_process_died_reads_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server running an import is killed (SIGKILL) mid-file: another server on the same
    database answers the job as failed once its heartbeat is older than the setting, with
    the rows applied so far, instead of ``running`` for ever."""
    url = f"sqlite:///{tmp_path}/catalogue.db"
    build_database(url).dispose()  # the seeded template's copy: not the CLI's seed
    monkeypatch.setenv("CATALOGUE_IMPORT_STALE_AFTER", "3")
    with server_process(url) as (port, pid):
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30)
        admin = _key(url, "admin", "ops")
        docs = _items(client, "230100", 100)
        rows = []
        for n in range(25):  # every row an edit: the file takes seconds
            for d in docs:
                rows.append({**d, "guide": {**d["guide"], "visits": 1 + n % 2}})
        sent = _upload(client, _ndjson(tmp_path, rows), admin)
        assert sent.status_code == 202, sent.text[:500]
        job = sent.json()
        status = job["status_url"].removeprefix("/api/v1")
        deadline = time.monotonic() + 30
        while client.get(status, headers=admin).json()["status"] != "running":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        assert client.get(status, headers=admin).json()["heartbeat_at"]
        os.kill(pid, signal.SIGKILL)
        client.close()
    with (
        server(url) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as client,
    ):
        seen = client.get(status, headers=admin).json()
        assert seen["status"] in ("running", "failed")  # within the 3 s, or already past
        time.sleep(3.5)
        gone = client.get(status, headers=admin).json()
        assert gone["status"] == "failed" and gone["finished_at"] is None, gone
        assert "stopped" in gone["error"] and f"{gone['processed']} rows" in gone["error"]
        assert gone["processed"] < len(rows)
