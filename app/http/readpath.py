"""The hot read path: the newest stored version of an item on connections of its own.

On PostgreSQL, ``GET /items/{code}`` through the engine's pool paid four round trips for
one SELECT: ``pool_pre_ping`` (``SELECT 1``) at every checkout, psycopg's ``BEGIN`` before
the statement, the statement itself, and the pool's ``ROLLBACK`` at check-in; every one of
them on the event loop, where a wait stalls every other request. Here the statement runs
on the read path's own connections (:mod:`app.http.read_connections`: autocommit, prepared
on the server, no ping, recycled after ``CATALOGUE_POOL_RECYCLE`` seconds, at most
``CATALOGUE_POOL_SIZE`` kept idle).

On SQLite (in-process, no round trips) the same statements run on the engine's pooled DBAPI
connections, as :class:`~app.catalogue.reads.PooledSnapshots` does.

:class:`ReadPath` is a :class:`~app.catalogue.reads.SnapshotReader` (``latest``,
``connection``) and adds what HTTP caching needs: the version's ``recorded_at`` (for
``Last-Modified``) and a validator read that leaves the snapshot on the server (a 304).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from app import clock
from app.http.read_connections import AsyncPgConnections, PgConnections
from app.security import KEY_COLUMNS

if TYPE_CHECKING:
    from app.catalogue.reads import ItemRead

_COLUMNS = {
    "full": "version, snapshot, next_change, recorded_at",
    "validator": "version, next_change, recorded_at",
}


def _sql(columns: str, mark: str) -> str:
    return (
        f"SELECT {columns} FROM record_version WHERE kind = {mark} AND code = {mark} "
        "ORDER BY version DESC LIMIT 1"
    )


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _instant(value: Any) -> datetime | None:
    if isinstance(value, str):  # SQLite keeps the text SQLAlchemy wrote
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


class _Validators:
    """Items' validators (version, next_change, recorded_at) kept in memory for 304s, each
    dropped when the change log shows a change of its item: polled every ``poll`` seconds
    on the event loop (one indexed query: ``seq > last``), so a write in any process is
    seen within about that. An entry is served only while the last poll is younger than
    twice the interval (a stalled or failing poll turns the cache off, not stale), and
    one read across a poll that saw changes is not kept (it may predate them)."""

    def __init__(self, poll: float, limit: int = 50_000) -> None:
        self.poll = poll
        self.limit = limit
        self.entries: OrderedDict[str, tuple[int, date | None, datetime | None]] = OrderedDict()
        self.generation = 0
        self.last_seq: int | None = None
        self.polled_at = 0.0
        self._task: Any = None
        self._loop: Any = None

    def fresh(self) -> bool:
        return self.last_seq is not None and time.monotonic() - self.polled_at < 2 * self.poll

    def start(self, path: ReadPath) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self.last_seq = loop, None
            self.entries.clear()
            self._task = loop.create_task(self._run(path))

    async def _run(self, path: ReadPath) -> None:
        import asyncio

        mark = "?" if path.engine.dialect.paramstyle == "qmark" else "%s"
        changes = (
            f"SELECT seq, kind, code FROM change_log WHERE seq > {mark} ORDER BY seq LIMIT 5000"
        )
        while True:
            began = time.monotonic()
            try:
                if self.last_seq is None:
                    row = await path._afetchone("SELECT max(seq) FROM change_log", ())
                    self.last_seq = int((row or (0,))[0] or 0)
                else:
                    rows = await path._afetch(changes, (self.last_seq,))
                    if rows:
                        self.generation += 1
                        for _seq, kind, code in rows:
                            if kind == "item":
                                self.entries.pop(code, None)
                            else:  # an entry or a department: its items' versions follow
                                self.entries.clear()
                        self.last_seq = int(rows[-1][0])
                self.polled_at = began
            except Exception:  # the database is away: no cached answers until it is back
                self.entries.clear()
                self.last_seq = None
            await asyncio.sleep(self.poll)

    def keep(self, code: str, found: tuple[int, date | None, datetime | None]) -> None:
        self.entries[code] = found
        if len(self.entries) > self.limit:
            self.entries.popitem(last=False)


class ReadPath:
    """The app's reader of stored versions (``app.state.snapshots``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        keep: int = 10,
        most: int = 32,
        recycle: float = 1800.0,
        validator_poll: float = 0.0,
    ) -> None:
        self.engine = engine
        self.validators = _Validators(validator_poll) if validator_poll > 0 else None
        self.pg: PgConnections | None = None
        self.apg: AsyncPgConnections | None = None
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.sql = {name: _sql(cols, mark) for name, cols in _COLUMNS.items()}
        self.key_sql = f"SELECT {', '.join(KEY_COLUMNS)} FROM api_key WHERE prefix = {mark}"
        if engine.dialect.name == "postgresql":
            conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.pg = PgConnections(conninfo, keep, recycle)
            self.apg = AsyncPgConnections(conninfo, keep, most, recycle)

    def _fetchone(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self.pg is not None:
            return self.pg.fetchone(sql, params)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(sql, params)
            row = cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
        return row

    # --- SnapshotReader -----------------------------------------------------------------

    def latest(self, kind: str, code: str) -> tuple[int, str, date | None] | None:
        found = self.latest_with_time(kind, code)
        return None if found is None else found[:3]  # type: ignore[return-value]

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """History reads (as_of, versions, diff): a pooled Core connection."""
        with self.engine.connect() as conn:
            yield conn

    # --- for HTTP caching ---------------------------------------------------------------

    def latest_with_time(
        self, kind: str, code: str
    ) -> tuple[int, str, date | None, datetime | None] | None:
        """(version, snapshot, next_change, recorded_at) of the newest version."""
        row = self._fetchone(self.sql["full"], (kind, code))
        if row is None:
            return None
        return row[0], row[1], _day(row[2]), _instant(row[3])

    def validator(self, kind: str, code: str) -> tuple[int, date | None, datetime | None] | None:
        """(version, next_change, recorded_at) of the newest version, without its snapshot."""
        row = self._fetchone(self.sql["validator"], (kind, code))
        if row is None:
            return None
        return row[0], _day(row[1]), _instant(row[2])

    async def _afetchone(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self.apg is not None:
            return await self.apg.fetchone(sql, params)
        return self._fetchone(sql, params)  # SQLite: in process, microseconds

    async def _afetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self.apg is not None:
            return await self.apg.fetch(sql, params)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cursor.close()
        finally:
            raw.close()
        return rows

    async def akey(self, prefix: str) -> Any | None:
        """The stored API key of ``prefix`` (:data:`~app.security.KEY_COLUMNS`) on the event
        loop: the edge checks a write's key with no hop to a worker thread."""
        row = await self._afetchone(self.key_sql, (prefix,))
        return None if row is None else SimpleNamespace(**dict(zip(KEY_COLUMNS, row, strict=True)))

    async def alatest_with_time(
        self, kind: str, code: str
    ) -> tuple[int, str, date | None, datetime | None] | None:
        """:meth:`latest_with_time` on the event loop."""
        row = await self._afetchone(self.sql["full"], (kind, code))
        if row is None:
            return None
        return row[0], row[1], _day(row[2]), _instant(row[3])

    async def avalidator(
        self, kind: str, code: str
    ) -> tuple[int, date | None, datetime | None] | None:
        """:meth:`validator` on the event loop; items' from memory while they are known
        current (see :class:`_Validators`)."""
        cache = self.validators if kind == "item" else None
        generation = -1
        if cache is not None:
            cache.start(self)
            if cache.fresh():
                hit = cache.entries.get(code)
                if hit is not None:
                    return hit
                generation = cache.generation
        row = await self._afetchone(self.sql["validator"], (kind, code))
        if row is None:
            return None
        found = row[0], _day(row[1]), _instant(row[2])
        if cache is not None and generation == cache.generation and cache.fresh():
            cache.keep(code, found)
        return found

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()


async def item_read(
    snapshots: Any, code: str, as_of: date | None = None
) -> tuple[ItemRead, datetime | None]:
    """:func:`~app.catalogue.reads.read_item` and, where the reader knows it (this module's
    :class:`ReadPath`), when the representation in force last changed."""
    from app.catalogue.effective import in_force
    from app.catalogue.reads import ItemRead, read_item
    from app.errors import NotFound
    from app.http.responses import effective_since

    if (as_of is None or as_of == clock.today()) and hasattr(snapshots, "alatest_with_time"):
        found = await snapshots.alatest_with_time("item", code)
        if found is None:
            raise NotFound(f"no implementation {code}")
        version, body, next_change, recorded_at = found
        if in_force(next_change):
            return ItemRead(version, body, next_change, None), recorded_at
        read = read_item(snapshots, code, as_of)
        return read, effective_since(recorded_at, read.changed_on)
    return read_item(snapshots, code, as_of), None


async def item_json(
    snapshots: Any, code: str, as_of: date | None = None
) -> tuple[int, str | bytes, datetime | None]:
    """:func:`item_read`'s version, JSON and time of the last change."""
    read, modified = await item_read(snapshots, code, as_of)
    return read.version, read.body, modified
