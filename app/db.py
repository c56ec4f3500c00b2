"""Engine and sessions.

SQLite runs in WAL mode with the driver's own transaction handling switched off, so that
SQLAlchemy's BEGIN/SAVEPOINT work as documented (tests roll back to a savepoint) and
write transactions can start with ``BEGIN IMMEDIATE`` (no lock-upgrade failures
between concurrent writers).

SQLite has one write lock per database, and its busy handler (``busy_timeout``) sleeps
with growing back-off between attempts: under contention a writer that has waited longest
sleeps longest, so waits grow unfairly long (measured with 8 concurrent API writers: p50
17 ms, p99 1.5 s) and some run out into "database is locked". So within one process the
write transactions of a database take turns in arrival order at a :class:`WriteSlot`
before their ``BEGIN IMMEDIATE`` and hand it to the next writer when they end; readers
never touch it. Writers in other processes (``catalogue import``) still meet this one at
SQLite's lock, through ``busy_timeout``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
import orjson
import psycopg
from sqlalchemy import Connection, Dialect, Engine, Table, create_engine, event, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

from app.config import get_settings


def normalise_url(url: str) -> str:
    """Resolve a relative SQLite path against the working directory; pick psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute():
            path = Path.cwd() / path
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


#: JSON columns (guide, materials' attachments, legal basis…) through orjson, not json
JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
#: a failed statement's message (logged, shown by the CLI) leaves out its parameters: they
#: can hold a citizen's contact, a webhook's secret, a key's hash
NO_PARAMETERS_IN_ERRORS: dict[str, Any] = {"hide_parameters": True}


#: SQLite connections are cheap to open; a checkout that has to wait is not: writers queued
#: for the write slot each hold one, and the hot read path (``PooledSnapshots``) checks one
#: out on the event loop, where a wait stalls every request, the commits that would give
#: connections back included (measured with SQLAlchemy's 5 + 10 and 20 concurrent writers:
#: every read waited the 30 s pool timeout). So overflow enough for every thread that can
#: hold one at once (anyio's 40 workers, the event loop, the indexer); 5 stay pooled, each
#: with its page cache (``cache_size``), as before.
SQLITE_POOL: dict[str, Any] = {"pool_size": 5, "max_overflow": 64}


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 30, recycle: float = 1800.0
) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                "factory": SQLiteConnection,
            },
            **(SQLITE_POOL if _database_file(make_url(url).database) else {}),
            **JSON_CODEC,
            **NO_PARAMETERS_IN_ERRORS,
        )
        _configure_sqlite(engine)
        return engine
    # pre-ping stays for the ORM's checkouts (lists, writes: a round trip among many); the
    # hot item read does without (app/http/readpath.py)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=recycle,
        pool_pre_ping=True,
        **JSON_CODEC,
        **NO_PARAMETERS_IN_ERRORS,
    )


#: how long a write transaction waits for its turn before it gives up as SQLite's busy
#: handler would ("database is locked": the API answers 503, the CLI reports it)
WRITE_SLOT_TIMEOUT = 30.0


class WriteSlot:
    """The right to hold a database's write transaction, granted in arrival order.

    A free slot is taken at once; otherwise the writer queues, and ``release`` hands the
    slot straight to the writer at the head of the queue (no newcomer can slip in
    between). A writer that waited ``timeout`` seconds leaves the queue."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._lock:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._queue.append(turn)
        try:
            if turn.acquire(timeout=timeout):
                return True
        except BaseException:  # interrupted while waiting: neither wait nor hold
            with self._lock:
                if turn in self._queue:
                    self._queue.remove(turn)
                    raise
            self.release()  # it was handed to us meanwhile: pass it on
            raise
        with self._lock:
            if turn in self._queue:
                self._queue.remove(turn)
                return False
        return True  # handed to us just as the wait ran out

    def release(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().release()  # the slot stays held: it is theirs now
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        """Writers in the queue (for tests and diagnostics)."""
        return len(self._queue)

    @property
    def held(self) -> bool:
        return self._held


_SLOTS: dict[str, WriteSlot] = {}
_SLOTS_LOCK = threading.Lock()


def _database_file(database: str | None) -> str | None:
    """The file of a SQLite URL's database, resolved; None for an in-memory database."""
    if not database or database == ":memory:" or "mode=memory" in database:
        return None
    return database if database.startswith("file:") else os.path.realpath(database)


def write_slot(database: str | None) -> WriteSlot | None:
    """The process's slot for the SQLite database file ``database`` (one for every engine
    on that file); None for an in-memory database, which is each connection's own."""
    key = _database_file(database)
    if key is None:
        return None
    with _SLOTS_LOCK:
        slot = _SLOTS.get(key)
        if slot is None:
            slot = _SLOTS[key] = WriteSlot()
        return slot


def _after_fork() -> None:  # a writer of the parent process holds nothing in the child
    global _SLOTS_LOCK
    _SLOTS_LOCK = threading.Lock()
    for slot in _SLOTS.values():
        slot._reset()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork)


class SQLiteConnection(sqlite3.Connection):
    """A pysqlite connection that hands its :class:`WriteSlot` on as soon as its write
    transaction has ended: committed, rolled back (also by the pool, on check-in) or
    closed."""

    slot: WriteSlot | None = None

    def give_back(self) -> None:
        slot = self.slot
        if slot is not None and not self.in_transaction:
            self.slot = None
            slot.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back()  # a COMMIT that failed leaves the transaction open: kept

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back()

    def close(self) -> None:
        slot, self.slot = self.slot, None
        try:
            super().close()
        finally:
            if slot is not None:
                slot.release()


def _configure_sqlite(engine: Engine) -> None:
    slot = write_slot(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB: version snapshots are read at random
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        mode = conn.get_execution_options().get("sqlite_begin", "")
        begin = f"BEGIN {mode}".strip()
        dbapi_connection = conn.connection.dbapi_connection
        if (
            slot is None
            or mode.upper() not in ("IMMEDIATE", "EXCLUSIVE")
            or not isinstance(dbapi_connection, SQLiteConnection)
        ):
            conn.exec_driver_sql(begin)  # readers (deferred BEGIN) never queue
            return
        if not slot.acquire(WRITE_SLOT_TIMEOUT):
            raise OperationalError(
                begin,
                None,
                sqlite3.OperationalError(
                    f"database is locked: no turn to write within {WRITE_SLOT_TIMEOUT:g} s"
                ),
            )
        dbapi_connection.slot = slot
        try:
            conn.exec_driver_sql(begin)  # other processes' writers: busy_timeout
        except BaseException:
            dbapi_connection.give_back()  # no transaction began: the next writer's turn
            raise


#: seconds a client is asked to wait (``Retry-After``) when the database is away: about
#: what a PostgreSQL restart takes
UNAVAILABLE_RETRY_AFTER = 5
#: SQLSTATEs of a server going away: admin shutdown (a restart, pg_terminate_backend),
#: crash shutdown, cannot connect now (starting up, shutting down), database dropped
_GOING_AWAY = frozenset({"57P01", "57P02", "57P03", "57P04"})


def unavailable(exc: BaseException) -> bool:
    """Is ``exc`` the database out of reach, so that the same request may succeed in a few
    seconds: no connection to be had (refused, not accepting connections, the pool's
    timeout), or the connection lost (terminated, shut down). A statement the database
    refused is not."""
    if isinstance(exc, DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig
    # the driver's error, wrapped by SQLAlchemy or raised as it is by app/http/readpath.py
    if not isinstance(exc, psycopg.OperationalError):
        return False
    # no SQLSTATE: the client library's own failure (to connect, or on a closed connection)
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in _GOING_AWAY


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def upsert(table: Any, dialect: str, key: list[str], columns: Iterable[str]) -> Any:
    """INSERT … ON CONFLICT (``key``) DO UPDATE SET ``columns`` from the row sent, on
    PostgreSQL or SQLite (both spell it alike; SQLAlchemy has a construct for each)."""
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=key, set_={c: stmt.excluded[c] for c in columns}
    )


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (each with the keys of the first) in one executemany.

    On SQLite the rows go to the driver's own ``executemany`` as tuples, each value converted
    by its column's type as SQLAlchemy would, but a value that repeats from one row to the
    next (the batch's timestamp) converted once. SQLAlchemy's executemany spends
    more on building and converting each row's parameters than the driver spends writing
    it (measured: 120 µs a new item in all, 55 of them in the driver). On PostgreSQL
    SQLAlchemy already sends them as multi-row VALUES, so they go through Core."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    sql, names, processors = _driver_insert(table, frozenset(rows[0]), conn.dialect)
    columns = []
    for name, process in zip(names, processors, strict=True):
        values = [row[name] for row in rows]
        if process is not None:
            values = _converted(values, process)
        columns.append(values)
    conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))


_NOTHING = object()


def _converted(values: list[Any], process: Any) -> list[Any]:
    last: Any = _NOTHING
    out: Any = None
    result = []
    for value in values:
        if value is not last:
            last, out = value, process(value)
        result.append(out)
    return result


#: per engine's dialect (its JSON serializer is its own): (table, columns) → statement
_DRIVER_INSERTS: WeakKeyDictionary[Dialect, dict[Any, tuple[str, list[str], list[Any]]]] = (
    WeakKeyDictionary()
)


def _driver_insert(
    table: Table, names: frozenset[str], dialect: Dialect
) -> tuple[str, list[str], list[Any]]:
    """The INSERT statement for columns ``names`` in the driver's parameter style, the order
    of its parameters, and each one's value converter (None: the driver takes it as it is)."""
    known = _DRIVER_INSERTS.setdefault(dialect, {})
    found = known.get((table.name, names))
    if found is None:
        compiled = insert(table).values({n: None for n in names}).compile(dialect=dialect)
        order = list(compiled.positiontup or [])
        processors = [table.c[n].type._cached_bind_processor(dialect) for n in order]
        found = known[(table.name, names)] = (str(compiled), order, processors)
    return found


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_overflow,
        recycle=settings.pool_recycle,
    )


def read_session() -> Iterator[Session]:
    with Session(get_engine()) as session:
        yield session


def for_writing(engine: Engine) -> Engine:
    """The engine for transactions that write: on SQLite they take the write lock at BEGIN,
    so a transaction that reads first never fails to upgrade its lock."""
    return engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(engine) else engine


@contextmanager
def committing(engine: Engine) -> Iterator[Session]:
    """A write transaction: committed when the block ends, rolled back if it raises."""
    with Session(for_writing(engine)) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


async def write_session() -> AsyncIterator[Session]:
    """The request owns the transaction: commit when the endpoint returns, else roll back.
    Async: a session touches the database only at its first statement, so it is opened on
    the event loop and only its end (commit or rollback, then close) takes a worker thread,
    one hop a write instead of two."""
    session = Session(for_writing(get_engine()))
    try:
        yield session
    except BaseException:
        await _ended(session, commit=False)
        raise
    await _ended(session, commit=True)


async def _ended(session: Session, *, commit: bool) -> None:
    # shielded: a client that goes away does not leave the transaction (and SQLite's write
    # slot) open; a limiter of its own: the end never waits for a worker thread that a
    # writer waiting for this transaction's slot may hold
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_end, session, commit, limiter=anyio.CapacityLimiter(1))


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
