"""Leadership: exactly one process at a time runs a piece of background work.

The webhook dispatcher takes it (``catalogue serve`` with ``CATALOGUE_WEBHOOKS=true`` and
``catalogue worker``); the search indexer and the
scheduled effects (app/catalogue/effective.py) take it the same way.

* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a
  connection of its own, outside the pool. The server releases it when that connection
  ends, so a leader that dies (even by SIGKILL) hands over as soon as the server notices
  the closed socket; a follower tries again on every poll and takes over then.
* SQLite: an exclusive ``flock`` on a file next to the database (``<db>.<name>.lock``);
  the kernel releases it when the process dies. The catalogue's SQLite deployments are
  one machine: processes on other hosts sharing the file over a network filesystem are
  not supported. An in-memory database belongs to one process: always the leader.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from typing import IO, Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("app.leader")

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover (Windows: one process, as documented)
    fcntl = None  # type: ignore[assignment]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(
        hashlib.sha256(f"catalogue:{name}".encode()).digest()[:8], "big", signed=True
    )


class Leadership:
    """Try :meth:`acquire` before each round of work; it answers whether this process
    leads now (and checks that a lock already held is still held). :meth:`release` on
    the way out."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._conn: Connection | None = None
        self._file: IO[Any] | None = None
        self._always = False

    @property
    def held(self) -> bool:
        return self._always or self._conn is not None or self._file is not None

    def acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            return self._acquire_pg()
        return self._acquire_file()

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(self.name)})
            except Exception:  # the connection is gone: so is the lock
                pass
            finally:
                _close(conn)
        file, self._file = self._file, None
        if file is not None:
            file.close()  # closing the descriptor drops the flock
        self._always = False

    # --- PostgreSQL ---------------------------------------------------------------------

    def _acquire_pg(self) -> bool:
        if self._conn is not None:
            try:  # still connected: still holding it
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("%s: lost the leadership connection", self.name)
                _close(self._conn)
                self._conn = None
        conn = None
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(self.name)}
            ).scalar_one()
        except Exception as exc:
            log.warning("%s: cannot reach the database: %s", self.name, type(exc).__name__)
            if conn is not None:
                _close(conn)
            return False
        if not got:
            _close(conn)
            return False
        # the connection is kept out of the pool: its end is the lock's end
        conn.connection.detach()
        self._conn = conn
        log.info("%s: this process leads", self.name)
        return True

    # --- SQLite -------------------------------------------------------------------------

    def _acquire_file(self) -> bool:
        if self._always or self._file is not None:
            return True
        database = self.engine.url.database
        if fcntl is None or not database or database == ":memory:" or "mode=memory" in database:
            self._always = True
            return True
        path = f"{os.path.realpath(database)}.{self.name}.lock"
        file = open(path, "a+")  # noqa: SIM115 (held open: the descriptor is the lock)
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.close()
            return False
        self._file = file
        log.info("%s: this process leads", self.name)
        return True


def _close(conn: Connection) -> None:
    with contextlib.suppress(Exception):
        conn.close()


def run_in_thread(loop: Callable[[threading.Event], None], name: str) -> Callable[[], None]:
    """Run a duty's ``loop(stop)`` in a daemon thread of this process; returns what stops it
    (sets ``stop``, waits up to 5 s)."""
    stop = threading.Event()
    thread = threading.Thread(target=loop, args=(stop,), name=name, daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=5)

    return halt
