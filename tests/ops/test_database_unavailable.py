"""The database going away (a PostgreSQL restart, an operator's shutdown, a server nobody
listens at) is a 503 problem with ``Retry-After``, which nginx passes on (or a stale cached copy) and a
client retries after the pause: never a 500. For the item read answered ahead of the
router (its own connections, app/http/readpath.py), a list, a write and a page; and once the
database is back, the same app answers again without a restart.

The app is the production one (``create_app`` on ``CATALOGUE_DATABASE_URL``: its engine,
its read path). SQLite has no server to go away: these run on PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.config import get_settings
from app.db import for_writing, get_engine, unavailable
from app.main import create_app
from app.security import create_key
from tests.helpers import API

GONE = "https://service-catalogue.example/problems/database-unavailable"


def _postgres(engine: Engine) -> str:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to go away")
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def production_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``make(url)``: the app as ``catalogue serve`` builds it, on the database at ``url``."""
    made: list[Any] = []

    def make(url: str) -> Any:
        monkeypatch.setenv("CATALOGUE_DATABASE_URL", url)
        get_settings.cache_clear()
        get_engine.cache_clear()
        app = create_app()
        made.append(app)
        return app

    yield make
    for app in made:
        app.state.snapshots.close()
    get_engine().dispose()
    monkeypatch.undo()
    get_settings.cache_clear()
    get_engine.cache_clear()


def _admin_key(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        secret = create_key(session, name="outage-admin", role="admin")
        session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _first_item(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT code FROM implementation WHERE status = '1' ORDER BY code LIMIT 1")
        ).scalar_one()


def _requests(client: TestClient, code: str, key: dict[str, str], visits: int) -> dict[str, Any]:
    """One of each kind: the hot item read, the item through the router, a list, a write,
    a page."""
    return {
        "item": client.get(f"{API}/items/{code}"),
        "item as of today": client.get(f"{API}/items/{code}", params={"lang": "zh"}),
        "list": client.get(f"{API}/items", params={"limit": 5}),
        "write": client.patch(
            f"{API}/items/{code}", json={"guide": {"visits": visits}}, headers=key
        ),
        "page": client.get(f"/items/{code}"),
    }


def _assert_unavailable(answers: dict[str, Any]) -> None:
    for name, resp in answers.items():
        assert resp.status_code == 503, f"{name}: {resp.status_code} {resp.text[:300]}"
        assert resp.headers["content-type"].startswith("application/problem+json"), name
        assert 1 <= int(resp.headers["retry-after"]) <= 30, name
        assert resp.json()["type"] == GONE, name


def _admin(engine: Engine) -> Engine:
    return create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def test_the_database_away_is_503_and_the_app_recovers_when_it_is_back(
    own_engine: Engine, production_app: Any
) -> None:
    url = _postgres(own_engine)
    name = own_engine.url.database
    key, code = _admin_key(own_engine), _first_item(own_engine)
    own_engine.dispose()
    admin = _admin(own_engine)
    with TestClient(production_app(url)) as client:
        before = client.get(f"{API}/items/{code}").json()
        up = _requests(client, code, key, visits=before["guide"]["visits"] % 9 + 1)
        assert {n: r.status_code for n, r in up.items()} == dict.fromkeys(up, 200)
        version = up["write"].json()["version"]

        # what a restart does: every connection cut, no new one accepted for a while
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
        try:
            _assert_unavailable(_requests(client, code, key, visits=version % 9 + 1))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()

        back = _requests(client, code, key, visits=version % 9 + 1)
        assert {n: r.status_code for n, r in back.items()} == dict.fromkeys(back, 200), {
            n: r.text[:200] for n, r in back.items() if r.status_code != 200
        }
        # the refused write left nothing: the one after it is the next version
        assert back["write"].json()["version"] == version + 1


def _port_nobody_listens_at() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def test_an_unreachable_server_is_503(own_engine: Engine, production_app: Any) -> None:
    _postgres(own_engine)
    key, code = _admin_key(own_engine), _first_item(own_engine)
    nowhere = own_engine.url.set(port=_port_nobody_listens_at())
    with TestClient(production_app(nowhere.render_as_string(hide_password=False))) as client:
        _assert_unavailable(_requests(client, code, key, visits=1))


def test_what_counts_as_the_database_away(own_engine: Engine) -> None:
    """Real errors of a real server: the outages are, a refused statement is not."""
    _postgres(own_engine)
    conninfo = own_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = _admin(own_engine)

    victim = psycopg.connect(conninfo, autocommit=True)
    pid = victim.info.backend_pid
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    terminated = _raised(lambda: victim.execute("SELECT 1"))
    assert isinstance(terminated, psycopg.errors.AdminShutdown) and unavailable(terminated)
    assert unavailable(_raised(lambda: victim.execute("SELECT 1")))  # closed since
    nowhere = own_engine.url.set(port=_port_nobody_listens_at())
    refused = _raised(lambda: create_engine(nowhere).connect())
    assert isinstance(refused, DBAPIError) and unavailable(refused)

    small = create_engine(own_engine.url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    with small.connect():
        assert unavailable(_raised(small.connect))  # the pool's timeout
    with small.connect() as conn:
        assert not unavailable(_raised(lambda: conn.execute(text("SELECT nonsense"))))
    with small.connect() as conn:
        conn.execute(text("SET statement_timeout = 10"))
        assert not unavailable(_raised(lambda: conn.execute(text("SELECT pg_sleep(1)"))))
    small.dispose()
    admin.dispose()


def _raised(call: Any) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("no error")
