"""Reading the version log: the state in force on a date, version lists, diffs.

Content (guide, materials, fees…) takes effect when it is recorded; a lifecycle event
(取消, 暂停, 下放, 承接…) takes effect on its effective date, which may lie in the future. The
state in force on day D is therefore the content of the last version recorded by the end of
D, with the status of the last lifecycle event whose effective date is on or before D.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Date,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy import event as sa_event
from sqlmodel import Session, col

from app import clock
from app.catalogue import diffs
from app.catalogue.models import CatalogueEntry, Implementation
from app.catalogue.statuses import ItemStatus
from app.dbtypes import JSONType
from app.errors import InvalidInput, NotFound
from app.pagination import with_prefix
from app.security import region_prefix
from app.versionlog import HISTORY_CACHE, RecordVersion

#: event → the status it leaves (code list item_statuses)
LIFECYCLE_STATUS = {
    "cancel": ItemStatus.CANCELLED,
    "suspend": ItemStatus.SUSPENDED,
    "resume": ItemStatus.ACTIVE,
    "delegate": ItemStatus.DELEGATED,
    "accept": ItemStatus.ACTIVE,
    "reclaim": ItemStatus.ACTIVE,  # on the reclaiming item; the reclaimed one is cancelled
    "reclaimed": ItemStatus.CANCELLED,
    "merge": ItemStatus.MERGED,
    "split": ItemStatus.CANCELLED,
    "reinstate": ItemStatus.ACTIVE,  # a cancelled item brought back on its own history (its code kept)
}
#: the version recorded on the day a scheduled event takes effect (app/catalogue/effective.py):
#: not an event of its own (no ``status_after``); its ``details`` name the one in force
TAKES_EFFECT = "takes_effect"
#: the lifecycle events (decisions): /adjustments lists them and the days they took
#: effect, and a filter by one of them finds both
ADJUSTMENT_EVENTS = tuple(LIFECYCLE_STATUS)
#: fields that change on every version and say nothing about the item
VOLATILE = ("version", "updated_at", "updated_by", "scheduled", "upcoming", "lifecycle")
#: event → the key of its details naming the items that take over (a merge's survivor, a
#: delegation's receiving implementations, a split's new items)
SUCCESSORS = {"merge": "into", "split": "into", "delegate": "to"}


@dataclass(frozen=True)
class Event:
    version: int
    event: str
    status_after: str
    effective_date: date
    decision: dict[str, Any] | None
    reason: str | None
    details: dict[str, Any] | None

    def public(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "status": self.status_after,
            "effective_date": self.effective_date.isoformat(),
            "decision": self.decision,
            "reason": self.reason,
            "details": self.details,
            "version": self.version,
        }


#: The order in which lifecycle events apply: by effective date, then as recorded; the
#: creation always first, so that an event dated before the item was recorded (a decision
#: that took effect earlier) still applies.
EVENT_ORDER = (
    case((RecordVersion.event == "create", 0), else_=1),
    col(RecordVersion.effective_date),
    col(RecordVersion.version),
)


def in_order(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.event != "create", e.effective_date, e.version))


# Statements are built once: building them per call cost more than running them.
#: the columns of an :class:`Event`, in its order
EVENT_COLUMNS = (
    RecordVersion.version,
    RecordVersion.event,
    RecordVersion.status_after,
    RecordVersion.effective_date,
    RecordVersion.decision,
    RecordVersion.reason,
    RecordVersion.details,
)
#: EVENT_COLUMNS but the version, as typed NULLs: the rows of a union that are not events
NO_EVENT = (
    cast(null(), String).label("event"),
    cast(null(), String).label("status_after"),
    cast(null(), Date).label("effective_date"),
    cast(null(), JSONType).label("decision"),
    cast(null(), String).label("reason"),
    cast(null(), JSONType).label("details"),
)
_EVENTS = (
    select(*EVENT_COLUMNS)
    .where(
        RecordVersion.kind == "item",
        RecordVersion.code == bindparam("code"),
        col(RecordVersion.status_after).is_not(None),
    )
    .order_by(*EVENT_ORDER)
)
_RECORDED_BY = (
    select(RecordVersion.version, RecordVersion.snapshot)
    .where(
        RecordVersion.kind == "item",
        RecordVersion.code == bindparam("code"),
        col(RecordVersion.recorded_at) < bindparam("before", type_=RecordVersion.recorded_at.type),
    )
    # versions are recorded in order, so the latest recorded is the highest version
    .order_by(col(RecordVersion.recorded_at).desc(), col(RecordVersion.version).desc())
    .limit(1)
)
_ANY_VERSION = select(RecordVersion.version).where(
    RecordVersion.kind == "item", RecordVersion.code == bindparam("code")
)


def lifecycle_events(db: Session | Connection, code: str) -> list[Event]:
    """An item's lifecycle events in the order they take effect. In a session they are read
    once per transaction (a write asks several times: the status check, the event's own
    rules, the version it records); recording a version of the item drops them."""
    cache = db.info.setdefault(HISTORY_CACHE, {}) if isinstance(db, Session) else None
    if cache is not None and code in cache:
        return list(cache[code])
    events = [Event(*row) for row in db.execute(_EVENTS, {"code": code}).all()]
    if cache is not None:
        cache[code] = events
    return list(events)


def lifecycle_events_of(db: Session | Connection, codes: list[str]) -> dict[str, list[Event]]:
    """:func:`lifecycle_events` of many items, in one query."""
    out: dict[str, list[Event]] = {code: [] for code in codes}
    rows = db.execute(
        select(RecordVersion.code, *EVENT_COLUMNS)
        .where(
            RecordVersion.kind == "item",
            col(RecordVersion.code).in_(codes),
            col(RecordVersion.status_after).is_not(None),
        )
        .order_by(col(RecordVersion.code), *EVENT_ORDER)
    )
    for code, *fields in rows:
        out[code].append(Event(*fields))
    return out


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_history(session: Session, transaction: Any) -> None:
    # a savepoint rolled back may take recorded events with it: read them again
    session.info.pop(HISTORY_CACHE, None)


def successor_codes(event: Event) -> list[str]:
    """The items that take over from one whose ``event`` takes effect."""
    key = SUCCESSORS.get(event.event)
    value = (event.details or {}).get(key) if key else None
    return [value] if isinstance(value, str) else list(value or [])


def successor_refs(
    db: Session | Connection, events: list[Event], on: date
) -> dict[str, dict[str, Any]]:
    """code → ``{code, name, region}`` of the successors named by the events scheduled
    after ``on`` (one query, none when nothing is scheduled)."""
    codes = {c for e in events if e.effective_date > on for c in successor_codes(e)}
    if not codes:
        return {}
    rows = db.execute(
        select(Implementation.code, CatalogueEntry.name, Implementation.region_code)
        .join(CatalogueEntry, col(CatalogueEntry.basic_code) == Implementation.basic_code)
        .where(col(Implementation.code).in_(codes))
    ).all()
    return {code: {"code": code, "name": name, "region": region} for code, name, region in rows}


def overlay(
    doc: dict[str, Any],
    events: list[Event],
    on: date,
    successors: Mapping[str, dict[str, Any]] | None = None,
) -> date | None:
    """Set the status, the lifecycle event in force, the scheduled ones and what is
    ``upcoming`` (with the items that take over, from ``successors``: see
    :func:`successor_refs`), as of ``on``. Returns the date of the next scheduled change
    (None when nothing is scheduled)."""
    in_force = [e for e in events if e.effective_date <= on]
    scheduled = [e for e in events if e.effective_date > on]
    if in_force:
        doc["status"] = in_force[-1].status_after
    doc["lifecycle"] = (
        in_force[-1].public() if in_force and in_force[-1].event != "create" else None
    )
    doc["scheduled"] = [e.public() for e in scheduled]
    refs = successors or {}
    doc["upcoming"] = [
        {
            "event": e.event,
            "effective_date": e.effective_date.isoformat(),
            "decision": e.decision,
            "successors": [
                refs.get(c) or {"code": c, "name": None, "region": None} for c in successor_codes(e)
            ],
        }
        for e in scheduled
    ]
    return min((e.effective_date for e in scheduled), default=None)


_BASE = _RECORDED_BY.subquery()
# the content version and the lifecycle events in one round trip
_AS_OF = union_all(
    select(
        literal(0).label("part"),
        _BASE.c.snapshot,
        _BASE.c.version,
        *NO_EVENT,
    ),
    select(literal(1), cast(null(), Text), *EVENT_COLUMNS).where(
        RecordVersion.kind == "item",
        RecordVersion.code == bindparam("code"),
        col(RecordVersion.status_after).is_not(None),
    ),
)


def item_as_of(db: Session | Connection, code: str, on: date) -> tuple[int, dict[str, Any]]:
    """The implementation as it stood in force on ``on``."""
    version, doc, _ = item_state(db, code, on)
    return version, doc


def item_state(
    db: Session | Connection, code: str, on: date
) -> tuple[int, dict[str, Any], date | None]:
    """:func:`item_as_of`, and the day after ``on`` that state stops being in force (the
    next scheduled change; None when nothing is scheduled)."""
    row = None
    events = []
    for r in db.execute(_AS_OF, {"code": code, "before": clock.end_of(on)}).all():
        if r.part == 0:
            row = r
        else:
            events.append(
                Event(
                    r.version,
                    r.event,
                    r.status_after,
                    r.effective_date,
                    r.decision,
                    r.reason,
                    r.details,
                )
            )
    events = in_order(events)
    if row is None:
        exists = db.execute(_ANY_VERSION, {"code": code}).first()
        raise NotFound(
            f"implementation {code} did not exist on {on.isoformat()}"
            if exists
            else f"no implementation {code}"
        )
    doc = orjson.loads(row.snapshot)
    next_change = overlay(doc, events, on, successor_refs(db, events, on))
    return row.version, doc, next_change


def list_versions(
    session: Session, code: str, after: int | None, limit: int
) -> list[RecordVersion]:
    stmt = (
        select(RecordVersion)
        .where(RecordVersion.kind == "item", RecordVersion.code == code)
        .order_by(col(RecordVersion.version))
    )
    if after is not None:
        stmt = stmt.where(RecordVersion.version > after)
    rows = list(session.execute(stmt.limit(limit + 1)).scalars())
    if not rows and after is None:
        raise NotFound(f"no implementation {code}")
    return rows


_VERSION_COLUMNS = (
    RecordVersion.version,
    RecordVersion.event,
    RecordVersion.decision,
    RecordVersion.reason,
    RecordVersion.key_name,
    RecordVersion.recorded_at,
    RecordVersion.effective_date,
    RecordVersion.status_after,
    RecordVersion.details,
    RecordVersion.approved_by,
    RecordVersion.channel,
    RecordVersion.change_request_id,
    RecordVersion.snapshot,
)


_VERSIONS = select(*_VERSION_COLUMNS).where(
    RecordVersion.kind == "item",
    RecordVersion.code == bindparam("code"),
    col(RecordVersion.version).in_(bindparam("versions", expanding=True)),
)


def get_versions(db: Session | Connection, code: str, *versions: int) -> list[Any]:
    """Versions (rows with the columns of ``RecordVersion``), in the order asked, one query."""
    rows = {r.version: r for r in db.execute(_VERSIONS, {"code": code, "versions": list(versions)})}
    missing = [v for v in versions if v not in rows]
    if missing:
        raise NotFound(f"implementation {code} has no version {missing[0]}")
    return [rows[v] for v in versions]


def get_version(db: Session | Connection, code: str, version: int) -> Any:
    return get_versions(db, code, version)[0]


def version_meta(v: Any) -> dict[str, Any]:
    return {
        "version": v.version,
        "event": v.event,
        "decision": v.decision,
        "reason": v.reason,
        "key": v.key_name,
        "recorded_at": v.recorded_at.isoformat(),
        "effective_date": v.effective_date.isoformat() if v.effective_date else None,
        "status_after": v.status_after,
        "details": v.details,
        "approved_by": v.approved_by,
        "channel": v.channel,
        "change_request": v.change_request_id,
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level changes, each with its label (app/catalogue/diffs.py)."""
    return diffs.diff(before, after, skip=VOLATILE)


def diff_versions(db: Session | Connection, code: str, old: int, new: int) -> dict[str, Any]:
    if old < 1 or new < 1:
        raise InvalidInput.field(["query", "from"], "versions start at 1", "version")
    a, b = get_versions(db, code, old, new)
    return {
        "code": code,
        "from": version_meta(a),
        "to": version_meta(b),
        "changes": diff(orjson.loads(a.snapshot), orjson.loads(b.snapshot)),
    }


def list_adjustments(
    session: Session,
    *,
    since: date | None,
    event: str | None,
    region: str | None,
    department: str | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """动态调整公示: lifecycle events, newest first."""
    stmt = (
        select(RecordVersion, Implementation, CatalogueEntry.name)
        .join(Implementation, col(Implementation.code) == RecordVersion.code)
        .join(CatalogueEntry, col(CatalogueEntry.basic_code) == Implementation.basic_code)
        .where(
            RecordVersion.kind == "item",
            col(RecordVersion.event).in_((*ADJUSTMENT_EVENTS, TAKES_EFFECT)),
        )
        .order_by(col(RecordVersion.id).desc())
    )
    if since:
        stmt = stmt.where(col(RecordVersion.recorded_at) >= clock.start_of(since))
    if event:
        # a decision, or the day it took effect
        stmt = stmt.where(
            or_(
                RecordVersion.event == event,
                and_(
                    RecordVersion.event == TAKES_EFFECT,
                    RecordVersion.details["event"].as_string() == event,
                ),
            )
        )
    if region:
        stmt = stmt.where(*with_prefix(Implementation.region_code, region_prefix(region)))
    if department:
        stmt = stmt.where(Implementation.department_code == department)
    if before_id:
        stmt = stmt.where(col(RecordVersion.id) < before_id)
    return [
        {
            "id": v.id,
            "code": v.code,
            "name": name,
            "department": item.department_code,
            "region": item.region_code,
            **version_meta(v),
        }
        for v, item, name in session.execute(stmt.limit(limit + 1)).all()
    ]


# --- the status in force -----------------------------------------------------------


def statuses_on(session: Session, codes: list[str], on: date) -> dict[str, str]:
    """Each item's status in force on ``on``, from its lifecycle events (one query)."""
    rows = session.execute(
        select(RecordVersion.code, RecordVersion.status_after)
        .where(
            RecordVersion.kind == "item",
            col(RecordVersion.code).in_(codes),
            col(RecordVersion.status_after).is_not(None),
            col(RecordVersion.effective_date) <= on,
        )
        .order_by(*EVENT_ORDER)
    ).all()
    return {code: status for code, status in rows}


def status_today(session: Session, code: str) -> str | None:
    """The status in force today, from the lifecycle events (scheduled ones may have taken
    effect since the last write)."""
    on = clock.today()
    in_force = [e for e in lifecycle_events(session, code) if e.effective_date <= on]
    return in_force[-1].status_after if in_force else None
