"""HTTP caching of public reads (issue 18): Cache-Control, ETag, Last-Modified and Vary on
every public read type, 304s for If-None-Match and If-Modified-Since, private answers for
writes and keyed reads; the read path's conditional item reads and its recovery from
dropped database connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.db import for_writing
from app.http.readpath import ReadPath
from app.security import create_key
from tests.helpers import API, committing_app

pytest_plugins = ["tests.search_support"]

ID_CARD_FIRST = "000701001001"  # 居民身份证首次申领: has situations in the seed


def _first(session: Session, *where: Any) -> str:
    stmt = select(Implementation.code).where(*where).order_by(Implementation.code).limit(1)
    return session.execute(stmt).scalar_one()


def _other_visits(item: dict[str, Any]) -> int:
    """A value of guide.visits other than the item's: a write that makes a new version."""
    return 1 if item["guide"].get("visits") == 0 else 0


def _public_reads(client: TestClient, session: Session, keys: Any) -> list[str]:
    code = _first(session, Implementation.basic_code == ID_CARD_FIRST)
    item = client.get(f"{API}/items/{code}").json()
    # a second version, for the diff
    patched = client.patch(
        f"{API}/items/{code}",
        json={"guide": {"visits": _other_visits(item)}},
        headers={**keys.admin(), "If-Match": f'"{item["version"]}"'},
    )
    assert patched.status_code == 200, patched.text
    version = patched.json()["version"]
    assert version == item["version"] + 1
    region = client.get(f"{API}/regions?limit=1").json()["items"][0]["code"]
    department = client.get(f"{API}/departments?limit=1").json()["items"][0]["credit_code"]
    materials = client.get(f"{API}/materials?limit=1").json()["items"]
    code_list = client.get(f"{API}/code-lists").json()[0]
    urls = [
        f"{API}/items/{code}",
        f"{API}/items?limit=5",
        f"{API}/items/{code}/versions",
        f"{API}/items/{code}/versions/1",
        f"{API}/items/{code}/diff?from=1&to={version}",
        f"{API}/items/{code}/situations",
        f"{API}/adjustments",
        f"{API}/catalogue-entries?limit=5",
        f"{API}/catalogue-entries/{item['basic_code']}",
        f"{API}/search?q=身份证",
        f"{API}/suggest?q=身份",
        f"{API}/regions?limit=5",
        f"{API}/regions/{region}",
        f"{API}/departments?limit=5",
        f"{API}/departments/{department}",
        f"{API}/materials?limit=5",
        f"{API}/code-lists",
        f"{API}/code-lists/{code_list}",
    ]
    if materials:
        urls.append(f"{API}/materials/{materials[0]['code']}")
    return urls


def test_every_public_read_type_is_cacheable_and_answers_304(
    client: TestClient, session: Session, keys: Any, embedded: Any
) -> None:
    for url in _public_reads(client, session, keys):
        first = client.get(url)
        assert first.status_code == 200, (url, first.text)
        control = first.headers["cache-control"]
        if "/versions/" in url:  # a stored version never changes
            assert control == "public, max-age=31536000, immutable", url
        else:
            assert control == "public, max-age=60, stale-while-revalidate=300", url
        assert first.headers["vary"] == "Accept-Encoding", url
        tag = first.headers["etag"]
        assert tag.startswith(('"', 'W/"')), url
        modified = parsedate_to_datetime(first.headers["last-modified"])

        again = client.get(url)
        assert again.headers["etag"] == tag, url  # the same representation, the same tag

        by_tag = client.get(url, headers={"If-None-Match": tag})
        assert by_tag.status_code == 304, url
        assert by_tag.content == b"", url
        assert by_tag.headers["etag"] == tag, url
        assert by_tag.headers["cache-control"] == control, url

        by_date = client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
        assert by_date.status_code == 304, url

        other_tag = client.get(url, headers={"If-None-Match": '"no-such-tag"'})
        assert other_tag.status_code == 200, url
        # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
        both = client.get(
            url,
            headers={
                "If-None-Match": '"no-such-tag"',
                "If-Modified-Since": first.headers["last-modified"],
            },
        )
        assert both.status_code == 200, url
        earlier = format_datetime(modified.replace(year=modified.year - 1), usegmt=True)
        assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200, url


def test_writes_and_keyed_reads_are_private(
    client: TestClient, session: Session, keys: Any
) -> None:
    code = _first(session)
    item = client.get(f"{API}/items/{code}").json()
    write = client.patch(
        f"{API}/items/{code}",
        json={"guide": {"visits": _other_visits(item)}},
        headers={**keys.admin(), "If-Match": f'"{item["version"]}"'},
    )
    assert write.status_code == 200
    assert write.headers["cache-control"] == "private, no-store"
    keyed = client.get(f"{API}/items/{code}", headers=keys.admin())
    assert keyed.status_code == 200
    assert keyed.headers["cache-control"] == "private, no-store"
    inbox = client.get(f"{API}/change-requests", headers=keys.admin())
    assert inbox.headers["cache-control"] == "private, no-store"
    refused = client.post(f"{API}/items", json={})
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "private, no-store"


# --- the read path (what `catalogue serve` reads items with) ------------------------


@pytest.fixture
def served(own_engine: Engine) -> Iterator[tuple[TestClient, Engine]]:
    """The app on a database of its own with the production read path (validators polled
    every 50 ms), requests committing for real."""
    app = committing_app(own_engine, ReadPath(own_engine, keep=2, most=2, validator_poll=0.05))
    with TestClient(app) as client:
        yield client, own_engine
    app.state.snapshots.close()


def _admin(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        secret = create_key(session, name="caching-admin", role="admin")
        session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_conditional_item_reads_on_the_read_path(served: tuple[TestClient, Engine]) -> None:
    client, engine = served
    with Session(engine) as session:
        code = _first(session)
    first = client.get(f"{API}/items/{code}")
    assert first.status_code == 200
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    assert tag.removeprefix("W/") == f'"{first.json()["version"]}"'  # weak: gzip-coded
    assert first.headers["content-type"] == "application/json"
    # the version's own recording time, the same through the router (a query string)
    routed = client.get(f"{API}/items/{code}?via=router")
    assert routed.content == first.content
    assert routed.headers["last-modified"] == modified
    assert routed.headers["etag"] == tag
    for headers in ({"If-None-Match": tag}, {"If-Modified-Since": modified}):
        answer = client.get(f"{API}/items/{code}", headers=headers)
        assert answer.status_code == 304
        assert answer.headers["etag"] == tag
        assert answer.headers["last-modified"] == modified
    # a write by another process (straight to the database, not through this app): the old
    # tag stops matching once the change log shows it, the new version is served
    other = TestClient(_other_app(engine))
    version = int(tag.removeprefix("W/").strip('"'))
    write = other.patch(
        f"{API}/items/{code}",
        json={"guide": {"visits": _other_visits(first.json())}},
        headers={**_admin(engine), "If-Match": tag},
    )
    assert write.status_code == 200, write.text
    deadline = time.monotonic() + 10
    while client.get(f"{API}/items/{code}", headers={"If-None-Match": tag}).status_code == 304:
        assert time.monotonic() < deadline, "the change never reached the validators"
        time.sleep(0.05)
    fresh = client.get(f"{API}/items/{code}", headers={"If-None-Match": tag})
    assert fresh.status_code == 200
    assert fresh.json()["version"] == version + 1
    assert fresh.headers["etag"] == f'W/"{version + 1}"'  # weak: the client takes gzip


def _other_app(engine: Engine) -> Any:
    return committing_app(engine, ReadPath(engine))


def test_the_read_path_recovers_when_the_server_drops_its_connections(
    own_engine: Engine,
) -> None:
    """What a PostgreSQL restart does to pooled connections: every one is closed by the
    server. The next read finds its connection broken, drops the idle ones and reads on a
    new one: no error reaches the client."""
    if own_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop connections")
    path = ReadPath(own_engine, keep=3, most=3)
    with Session(own_engine) as session:
        codes = list(session.execute(select(Implementation.code).limit(3)).scalars())

    async def reads() -> list[Any]:
        return list(await asyncio.gather(*(path.alatest_with_time("item", c) for c in codes)))

    async def scenario() -> None:
        assert all(await reads())  # three async connections open and idle
        assert all(path.latest("item", c) for c in codes)  # and a sync one
        _drop_connections(own_engine)
        assert all(await reads())
        assert path.latest("item", codes[0]) is not None
        assert path.validator("item", codes[0]) is not None

    asyncio.run(scenario())
    assert path.apg is not None and path.apg.reconnects >= 1
    assert path.pg is not None and path.pg.reconnects >= 1
    path.close()


def _drop_connections(engine: Engine) -> None:
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert dropped >= 2
    engine.dispose()  # the engine's own pool: pre-ping would recover it anyway


def test_the_read_path_recovers_after_a_real_postgresql_restart() -> None:
    """A throwaway cluster (initdb/pg_ctl, as .ci/run starts one), restarted between reads."""
    import glob
    import os
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins or os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("needs PostgreSQL's server binaries and root (to run them as postgres)")
    tmp_path = Path(tempfile.mkdtemp(prefix="readpath-pg-"))  # postgres must reach it
    shutil.chown(tmp_path, "postgres")
    pg, data, port = bins[-1], tmp_path / "data", "55439"
    options = f"-p {port} -k {tmp_path} -c listen_addresses=127.0.0.1"

    def ctl(*args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", f"{pg}/pg_ctl", "-D", str(data), "-w", *args],
            check=True,
            capture_output=True,
        )

    subprocess.run(
        ["runuser", "-u", "postgres", "--", f"{pg}/initdb", "-D", str(data), "-A", "trust"],
        check=True,
        capture_output=True,
    )
    ctl("-l", str(tmp_path / "log"), "-o", options, "start")
    try:
        from app.db import make_engine

        engine = make_engine(f"postgresql://postgres@127.0.0.1:{port}/postgres")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE record_version (kind text, code text, version int, "
                    "snapshot text, next_change date, recorded_at timestamptz)"
                )
            )
            conn.execute(
                text("INSERT INTO record_version VALUES ('item', 'A', 1, '{}', NULL, now())")
            )
        path = ReadPath(engine, keep=2, most=2)

        async def scenario() -> None:
            assert (await path.alatest_with_time("item", "A"))[0] == 1  # type: ignore[index]
            assert path.latest("item", "A") == (1, "{}", None)
            ctl("-l", str(tmp_path / "log"), "-o", options, "-m", "fast", "restart")
            assert (await path.alatest_with_time("item", "A"))[0] == 1  # type: ignore[index]
            assert path.latest("item", "A") == (1, "{}", None)

        asyncio.run(scenario())
        assert path.apg is not None and path.apg.reconnects == 1
        assert path.pg is not None and path.pg.reconnects == 1
        path.close()
        engine.dispose()
    finally:
        ctl("-m", "immediate", "stop")
        shutil.rmtree(tmp_path, ignore_errors=True)
