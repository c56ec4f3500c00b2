"""The request's id and its metrics at the edge: every request is counted and timed by
route template, writes and errors are logged with the key that made them, and the id from
``X-Request-ID`` (or a new one) is on every log line written while it is served and on its
response. Pure ASGI (no BaseHTTPMiddleware: it costs a task per request)."""

from __future__ import annotations

import time
from typing import Any

from app.http.drain import DRAINING
from app.observability import LATENCY, REQUESTS, WRITES, access_log, incoming_request_id, request_id


class MetricsMiddleware:
    """Counts and times every request; logs writes and errors with their key."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]
        rid = incoming_request_id(_header(scope, b"x-request-id"))
        token = request_id.set(rid)

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                if DRAINING.is_set():  # leaving the balancer: no idle connection stays open
                    headers.append((b"connection", b"close"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(method, route, str(status[0])).inc()
            LATENCY.labels(method, route).observe(elapsed)
            key = scope.get("state", {}).get("key_name")
            if key and method != "GET":
                WRITES.labels(key, route).inc()
            if method != "GET" or status[0] >= 500:
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "method": method,
                            "path": scope["path"],
                            "route": route,
                            "status": status[0],
                            "ms": round(elapsed * 1000, 2),
                            "key": key,
                        }
                    },
                )
            request_id.reset(token)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None
