"""The read path's connections against psycopg_pool through a database outage.

    .venv/bin/python bench/read_outage.py [--postgres-url URL] [--outage 10] [--timeout 1]

A throwaway database on the server at ``--postgres-url`` (default 127.0.0.1:5432, user
postgres). One reader on the event loop asks ``SELECT 1`` every 50 ms through each kind of
connections in turn, while the database refuses new connections and its open ones are
terminated every 0.2 s for ``--outage`` seconds (as deploy/smoke cuts it). For each: how
many reads failed during the outage, how long the slowest failing one took to fail (what
a client waits for its 503), and how long after the database is back the first read
works (what "answers again within 2 s" in tests/ops/test_smoke_shape.py measures).

The baseline is psycopg_pool's AsyncConnectionPool with the same settings (autocommit,
prepared statements, no check, at most 4 connections, none kept open beforehand) and a
``--timeout`` to wait for a connection (its default is 30 s): its workers connect in the
background and, after a failed attempt, try again after 1, 2, 4… s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.http.read_connections import AsyncPgConnections  # noqa: E402

Read = Callable[[], Awaitable[object]]


def _admin(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _cut(admin: str, name: str, seconds: float, back: list[float]) -> None:
    _admin(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        _admin(
            admin,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
        )
        time.sleep(0.2)
    _admin(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    back.append(time.monotonic())


async def _through_an_outage(read: Read, admin: str, name: str, outage: float) -> dict[str, float]:
    for _ in range(5):  # connected and warm before the cut
        await read()
    back: list[float] = []
    cutter = threading.Thread(target=_cut, args=(admin, name, outage, back))
    cutter.start()
    failed, slowest_failure, first_read = 0, 0.0, float("nan")
    while True:
        began = time.monotonic()
        try:
            await read()
        except Exception:
            failed += 1
            slowest_failure = max(slowest_failure, time.monotonic() - began)
        else:
            if back:
                first_read = time.monotonic() - back[0]
                break
        if back and time.monotonic() - back[0] > 60:
            break
        await asyncio.sleep(0.05)
    await asyncio.to_thread(cutter.join)
    return {"failed": failed, "slowest_failure": slowest_failure, "first_read": first_read}


async def run(admin: str, outage: float, timeout: float) -> None:
    name = f"bench_outage_{uuid.uuid4().hex[:8]}"
    _admin(admin, f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(admin, dbname=name)
    try:
        own = AsyncPgConnections(url, keep=4, most=4, recycle=1800)
        results = {"read path's own": await _through_an_outage(
            lambda: own.fetchone("SELECT 1", ()), admin, name, outage
        )}  # fmt: skip
        await own.drop_idle()
        pool = AsyncConnectionPool(
            url, kwargs={"autocommit": True, "prepare_threshold": 0},
            min_size=0, max_size=4, timeout=timeout, open=False,
        )  # fmt: skip
        await pool.open()

        async def pooled() -> object:
            async with pool.connection() as conn:
                return await (await conn.execute("SELECT 1")).fetchone()

        results["psycopg_pool"] = await _through_an_outage(pooled, admin, name, outage)
        await pool.close()
    finally:
        _admin(admin, f'DROP DATABASE "{name}" WITH (FORCE)')
    print(f"a {outage:.0f} s outage, one reader every 50 ms (psycopg_pool's wait: {timeout} s)")
    for kind, r in results.items():
        print(
            f"  {kind:16} {r['failed']:4.0f} failed reads, the slowest failed after "
            f"{r['slowest_failure']:.2f} s; first read {r['first_read']:.2f} s after the "
            "database was back"
        )
    own_first, pool_first = (
        results["read path's own"]["first_read"],
        results["psycopg_pool"]["first_read"],
    )
    print(f"  back to reading: psycopg_pool / own = {pool_first / max(own_first, 1e-3):.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    import logging

    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)  # its retries, one a line
    asyncio.run(run(args.postgres_url, args.outage, args.timeout))


if __name__ == "__main__":
    main()
