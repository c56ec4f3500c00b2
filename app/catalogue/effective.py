"""The effective day: a decided change becomes what the catalogue says on its date.

A lifecycle event (取消, 暂停, 下放 on its handover date, 承接, 合并, 拆分…) is recorded when
it is decided and takes effect on its effective date (``app.catalogue.history``). Each
version keeps ``next_change``, the day its stored snapshot stops being the state in force;
:func:`in_force` is the one test of it. Reads past that day compute the state from the log
until the day is recorded: then the item gets a version of its own, event ``takes_effect``,
and with it a change-log row, so the feed, webhooks, search, digests, ``/adjustments`` and
exports follow as for any change.

:class:`Effects` is the duty that records them: one process at a time
(:class:`~app.leader.Leadership` ``effects``), every ``CATALOGUE_EFFECTS_POLL_INTERVAL``
seconds, in ``catalogue serve``, ``catalogue worker`` or ``catalogue effects``. It selects
the items whose newest version is due, oldest date first, and records each day in turn (an
item with two dates passed gets two versions, the earlier first), in batches of
``CATALOGUE_EFFECTS_BATCH`` items, each in one write transaction that re-checks every
item's version under the lock, so two processes or a retry never record one day twice and
a leader that dies mid-batch leaves nothing half-written. A write of an item that is due
records its days first (:func:`catch_up`), so every effect has its own version.

The version recorded for day D is the newest snapshot with the state in force on D (the
same function as every read: ``overlay``), its ``updated_at`` the start of D in the
province: a function of the log alone, the same bytes wherever it is computed.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
from prometheus_client import Counter, Gauge
from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlmodel import Session, col

from app import clock
from app.catalogue.history import (
    EVENT_COLUMNS,
    NO_EVENT,
    TAKES_EFFECT,
    Event,
    in_order,
    lifecycle_events_of,
    overlay,
    successor_refs,
)
from app.catalogue.item_rows import save_item, update_items
from app.catalogue.models import Implementation
from app.db import for_writing
from app.leader import Leadership, run_in_thread
from app.security import Principal
from app.versionlog import (
    HISTORY_CACHE,
    LATEST_CACHE,
    ChangeLog,
    RecordVersion,
    SyncPosition,
    latest_snapshot,
    record_versions,
    take_feed_lock,
    version_row,
)

log = logging.getLogger("app.effects")

#: who records the day a decision takes effect, and through which channel
SCHEDULER = Principal(name="scheduler", role="admin")
CHANNEL = "schedule"
LEADERSHIP = "effects"

LEADER = Gauge(
    "catalogue_effects_leader",
    "1 while this process records scheduled effects",
    multiprocess_mode="livemax",
)
RECORDED = Counter("catalogue_effects_recorded_total", "Days of scheduled events recorded")


def in_force(next_change: date | None, on: date | None = None) -> bool:
    """Whether a stored snapshot whose next scheduled change is ``next_change`` is still the
    state in force on ``on`` (the province's today)."""
    return next_change is None or next_change > (on or clock.today())


def seconds_in_force(next_change: date | None, now: datetime | None = None) -> float | None:
    """Seconds until a stored snapshot stops being in force (None: nothing scheduled)."""
    if next_change is None:
        return None
    return max((clock.start_of(next_change) - (now or clock.now())).total_seconds(), 0.0)


def _day(value: Any) -> Any:
    """A date column's value (SQLite may hand back the text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


# --- one item's day ------------------------------------------------------------------


def effect(
    code: str,
    version: int,
    snapshot: str | bytes,
    on: date,
    events: list[Event],
    successors: dict[str, dict[str, Any]],
    recorded_at: datetime,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The version recording day ``on`` of an item whose newest version (``version``,
    ``snapshot``) stops being in force that day, and the values of its implementation row;
    None when no event of the log falls on that day (nothing to record)."""
    taking = [e for e in events if e.effective_date == on and e.event != "create"]
    if not taking:
        return None
    doc = orjson.loads(snapshot)
    before = doc.get("status")
    next_change = overlay(doc, events, on, successors)
    doc["version"] = version + 1
    start = clock.start_of(on)
    doc["updated_at"] = start.isoformat()
    primary = taking[-1]  # the last of the day is the one in force
    details: dict[str, Any] = {
        "event": primary.event,
        "version": primary.version,
        "status_before": before,
        "status": doc["status"],
    }
    if len(taking) > 1:
        details["events"] = [{"event": e.event, "version": e.version} for e in taking]
    row = version_row(
        kind="item",
        code=code,
        version=version + 1,
        event=TAKES_EFFECT,
        snapshot=orjson.dumps(doc).decode(),
        actor=SCHEDULER,
        recorded_at=recorded_at,
        reason=primary.reason,
        decision=primary.decision,
        effective_date=on,
        details=details,
        next_change=next_change,
    )
    row["channel"] = CHANNEL
    values = {"version": version + 1, "status": doc["status"], "updated_at": start}
    return row, values


_NEWEST_VERSION = (
    select(RecordVersion.version, RecordVersion.snapshot, RecordVersion.next_change)
    .where(RecordVersion.kind == "item", RecordVersion.code == bindparam("code"))
    .order_by(col(RecordVersion.version).desc())
    .limit(1)
    .subquery()
)
#: an item's newest version and its lifecycle events in one round trip
_LOG = union_all(
    select(
        literal(0).label("part"),
        _NEWEST_VERSION.c.version,
        _NEWEST_VERSION.c.snapshot,
        _NEWEST_VERSION.c.next_change,
        *NO_EVENT,
    ),
    select(
        literal(1),
        RecordVersion.version,
        cast(null(), Text),
        cast(null(), Date),
        *EVENT_COLUMNS[1:],
    ).where(
        RecordVersion.kind == "item",
        RecordVersion.code == bindparam("code"),
        col(RecordVersion.status_after).is_not(None),
    ),
)


def read_item_log(session: Session, code: str) -> None:
    """Read an item's newest version and its lifecycle events into this transaction's
    caches (:func:`~app.versionlog.latest_snapshot`, :func:`lifecycle_events`) in one
    round trip: a write asks for both (its catch-up, its status, the batch's plain test)."""
    newest = session.info.setdefault(LATEST_CACHE, {})
    history = session.info.setdefault(HISTORY_CACHE, {})
    if ("item", code) in newest and code in history:
        return
    events = []
    for r in session.execute(_LOG, {"code": code}).all():
        if r.part == 0:
            newest[("item", code)] = (r.version, r.snapshot, r.next_change)
        else:
            events.append(Event(r.version, *r[4:]))
    history[code] = in_order(events)


def catch_up(session: Session, item: Any) -> int:
    """Record the days due of ``item`` (an :class:`Implementation`, or its row as an object,
    locked by the caller) before a write gives it a new version, in the caller's
    transaction; returns how many."""
    recorded = 0
    today = clock.today()
    read_item_log(session, item.code)
    while True:
        latest = latest_snapshot(session, "item", item.code)
        if latest is None or latest[0] != item.version or in_force(latest[2], today):
            return recorded
        _, snapshot, on = latest
        events = lifecycle_events_of(session, [item.code])[item.code]
        refs = successor_refs(session, events, on)
        found = effect(item.code, item.version, snapshot, on, events, refs, clock.now())
        if found is None:
            return recorded
        row, values = found
        save_item(session, item, values)
        record_versions(session, [row])
        recorded += 1


# --- the duty ------------------------------------------------------------------------

_NEWEST = and_(
    col(Implementation.code) == RecordVersion.code,
    col(Implementation.version) == RecordVersion.version,
)
_DUE_WHERE = (
    RecordVersion.kind == "item",
    col(RecordVersion.next_change) <= bindparam("today"),
)
#: the newest version of each item (the implementation row holds its number) whose
#: snapshot has stopped being in force: one pass over the log, when the day turns
_DUE = (
    select(RecordVersion.code, RecordVersion.version, RecordVersion.next_change)
    .join(Implementation, _NEWEST)
    .where(*_DUE_WHERE)
)
#: the same among the items changed since a change-log position (between the day's turns:
#: a version written by a process whose clock had not turned yet)
_DUE_SINCE = (
    select(RecordVersion.code, RecordVersion.version, RecordVersion.next_change)
    .distinct()
    .join(Implementation, _NEWEST)
    .join(ChangeLog, col(ChangeLog.code) == RecordVersion.code)
    .where(*_DUE_WHERE, ChangeLog.kind == "item", col(ChangeLog.seq) > bindparam("after"))
)
#: the same among some items
_DUE_AMONG = _DUE.where(col(RecordVersion.code).in_(bindparam("codes", expanding=True)))
#: the same for some items, with their snapshots
_DUE_OF = (
    select(
        RecordVersion.code,
        RecordVersion.version,
        RecordVersion.next_change,
        RecordVersion.snapshot,
    )
    .join(Implementation, _NEWEST)
    .where(*_DUE_WHERE, col(RecordVersion.code).in_(bindparam("codes", expanding=True)))
)

_ROW = Implementation.__table__  # type: ignore[attr-defined]

#: called in a batch's write transaction before it commits (tests stop a leader there)
OnBatch = Callable[[Session, list[dict[str, Any]]], None]
#: (the day, code, version) of an item's newest version that stopped being in force then
Due = tuple[date, str, int]


class Effects:
    """The duty (see the module's docstring). Each run reads what is due (the whole log
    once a day, then the items changed since), and records it in date order: a heap of
    (day, code), each item's next day pushed back in once its version is recorded."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch: int = 500,
        poll_interval: float = 30.0,
        on_batch: OnBatch | None = None,
    ) -> None:
        self.engine = engine
        self.writer = for_writing(engine)
        self.batch = batch
        self.poll_interval = poll_interval
        self.on_batch = on_batch
        self.leadership = Leadership(engine, LEADERSHIP)
        #: the day the whole log was last read, and the change-log head read before it
        self.swept: date | None = None
        self.last_seq = 0
        #: items left by the last run (a writer held them): read again at the next
        self.retry: set[str] = set()

    def follows_a_source(self) -> bool:
        """A mirror (it pulls another instance's feed) records no day of its own: its
        source's versions arrive through the feed, and a version of its own could take
        the number of one of them."""
        with self.engine.connect() as conn:
            return conn.execute(select(SyncPosition.source).limit(1)).first() is not None

    def run_once(self) -> int:
        """Record every day due by today, in date order; returns how many versions."""
        if self.follows_a_source():
            return 0
        today = clock.today()
        with self.engine.connect() as conn:
            head = conn.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one()
            if self.swept != today:
                due = conn.execute(_DUE, {"today": today}).all()
            else:
                due = conn.execute(_DUE_SINCE, {"today": today, "after": self.last_seq}).all()
                if self.retry:
                    retry = {"today": today, "codes": sorted(self.retry)}
                    due += conn.execute(_DUE_AMONG, retry).all()
        self.retry = set()
        recorded = self._record([(_day(n), c, v) for c, v, n in due], today)
        self.swept, self.last_seq = today, head
        return recorded

    def _record(self, due: list[Due], today: date) -> int:
        heap = sorted(set(due))
        total = 0
        while heap:
            batch: dict[str, Due] = {}
            while heap and len(batch) < self.batch:
                entry = heapq.heappop(heap)
                batch.setdefault(entry[1], entry)
            for code, version, next_change in self._step(list(batch.values()), today):
                total += 1
                if not in_force(next_change, today):
                    heapq.heappush(heap, (next_change, code, version))
        return total

    def _step(self, batch: list[Due], today: date) -> list[tuple[str, int, date | None]]:
        """One batch in one write transaction: (code, new version, its next change) of each
        version recorded."""
        wanted = {code: (on, version) for on, code, version in batch}
        with self.engine.connect() as conn:
            found = conn.execute(_DUE_OF, {"today": today, "codes": list(wanted)}).all()
            rows = sorted(  # recorded in date order within the batch too
                (r for r in found if wanted[r.code] == (_day(r.next_change), r.version)),
                key=lambda r: (_day(r.next_change), r.code),
            )
            self.retry.update(set(wanted) - {r.code for r in rows})  # changed since read
            built = self._build(conn, rows) if rows else []
        fresh = self._write(built) if built else []
        return [(code, row["version"], row["next_change"]) for code, _, row, _ in fresh]

    def _build(
        self, conn: Connection, due: list[Any]
    ) -> list[tuple[str, int, dict[str, Any], dict[str, Any]]]:
        events = lifecycle_events_of(conn, [d.code for d in due])
        on = min(_day(d.next_change) for d in due)
        refs = successor_refs(conn, [e for es in events.values() for e in es], on)
        now = clock.now()
        out = []
        for d in due:
            day = _day(d.next_change)
            found = effect(d.code, d.version, d.snapshot, day, events[d.code], refs, now)
            if found is None:
                log.warning("effects: %s v%d: no event on %s", d.code, d.version, day)
                continue
            out.append((d.code, d.version, *found))
        return out

    def _write(
        self, built: list[tuple[str, int, dict[str, Any], dict[str, Any]]]
    ) -> list[tuple[str, int, dict[str, Any], dict[str, Any]]]:
        codes = sorted(code for code, *_ in built)
        with Session(self.writer) as session:
            session.connection()  # begin: the feed lock is the transaction's
            # the feed lock first, then the rows without waiting for any (a writer holding
            # one waits for the feed lock: waiting for its row would be a deadlock)
            take_feed_lock(session)
            lock = select(_ROW.c.code, _ROW.c.version).where(_ROW.c.code.in_(codes))
            if session.get_bind().dialect.name == "postgresql":
                lock = lock.order_by(_ROW.c.code).with_for_update(skip_locked=True)
            held = dict(session.execute(lock).all())
            fresh = [b for b in built if held.get(b[0]) == b[1]]
            self.retry.update(b[0] for b in built if held.get(b[0]) != b[1])
            if fresh:
                update_items(
                    session,
                    [
                        {
                            "code": code,
                            "version": values["version"],
                            "status": values["status"],
                            "updated_at": values["updated_at"],
                        }
                        for code, _, _, values in fresh
                    ],
                    old_versions=[old for _, old, _, _ in fresh],
                )
                record_versions(session, [row for _, _, row, _ in fresh])
            if self.on_batch is not None:
                self.on_batch(session, [row for _, _, row, _ in fresh])
            session.commit()
        RECORDED.inc(len(fresh))
        return fresh

    # --- the loop ---------------------------------------------------------------------

    def lead(self) -> bool:
        was = self.leadership.held
        leads = self.leadership.acquire()
        LEADER.set(1 if leads else 0)
        if leads and not was:
            self.swept = None  # another process led meanwhile: read the whole log again
            log.info("effects: this process (pid %d) records scheduled effects", os.getpid())
        return leads

    def run_forever(self, stop: threading.Event) -> None:
        """Record what is due every ``poll_interval`` seconds until ``stop`` is set, while
        this process leads (the others try to take over at each poll)."""
        try:
            while not stop.is_set():
                try:
                    if self.lead():
                        n = self.run_once()
                        if n:
                            log.info("effects: recorded %d days of scheduled events", n)
                except Exception as exc:  # the database is away: the next poll tries again
                    log.warning("effects: %s: %s", type(exc).__name__, str(exc)[:200])
                stop.wait(self.poll_interval)
        finally:
            self.leadership.release()
            LEADER.set(0)

    @classmethod
    def of_settings(cls, engine: Engine) -> Effects:
        from app.config import get_settings

        settings = get_settings()
        return cls(
            engine, batch=settings.effects_batch, poll_interval=settings.effects_poll_interval
        )


def start(engine: Engine) -> Callable[[], None]:
    """Run the duty in a thread of this process; returns what stops it."""
    return run_in_thread(Effects.of_settings(engine).run_forever, "effects")
