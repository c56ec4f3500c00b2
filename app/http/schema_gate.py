"""Writes refused while the database's schema does not serve this release (模式闸门).

An instance started on a database its release's migrations have not reached yet (or on
one a contract migration has moved past it) must not write: its statements would meet
tables and columns of another shape, some would succeed and some fail half-way. Reads
go on (a read that meets a missing table is a 503 of its own, app/main.py); every
write method is answered 503 with ``Retry-After`` and the reason ``/readyz`` gives,
before any of it is read. The schema is looked at once every few seconds per process,
so a migration that lands is noticed without a restart.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio.to_thread
import orjson

from app.db import get_engine, unavailable, write_session
from app.errors import PROBLEM_BASE
from app.migrate import SchemaState, schema_state

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: seconds a look at the schema is believed
RECHECK = 2.0
#: what a refused client is told to wait: a migration takes seconds to minutes
RETRY_AFTER = "10"

_lock = threading.Lock()
_seen: tuple[float, SchemaState] | None = None


def current_state() -> SchemaState | None:
    """The schema's state as last seen (at most ``RECHECK`` seconds ago); None when the
    database cannot be reached (the request meets that itself)."""
    global _seen
    now = time.monotonic()
    seen = _seen
    if seen is not None and now - seen[0] < RECHECK:
        return seen[1]
    with _lock:
        try:
            with get_engine().connect() as conn:
                state = schema_state(conn)
        except Exception as exc:
            if unavailable(exc):
                return None
            raise
        _seen = (time.monotonic(), state)
        return state


def forget() -> None:
    """Look again on the next write (tests, and after ``catalogue migrate`` in-process)."""
    global _seen
    _seen = None


def _elsewhere(scope: dict[str, Any]) -> bool:
    """The app writes to another database than the engine's (its write session replaced,
    as the tests' apps on a session of their own): the gate has nothing to watch."""
    app = scope.get("app")
    return app is not None and write_session in getattr(app, "dependency_overrides", {})


class SchemaGate:
    """ASGI middleware: a write while the schema does not serve this release is a 503."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES or _elsewhere(scope):
            await self.app(scope, receive, send)
            return
        seen = _seen
        if seen is not None and time.monotonic() - seen[0] < RECHECK:
            state: SchemaState | None = seen[1]  # no thread for the common case
        else:
            state = await anyio.to_thread.run_sync(current_state)
        if state is None or state.serves:
            await self.app(scope, receive, send)
            return
        body = orjson.dumps(
            {
                "type": PROBLEM_BASE + "not-ready",
                "title": "The database schema does not serve this release",
                "status": 503,
                "detail": f"{state.reason}; nothing was written, retry shortly",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", RETRY_AFTER.encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
