"""Reads of implementations: the stored representation in force (the hot path) and lists."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

import orjson
from sqlalchemy import Connection, Engine, and_
from sqlmodel import Session, col, select

from app import clock
from app.catalogue.effective import in_force
from app.catalogue.history import (
    item_state,
    statuses_on,
)
from app.catalogue.models import (
    CatalogueEntry,
    Implementation,
)
from app.catalogue.statuses import STATUS_INCOMPLETE, STATUS_LABELS, STATUS_PENDING
from app.errors import NotFound
from app.pagination import decode_cursor, encode_cursor, with_prefix
from app.security import region_prefix
from app.versionlog import RecordVersion, latest_snapshot


class SnapshotReader(Protocol):
    """Where the read endpoints read versions from: the app's pooled connections, or a
    test's session (which sees its uncommitted writes)."""

    def latest(self, kind: str, code: str) -> tuple[int, str, date | None] | None: ...

    def connection(self) -> AbstractContextManager[Session | Connection]: ...


class SessionSnapshots:
    def __init__(self, db: Session) -> None:
        self.db = db

    def latest(self, kind: str, code: str) -> tuple[int, str, date | None] | None:
        return latest_snapshot(self.db, kind, code)

    @contextmanager
    def connection(self) -> Iterator[Session]:
        yield self.db


class PooledSnapshots:
    """The hot path of GET /items/{code}: the same SELECT as :func:`latest_snapshot` on a
    pooled DBAPI connection, without a SQLAlchemy Connection around it (measured: 14 µs
    against 70 µs a read on SQLite, the difference between 0.9 and 0.7 of the bare
    endpoint's throughput). History reads use a pooled Core connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.sql = (
            "SELECT version, snapshot, next_change FROM record_version "
            f"WHERE kind = {mark} AND code = {mark} ORDER BY version DESC LIMIT 1"
        )

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def latest(self, kind: str, code: str) -> tuple[int, str, date | None] | None:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(self.sql, (kind, code))
            row = cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
        if row is None:
            return None
        next_change = row[2]
        if isinstance(next_change, str):  # SQLite hands dates back as text
            next_change = date.fromisoformat(next_change)
        return row[0], row[1], next_change


class ItemRead(NamedTuple):
    """An item's representation in force, with what HTTP caching needs to know of it."""

    version: int
    body: str | bytes
    #: the day it stops being in force (its next scheduled change; None: nothing scheduled,
    #: or a day other than today was asked)
    next_change: date | None
    #: a state computed past its stored snapshot (a scheduled change took effect and its
    #: day is not recorded yet): the day of the last change in force; None otherwise
    changed_on: date | None


def newest_item_versions(
    session: Session, codes: list[str]
) -> dict[str, tuple[int, str, date | None]]:
    """The current version of each of these items, in one query: code → (version, snapshot,
    next scheduled change)."""
    rows = session.execute(
        select(
            RecordVersion.code,
            RecordVersion.version,
            RecordVersion.snapshot,
            RecordVersion.next_change,
        )
        .join(
            Implementation,
            and_(
                col(Implementation.code) == RecordVersion.code,
                col(Implementation.version) == RecordVersion.version,
            ),
        )
        .where(RecordVersion.kind == "item", col(RecordVersion.code).in_(codes))
    )
    return {code: (version, snapshot, nxt) for code, version, snapshot, nxt in rows}


def read_item(snapshots: SnapshotReader, code: str, as_of: date | None = None) -> ItemRead:
    """The representation in force today (or on ``as_of``). The stored snapshot is returned
    as-is while it is in force; past its ``next_change`` the state is computed from the log."""
    today = clock.today()
    current = as_of is None or as_of == today
    if current:
        found = snapshots.latest("item", code)
        if found is None:
            raise NotFound(f"no implementation {code}")
        version, body, next_change = found
        if in_force(next_change, today):
            return ItemRead(version, body, next_change, None)
    with snapshots.connection() as db:
        version, doc, next_change = item_state(db, code, as_of or today)
    if not current:
        return ItemRead(version, orjson.dumps(doc), None, None)
    in_force_now = doc.get("lifecycle") or {}
    changed_on = date.fromisoformat(in_force_now.get("effective_date") or today.isoformat())
    return ItemRead(version, orjson.dumps(doc), next_change, changed_on)


def get_item_json(
    snapshots: SnapshotReader, code: str, as_of: date | None = None
) -> tuple[int, str | bytes]:
    """:func:`read_item`'s version and JSON."""
    read = read_item(snapshots, code, as_of)
    return read.version, read.body


def current_item(session: Session, code: str) -> dict[str, Any]:
    """The current item: its representation in force today, as this transaction sees it
    (its own writes included); NotFound for an unknown code."""
    return orjson.loads(read_item(SessionSnapshots(session), code).body)


def list_items(
    session: Session,
    *,
    region: str | None = None,
    department: str | None = None,
    item_type: str | None = None,
    basic_code: str | None = None,
    status: str | None = None,
    level: str | None = None,
    updated_since: datetime | None = None,
    as_of: date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """Implementations by code, with their status in force today (or on ``as_of``).
    ``region`` includes the regions under it. Items pending acceptance (待承接) and incomplete
    ones (待完善) are left out unless ``status`` asks for them; so are items created after
    ``as_of``."""
    on = as_of or clock.today()
    stmt = (
        select(Implementation, CatalogueEntry.name, CatalogueEntry.item_type)
        .join(CatalogueEntry, col(CatalogueEntry.basic_code) == Implementation.basic_code)
        .order_by(col(Implementation.code))
    )
    if region:
        stmt = stmt.where(*with_prefix(Implementation.region_code, region_prefix(region)))
    if department:
        stmt = stmt.where(Implementation.department_code == department)
    if item_type:
        stmt = stmt.where(CatalogueEntry.item_type == item_type)
    if basic_code:
        stmt = stmt.where(Implementation.basic_code == basic_code)
    if level:
        stmt = stmt.where(Implementation.level == level)
    if updated_since:
        stmt = stmt.where(col(Implementation.updated_at) >= updated_since)
    if as_of:
        stmt = stmt.where(col(Implementation.created_at) < clock.end_of(as_of))
    wanted = {status} if status else set(STATUS_LABELS) - {STATUS_PENDING, STATUS_INCOMPLETE}
    after = decode_cursor(cursor)
    summaries: list[dict[str, Any]] = []
    while len(summaries) <= limit:
        batch = stmt.where(Implementation.code > after) if after else stmt
        rows = session.exec(batch.limit(limit + 1)).all()
        if not rows:
            break
        statuses = statuses_on(session, [item.code for item, _, _ in rows], on)
        for item, name, item_type_ in rows:
            item_status = statuses.get(item.code, item.status)
            if item_status in wanted:
                summaries.append(
                    {
                        "code": item.code,
                        "version": item.version,
                        "status": item_status,
                        "basic_code": item.basic_code,
                        "name": name,
                        "item_type": item_type_,
                        "department": item.department_code,
                        "region": item.region_code,
                        "level": item.level,
                        "updated_at": item.updated_at,
                    }
                )
        after = rows[-1][0].code
        if len(rows) <= limit:
            break
    if len(summaries) > limit:
        summaries = summaries[:limit]
        return summaries, encode_cursor(summaries[-1]["code"])
    return summaries, None
