"""`catalogue reindex` beside a running indexer: a change the leader applied to the old index
just before the swap, whose position the leader writes only after the rebuild, still ends
up in the new index (on SQLite and PostgreSQL, with the embedded index)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.catalogue.items import patch_item
from app.catalogue.models import Implementation
from app.catalogue.reads import SessionSnapshots, get_item_json
from app.search.backends.embedded import TantivyBackend
from app.search.indexer import Indexer
from app.search.service import SearchService
from app.security import Principal
from app.versionlog import ChangeLog

ADMIN = Principal(name="test-admin", role="admin")


def _visits_changed(engine: Engine) -> tuple[str, int]:
    """Commit a change of one item; its code and new version."""
    with Session(engine) as session:
        code = session.execute(
            select(Implementation.code).where(Implementation.status == "1").limit(1)
        ).scalar_one()
        current = orjson.loads(get_item_json(SessionSnapshots(session), code)[1])
        visits = 2 if current["guide"].get("visits") != 2 else 1
        doc = patch_item(session, code, {"guide": {"visits": visits}}, ADMIN)
        session.commit()
        return code, doc["version"]


def test_reindex_keeps_a_change_the_leader_applied_to_the_old_index(
    own_engine: Engine, tmp_path: Path
) -> None:
    engine = own_engine
    backend = TantivyBackend(tmp_path / "index")
    leader = Indexer(SearchService(backend))
    with Session(engine) as session:
        leader.rebuild(session)
        session.commit()
    while leader.step(engine):
        pass

    other = Indexer(SearchService(backend))  # `catalogue reindex`, another process's view
    real_rebuild = backend.rebuild
    changed: dict[str, Any] = {}

    def rebuild_while_the_leader_indexes(batches: Any) -> None:
        docs = list(batches)  # the build has read the database
        # meanwhile an item changes and the leader indexes it, into the old index...
        changed["code"], changed["version"] = _visits_changed(engine)
        with Session(engine) as session:
            pos = leader.position(session)
            leader._apply(session, pos, 500)  # noqa: SLF001 (the leader's step, phase 1)
            changed["leader_at"] = (pos.last_seq, pos.swept_on)
            session.rollback()
        real_rebuild(docs)  # ...then the new index is swapped in

    backend.rebuild = rebuild_while_the_leader_indexes  # type: ignore[method-assign]
    other.reindex(engine)
    leader._advance(engine, *changed["leader_at"])  # noqa: SLF001 (phase 2, late)
    backend.rebuild = real_rebuild  # type: ignore[method-assign]

    assert backend.versions()[changed["code"]][0] == changed["version"]
    with Session(engine) as session:
        head = session.execute(select(func.max(ChangeLog.seq))).scalar_one()
        assert leader.position(session).last_seq == head
        report = leader.check(session, repair=False)
    assert report.clean, report.as_dict()
