"""Structured logs (one JSON object per line, with the request's id) and Prometheus metrics.

Metrics of a ``catalogue serve`` with several workers are aggregated across them
(prometheus_client's multiprocess mode: ``catalogue serve --workers N`` gives the workers
one fresh ``PROMETHEUS_MULTIPROC_DIR``), so a scrape answers the same counter whichever
worker it reaches. The catalogue's state (app/state_metrics.py) is read from the database
at scrape time by every process kind.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from typing import Any

from prometheus_client import (
    Counter,
    Histogram,
)

REQUESTS = Counter("catalogue_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "catalogue_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
WRITES = Counter("catalogue_writes_total", "Writes by key", ["key", "route"])

access_log = logging.getLogger("catalogue.access")

#: the id of the request being served (``X-Request-ID`` from the client or the proxy, or a
#: new one), on every log line written while it is served and on its response
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def incoming_request_id(value: str | None) -> str:
    """The client's id when it is a plain token (it is echoed and logged), else a new one."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


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
        rid = request_id.get()
        if rid:
            doc["request_id"] = rid
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
