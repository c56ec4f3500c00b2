"""Fixtures and helpers of the effective-day tests: a seeded database of the test's own
where writes commit, the app on it with the production read path and a search index of its
own, the clock frozen at noon in the province two days ahead (after every version the seed
recorded), and an admin key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from app import clock
from app.catalogue.models import Implementation
from app.db import for_writing
from app.http.readpath import ReadPath
from app.search.backends.embedded import TantivyBackend
from app.search.indexer import Indexer
from app.search.service import SearchService
from app.security import create_key
from app.versionlog import RecordVersion
from tests.catalogue.test_lifecycle import event
from tests.helpers import API, committing_app


@dataclass
class World:
    engine: Engine
    client: TestClient
    admin: dict[str, str]
    indexer: Indexer

    def decide(self, code: str, kind: str, on: date, **extra: Any) -> dict[str, Any]:
        resp = self.client.post(
            f"{API}/items/{code}/{kind}", json=event(on, **extra), headers=self.admin
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    def item(self, code: str, **headers: str) -> Any:
        # uncoded: the tags compared are the versions' own (a gzip-coded answer's is weak)
        return self.client.get(
            f"{API}/items/{code}", headers={"Accept-Encoding": "identity", **headers}
        )

    def head(self) -> int:
        return self.client.get(f"{API}/changes", params={"limit": 1}).json()["head_seq"]

    def changes_after(self, seq: int) -> list[dict[str, Any]]:
        return self.client.get(f"{API}/changes", params={"after": seq}).json()["changes"]

    def digest(self) -> str:
        return self.client.get(f"{API}/sync/digest").json()["hash"]


@pytest.fixture
def start() -> datetime:
    """Noon in the province two days from now: after every version the seed recorded."""
    return clock.start_of(clock.today() + timedelta(days=2)) + timedelta(hours=4)


@pytest.fixture
def world(own_engine: Engine, tmp_path: Path, start: datetime) -> Iterator[World]:
    with clock.frozen(start):
        app = committing_app(own_engine, ReadPath(own_engine, keep=2, most=2, validator_poll=0.05))
        app.state.search = SearchService(TantivyBackend(tmp_path / "index"))
        indexer = Indexer(app.state.search)
        with Session(own_engine) as session:
            indexer.rebuild(session)
            session.commit()
        with Session(for_writing(own_engine)) as session:
            secret = create_key(session, name="effective-admin", role="admin")
            session.commit()
        with TestClient(app) as client:
            yield World(own_engine, client, {"Authorization": f"Bearer {secret}"}, indexer)
        app.state.snapshots.close()


def active_items(engine: Engine, level: str, n: int) -> list[Implementation]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(Implementation)
                .where(Implementation.level == level, Implementation.status == "1")
                .order_by(Implementation.code)
                .limit(n)
            ).scalars()
        )


def days_of(engine: Engine, code: str) -> list[tuple[int, str, date, dict[str, Any]]]:
    """The item's takes_effect versions: (version, event taking effect, date, details)."""
    with Session(engine) as session:
        rows = session.execute(
            select(RecordVersion.version, RecordVersion.effective_date, RecordVersion.details)
            .where(
                RecordVersion.kind == "item",
                RecordVersion.code == code,
                RecordVersion.event == "takes_effect",
            )
            .order_by(RecordVersion.version)
        ).all()
    return [(v, d["event"], on, d) for v, on, d in rows]
