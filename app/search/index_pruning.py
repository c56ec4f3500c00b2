"""When the indexer drops an older schema's index (decision record 0009): once its own is
built and has stayed caught up for ``CATALOGUE_SEARCH_PRUNE_AFTER`` seconds, while no
process runs the older schema's indexer."""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine
from sqlmodel import Session

from app.leader import Leadership
from app.search.backends.base import OtherIndex
from app.search.models import SearchPosition

log = logging.getLogger("app.search.indexer")


#: one process at a time applies the change log to an index (app/leader.py: a PostgreSQL
#: advisory lock, or a file lock next to a SQLite database); every other one waits to take
#: over. A lock per schema version: while a release rolls, its indexer builds and follows
#: its index beside the previous release's, which keeps the previous index current.


#: one process at a time applies the change log to an index (app/leader.py: a PostgreSQL
#: advisory lock, or a file lock next to a SQLite database); every other one waits to take
#: over. A lock per schema version: while a release rolls, its indexer builds and follows
#: its index beside the previous release's, which keeps the previous index current.
def leadership_name(schema: int | None) -> str:
    """The lock of the indexer of ``schema``'s index (None: of the unversioned index)."""
    return "search-indexer" if schema is None else f"search-indexer-v{schema}"


class IndexPruning:
    """Dropping the indices of older schemas once this release's own is built and caught up
    (docs/decisions/0009). Mixed into :class:`~app.search.indexer.Indexer`."""

    def _prune_when_due(self, engine: Engine) -> None:
        """Once its index has stayed caught up for ``prune_after`` seconds, drop the older
        schemas' indices whose indexer no process runs (tried again every
        ``prune_retry`` seconds while one does)."""
        now = time.monotonic()
        if self._prune_due is None:
            self._prune_due = now + self.prune_after
        if now < self._prune_due:
            return
        self._prune_due = now + self.prune_retry
        self.prune(engine)

    def prune(self, engine: Engine) -> tuple[list[OtherIndex], list[OtherIndex]]:
        """Drop the indices of schema versions older than this index's, and their indexers'
        positions: (dropped, kept because their indexer still runs: a release that reads
        them is still deployed). Each is dropped holding its indexer's lock, so none of
        them writes it meanwhile. Newer schemas' indices are kept (a rollback rolls forward
        again), and so is everything while this index is not built."""
        if self.backend.needs_rebuild():
            return [], []
        dropped, kept = [], []
        for other in self.backend.others():
            if other.schema > self.schema or (other.schema == self.schema and not other.legacy):
                continue
            schema = None if other.legacy else other.schema
            lock = Leadership(engine, leadership_name(schema))
            if not lock.acquire():
                kept.append(other)
                continue
            try:
                self.backend.drop(other)
                with Session(engine) as session:
                    found = session.get(SearchPosition, self.position_name(schema))
                    if found is not None:
                        session.delete(found)
                    session.commit()
            finally:
                lock.release()
            log.warning("search indexer: dropped the index %s of schema version %d (no "
                        "release reads it: its indexer no longer runs)", other.name,
                        other.schema)  # fmt: skip
            dropped.append(other)
        if kept:
            log.info("search indexer: the index %s is kept: its indexer still runs",
                     ", ".join(o.name for o in kept))  # fmt: skip
        return dropped, kept

    # --- rebuilding and checking -------------------------------------------------------
