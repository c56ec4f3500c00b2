"""The change feed (GET /changes). Its ``seq`` is gap-free in commit order: a transaction takes
the feed lock before it writes its first change (PostgreSQL: a transaction-scoped advisory
lock; SQLite allows one writer at a time anyway) and holds it until it commits, so a change
with a higher ``seq`` never becomes visible before one with a lower ``seq``. A reader that
stores ``last_seq`` and asks for ``after=last_seq`` therefore never misses or repeats one."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    LargeBinary,
    and_,
    cast,
    func,
    or_,
    select,
    true,
)
from sqlmodel import Session, col

from app.catalogue.history import TAKES_EFFECT
from app.catalogue.models import Implementation
from app.security import region_prefix
from app.versionlog import ChangeLog, RecordVersion


def head_seq(db: Session | Connection) -> int:
    """The newest change's seq: how far a consumer is behind."""
    return db.execute(select(func.max(ChangeLog.seq))).scalar_one() or 0


#: what the feed shows of each version, beside the change-log row
_VERSION_COLUMNS = (
    RecordVersion.event,
    RecordVersion.recorded_at,
    RecordVersion.effective_date,
    RecordVersion.decision,
    RecordVersion.reason,
    RecordVersion.key_name,
    RecordVersion.status_after,
    RecordVersion.details,
    RecordVersion.next_change,
    RecordVersion.approved_by,
    RecordVersion.channel,
    RecordVersion.change_request_id,
)


#: a feed page holds at most this many bytes of representations (and at least one change)
MAX_PAGE_BYTES = 16 * 1024 * 1024


def read_changes(
    db: Session | Connection, *, after: int, limit: int, region: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Changes with ``seq > after``, oldest first, each with the full state at its version,
    and the seq to ask after next. ``region`` keeps the items of that region (and below);
    entries and departments, which every copy needs, always come. A page that is not full
    was read up to the head (taken first, so a change committed meanwhile is left for the
    next page): its position is the head, even when the filter kept nothing.

    The stored JSON of each version is sent on as it is. SQLite hands it over as bytes when
    asked for a BLOB: no decoding into a str, then no encoding back into the response (a
    CJK text costs about 10 µs a version each way); on PostgreSQL it stays text (its
    text-to-bytea cast reads backslashes as escapes, and ``convert_to`` made the feed 4x
    slower: bytea travels hex-encoded)."""
    head = head_seq(db)
    log = select(
        ChangeLog.seq, ChangeLog.kind, ChangeLog.code, ChangeLog.version, ChangeLog.operation
    ).where(col(ChangeLog.seq) > after, col(ChangeLog.seq) <= head)
    if region:
        log = log.outerjoin(Implementation, col(Implementation.code) == ChangeLog.code).where(
            or_(
                ChangeLog.kind != "item",
                col(Implementation.region_code).startswith(region_prefix(region)),
            )
        )
    dialect = db.get_bind().dialect if isinstance(db, Session) else db.dialect
    if dialect.name == "postgresql":
        # the page of the log, then each version by a lateral index probe: a plain join is
        # planned by the tables' statistics, and PostgreSQL hashed the whole version table
        # for every page (100,000 versions: 8,400 changes/s with statistics stale after a
        # bulk load; 35,000/s this way, stale or not)
        page = log.order_by(col(ChangeLog.seq)).limit(limit).subquery("page")
        version = (
            select(*_VERSION_COLUMNS, RecordVersion.snapshot)
            .where(
                RecordVersion.kind == page.c.kind,
                RecordVersion.code == page.c.code,
                RecordVersion.version == page.c.version,
            )
            .limit(1)
            .lateral("version")
        )
        stmt = (
            select(*page.c, *version.c).select_from(page.join(version, true())).order_by(page.c.seq)
        )
    else:
        # SQLite walks the log by seq and looks each version up by its key
        stmt = (
            log.add_columns(
                *_VERSION_COLUMNS, cast(RecordVersion.snapshot, LargeBinary).label("snapshot")
            )
            .join(
                RecordVersion,
                and_(
                    RecordVersion.kind == ChangeLog.kind,
                    RecordVersion.code == ChangeLog.code,
                    RecordVersion.version == ChangeLog.version,
                ),
            )
            .order_by(col(ChangeLog.seq))
            .limit(limit)
        )
    names = ("seq", "kind", "code", "version", "operation", "event", "recorded_at",
             "effective_date", "decision", "reason", "key", "status_after", "details",
             "next_change", "approved_by", "channel", "change_request")  # fmt: skip
    changes = []
    size = 0
    rows = db.execute(stmt).all()  # one fetch, not one a row
    complete = len(rows) < limit  # every change up to the head was read
    for *fields, snapshot in rows:
        size += len(snapshot)
        if changes and size > MAX_PAGE_BYTES:
            complete = False
            break  # the page ends early; last_seq says where to ask again
        change = dict(zip(names, fields, strict=True))
        if change["operation"] == TAKES_EFFECT and change["details"]:
            change["event"] = change["details"].get("event")  # the event that took effect
        # the stored JSON goes out as it is: the feed never parses a snapshot
        state = orjson.Fragment(snapshot)
        is_item = change["kind"] == "item"
        change["item"] = state if is_item else None
        change["record"] = None if is_item else state
        changes.append(change)
    if complete:
        return changes, max(head, after)
    return changes, changes[-1]["seq"] if changes else after
