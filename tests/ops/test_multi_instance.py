"""Several `catalogue serve` processes on one database (issue 18): exactly one indexes (the
leadership of app/leader.py, seen in /metrics), a write through one is searchable through
the other within 2 s, and when the leader is killed (SIGKILL) the other takes over within
10 s, after which `catalogue search-check` finds no difference; a `catalogue reindex` (a
new generation of the index) in between is read by both. On PostgreSQL with an
Elasticsearch-compatible cluster (osmem), and on SQLite with the embedded index.

The 2 s and 10 s are the issue's requirements; they are polled with a deadline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.db import for_writing
from app.security import create_key
from tests.conftest import _postgres_database, build_database

ROOT = Path(__file__).resolve().parent.parent.parent
API = "/api/v1"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=self._out,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                urllib.request.urlopen(self.url("/healthz"), timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"no answer: {self.log.read_text()[-3000:]}")

    def leads(self) -> bool | None:
        """catalogue_indexer_leader from /metrics (None: the process does not answer)."""
        try:
            text = urllib.request.urlopen(self.url("/metrics"), timeout=2).read().decode()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("catalogue_indexer_leader "):
                return float(line.split()[1]) == 1.0
        return False

    def get(self, path: str) -> Any:
        return json.load(urllib.request.urlopen(self.url(path), timeout=5))

    def put(self, path: str, body: dict[str, Any], key: str) -> Any:
        request = urllib.request.Request(
            self.url(path),
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        return json.load(urllib.request.urlopen(request, timeout=10))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


def _until(predicate: Any, timeout: float, what: str, step: float = 0.1) -> float:
    """Seconds it took for ``predicate`` to hold; fails after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(step)
    return time.monotonic() - start


def _search(instance: Instance, q: str) -> list[dict[str, Any]]:
    return instance.get(f"{API}/search?q={urllib.parse.quote(q)}&limit=50")["hits"]


def _set_alias(instance: Instance, basic: str, alias: str, key: str) -> None:
    entry = instance.get(f"{API}/catalogue-entries/{basic}")
    put = {
        k: entry[k]
        for k in ("name", "item_type", "domain", "parent_basic_code", "legal_basis")
        if k in entry
    }
    put["handling_items"] = entry.get("handling_items", [])
    put["aliases"] = [*entry.get("aliases", []), alias]
    assert alias in instance.put(f"{API}/catalogue-entries/{basic}", put, key)["aliases"]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(params=["postgresql+osmem", "sqlite+embedded"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[dict[str, str], Engine]]:
    """A seeded database, a search backend, the environment of the processes sharing them."""
    env = {
        **os.environ,
        "CATALOGUE_LOG_LEVEL": "INFO",
        "CATALOGUE_WEBHOOKS": "false",
        "CATALOGUE_SEARCH_INDEXER": "true",
    }
    with ExitStack() as stack:
        if request.param.startswith("postgresql"):
            if not os.environ.get("CATALOGUE_TEST_DATABASE_URL"):
                pytest.skip("PostgreSQL tests need CATALOGUE_TEST_DATABASE_URL")
            databases = _postgres_database()
            url = next(databases)
            stack.callback(lambda: list(databases))  # drops the database
            from osmem_server import OsmemServer

            server = OsmemServer.start(japanese=False)
            stack.callback(server.close)
            env["CATALOGUE_SEARCH_URL"] = server.url
        else:
            url = f"sqlite:///{tmp_path / 'catalogue.db'}"
            env["CATALOGUE_SEARCH_URL"] = ""
        env["CATALOGUE_DATABASE_URL"] = url
        engine = build_database(url)
        stack.callback(engine.dispose)
        built = _cli(env, "reindex")
        assert built.returncode == 0, built.stderr[-2000:]
        yield env, engine


def test_one_indexer_a_write_searchable_everywhere_and_a_takeover(
    deployment: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    env, engine = deployment
    with Session(for_writing(engine)) as session:
        key = create_key(session, name="multi-instance", role="admin")
        session.commit()
    instances = [Instance(env, tmp_path / f"serve-{n}.log") for n in range(2)]
    try:
        for instance in instances:
            instance.wait_ready()
        _until(lambda: sum(bool(i.leads()) for i in instances) == 1, 10, "a leader")
        time.sleep(1.5)  # three more rounds of trying: still exactly one
        leads = [i.leads() for i in instances]
        assert leads.count(True) == 1, leads
        leader = instances[leads.index(True)]
        other = instances[1 - leads.index(True)]
        assert "this process (pid" in leader.log.read_text()
        assert "this process (pid" not in other.log.read_text()

        # a write through each: searchable through the other within 2 s
        basics = [h["basic_code"] for h in _search(leader, "机动车驾驶证初次申领")[:1]] + [
            h["basic_code"] for h in _search(leader, "结婚登记")[:1]
        ]
        for (source, target), basic, alias in zip(
            ((leader, other), (other, leader)), basics, ("蓝本本", "红本本"), strict=True
        ):
            assert not any(h["basic_code"] == basic for h in _search(target, alias))
            _set_alias(source, basic, alias, key)
            _until(
                lambda t=target, b=basic, a=alias: any(h["basic_code"] == b for h in _search(t, a)),
                2,
                f"{alias} searchable through the other instance",
            )

        # a new generation of the index (`catalogue reindex` from a third process): both
        # instances read it, the leader writes to it
        rebuilt = _cli(env, "reindex")
        assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
        _set_alias(leader, basics[0], "紫本本", key)
        _until(
            lambda: any(h["basic_code"] == basics[0] for h in _search(other, "紫本本")),
            2,
            "a write after the reindex searchable through the other instance",
        )

        # the leader dies: the other takes over within 10 s
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait()
        took = _until(lambda: other.leads() is True, 10, "the takeover")
        print(f"takeover after {took:.2f} s")
        basic = _search(other, "居民身份证首次申领")[0]["basic_code"]
        _set_alias(other, basic, "绿本本", key)
        _until(
            lambda: any(h["basic_code"] == basic for h in _search(other, "绿本本")),
            5,
            "a write after the takeover searchable",
        )
        check = _cli(env, "search-check", "--no-repair")
        assert check.returncode == 0, check.stdout + check.stderr[-2000:]
        report = json.loads(check.stdout.strip().splitlines()[-1])
        assert report["missing"] == report["stale"] == report["extra"] == 0, report
    finally:
        for instance in instances:
            instance.stop()


def test_catalogue_index_takes_the_same_leadership(tmp_path: Path) -> None:
    """`catalogue index --once` indexes only while no other process leads."""
    from app.leader import Leadership
    from app.search.indexer import LEADERSHIP

    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    engine = build_database(url)
    env = {**os.environ, "CATALOGUE_DATABASE_URL": url, "CATALOGUE_SEARCH_URL": ""}
    held = Leadership(engine, LEADERSHIP)
    assert held.acquire()
    try:
        busy = _cli(env, "index", "--once")
        assert busy.returncode == 0, busy.stderr[-2000:]
        assert "another process indexes now" in busy.stdout
    finally:
        held.release()
    done = _cli(env, "index", "--once")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("applied ")
    engine.dispose()
