"""The production shape run from processes (deploy/smoke): PostgreSQL, two `catalogue serve`
instances behind the shipped nginx.conf, `catalogue index`, `catalogue worker`; driven as
an on-call engineer meets it, under read and write load through nginx:

1. a rolling release across a migration and a new search index schema: the next release
   (this code, one expand-only migration and the index's next schema version, deploy/smoke
   ``next_release``) migrates while the old instances serve, then each instance, the
   indexer and the worker are replaced one at a time: no request fails (its instances
   search the old index until its indexer has built theirs, then switch; the old index
   goes once the old indexer has), no acknowledged write is lost;
2. the database's connections cut for 10 s: what fails is a 503 with Retry-After, both
   reads and writes answer again within 2 s of its return, no acknowledged write is lost;
3. kill -9 of the indexer, then of the worker: each one's absence shows in an instance's
   /metrics within 30 s (the indexer's lag, the webhook backlog, rising);
4. a restore to an earlier dump with a mirror ahead: the indexer rebuilds the index of the
   lost history by itself, the mirror re-snapshots and ends equal to the restored source.

PostgreSQL only (the shape's database); skipped without nginx."""

from __future__ import annotations

import http.server
import itertools
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.migrate import upgrade
from app.search.backends.base import SCHEMA_VERSION
from app.security import create_key
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _smoke() -> Any:
    loader = SourceFileLoader("deploy_smoke", str(ROOT / "deploy" / "smoke"))
    spec = spec_from_loader("deploy_smoke", loader)
    assert spec is not None
    module = module_from_spec(spec)
    loader.exec_module(module)
    return module


smoke = _smoke()


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that takes every delivery."""

    def do_POST(self) -> None:  # noqa: N802 (the handler's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class PremadeKey(smoke.Shape):
    """The shape with its admin key made in-process beforehand, as `catalogue keys create`
    makes it: a CLI start costs seconds of imports, and the key is not what is checked."""

    def __init__(self, *args: Any, key: str, **settings: str) -> None:
        super().__init__(*args, **settings)
        self.premade = key

    def cli(self, *args: str, release: Path = ROOT) -> str:
        if args[:2] == ("keys", "create"):
            return self.premade + "\n"
        return super().cli(*args, release=release)


@pytest.fixture
def shape(own_engine: Engine, tmp_path: Path) -> Iterator[Any]:
    if own_engine.dialect.name != "postgresql":
        pytest.skip("the production shape runs on PostgreSQL")
    if smoke.NGINX is None:
        pytest.skip("needs nginx (Debian: apt-get install nginx)")
    admin = own_engine.url.set(database="postgres").render_as_string(hide_password=False)
    database = own_engine.url.database
    with Session(own_engine) as session:
        key = create_key(session, name="smoke", role="admin")
        session.commit()
    own_engine.dispose()
    running = PremadeKey(
        admin, tmp_path, database=database, key=key, CATALOGUE_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
        CATALOGUE_SEARCH_PRUNE_AFTER="2",  # the old index goes 2 s after the new caught up
    )  # fmt: skip
    try:
        yield running.start()
    finally:
        running.close()


class Load:
    """Writers (one item each, so the last acknowledged write is what the item holds) and
    readers (the item, a list, a search, a city's poll) through nginx, until stopped."""

    def __init__(self, base: str, key: str, codes: list[str]) -> None:
        self.base, self.key, self.codes = base, key, codes
        self.acked: dict[str, tuple[int, int]] = {}
        self.failures: list[str] = []
        self.refused = 0  # 503 with Retry-After, while they are allowed
        self.allow_503 = False
        self.requests = 0
        self.polls = itertools.count()  # shared: each poll's URL is new
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._write, args=(c,), daemon=True) for c in codes
        ] + [threading.Thread(target=self._read, args=(c,), daemon=True) for c in codes[:2]]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _judge(self, what: str, resp: httpx.Response | None, error: str = "") -> bool:
        self.requests += 1
        if resp is not None and resp.status_code in (200, 304):
            return True
        refused = resp is not None and resp.status_code == 503 and "retry-after" in resp.headers
        if refused and self.allow_503:
            self.refused += 1
            time.sleep(0.3)
            return False
        status = resp.status_code if resp is not None else error
        body = resp.text[:200] if resp is not None else ""
        self.failures.append(f"{what}: {status} {body}")
        return False

    def _call(self, client: httpx.Client, what: str, method: str, url: str, **kw: Any) -> Any:
        try:
            resp = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self._judge(what, None, type(exc).__name__)
            return None
        return resp if self._judge(what, resp) else None

    def _write(self, code: str) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        n = 0
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self.stop.is_set():
                n += 1
                visits = n % 9 + 1
                resp = self._call(
                    client, f"PATCH {code}", "PATCH", f"/api/v1/items/{code}",
                    json={"guide": {"visits": visits}}, headers=headers,
                )  # fmt: skip
                if resp is not None:
                    self.acked[code] = (resp.json()["version"], visits)
                time.sleep(0.05)

    def _read(self, code: str) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self.stop.is_set():
                self._call(client, "GET item", "GET", f"/api/v1/items/{code}")
                self._call(client, "GET list", "GET", "/api/v1/items", params={"limit": 5})
                self._call(client, "GET search", "GET", "/api/v1/search", params={"q": "户口"})
                # a city's poll: never the same URL twice, so nginx's cache never answers
                # it and every one reaches an instance (a 503 there while the database is
                # away must not take the instances out of nginx: writes would be 502s)
                since = f"2020-01-01T00:00:00.{next(self.polls) % 10**6:06d}+08:00"
                self._call(client, "GET poll", "GET", "/api/v1/items",
                           params={"limit": 5, "updated_since": since})  # fmt: skip
                time.sleep(0.05)


def _nothing_lost(shape: Any, load: Load) -> None:
    """Every acknowledged write is in the database: the item is at that version or later
    (a write whose answer was lost to the cut may have landed after it), and at that
    version holds what was written."""
    assert load.acked, "no write was acknowledged"
    with httpx.Client(base_url=shape.instance("app1"), timeout=30) as client:
        for code, (version, visits) in load.acked.items():
            item = client.get(f"/api/v1/items/{code}", headers={"Cache-Control": "no-cache"})
            assert item.status_code == 200, item.text
            assert item.json()["version"] >= version, (code, item.json()["version"], version)
            if item.json()["version"] == version:
                assert item.json()["guide"]["visits"] == visits, code


def _gauge(base: str, name: str) -> float:
    body = httpx.get(base + "/metrics", timeout=10).text
    found = re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.M)
    assert found, f"{name} not in {base}/metrics"
    return sum(float(v) for v in found)


def _settles(base: str, names: tuple[str, ...], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while any(_gauge(base, name) > 0 for name in names):
        assert time.monotonic() < deadline, {n: _gauge(base, n) for n in names}
        time.sleep(0.5)


def _rises_within(base: str, name: str, seconds: float) -> float:
    """The gauge above 0 and, a moment later, higher: the duty is not being done."""
    deadline = time.monotonic() + seconds
    while True:
        first = _gauge(base, name)
        if first > 0:
            time.sleep(2)
            second = _gauge(base, name)
            if second > first:
                return time.monotonic() - (deadline - seconds)
        assert time.monotonic() < deadline, f"{name} did not rise within {seconds} s"
        time.sleep(0.5)


def test_the_production_shape_rolls_survives_and_shows_what_stopped(
    shape: Any, tmp_path: Path
) -> None:
    with httpx.Client(base_url=shape.base, timeout=30) as client:
        rows = client.get("/api/v1/items", params={"limit": 3, "status": "1"}).json()
        codes = [row["code"] for row in rows["items"]]
        receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        sub = client.post(
            "/api/v1/subscriptions",
            json={
                "url": f"http://127.0.0.1:{receiver.server_address[1]}/hook",
                "secret": "smoke-test-secret-0123456789",
            },
            headers={"Authorization": f"Bearer {shape.key}"},
        )
        assert sub.status_code == 201, sub.text
    app1 = shape.instance("app1")
    try:
        with Load(shape.base, shape.key, codes) as load:
            # 1. the next release migrates (expand-only) while this release serves
            release = smoke.next_release(tmp_path / "next-release")
            shape.cli("migrate", release=release)
            for name in ("app1", "app2"):
                ready = httpx.get(shape.instance(name) + "/readyz", timeout=10)
                assert ready.status_code == 200, ready.text  # the old release stays in
                assert ready.json()["schema"]["database"] == "9001"
            for name in ("app1", "app2"):
                # one at a time, as docs/operations.md "Stopping an instance" has it for
                # the shipped nginx (no active checks): out of the upstream, SIGTERM (it
                # drains), the new release, back in. A SIGTERM alone races: a write nginx
                # sends on a connection the stopping instance closes unread is a 502.
                shape.roll(name, release)
            # the next release's instances search the old index while theirs is not built
            ready = httpx.get(app1 + "/readyz", timeout=10).json()
            assert ready["search"]["serves_from"] == SCHEMA_VERSION, ready
            assert ready["search"]["schema"] == SCHEMA_VERSION + 1
            for name in ("index", "worker"):
                shape.stop(name)
                shape.launch(name, release)
            ready = httpx.get(app1 + "/readyz", timeout=10).json()
            assert ready["schema"] == {"database": "9001", "release": "9001"}
            new = {"schema": SCHEMA_VERSION + 1, "serves_from": SCHEMA_VERSION + 1}
            switched = _until(
                lambda: all(httpx.get(shape.instance(n) + "/readyz", timeout=10).json()
                            .get("search") == new for n in ("app1", "app2")), 60,
            )  # fmt: skip
            old_index = shape.workdir / "var" / "search-index" / f"v{SCHEMA_VERSION}"
            pruned = _until(lambda: not old_index.exists(), 30)
            time.sleep(2)
            assert load.failures == [], (load.failures[:3], shape.log_tail("nginx/error"))
            rolled = load.requests

            # 2. the database away for 10 s
            load.allow_503 = True
            shape.cut_database(10)
            back = time.monotonic()
            with httpx.Client(base_url=shape.base, timeout=10) as client:
                while True:
                    read = client.get(
                        f"/api/v1/items/{codes[0]}", headers={"Cache-Control": "no-cache"}
                    )
                    write = client.patch(
                        f"/api/v1/items/{codes[0]}",
                        json={"guide": {"visits": 1}},
                        headers={"Authorization": f"Bearer {shape.key}"},
                    )
                    if read.status_code == write.status_code == 200:
                        break
                    assert time.monotonic() - back < 10, (read.text[:200], write.text[:200])
                    time.sleep(0.1)
            recovery = time.monotonic() - back
            load.allow_503 = False
            time.sleep(1)
        assert load.failures == [], (load.failures[:3], shape.log_tail("nginx/error"))
        assert load.refused > 0  # the cut was met, and answered 503 with Retry-After
        assert recovery <= 2, f"reads and writes answered again after {recovery:.1f} s"
        load.acked[codes[0]] = (write.json()["version"], 1)
        _nothing_lost(shape, load)
        print(f"\nrequests: {rolled} rolling, {load.requests} in all; refused "
              f"during the cut: {load.refused}; recovery {recovery:.2f} s; the new index "
              f"served {switched:.1f} s after its indexer started, the old one dropped "
              f"{pruned:.1f} s later")  # fmt: skip

        # 3. kill -9 of each background process kind: its absence shows within 30 s; first,
        # with the load stopped, both duties (the new release's) catch up to 0
        _settles(app1, ("catalogue_indexer_lag_changes", "catalogue_webhook_backlog_changes"))
        with Load(shape.base, shape.key, codes[:1]):
            shape.kill("index")
            took = _rises_within(app1, "catalogue_indexer_lag_changes", 30)
            print(f"indexer killed: its lag rose in /metrics within {took:.1f} s")
            shape.kill("worker")
            took = _rises_within(app1, "catalogue_webhook_backlog_changes", 30)
            print(f"worker killed: the webhook backlog rose within {took:.1f} s")
    finally:
        receiver.shutdown()


def _conditions(base: str, key: str, code: str, words: str) -> int:
    """PATCH an item's 受理条件 (words a search finds); its new version."""
    resp = httpx.patch(
        f"{base}/api/v1/items/{code}",
        json={"guide": {"conditions": [words]}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return int(resp.json()["version"])


def _found(base: str, q: str) -> list[str]:
    resp = httpx.get(f"{base}/api/v1/search", params={"q": q, "status": "1"}, timeout=30)
    assert resp.status_code == 200, resp.text
    return [hit["code"] for hit in resp.json()["hits"]]


def _until(check: Any, seconds: float) -> float:
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < seconds, f"not within {seconds} s"
        time.sleep(0.3)
    return time.monotonic() - began


def test_a_restore_to_an_earlier_dump_with_a_mirror_ahead(shape: Any, tmp_path: Path) -> None:
    """4. The runbook's restore with no `catalogue reindex`: the indexer rebuilds an index of
    the lost history by itself; a mirror that had pulled the lost history re-snapshots and
    ends equal to the restored source."""
    app1 = shape.instance("app1")
    rows = httpx.get(f"{app1}/api/v1/items", params={"limit": 3, "status": "1"}, timeout=30)
    a, b, c = [row["code"] for row in rows.json()["items"]]
    mirror_dir = tmp_path / "mirror"
    mirror_dir.mkdir()
    mirror_env = {**shape.env(), "CATALOGUE_DATABASE_URL": f"sqlite:///{mirror_dir / 'm.db'}"}

    def mirror(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=mirror_dir, env=mirror_env,
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    upgrade(mirror_env["CATALOGUE_DATABASE_URL"])  # in-process: `sync pull` is checked
    assert mirror("sync", "pull", "--from", app1).returncode == 0

    shape.dump(tmp_path / "catalogue.dump")
    # the lost history: A twice, C once; the index and the mirror follow it
    _conditions(app1, shape.key, a, "失落历史 狮鹫")
    lost_a = _conditions(app1, shape.key, a, "失落历史 狮鹫 二")
    _conditions(app1, shape.key, c, "只在失落历史 貔貅")
    _until(lambda: _found(app1, "貔貅") == [c], 30)
    assert mirror("sync", "pull", "--from", app1).returncode == 0

    shape.restore(tmp_path / "catalogue.dump")
    new_a = _conditions(app1, shape.key, a, "恢复之后 獬豸")
    for i in range(4):  # the new history goes past the lost one's seqs
        _conditions(app1, shape.key, b, f"恢复之后 {i}")
    assert new_a < lost_a
    took = _until(
        lambda: _found(app1, "獬豸") == [a] and _found(app1, "狮鹫") == _found(app1, "貔貅") == [],
        90,
    )
    lines = [ln for ln in shape.log_tail("index").splitlines() if "another history" in ln]
    assert len(lines) == 1, shape.log_tail("index")
    assert _gauge(shape.instance("index"), "catalogue_indexer_rebuilds_total") == 1
    print(f"\nrestore: search equal to the restored database {took:.1f} s after the writes")

    pulled = mirror("sync", "pull", "--from", app1)
    said = pulled.stdout + pulled.stderr
    assert pulled.returncode == 0, said[-2000:]
    assert "feed history changed" in said, said[-2000:]
