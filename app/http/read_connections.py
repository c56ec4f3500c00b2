"""The read path's own PostgreSQL connections (``app.http.readpath``): autocommit (no
BEGIN, no ROLLBACK), each statement prepared on the server at its first use, no ping at
checkout. A checkout never waits for the server: while it is away a read fails at once (a
503 with Retry-After, ``app/http/responses.py``), and the first read after it is back
connects. A broken connection drops every idle one (they are as old as it is) and the read
is retried once on a new one. Why not psycopg_pool:
docs/decisions/0010-the-read-paths-own-connections.md (bench/read_outage.py)."""

from __future__ import annotations

import threading
import time
from typing import Any


class PgConnections:
    """A small LIFO of autocommit psycopg connections with reconnect-on-failure, for
    threads: a checkout never waits (a thread that needs one while all are out gets a new
    one; at most ``keep`` stay idle)."""

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


class AsyncPgConnections:
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
