"""A database restored from an earlier dump while the search index had applied changes of
the lost history: the indexer notices (the index keeps the seq, epoch and fingerprint of
what it applied; the database's own position is restored with the dump), rebuilds from the
change log, says so in one log line and counts it; search then answers as the restored
database (a write after the restore is found; a document of the lost history is gone).

Both databases (SQLite: the file copied back; PostgreSQL: ``CREATE DATABASE … TEMPLATE``
of a copy taken earlier), the embedded index and the Elasticsearch API (osmem)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.catalogue.reads import SessionSnapshots, get_item_json
from app.db import normalise_url
from app.search.backends.embedded import TantivyBackend
from app.search.indexer import Indexer, wait_for
from app.search.service import SearchService
from app.sync.feed import head_seq
from tests.search_support import codes_found, codes_in_force, commit_conditions, fresh_es

pytest_plugins = ["tests.search_support"]


class Dump:
    """An earlier copy of the database, restored over it later (the engine is disposed:
    a restore happens with the application stopped or cut off)."""

    def __init__(self, engine: Engine, tmp_path: Path) -> None:
        self.url = engine.url
        engine.dispose()
        if self.url.get_backend_name() == "sqlite":
            self.copy = str(tmp_path / "dump.db")
            with sqlite3.connect(self.url.database) as src, sqlite3.connect(self.copy) as dst:
                src.backup(dst)
        else:
            self.copy = f"{self.url.database}_dump"
            with self._admin() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.copy}"'))
                conn.execute(text(f'CREATE DATABASE "{self.copy}" TEMPLATE "{self.url.database}"'))

    def _admin(self) -> Any:
        url = make_url(normalise_url(self.url.render_as_string(hide_password=False)))
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        return admin.connect()

    def restore(self, engine: Engine) -> None:
        engine.dispose()
        if self.url.get_backend_name() == "sqlite":
            with sqlite3.connect(self.copy) as src, sqlite3.connect(self.url.database) as dst:
                src.backup(dst)
            return
        with self._admin() as conn:
            conn.execute(text(f'DROP DATABASE "{self.url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.url.database}" TEMPLATE "{self.copy}"'))
            conn.execute(text(f'DROP DATABASE "{self.copy}"'))


def _rebuilds() -> float:
    return (
        REGISTRY.get_sample_value("catalogue_indexer_rebuilds_total", {"reason": "history"}) or 0.0
    )


@pytest.fixture(params=["embedded", "elasticsearch"])
def make_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Any]:
    if request.param == "embedded":
        return lambda: TantivyBackend(tmp_path / "index")
    url = request.getfixturevalue("osmem_base_url")
    backend = fresh_es(url)
    return lambda: backend


def test_the_indexer_rebuilds_an_index_of_a_lost_history(
    own_engine: Engine,
    make_backend: Callable[[], Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = own_engine
    svc = SearchService(make_backend())
    indexer = Indexer(svc)
    indexer.reindex(engine)
    a, b, c = codes_in_force(engine, 3)
    dump = Dump(engine, tmp_path)  # the dump is taken here

    # the lost history: A renamed twice, C once; the index applies it
    commit_conditions(engine, a, "失落历史事项 狮鹫")
    lost_a = commit_conditions(engine, a, "失落历史事项 狮鹫 二")
    commit_conditions(engine, c, "只在失落历史 貔貅")
    while indexer.step(engine):
        pass
    assert codes_found(svc, engine, "狮鹫") == [a]
    with Session(engine) as session:
        assert indexer.other_history(session) is None  # same history: nothing to do

    dump.restore(engine)
    with Session(engine) as session:
        assert "beyond the database's head" in (indexer.other_history(session) or "")
    # the new history reuses the lost one's seqs, with other changes; A at a lower version
    new_a = commit_conditions(engine, a, "恢复之后事项 獬豸")
    for i in range(4):
        commit_conditions(engine, b, f"恢复之后另一事项 {i}")
    assert new_a < lost_a
    with Session(engine) as session:
        assert "is not the one it applied" in (indexer.other_history(session) or "")

    # the indexer keeps running across the restore (a restarted one starts the same way)
    restarted = indexer
    before = _rebuilds()
    stop = threading.Event()
    caplog.set_level(logging.WARNING, logger="app.search.indexer")
    thread = threading.Thread(target=restarted.run_forever, args=(engine, stop), daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: _rebuilds() > before, timeout=60)

        def settled() -> bool:
            with Session(engine) as session:
                clean = restarted.check(session).clean
                session.rollback()
            return clean

        assert wait_for(settled, timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)

    lines = [r.getMessage() for r in caplog.records if "another history" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "rebuilding from the change log" in lines[0] and "Next step" in lines[0]
    assert _rebuilds() == before + 1
    assert codes_found(svc, engine, "獬豸") == [a]
    assert codes_found(svc, engine, "狮鹫") == []
    assert codes_found(svc, engine, "貔貅") == []
    versions = svc.backend.versions()
    assert versions[a][0] == new_a
    with Session(engine) as session:
        assert restarted.other_history(session) is None
        current = orjson.loads(get_item_json(SessionSnapshots(session), c)[1])
        assert "貔貅" not in str(current["guide"])
    # and it keeps indexing the new history
    commit_conditions(engine, b, "恢复之后再写 饕餮")
    while restarted.step(engine):
        pass
    assert codes_found(svc, engine, "饕餮") == [b]


def test_the_mark_is_the_same_in_every_session_time_zone(engine: Engine, tmp_path: Path) -> None:
    """Processes whose sessions read times in other zones (PGTZ, a role's setting) agree on
    the mark: no rebuild of an index of the same history."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no session time zone")
    indexer = Indexer(SearchService(TantivyBackend(tmp_path / "index")))
    marks = []
    for zone in ("UTC", "Asia/Shanghai"):
        with Session(engine) as session:
            session.execute(text(f"SET TIME ZONE '{zone}'"))
            marks.append(indexer.mark(session, head_seq(session)))
            session.rollback()
    assert marks[0]["fingerprint"] and marks[0] == marks[1]
