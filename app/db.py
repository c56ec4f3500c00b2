"""Engine and sessions.

SQLite runs in WAL mode with the driver's own transaction handling switched off, so that
SQLAlchemy's BEGIN/SAVEPOINT work as documented (tests roll back to a savepoint) and
write transactions can start with ``BEGIN IMMEDIATE`` (no lock-upgrade failures
between concurrent writers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import Connection, Dialect, Engine, Table, create_engine, event, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
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


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **JSON_CODEC
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **JSON_CODEC
    )


def _configure_sqlite(engine: Engine) -> None:
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
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


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
    return make_engine(settings.database_url, pool_size=settings.pool_size)


def read_session() -> Iterator[Session]:
    with Session(get_engine()) as session:
        yield session


def for_writing(engine: Engine) -> Engine:
    """The engine for transactions that write: on SQLite they take the write lock at BEGIN,
    so a transaction that reads first never fails to upgrade its lock."""
    return engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(engine) else engine


def write_session() -> Iterator[Session]:
    """The request owns the transaction: commit when the endpoint returns, else roll back."""
    with Session(for_writing(get_engine())) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
