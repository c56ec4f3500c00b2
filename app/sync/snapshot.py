"""The snapshot (快照, GET /sync/snapshot): every implementation of a region as one NDJSON
stream, with the feed position it is consistent with, so that a copy starts from the
catalogue as it is (a size that grows with the catalogue) and continues with
``/changes?after=<seq>`` (instead of replaying all history).

The first line is ``{"seq", "epoch", "count", "kind"}``; then one record a line, in code
order: an implementation exactly as ``GET /items/{code}`` answers it (the stored bytes, so
digests match), or with ``kind`` another kind (entries, departments, materials as the feed
carries them; regions as ``GET /regions`` lists them). Everything is read in one read
transaction (PostgreSQL: REPEATABLE READ, one snapshot for every statement; SQLite: one
deferred transaction, whose first read fixes what it sees), in batches of
:data:`BATCH` records, so memory stays bounded whatever the catalogue's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import Connection, LargeBinary, and_, cast, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.catalogue.models import Implementation
from app.directory.models import Region
from app.directory.schemas import RegionOut
from app.pagination import with_prefix
from app.security import region_prefix
from app.sync.epoch import current_epoch
from app.sync.feed import head_seq
from app.versionlog import RecordVersion

#: records read and sent at a time
BATCH = 500


class SnapshotKind(StrEnum):
    """What a snapshot holds: implementations (实施清单) or another record of the feed."""

    ITEMS = "items"
    ENTRIES = "entries"
    DEPARTMENTS = "departments"
    MATERIALS = "materials"
    REGIONS = "regions"


#: the feed's kind of record of each versioned snapshot kind
_FEED_KIND = {
    SnapshotKind.ITEMS: "item",
    SnapshotKind.ENTRIES: "entry",
    SnapshotKind.DEPARTMENTS: "department",
    SnapshotKind.MATERIALS: "material",
}


def _is_postgres(db: Session | Connection) -> bool:
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.dialect.name == "postgresql"


def _items(db: Session | Connection, prefix: str | None, after: str, limit: int) -> Any:
    stmt = (
        select(RecordVersion.code, _body(db))
        .join(
            Implementation,
            and_(
                col(Implementation.code) == RecordVersion.code,
                col(Implementation.version) == RecordVersion.version,
            ),
        )
        .where(RecordVersion.kind == "item", col(RecordVersion.code) > after)
        .order_by(col(RecordVersion.code))
        .limit(limit)
    )
    if prefix:
        stmt = stmt.where(*with_prefix(Implementation.region_code, prefix))
    return stmt


def _count_items(prefix: str | None) -> Any:
    stmt = select(func.count()).select_from(Implementation)
    if prefix:
        stmt = stmt.where(*with_prefix(Implementation.region_code, prefix))
    return stmt


def _body(db: Session | Connection) -> Any:
    # SQLite hands a BLOB over as bytes, no decoding and encoding again (as the feed does)
    if _is_postgres(db):
        return RecordVersion.snapshot
    return cast(RecordVersion.snapshot, LargeBinary).label("snapshot")


def _latest_of(db: Session | Connection, kind: str, after: str, limit: int) -> Any:
    """The newest version of each record of ``kind``: what the feed last said of it."""
    newer = aliased(RecordVersion)
    return (
        select(RecordVersion.code, _body(db))
        .where(
            RecordVersion.kind == kind,
            col(RecordVersion.code) > after,
            ~select(newer.id)
            .where(
                newer.kind == RecordVersion.kind,
                newer.code == RecordVersion.code,
                newer.version > RecordVersion.version,
            )
            .exists(),
        )
        .order_by(col(RecordVersion.code))
        .limit(limit)
    )


def _count_latest(kind: str) -> Any:
    return select(func.count(func.distinct(RecordVersion.code))).where(RecordVersion.kind == kind)


def _regions(after: str, limit: int) -> Any:
    return select(Region).where(col(Region.code) > after).order_by(col(Region.code)).limit(limit)


def _begin_snapshot(db: Session | Connection) -> None:
    """One snapshot of the database for every statement that follows."""
    if isinstance(db, Connection) and _is_postgres(db) and not db.in_transaction():
        db.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def stream(
    db: Session | Connection, kind: SnapshotKind, region: str | None, batch: int = BATCH
) -> Iterator[bytes]:
    """The snapshot's lines (each ending in a newline), read in one transaction."""
    _begin_snapshot(db)
    prefix = region_prefix(region) if region and kind == SnapshotKind.ITEMS else None
    # the position first: on SQLite the first read fixes what the transaction sees
    seq = head_seq(db)
    epoch = current_epoch(db)
    if kind == SnapshotKind.ITEMS:
        count = db.execute(_count_items(prefix)).scalar_one()
    elif kind == SnapshotKind.REGIONS:
        count = db.execute(select(func.count()).select_from(Region)).scalar_one()
    else:
        count = db.execute(_count_latest(_FEED_KIND[kind])).scalar_one()
    head: dict[str, Any] = {"seq": seq, "epoch": epoch, "count": count, "kind": str(kind)}
    if region:
        head["region"] = region
    yield orjson.dumps(head) + b"\n"
    after = ""
    while True:
        if kind == SnapshotKind.REGIONS:
            found = db.execute(_regions(after, batch)).scalars().all()
            if not found:
                return
            yield b"".join(
                orjson.dumps(RegionOut.model_validate(r).model_dump(mode="json")) + b"\n"
                for r in found
            )
            after = found[-1].code
        else:
            if kind == SnapshotKind.ITEMS:
                stmt = _items(db, prefix, after, batch)
            else:
                stmt = _latest_of(db, _FEED_KIND[kind], after, batch)
            rows = db.execute(stmt).all()
            if not rows:
                return
            yield b"".join(
                (body.encode() if isinstance(body, str) else bytes(body)) + b"\n"
                for _, body in rows
            )
            after = rows[-1][0]
        if len(found if kind == SnapshotKind.REGIONS else rows) < batch:
            return
