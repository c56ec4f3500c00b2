"""The snapshot (GET /sync/snapshot) and a mirror that starts from it: the items as
``GET /items/{code}`` reads them with the seq they are consistent with; a copy built from
the snapshot and the feed after its seq has the source's digests; a source restored from an
earlier backup, written to again, is noticed by a mirror that had read further, which loads
the snapshot again, repairs what differs and ends equal (on SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.db import make_engine
from app.migrate import upgrade
from app.security import create_key
from bench.common import ROOT, bench_env, free_port
from tests.conftest import _postgres_database, app_on, build_database
from tests.helpers import API, run_cli


def test_the_snapshot_holds_each_item_as_its_read_with_the_seq(client: TestClient) -> None:
    resp = client.get(f"{API}/sync/snapshot")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    lines = resp.content.split(b"\n")
    assert lines[-1] == b""
    first = orjson.loads(lines[0])
    page = client.get(f"{API}/changes", params={"after": 0, "limit": 1}).json()
    assert first["seq"] == page["head_seq"] and first["epoch"] == page["epoch"]
    items = lines[1:-1]
    assert first["count"] == len(items) > 300
    codes = [orjson.loads(line)["code"] for line in items]
    assert codes == sorted(codes)
    for line, code in list(zip(items, codes, strict=True))[::40]:
        assert client.get(f"{API}/items/{code}").content == line, code
    digest = client.get(f"{API}/sync/digest", params={"items": True}).json()
    assert [i["code"] for i in digest["items"]] == codes

    for kind, key in (("entries", "basic_code"), ("departments", "credit_code"),
                      ("materials", "code"), ("regions", "code")):  # fmt: skip
        got = client.get(f"{API}/sync/snapshot", params={"kind": kind}).content.split(b"\n")
        head, rows = orjson.loads(got[0]), [orjson.loads(x) for x in got[1:-1]]
        assert head["kind"] == kind and head["count"] == len(rows) > 0, kind
        assert all(r[key] for r in rows), kind
    bad = client.get(f"{API}/sync/snapshot", params={"kind": "everything"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "kind"]


# --- a mirror from the snapshot, and a restored source ---------------------------------


@contextmanager
def serving(url: str, port: int) -> Iterator[httpx.Client]:
    """The source served by uvicorn on ``port`` (the same port after a restore: a mirror
    keeps its position by the source's address)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port",
         str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=bench_env(url),
    )  # fmt: skip
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait()


class Database:
    """A database that can be copied aside and put back (a backup and its restore)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def backup(self) -> None:
        if self.url.startswith("sqlite"):
            path = Path(self.url.removeprefix("sqlite:///"))
            shutil.copyfile(path, path.with_suffix(".bak"))
        else:
            self._pg(f'CREATE DATABASE "{self._name()}_bak" TEMPLATE "{self._name()}"')

    def restore(self) -> None:
        if self.url.startswith("sqlite"):
            path = Path(self.url.removeprefix("sqlite:///"))
            for extra in ("-wal", "-shm"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
            shutil.copyfile(path.with_suffix(".bak"), path)
        else:
            name = self._name()
            self._pg(f'DROP DATABASE "{name}" WITH (FORCE)')
            self._pg(f'CREATE DATABASE "{name}" TEMPLATE "{name}_bak"')
            self._pg(f'DROP DATABASE "{name}_bak"')

    def _name(self) -> str:
        return str(make_url(self.url).database)

    def _pg(self, sql: str) -> None:
        admin = create_engine(
            make_url(self.url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(sql))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, str]]:
    """The province (seeded) and the city (only migrated), of one kind."""
    with ExitStack() as stack:
        urls = []
        for name in ("province", "city"):
            if request.param == "sqlite":
                urls.append(f"sqlite:///{tmp_path / name}.db")
            else:
                made = _postgres_database()
                urls.append(next(made))
                stack.callback(lambda made=made: next(made, None))  # drops it
        # in-process (the seeded template's copy, an upgrade): the CLI these tests check is
        # `sync pull`, not `migrate` or `seed`, and each CLI start costs seconds of imports
        build_database(urls[0]).dispose()
        upgrade(urls[1])
        yield Database(urls[0]), urls[1]


def admin_key(url: str) -> dict[str, str]:
    """An admin key made on the database at ``url`` (its engine gone after: a PostgreSQL
    backup copies a database no one is connected to)."""
    engine = make_engine(url)
    with Session(engine) as session:
        secret = create_key(session, name="ops", role="admin")
        session.commit()
    engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


def edit(client: httpx.Client, admin: dict[str, str], n: int, start: int = 0) -> None:
    """``n`` edits of the province's items (a guide's visits, turn by turn)."""
    codes = [i["code"] for i in client.get(f"{API}/sync/digest", params={"items": True})
             .json()["items"]]  # fmt: skip
    done = 0
    for code in codes[start:]:
        doc = client.get(f"{API}/items/{code}").json()
        if doc["status"] != "1":
            continue
        visits = (doc["guide"]["visits"] + 1) % 4
        resp = client.patch(
            f"{API}/items/{code}", json={"guide": {"visits": visits}}, headers=admin
        )
        assert resp.status_code == 200, resp.text
        done += 1
        if done == n:
            return


def pull(city: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(city, "sync", "pull", "--from", url, "--batch", "50", *extra)


def digests(client: httpx.Client, city: str) -> tuple[bytes, bytes]:
    """The province's digest (with each item's hash) and the city's, read by the app in this
    process (the same code a server of the city runs, without seconds of starting one)."""
    theirs = client.get(f"{API}/sync/digest", params={"items": True}).content
    engine = make_engine(city)
    with Session(engine) as session:
        mine = TestClient(app_on(session)).get(f"{API}/sync/digest", params={"items": True})
    engine.dispose()
    assert mine.status_code == 200, mine.text
    return theirs, mine.content


def test_a_mirror_from_the_snapshot_survives_a_restore_of_its_source(
    databases: tuple[Database, str],
) -> None:
    province, city = databases
    admin = admin_key(province.url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    with serving(province.url, port) as source:
        edit(source, admin, 5)
        first = pull(city, url)
        assert first.returncode == 0, first.stderr + first.stdout
        assert "snapshot at seq" in first.stdout and "digests equal" in first.stdout
        # a snapshot, not the history: the feed after its seq had nothing more
        assert "applied 0 of 0 changes" in first.stdout, first.stdout
        edit(source, admin, 3, start=10)
        second = pull(city, url)
        assert "applied 3 of 3 changes" in second.stdout, second.stdout
        assert "digests equal" in second.stdout
    province.backup()  # a backup at this point (the source stopped, as a dump is consistent)

    with serving(province.url, port) as source:
        edit(source, admin, 6, start=20)  # written after the backup: lost by the restore
        ahead = pull(city, url)
        assert ahead.returncode == 0 and "digests equal" in ahead.stdout, ahead.stdout
    province.restore()

    with serving(province.url, port) as source:
        # the restored source writes again: the seqs the mirror read now name other changes,
        # some the same items at the same versions with other content
        edit(source, admin, 9, start=20)
        after = pull(city, url)
        assert after.returncode == 0, after.stderr + after.stdout
        said = [line for line in after.stderr.splitlines() if "feed history changed" in line]
        assert len(said) == 1 and "Next step" in said[0], after.stderr
        repaired = int(said[0].split(" items repaired")[0].rsplit(" ", 1)[1])
        assert repaired >= 6, said[0]  # the items written after the backup, at least
        assert "digests equal" in after.stdout, after.stdout
        theirs, mine = digests(source, city)
        assert theirs == mine

        again = pull(city, url)
        assert again.returncode == 0 and "feed history changed" not in again.stderr
        assert "applied 0 of 0 changes" in again.stdout, again.stdout


def test_a_position_beyond_a_restored_head_is_noticed(
    databases: tuple[Database, str],
) -> None:
    province, city = databases
    admin = admin_key(province.url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # the backup before the source starts: serving a pull writes nothing to it, so this is
    # the state the first pull reads (and no restart between that pull and the edits)
    province.backup()
    with serving(province.url, port) as source:
        assert pull(city, url).returncode == 0
        edit(source, admin, 4)
        assert pull(city, url).returncode == 0
    province.restore()  # the mirror is 4 changes ahead of the restored head
    with serving(province.url, port) as source:
        after = pull(city, url)
        assert after.returncode == 0, after.stderr + after.stdout
        assert "beyond this feed's head" in after.stderr
        assert ": 4 items repaired" in after.stderr, after.stderr
        theirs, mine = digests(source, city)
        assert theirs == mine


def test_a_snapshot_of_many_lines_reads_as_one_moment(client: TestClient) -> None:
    """The first line's seq and count hold for the lines that follow, read in batches."""
    from app.sync import snapshot

    small = client.app.state.snapshots  # type: ignore[attr-defined]
    with small.connection() as db:
        lines = list(snapshot.stream(db, snapshot.SnapshotKind.ITEMS, "23", batch=7))
    body = b"".join(lines).split(b"\n")[:-1]
    head: dict[str, Any] = orjson.loads(body[0])
    assert head["count"] == len(body) - 1 and len(lines) > 10
    assert (
        body[1:]
        == client.get(f"{API}/sync/snapshot", params={"region": "23"}).content.split(b"\n")[1:-1]
    )


def test_the_reference_verifier_checks_a_copy_kept_as_rows(
    client: TestClient, tmp_path: Path
) -> None:
    """docs/verify_digest.py on a copy that keeps each item as a row of re-serialised JSON
    (indented: not the bytes received), built from the snapshot."""
    import importlib.util
    import json
    import sqlite3

    spec = importlib.util.spec_from_file_location(
        "verify_digest", ROOT / "docs" / "verify_digest.py"
    )
    assert spec and spec.loader
    verifier = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verifier)

    lines = client.get(f"{API}/sync/snapshot").content.split(b"\n")[1:-1]
    db = sqlite3.connect(tmp_path / "rows.db")
    db.execute("CREATE TABLE items (code TEXT PRIMARY KEY, doc TEXT)")
    db.executemany(
        "INSERT INTO items VALUES (?, ?)",
        [(d["code"], json.dumps(d, indent=2)) for d in map(json.loads, lines)],
    )
    for region in (None, "2301", "230100"):
        params = {"items": "true", **({"region": region} if region else {})}
        digest = client.get(f"{API}/sync/digest", params=params).json()
        assert verifier.verify(db, digest, region) == [], region
    # one item changed in the copy: named
    code, text = db.execute("SELECT code, doc FROM items ORDER BY code LIMIT 1 OFFSET 3").fetchone()
    doc = json.loads(text)
    doc["name"] += "（副本）"
    db.execute("UPDATE items SET doc = ? WHERE code = ?", (json.dumps(doc), code))
    digest = client.get(f"{API}/sync/digest", params={"items": "true"}).json()
    assert verifier.verify(db, digest) == [code]
    db.close()
