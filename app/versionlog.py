"""The version log and the change log (the outbox): every write of every
aggregate appends its immutable version and its change-log row here, in the caller's
transaction; the feed lock keeps ``seq`` values visible in order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    bindparam,
    event,
    func,
    text,
)
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Field, Session, SQLModel, col, select

from app import clock
from app.db import insert_rows
from app.dbtypes import JSONType, UTCDateTime, utcnow
from app.errors import InvalidInput
from app.security import Principal

#: the largest representation a version may hold (bytes of JSON): every version keeps
#: it whole and every feed page carries it, so one item cannot weigh like a thousand
MAX_DOCUMENT_BYTES = 1024 * 1024


class RecordVersion(SQLModel, table=True):
    """An immutable version of an implementation (``kind='item'``) or a catalogue entry
    (``kind='entry'``): the full state at that point, who, when, why, under which decision."""

    __tablename__ = "record_version"
    __table_args__ = (
        UniqueConstraint("kind", "code", "version", name="uq_record_version"),
        # as_of: the last version recorded by a day, without reading the snapshots before it
        Index("ix_record_version_recorded", "kind", "code", "recorded_at", "version"),
        # lifecycle events of an item, without reading its content versions
        Index("ix_record_version_lifecycle", "kind", "code", "status_after", "effective_date"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    kind: str = Field(max_length=10)
    code: str = Field(max_length=40)
    version: int
    event: str = Field(max_length=20)
    #: the representation served by GET, as JSON text (returned as-is)
    snapshot: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = None
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    key_name: str | None = Field(default=None, max_length=100)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    effective_date: date | None = None
    #: lifecycle events: the status the item has once the event is in force
    status_after: str | None = Field(default=None, max_length=2)
    #: lifecycle events: what the event did (mode, receiving codes, survivor…)
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    #: earliest effective date of an event still scheduled when this version was written:
    #: from that day the stored snapshot is no longer the state in force
    next_change: date | None = None
    #: the reviewer who approved the change request this version published (审核)
    approved_by: str | None = Field(default=None, max_length=100)
    #: how the change came: ``direct`` (an admin or an editor where no review is needed),
    #: ``sync`` (a city platform's authoritative list), ``review`` (an approved request)
    channel: str | None = Field(default=None, max_length=10)
    change_request_id: int | None = None


class ChangeLog(SQLModel, table=True):
    """The outbox: one row per change, written in the transaction of the change. The search
    indexer and the sync feed read it; everything derived can be rebuilt from it."""

    __tablename__ = "change_log"

    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    kind: str = Field(max_length=10)
    code: str = Field(max_length=40, index=True)
    version: int
    operation: str = Field(max_length=20)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


def too_large(size: int) -> InvalidInput | None:
    if size <= MAX_DOCUMENT_BYTES:
        return None
    return InvalidInput.field(
        ["body"],
        f"the item's representation would be {size:,} bytes; at most {MAX_DOCUMENT_BYTES:,}",
        "item.too_large",
    )


def _dumps(doc: dict[str, Any]) -> str:
    raw = orjson.dumps(doc)
    error = too_large(len(raw))
    if error is not None:
        raise error
    return raw.decode()


_LAST_SEQ = select(func.coalesce(func.max(ChangeLog.seq), 0))
#: PostgreSQL: the same, and the column's sequence moved past the rows about to be written,
#: for whatever inserts a row without a seq (a tool, a raw copy); one round trip
_LAST_SEQ_PG = text(
    "SELECT last, setval(pg_get_serial_sequence('change_log', 'seq'), last + :n) "
    "FROM (SELECT COALESCE(MAX(seq), 0) AS last FROM change_log) AS head"
)


def _last_seq(conn: Connection, n: int) -> int:
    """The last seq written, read under the feed lock: the next rows take the numbers after
    it. A transaction or savepoint rolled back (a proposal's rehearsal) takes its numbers
    back with it, where numbers drawn from a database sequence would stay spent."""
    if conn.dialect.name == "postgresql":
        return conn.execute(_LAST_SEQ_PG, {"n": n}).scalar_one()
    return conn.execute(_LAST_SEQ).scalar_one()


#: ``session.info`` key of the histories read in the transaction (app.catalogue.history):
#: recording a version of a record drops its entry
HISTORY_CACHE = "record_history"
#: ``session.info`` key of the newest versions read in the transaction, (kind, code) →
#: :func:`latest_snapshot`'s answer: a write reads its item's newest version several times
#: (the day's catch-up, the document a PATCH merges into, the one it answers with).
#: Recording versions updates it; any transaction's or savepoint's end drops it.
LATEST_CACHE = "newest_versions"


def record_versions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append versions and their change-log rows (the outbox), in this transaction: the one
    place either is written. Each row holds every column of ``record_version`` (the snapshot
    as JSON text); its change-log row is its kind, code, version, event and time. The single
    write, bulk writes and the mirror all come here (bulk with many rows at once)."""
    if not rows:
        return
    cached = session.info.get(HISTORY_CACHE)
    if cached:
        for r in rows:
            cached.pop(r["code"], None)
    newest = session.info.get(LATEST_CACHE)
    if newest:
        for r in rows:
            key, held = (r["kind"], r["code"]), newest.get((r["kind"], r["code"]))
            if held is not None and held[0] < r["version"]:
                newest[key] = (r["version"], r["snapshot"], r["next_change"])
            else:
                newest.pop(key, None)
    take_feed_lock(session)
    session.flush()  # the rows the versions describe first, as the ORM would order them
    conn = session.connection()
    insert_rows(conn, RecordVersion.__table__, rows)  # type: ignore[attr-defined]
    entries = [
        {
            "kind": r["kind"],
            "code": r["code"],
            "version": r["version"],
            "operation": r["event"],
            "recorded_at": r["recorded_at"],
        }
        for r in rows
    ]
    # SQLite: seq is the rowid (no AUTOINCREMENT), which SQLite numbers one past the
    # largest in the table, row after row: the numbers _last_seq gives, without reading it
    if conn.dialect.name != "sqlite":
        last = _last_seq(conn, len(rows))
        for i, entry in enumerate(entries, 1):
            entry["seq"] = last + i
    insert_rows(conn, ChangeLog.__table__, entries)  # type: ignore[attr-defined]
    for kind, hooks in _ON_RECORDED.items():
        of_kind = [r for r in rows if r["kind"] == kind]
        for hook in hooks if of_kind else ():
            hook(session, of_kind)


#: kind → what derives data from each version recorded (the quality findings of an item):
#: called in the writer's transaction, registered by the module that owns that data
_ON_RECORDED: dict[str, list[Callable[[Session, list[dict[str, Any]]], object]]] = {}


def on_recorded(kind: str, hook: Callable[[Session, list[dict[str, Any]]], object]) -> None:
    """Register ``hook(session, rows)``, called with the rows of ``kind`` each time versions
    are recorded (one row per version, the snapshot as JSON text)."""
    if hook not in _ON_RECORDED.setdefault(kind, []):
        _ON_RECORDED[kind].append(hook)


def version_row(
    *,
    kind: str,
    code: str,
    version: int,
    event: str,
    snapshot: str,
    actor: Principal,
    recorded_at: datetime,
    reason: str | None = None,
    decision: dict[str, Any] | None = None,
    effective_date: date | None = None,
    status_after: str | None = None,
    details: dict[str, Any] | None = None,
    next_change: date | None = None,
) -> dict[str, Any]:
    """A row for :func:`record_versions`: who (and through which channel, approved by whom)
    from ``actor``; the effective date defaults to the day it is recorded (in the
    province)."""
    return {
        "kind": kind,
        "code": code,
        "version": version,
        "event": event,
        "snapshot": snapshot,
        "reason": reason,
        "decision": decision,
        "key_name": actor.name,
        "recorded_at": recorded_at,
        "effective_date": effective_date or clock.local(recorded_at).date(),
        "status_after": status_after,
        "details": details,
        "next_change": next_change,
        "approved_by": actor.approved_by,
        "channel": actor.channel,
        "change_request_id": actor.change_request,
    }


def record_version(session: Session, *, snapshot: dict[str, Any], **fields: Any) -> None:
    """Append one immutable version (the fields of :func:`version_row`, the representation
    as a dict) and its change-log row, in this transaction."""
    row = version_row(snapshot=_dumps(snapshot), recorded_at=utcnow(), **fields)
    record_versions(session, [row])


_LATEST = (
    select(RecordVersion.version, RecordVersion.snapshot, RecordVersion.next_change)
    .where(RecordVersion.kind == bindparam("kind"), RecordVersion.code == bindparam("code"))
    .order_by(col(RecordVersion.version).desc())
    .limit(1)
)


FEED_LOCK = 7_253_001  # PostgreSQL advisory lock key of the change feed


def take_feed_lock(session: Session) -> None:
    """Hold the feed lock until this transaction ends: change-log ``seq`` values are taken
    one after the other and become visible in that order (no gaps for a reader; see
    ``app.sync.feed``). SQLite has one writer at a time already. A lock taken in a savepoint
    that is rolled back is released with it (PostgreSQL): it counts as held only while the
    savepoint it was taken in is still open around the caller."""
    root = session.get_transaction()
    if root is None:
        return
    here = session.get_nested_transaction() or root
    taken = session.info.get("feed_locked")
    scope: SessionTransaction | None = here
    while scope is not None:
        if scope is taken:
            return
        scope = scope.parent
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK})
    session.info["feed_locked"] = here


def latest_snapshot(
    db: Session | Connection, kind: str, code: str
) -> tuple[int, str, date | None] | None:
    """The newest version's stored JSON and the day it stops being the state in force
    (a scheduled event takes effect): one lookup on the (kind, code, version) index, once
    per transaction of a session (:data:`LATEST_CACHE`)."""
    cache = db.info.setdefault(LATEST_CACHE, {}) if isinstance(db, Session) else None
    if cache is not None and (kind, code) in cache:
        return cache[(kind, code)]
    row = db.execute(_LATEST, {"kind": kind, "code": code}).first()
    if row is None:
        return None
    found = (row[0], row[1], row[2])
    if cache is not None:
        cache[(kind, code)] = found
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget_newest(session: Session, transaction: SessionTransaction) -> None:
    # a savepoint rolled back may take versions with it; a new transaction may see others'
    session.info.pop(LATEST_CACHE, None)


# --- records shown in others ---------------------------------------------------------

#: kind → what gives a new version to the records that show one of that kind (an item shows
#: its department's name): registered by the module that owns those records, so that the
#: module writing the shown record does not import it (no cycle)
_SHOWN_IN: dict[str, list[Callable[[Session, str, Principal], object]]] = {}


def shown_in(kind: str, refresh: Callable[[Session, str, Principal], object]) -> None:
    """Register ``refresh(session, code, actor)``, called when a record of ``kind`` changes
    what others show of it."""
    _SHOWN_IN.setdefault(kind, []).append(refresh)


def refresh_dependents(session: Session, kind: str, code: str, actor: Principal) -> None:
    for refresh in _SHOWN_IN.get(kind, ()):
        refresh(session, code, actor)


class SyncPosition(SQLModel, table=True):
    """Where a mirror stands in another instance's change feed (its change log is written
    from that feed: a database with a position follows a source)."""

    __tablename__ = "sync_position"

    source: str = Field(primary_key=True, max_length=500)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    #: the source's epoch when the mirror read ``last_seq`` (None: nothing read yet)
    epoch: str | None = Field(default=None, max_length=64)
    #: the change at ``last_seq`` as the mirror read it (see app.sync.epoch.fingerprint)
    fingerprint: str | None = Field(default=None, max_length=200)
