"""Fixtures and helpers of the webhook tests: a seeded database of the module's own where
writes commit, the app on it, a real HTTP receiver on 127.0.0.1 (a ThreadingHTTPServer
that can stop listening and come back on the same port) and the dispatcher in a thread."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.catalogue.reads import PooledSnapshots
from app.config import get_settings
from app.db import for_writing
from app.push.addresses import AllowList
from app.push.dispatcher import SIGNATURE, Dispatcher, DispatchSettings
from app.search.indexer import wait_for
from app.security import create_key
from tests.conftest import _postgres_database, build_database
from tests.helpers import API, committing_app

SECRET = "whsec-test-0123456789abcdef"
FAST = DispatchSettings(
    poll_interval=0.05,
    timeout=2.0,
    deadline=3.0,
    backoff_base=0.05,
    backoff_cap=0.2,
    pause_after=3600,
    batch=10,
    allow=AllowList.parse("127.0.0.1"),
)


# --- the database, the app, the receiver ---------------------------------------------


@pytest.fixture(scope="module")
def hook_engine(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    databases = (
        iter([f"sqlite:///{tmp_path_factory.mktemp('hooks') / 'hooks.db'}"])
        if db_url.startswith("sqlite")
        else _postgres_database()
    )
    engine = build_database(next(databases))
    yield engine
    engine.dispose()
    for _ in databases:  # drops the PostgreSQL database
        pass


@contextmanager
def allowing(monkeypatch: pytest.MonkeyPatch, hosts: str) -> Iterator[None]:
    before = os.environ.get("CATALOGUE_WEBHOOK_ALLOW_HOSTS")
    monkeypatch.setenv("CATALOGUE_WEBHOOK_ALLOW_HOSTS", hosts)
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            monkeypatch.delenv("CATALOGUE_WEBHOOK_ALLOW_HOSTS")
        else:
            monkeypatch.setenv("CATALOGUE_WEBHOOK_ALLOW_HOSTS", before)
        get_settings.cache_clear()


@pytest.fixture
def api(hook_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app on the module's database, requests committing for real."""
    with allowing(monkeypatch, "127.0.0.1"):
        app = committing_app(hook_engine, PooledSnapshots(hook_engine))
        with TestClient(app) as client:
            yield client


_n = iter(range(1_000_000))


def key(engine: Engine, role: str, **scope: Any) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        secret = create_key(session, name=f"hooks-{role}-{next(_n)}", role=role, **scope)
        session.commit()
    return {"Authorization": f"Bearer {secret}"}


class Receiver:
    """A webhook receiver: records every request and what it answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        self.status = 200
        #: seconds before answering
        self.delay = 0.0
        #: seconds between the bytes of the answer (0: all at once): each byte comes well
        #: within a read timeout, the whole answer never does
        self.trickle = 0.0
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.status
                with receiver.lock:
                    receiver.requests.append((status, dict(self.headers), body))
                time.sleep(receiver.delay)
                if receiver.trickle:
                    self._trickle(f"HTTP/1.1 {status} OK\r\nContent-Length: 0\r\n\r\n")
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _trickle(self, answer: str) -> None:
                self.close_connection = True
                for byte in answer.encode():
                    try:
                        self.wfile.write(bytes([byte]))
                    except OSError:  # the sender gave up
                        return
                    time.sleep(receiver.trickle)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Not listening at all: connections are refused."""
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def accepted(self) -> list[dict[str, Any]]:
        """The bodies it answered 2xx, in arrival order."""
        with self.lock:
            return [orjson.loads(b) for s, _, b in self.requests if 200 <= s < 300]

    def accepted_changes(self) -> list[dict[str, Any]]:
        return [c for body in self.accepted() for c in body["changes"]]

    def last_seq(self) -> int:
        bodies = self.accepted()
        return bodies[-1]["last_seq"] if bodies else -1


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    if r.server is not None:
        r.stop()


@contextmanager
def dispatching(engine: Engine, settings: DispatchSettings = FAST) -> Iterator[Dispatcher]:
    dispatcher = Dispatcher(engine, settings)
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        yield dispatcher
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


# --- helpers -------------------------------------------------------------------------


def subscribe(api: TestClient, admin: dict[str, str], url: str, **extra: Any) -> dict[str, Any]:
    resp = api.post(
        f"{API}/subscriptions", json={"url": url, "secret": SECRET, **extra}, headers=admin
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def live_codes(engine: Engine, n: int, region: str = "") -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(Implementation.code)
                .where(Implementation.status == "1", Implementation.region_code.startswith(region))  # type: ignore[attr-defined]
                .order_by(Implementation.code)
                .limit(n)
            )
        )


def make_changes(api: TestClient, admin: dict[str, str], codes: list[str], n: int) -> None:
    for i in range(n):
        code = codes[i % len(codes)]
        resp = api.patch(
            f"{API}/items/{code}", json={"local_code": f"WH-{time.time_ns()}-{i}"}, headers=admin
        )
        assert resp.status_code == 200, resp.text


def feed(api: TestClient, after: int) -> list[dict[str, Any]]:
    resp = api.get(f"{API}/changes", params={"after": after, "limit": 1000})
    assert resp.status_code == 200, resp.text
    return resp.json()["changes"]


def head(api: TestClient) -> int:
    return api.get(f"{API}/changes", params={"after": 0, "limit": 1}).json()["head_seq"]


def verify(headers: dict[str, str], body: bytes) -> None:
    """What a receiver does: recompute the signature and compare in constant time."""
    parts = dict(p.split("=", 1) for p in headers[SIGNATURE].split(","))
    mac = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], mac.hexdigest()), "bad signature"
    assert abs(time.time() - int(parts["t"])) < 60


def until(predicate: Any, what: str, timeout: float = 30.0) -> None:
    assert wait_for(predicate, timeout=timeout), f"timed out waiting for {what}"


def sub_of(api: TestClient, admin: dict[str, str], sid: int) -> dict[str, Any]:
    resp = api.get(f"{API}/subscriptions/{sid}", headers=admin)
    assert resp.status_code == 200, resp.text
    return resp.json()


def deliveries(api: TestClient, admin: dict[str, str], sid: int) -> list[dict[str, Any]]:
    resp = api.get(f"{API}/subscriptions/{sid}/deliveries", params={"limit": 1000}, headers=admin)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]
