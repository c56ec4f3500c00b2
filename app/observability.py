"""Structured logs (one JSON object per line) and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("catalogue_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "catalogue_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
WRITES = Counter("catalogue_writes_total", "Writes by key", ["key", "route"])

access_log = logging.getLogger("catalogue.access")


#: PostgreSQL's DETAIL of an error echoes the row's values ("Failing row contains (…)",
#: "Key (ticket)=(…) already exists"): a citizen's contact must not reach the log that way
_DATABASE_DETAIL = re.compile(r"(?m)^DETAIL:.*$")


def scrub(text: str) -> str:
    """``text`` without the values a database error echoes (its parameters are never shown:
    app.db's engines hide them)."""
    if "DETAIL:" not in text:
        return text
    return _DATABASE_DETAIL.sub("DETAIL: (hidden: it can hold the row's values)", text)


class JsonFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return scrub(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        extra = getattr(record, "fields", None)
        if extra:
            doc.update(extra)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware: it costs a task per request). Counts and times every
    request by route template and logs writes and errors with the key that made them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
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


def metrics_text() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
