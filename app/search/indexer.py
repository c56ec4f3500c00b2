"""The indexer: applies the change log (the transactional outbox) to the search backend.

Every write commits a ``change_log`` row in its own transaction; the indexer reads the
rows after its stored position, in ``seq`` order, loads each item's representation in force
today, and indexes it (external versions: an older update never overwrites a newer one).
The position moves only after the backend has taken the batch, so nothing is lost while
the backend is down: :meth:`Indexer.run_forever` retries with backoff and catches up.

The index also keeps, in itself, a mark of the history it applied: the seq, the feed's epoch
and the fingerprint of the change at that seq (:func:`app.sync.epoch.fingerprint`, what a
mirror keeps). The database's position cannot tell a restore (it is restored with the
dump); the mark can: an index of another history is rebuilt from the change log.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from prometheus_client import Counter, Gauge
from sqlalchemy import Engine, and_, func
from sqlmodel import Session, col, select

from app import clock
from app.catalogue.effective import in_force
from app.catalogue.models import Implementation
from app.catalogue.reads import SessionSnapshots, get_item_json
from app.config import get_settings
from app.errors import NotFound
from app.leader import Leadership
from app.search.backends.base import SCHEMA_VERSION, SearchBackend, chunks
from app.search.index_pruning import IndexPruning, leadership_name
from app.search.models import SearchPosition
from app.search.service import SearchService
from app.sync.epoch import current_epoch, fingerprint
from app.sync.feed import head_seq, read_changes
from app.versionlog import ChangeLog, RecordVersion

log = logging.getLogger("app.search.indexer")


LEADERSHIP = leadership_name(SCHEMA_VERSION)
#: seconds between two tries to prune the indices of older schemas once they are due
PRUNE_RETRY = 30.0
#: change-log rows a step of the loop applies at most
STEP = 500
LEADER = Gauge(
    "catalogue_indexer_leader",
    "1 while this process applies the change log to the search index",
    multiprocess_mode="livemax",
)
REBUILDS = Counter(
    "catalogue_indexer_rebuilds_total",
    "Rebuilds of the search index by the indexer: its schema predates this version, or it "
    "was built from another history of the change log (a restored database)",
    ["reason"],
)


@dataclass
class CheckReport:
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    repaired: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)

    def as_dict(self) -> dict[str, Any]:
        return {
            "missing": len(self.missing),
            "stale": len(self.stale),
            "extra": len(self.extra),
            "repaired": self.repaired,
            "examples": (self.missing + self.stale + self.extra)[:10],
        }


class Indexer(IndexPruning):
    def __init__(
        self, service: SearchService, name: str | None = None, prune_after: float | None = None
    ) -> None:
        self.service = service
        self.backend: SearchBackend = service.backend
        self.schema = self.backend.schema_version
        #: its position (``search_position``): one per schema version's index
        self.name = name or self.position_name(self.schema)
        self.leadership = leadership_name(self.schema)
        #: seconds its index stays caught up before the older schemas' indices are dropped
        self.prune_after = get_settings().search_prune_after if prune_after is None else prune_after
        self.prune_retry = PRUNE_RETRY
        self._prune_due: float | None = None  # monotonic time; None: not caught up yet

    def position_name(self, schema: int | None) -> str:
        """The position of the indexer of ``schema``'s index (None: the unversioned one)."""
        return self.backend.name if schema is None else f"{self.backend.name}-v{schema}"

    # --- position ----------------------------------------------------------------------

    def position(self, session: Session) -> SearchPosition:
        pos = session.get(SearchPosition, self.name)
        if pos is None:
            pos = SearchPosition(name=self.name, last_seq=0)
            session.add(pos)
        return pos

    # --- documents ---------------------------------------------------------------------

    def documents(
        self, session: Session, codes: list[str], entries: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
        """Index documents of the items as they stand today; (code, version) to delete for
        codes that no longer exist. ``entries`` caches catalogue entries across batches.
        The newest versions of the batch are read in one query (what :func:`get_item_json`
        reads item by item); an item whose scheduled event took effect since its version was
        written is composed as of today, as ``GET /items/{code}`` does."""
        self.service.prepare(session)
        latest = self._latest_snapshots(session, codes)
        snapshots = SessionSnapshots(session)
        entries = {} if entries is None else entries  # the catalogue entries seen so far
        today = clock.today()
        docs, gone = [], []
        for code in codes:
            found = latest.get(code)
            if found is None:
                gone.append((code, 1 << 40))
                continue
            body, next_change = found
            if not in_force(next_change, today):
                try:
                    _, body = get_item_json(snapshots, code)
                except NotFound:
                    gone.append((code, 1 << 40))
                    continue
            docs.append(self.service.document(session, orjson.loads(body), entries))
        return docs, gone

    @staticmethod
    def _latest_snapshots(
        session: Session, codes: list[str]
    ) -> dict[str, tuple[str | bytes, date | None]]:
        """code → (the newest version's snapshot, its ``next_change``) of these items, in
        one query on the (kind, code, version) index (not one query an item: at ~1,200
        items/s a build from the database was mostly round trips)."""
        if not codes:
            return {}
        rv = RecordVersion
        newest = (
            select(rv.code, func.max(rv.version).label("version"))
            .where(rv.kind == "item", col(rv.code).in_(codes))
            .group_by(rv.code)
            .subquery()
        )
        stmt = select(rv.code, rv.snapshot, rv.next_change).join(
            newest,
            and_(rv.kind == "item", rv.code == newest.c.code, rv.version == newest.c.version),
        )
        out: dict[str, tuple[str | bytes, date | None]] = {}
        for code, snapshot, next_change in session.execute(stmt):
            if isinstance(next_change, str):  # (SQLite without the column's type)
                next_change = date.fromisoformat(next_change)
            out[code] = (snapshot, next_change)
        return out

    def _codes_for(self, session: Session, rows: list[ChangeLog]) -> list[str]:
        codes: dict[str, None] = {}
        for row in rows:
            if row.kind == "item":
                codes[row.code] = None
            elif row.kind == "entry":  # aliases live on the entry
                for c in session.exec(
                    select(Implementation.code).where(Implementation.basic_code == row.code)
                ):
                    codes[c] = None
            elif row.kind == "department":
                for c in session.exec(
                    select(Implementation.code).where(Implementation.department_code == row.code)
                ):
                    codes[c] = None
        return list(codes)

    # --- applying the log -------------------------------------------------------------

    def _apply(self, session: Session, pos: SearchPosition, batch: int) -> int:
        """Index the changes after ``pos`` (a scheduled event that took effect comes as the
        version that records its day: app/catalogue/effective.py); moves ``pos`` in memory
        only. Raises if the backend fails."""
        with session.no_autoflush:
            rows = list(
                session.exec(
                    select(ChangeLog)
                    .where(col(ChangeLog.seq) > pos.last_seq)
                    .order_by(col(ChangeLog.seq))
                    .limit(batch)
                )
            )
            if rows:
                docs, gone = self.documents(session, self._codes_for(session, rows))
                self.backend.upsert(docs)
                self.backend.delete(gone)
                pos.last_seq = int(rows[-1].seq or 0)
                self.backend.mark_applied(self.mark(session, pos.last_seq))
        return len(rows)

    # --- the history the index was built from ------------------------------------------

    @staticmethod
    def _fingerprint(session: Session, seq: int) -> str | None:
        """The fingerprint of the database's change at ``seq`` (None: it has none)."""
        if seq <= 0:
            return None
        changes, _ = read_changes(session, after=seq - 1, limit=1)
        if not changes or changes[0]["seq"] != seq:
            return None
        change = changes[0]
        at = change.get("recorded_at")
        if isinstance(at, datetime) and at.tzinfo is not None:
            # the same instant reads in the session's time zone: one spelling for all
            change = {**change, "recorded_at": at.astimezone(UTC).isoformat()}
        return fingerprint(change)

    def mark(self, session: Session, seq: int) -> dict[str, Any]:
        """What the index keeps of the history it applied up to ``seq``."""
        return {
            "seq": seq,
            "epoch": current_epoch(session),
            "fingerprint": self._fingerprint(session, seq),
        }

    def other_history(self, session: Session) -> str | None:
        """Why the index was built from another history than the database's (None: it was
        not, or it keeps no mark: an index built before marks were kept)."""
        mark = self.backend.applied_mark()
        if not mark:
            return None
        epoch = current_epoch(session)
        if mark.get("epoch") != epoch:
            return f"its feed epoch {mark.get('epoch')!r} is not the database's ({epoch!r})"
        seq = int(mark.get("seq") or 0)
        head = head_seq(session)
        if seq > head:
            return f"it applied seq {seq}, beyond the database's head ({head})"
        if seq and self._fingerprint(session, seq) != mark.get("fingerprint"):
            return f"the database's change at seq {seq} is not the one it applied"
        return None

    def rebuild_if_other_history(self, engine: Engine) -> bool:
        """Rebuild the index if it was built from another history; whether it was."""
        with Session(engine) as session:
            reason = self.other_history(session)
            session.rollback()
        if reason is None:
            return False
        log.warning(
            "search indexer: the search index was built from another history than the "
            "database's (%s; restored database?): rebuilding from the change log; searches "
            "use the old index until the new one is switched. Next step: none if the "
            "database was restored on purpose (mirrors re-snapshot by themselves); if not, "
            "find out why its history changed",
            reason,
        )
        REBUILDS.labels("history").inc()
        self.reindex(engine, rewind=True)
        return True

    def run_once(self, session: Session, batch: int = 500) -> int:
        """Apply the next batch of changes in ``session``; returns how many change rows were
        applied. Raises if the backend fails (the position is not moved). The caller
        commits."""
        with session.no_autoflush:
            pos = self.position(session)
        applied = self._apply(session, pos, batch)
        session.add(pos)
        session.flush()
        return applied

    def step(self, engine: Engine, batch: int = 500) -> int:
        """One batch for a long-running indexer: read and index in one transaction, then
        write the position in a short one of its own (on SQLite a reader that has seen an
        older snapshot could not write, and API writes never wait for the index)."""
        with Session(engine) as session:
            with session.no_autoflush:
                pos = self.position(session)
            before = (pos.last_seq, pos.swept_on)
            applied = self._apply(session, pos, batch)
            after = (pos.last_seq, pos.swept_on)
            session.rollback()
        if after == before and not applied:
            return 0
        self._advance(engine, *after)
        return applied

    def _advance(
        self, engine: Engine, last_seq: int, swept_on: date | None, rewind: bool = False
    ) -> None:
        """Move the position forward, never back: another indexer (the leader, a
        ``catalogue reindex``) may have gone further; unless ``rewind`` (the leader's
        rebuild of an index of another history: a position restored beyond the new
        history's head would skip its changes)."""
        writer = engine
        if engine.dialect.name == "sqlite":
            writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        with Session(writer) as session:
            pos = self.position(session)
            if rewind or (pos.last_seq or 0) <= last_seq:
                pos.last_seq, pos.swept_on = last_seq, swept_on
                session.add(pos)
            session.commit()

    def reindex(self, engine: Engine, batch: int = 1000, rewind: bool = False) -> int:
        """``catalogue reindex`` beside a running deployment: build and swap, then apply
        every change from the build's start, whatever the position says, and move the
        position forward only. The leading indexer of another process keeps running: a
        change it applied to the old index just before the swap is applied again here
        (read after the swap, so committed before it), and what it applies after the swap
        goes to the new index. Rewinding the position instead would race with its next
        write of the position, which would skip such a change for good."""
        with Session(engine) as session:
            head = int(session.exec(select(func.max(ChangeLog.seq))).one() or 0)
            n = self.build(session, batch)
            self.backend.mark_applied(self.mark(session, head))
            session.rollback()
        cursor = SearchPosition(name=self.name, last_seq=head, swept_on=clock.today())
        while True:  # each batch in a transaction of its own: it sees what committed since
            with Session(engine) as session:
                applied = self._apply(session, cursor, batch)
                session.rollback()
            if not applied:
                break
        self._advance(engine, cursor.last_seq, cursor.swept_on, rewind)
        return n

    def catch_up(self, session: Session, batch: int = 500) -> int:
        total = 0
        while n := self.run_once(session, batch):
            total += n
            session.commit()
        session.commit()
        return total

    def lead(self, leadership: Leadership) -> bool:
        """Whether this process indexes now (taking the lead if it is free); says so in the
        log and in ``catalogue_indexer_leader`` when that changes."""
        was = leadership.held
        leads = leadership.acquire()
        LEADER.set(1 if leads else 0)
        if leads and not was:
            log.info("search indexer: this process (pid %d) indexes", os.getpid())
        elif was and not leads:
            log.warning("search indexer: lost the lead (pid %d)", os.getpid())
            self._drop_writer()
        return leads

    def _drop_writer(self) -> None:
        """An embedded index's writer holds the index's own lock: let the new leader have it."""
        lock = getattr(self.backend, "_lock", None)
        if lock is not None and hasattr(self.backend, "_writer"):
            with lock:
                self.backend._writer = None  # type: ignore[attr-defined]

    def run_forever(
        self,
        engine: Engine,
        stop: threading.Event,
        interval: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        """Poll the change log until ``stop`` is set, while this process leads (the others
        try to take over every ``interval``); back off while the backend is down."""
        leadership = Leadership(engine, self.leadership)
        try:
            self._run(engine, stop, leadership, interval, max_backoff)
        finally:
            if leadership.held:
                self._drop_writer()
                leadership.release()
                log.info("search indexer: stopped; the lead is free (pid %d)", os.getpid())
            LEADER.set(0)

    def _run(
        self,
        engine: Engine,
        stop: threading.Event,
        leadership: Leadership,
        interval: float,
        max_backoff: float,
    ) -> None:
        delay = interval
        while not stop.is_set():
            if not self.lead(leadership):
                stop.wait(interval)
                continue
            try:
                if self.backend.needs_rebuild():  # built by a version of another schema
                    log.warning("search indexer: the index predates this version; rebuilding")
                    with Session(engine) as session:
                        n = self.rebuild(session)
                        session.commit()
                    log.warning("search indexer: rebuilt the index with %d items", n)
                    REBUILDS.labels("schema").inc()
                elif self.rebuild_if_other_history(engine):
                    continue
                applied = self.step(engine, STEP)
                delay = interval
                if applied < STEP:  # it reached the head (under load it is never idle)
                    self._prune_when_due(engine)
                if applied:
                    continue
            except Exception as exc:  # the backend is down or refused: retry later
                log.warning("search indexer: %s: %s; retrying in %.1fs", type(exc).__name__,
                            str(exc)[:200], delay)  # fmt: skip
                stop.wait(delay)
                delay = min(delay * 2, max_backoff)
                continue
            stop.wait(interval)

    # --- the indices of older schema versions ----------------------------------------

    def _all_codes(self, session: Session) -> list[str]:
        return list(session.exec(select(Implementation.code).order_by(Implementation.code)))

    def build(self, session: Session, batch: int = 1000) -> int:
        """Build a new index from the database and swap it in (the position is left)."""
        codes = self._all_codes(session)
        entries: dict[str, Any] = {}  # every catalogue entry read once for the whole build

        def batches() -> Iterator[list[dict[str, Any]]]:
            for part in chunks(codes, batch):
                yield self.documents(session, part, entries)[0]

        self.backend.rebuild(batches())
        return len(codes)

    def rebuild(self, session: Session, batch: int = 1000) -> int:
        """Build a new index from the database and swap it in; the position moves to the
        change-log head read before the build (later changes are applied after)."""
        head = session.exec(select(func.max(ChangeLog.seq))).one() or 0
        n = self.build(session, batch)
        self.backend.mark_applied(self.mark(session, int(head)))
        pos = self.position(session)
        pos.last_seq = int(head)
        pos.swept_on = clock.today()
        session.add(pos)
        session.flush()
        return n

    def check(self, session: Session, repair: bool = False) -> CheckReport:
        """Compare every item's version and status in force today with the index."""
        indexed = self.backend.versions()
        report = CheckReport()
        wanted: dict[str, dict[str, Any]] = {}
        entries: dict[str, Any] = {}
        for part in chunks(self._all_codes(session), 1000):
            for doc in self.documents(session, part, entries)[0]:
                wanted[doc["code"]] = doc
        for code, doc in wanted.items():
            have = indexed.get(code)
            if have is None:
                report.missing.append(code)
            elif have != (doc["version"], doc["status"]):
                report.stale.append(code)
        report.extra = [c for c in indexed if c not in wanted]
        if repair and not report.clean:
            fix = [wanted[c] for c in report.missing + report.stale]
            for part in chunks(fix, 500):
                self.backend.upsert(part)
            self.backend.delete([(c, indexed[c][0]) for c in report.extra])
            report.repaired = len(fix) + len(report.extra)
        return report


def wait_for(predicate: Any, timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
