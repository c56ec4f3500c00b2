"""The hot read path: the newest stored version of an item on connections of its own.

On PostgreSQL, ``GET /items/{code}`` through the engine's pool paid four
round trips for one SELECT: ``pool_pre_ping`` (``SELECT 1``) at every checkout, psycopg's
``BEGIN`` before the statement, the statement itself, and the pool's ``ROLLBACK`` at check-in;
every one of them on the event loop, where a wait stalls every other request. Here the
statement runs on psycopg connections in autocommit mode (no BEGIN, no ROLLBACK), prepared
on the server at their first use (``prepare_threshold=0``), without a ping: a connection
that turns out broken (the server restarted, a proxy cut it) raises at once, and then every
idle connection is dropped (they are as old as it is) and the read is retried once on a new
one. Connections are recycled after ``CATALOGUE_POOL_RECYCLE`` seconds. A checkout never
waits: the loop is the only hot caller, and a thread that needs one while all are out gets
a new one (at most ``CATALOGUE_POOL_SIZE`` are kept idle).

On SQLite (in-process, no round trips) the same statements run on the engine's pooled DBAPI
connections, as :class:`~app.catalogue.reads.PooledSnapshots` does.

:class:`ReadPath` is a :class:`~app.catalogue.reads.SnapshotReader` (``latest``,
``connection``) and adds what HTTP caching needs: the version's ``recorded_at`` (for
``Last-Modified``) and a validator read that leaves the snapshot on the server (a 304).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from app import clock
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


class _PgConnections:
    """A small LIFO of autocommit psycopg connections with reconnect-on-failure."""

    def __init__(self, conninfo: str, keep: int, recycle: float) -> None:
        self.conninfo = conninfo
        self.keep = keep
        self.recycle = recycle
        self._idle: list[tuple[float, Any]] = []
        self._lock = threading.Lock()
        self.reconnects = 0  # for tests and diagnostics

    def _new(self) -> tuple[float, Any]:
        import psycopg

        conn = psycopg.connect(self.conninfo, autocommit=True, prepare_threshold=0)
        return time.monotonic(), conn

    def _checkout(self) -> tuple[float, Any]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new()

    def _checkin(self, born: float, conn: Any) -> None:
        if time.monotonic() - born < self.recycle and not conn.closed:
            with self._lock:
                if len(self._idle) < self.keep:
                    self._idle.append((born, conn))
                    return
        conn.close()

    def drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, conn in idle:
            conn.close()

    def fetchone(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        import psycopg

        for attempt in (0, 1):
            born, conn = self._checkout()
            try:
                row = conn.execute(sql, params).fetchone()
            except psycopg.OperationalError:
                conn.close()
                self.drop_idle()  # as old as the broken one: the server went away
                self.reconnects += 1
                if attempt:
                    raise
                continue
            except BaseException:
                conn.close()
                raise
            self._checkin(born, conn)
            return row
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.drop_idle()


class _AsyncPgConnections:
    """The same for the event loop: psycopg ``AsyncConnection``s, so that a request waiting
    for the server does not stall the others (a blocking round trip on the loop did: on a
    busy host the server's answer can take a millisecond to be scheduled). At most ``most``
    at once (a request beyond waits its turn on the loop); ``keep`` stay idle."""

    def __init__(self, conninfo: str, keep: int, most: int, recycle: float) -> None:
        self.conninfo = conninfo
        self.keep = keep
        self.most = max(most, 1)
        self.recycle = recycle
        self._idle: list[tuple[float, Any]] = []
        self._open = 0
        self._loop: Any = None
        self._waiters: Any = None
        self.reconnects = 0

    def _bind(self) -> None:
        import asyncio
        import collections

        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests' clients): the old one's are unusable
            for _, conn in self._idle:
                conn.pgconn.finish()
            self._idle, self._open, self._loop = [], 0, loop
            self._waiters = collections.deque()

    async def _checkout(self) -> tuple[float, Any]:
        import psycopg

        self._bind()
        while not self._idle and self._open >= self.most:
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            await waiter
        if self._idle:
            return self._idle.pop()
        self._open += 1
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, prepare_threshold=0
            )
        except BaseException:
            self._gone()
            raise
        return time.monotonic(), conn

    def _gone(self) -> None:
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _checkin(self, born: float, conn: Any) -> None:
        if (
            time.monotonic() - born < self.recycle
            and not conn.closed
            and len(self._idle) < self.keep
        ):
            self._idle.append((born, conn))
            self._wake()
            return
        self._gone()
        await conn.close()

    async def drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for _, conn in idle:
            self._open -= 1
            await conn.close()
        self._wake()

    async def fetchone(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        rows = await self.fetch(sql, params, many=False)
        return rows[0] if rows else None

    async def fetch(
        self, sql: str, params: tuple[Any, ...], many: bool = True
    ) -> list[tuple[Any, ...]]:
        import psycopg

        for attempt in (0, 1):
            born, conn = await self._checkout()
            try:
                cursor = await conn.execute(sql, params)
                if many:
                    row: Any = await cursor.fetchall()
                else:
                    one = await cursor.fetchone()
                    row = [one] if one is not None else []
            except psycopg.OperationalError:
                self._gone()
                await conn.close()
                await self.drop_idle()  # as old as the broken one: the server went away
                self.reconnects += 1
                if attempt:
                    raise
                continue
            except BaseException:
                self._gone()
                await conn.close()
                raise
            await self._checkin(born, conn)
            return row
        raise AssertionError("unreachable")  # pragma: no cover


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
        self.pg: _PgConnections | None = None
        self.apg: _AsyncPgConnections | None = None
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.sql = {name: _sql(cols, mark) for name, cols in _COLUMNS.items()}
        self.key_sql = f"SELECT {', '.join(KEY_COLUMNS)} FROM api_key WHERE prefix = {mark}"
        if engine.dialect.name == "postgresql":
            conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.pg = _PgConnections(conninfo, keep, recycle)
            self.apg = _AsyncPgConnections(conninfo, keep, most, recycle)

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
