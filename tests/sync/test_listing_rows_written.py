"""A listing import writes its 待完善 items a batch at a time (app/catalogue/item_rows.py):
each item's first version is the one the single write path records for the same row, its
content hash is the one a bulk resend is compared with, and a code issued before is refused
without keeping the rest of the batch from being written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, delete, select
from sqlmodel import Session, col

from app import clock
from app.catalogue.documents import content_hash, document_content, item_document
from app.catalogue.history import lifecycle_events, overlay
from app.catalogue.models import Implementation
from app.sync.listing_write import import_listing
from app.versionlog import RecordVersion
from tests.conftest import _postgres_database, build_database


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    urls = (
        iter([f"sqlite:///{tmp_path}/rows.db"])
        if request.param == "sqlite"
        else _postgres_database()
    )
    built = build_database(next(urls))
    try:
        yield built
    finally:
        built.dispose()
        for _ in urls:  # drops the PostgreSQL database
            pass


def row(local: str, name: str) -> dict[str, Any]:
    return {
        "id": local,
        "name": name,
        "department": "区公安分局",
        "group": None,
        "type": "行政确认",
        "task_type_code": "7",
        "item_code": f"{local}-511602000000-000-11511300008778693M-1-00",
        "region_code": "511602",
        "guide_url": "http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail",
        "duplicate_of_previous": False,
    }


ROWS = [
    row("511F09014007", "户口恢复"),
    row("511F09014008", "户口变更"),
    row("511F09014009", "户口注销"),
]


LISTED = col(Implementation.source_system) == "sczwfw"
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def imported(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, Any]:
    with clock.frozen(AT):
        return import_listing(lambda: Session(engine), list(enumerate(rows, 1)), name="rows")


def test_each_item_is_recorded_as_the_single_write_path_records_it(engine: Engine) -> None:
    out = imported(engine, ROWS)
    assert (out["created"], out["rejected"], out["identities"]) == (3, 0, 3)
    with Session(engine) as session, clock.frozen(AT):
        items = session.execute(select(Implementation).where(LISTED)).scalars().all()
        assert len(items) == 3
        for item in items:
            version = session.execute(
                select(RecordVersion).where(RecordVersion.code == item.code)
            ).scalar_one()
            # what record_item composes from the stored rows, with the history's events
            doc = item_document(session, item)
            overlay(doc, lifecycle_events(session, item.code), clock.today())
            assert orjson.loads(version.snapshot) == doc
            assert (version.event, version.status_after, version.next_change) == (
                "create",
                "7",
                None,
            )
            assert item.status == "7" and item.version == 1
            assert item.content_hash == content_hash(document_content(doc))
    again = imported(engine, ROWS)
    assert (again["created"], again["unchanged"]) == (0, 3)


def test_a_code_issued_before_is_refused_and_the_rest_of_the_batch_is_written(
    engine: Engine,
) -> None:
    assert imported(engine, ROWS[:1])["created"] == 1
    with Session(engine) as session:
        # the item goes (as if it had never been held here); its code stays issued
        taken = session.execute(select(Implementation.code).where(LISTED)).scalar_one()
        session.execute(delete(RecordVersion).where(RecordVersion.code == taken))
        session.execute(delete(Implementation).where(LISTED))
        session.commit()
    out = imported(engine, ROWS)
    assert (out["created"], out["rejected"], out["identities"]) == (2, 1, 2)
    assert [(line["row"], line["rule"]) for line in out["report"]] == [(1, "code-already-issued")]
    with Session(engine) as session:
        codes = set(session.execute(select(Implementation.code).where(LISTED)).scalars())
        assert len(codes) == 2 and taken not in codes
