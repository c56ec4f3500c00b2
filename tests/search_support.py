"""Fixtures of the search tests: a real embedded index, a real osmem-server over HTTP, and
a TCP proxy in front of it that can be stopped (the backend is down) and started again."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.catalogue.items import patch_item
from app.catalogue.models import Implementation
from app.search.backends.elastic import ElasticsearchBackend
from app.search.backends.embedded import TantivyBackend
from app.search.indexer import Indexer
from app.search.service import SearchService
from app.security import Principal
from app.versionlog import ChangeLog


class Proxy:
    """Forwards 127.0.0.1:<port> to a target; ``stop()`` refuses connections (and cuts the
    open ones) as a stopped cluster would, ``start()`` serves again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._listener:
            with contextlib.suppress(OSError):  # wakes the accepting thread
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(OSError):
                    c.close()
            self._conns = []


ES_ENV = "CATALOGUE_TEST_ES_URL"


@pytest.fixture(scope="session")
def osmem_base_url() -> Iterator[str]:
    """One osmem-server (the in-memory Elasticsearch/OpenSearch API) for the whole run, or
    the real cluster at ``CATALOGUE_TEST_ES_URL`` when that is set."""
    if os.environ.get(ES_ENV):
        yield os.environ[ES_ENV].rstrip("/")
        return
    from osmem_server import OsmemServer

    server = OsmemServer.start(japanese=False)
    yield server.url
    server.close()


_alias_counter = iter(range(1, 10**9))
_run = uuid.uuid4().hex[:6]


def fresh_es(url: str) -> ElasticsearchBackend:
    """A backend on an alias of its own, so tests do not see each other's documents."""
    return ElasticsearchBackend(url, alias=f"test-{_run}-{next(_alias_counter)}-items")


def change_head(session: Session) -> int:
    return int(session.exec(select(func.max(ChangeLog.seq))).one() or 0)


@pytest.fixture(scope="session")
def seed_index(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The seed catalogue indexed once per database backend; tests copy the directory."""
    path = tmp_path_factory.mktemp("seed-index")
    with Session(engine) as session:
        indexer = Indexer(SearchService(TantivyBackend(path)))
        indexer.rebuild(session)
        head = change_head(session)
        session.rollback()  # the position is set per test, in its own transaction
    return path, head


def attach(session: Session, client: TestClient, svc: SearchService, head: int) -> Indexer:
    client.app.state.search = svc  # type: ignore[attr-defined]
    indexer = Indexer(svc)
    indexer.position(session).last_seq = head
    session.flush()
    return indexer


@pytest.fixture
def embedded(
    session: Session, client: TestClient, seed_index: tuple[Path, int], tmp_path: Path
) -> Indexer:
    """The app searching a copy of the seed's embedded index; ``.run_once(session)``
    applies the test's writes."""
    src, head = seed_index
    shutil.copytree(src, tmp_path / "index")
    return attach(session, client, SearchService(TantivyBackend(tmp_path / "index")), head)


def codes_in_force(engine: Engine, n: int) -> list[str]:
    """The first ``n`` items in use, by code."""
    with Session(engine) as session:
        return list(
            session.execute(
                select(Implementation.code)
                .where(Implementation.status == "1")
                .order_by(Implementation.code)
                .limit(n)
            ).scalars()
        )


def commit_conditions(engine: Engine, code: str, words: str) -> int:
    """Commit new 受理条件 of an item (words a search finds), as an admin; its new version."""
    with Session(engine) as session:
        doc = patch_item(
            session,
            code,
            {"guide": {"conditions": [words]}},
            Principal(name="test-admin", role="admin"),
        )
        session.commit()
        return int(doc["version"])


def codes_found(svc: SearchService, engine: Engine, q: str) -> list[str]:
    """The codes a province-wide search for ``q`` (items in use, first 20) finds, after the
    service has looked at its index again."""
    with Session(engine) as session:
        svc.refresh()
        found = svc.search(
            session, q=q, region=None, department=None, item_type=None, audience=None,
            theme=None, online=None, status="1", cursor=None, limit=20,
        )  # fmt: skip
        session.rollback()
    return [h["code"] for h in found["hits"]]
