"""Small helpers for responses built from stored JSON, and HTTP caching of public reads.

:class:`HttpCaching` (pure ASGI, between the metrics and the edge) gives every public read
(:data:`PUBLIC_READS`) ``Cache-Control: public, max-age=…, stale-while-revalidate=…``
(``CATALOGUE_CACHE_MAX_AGE``, ``CATALOGUE_CACHE_STALE_WHILE_REVALIDATE``; a stored version,
``/items/{code}/versions/{n}``, never changes: ``immutable``), an ``ETag`` (the version where
the representation has one, else a weak one hashed from the body), ``Last-Modified`` and
``Vary: Accept-Encoding`` (the JSON does not depend on ``Accept`` or a key; a proxy may
compress). ``If-None-Match`` (which wins, RFC 9110 §13.2.2) and ``If-Modified-Since`` are
answered 304 with the same headers and no body. Writes, and any request with a key, get
``Cache-Control: private, no-store``.

An item's ``Cache-Control`` keeps it fresh (``max-age`` and ``stale-while-revalidate``
together) no later than its next scheduled change begins; a state computed past its stored
snapshot (a scheduled change in force, its day not recorded yet) has a tag of its own
(:func:`item_tag`). ``Last-Modified``: an item's is its version's ``recorded_at`` (a
scheduled change in force since: the start of that day); a stored version's likewise. Other reads carry no timestamp of
their own, so theirs is when this process first served the representation with this ETag
(kept for the most recent URLs): never earlier than the content's change, so
``If-Modified-Since`` cannot hide a change from a client that holds only the date, except
when a representation returns to an earlier one another process served it. ETags have no
such gap; clients and proxies that hold one send ``If-None-Match``.

A conditional ``GET /api/v1/items/{code}`` is answered here, before the edge and the router,
from the version alone (:meth:`app.http.readpath.ReadPath.validator`: the snapshot stays on the
server), so a 304 costs a fraction of a full read.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import Response

if TYPE_CHECKING:
    from app.catalogue.reads import ItemRead

from app import clock
from app.catalogue.effective import in_force, seconds_in_force
from app.db import UNAVAILABLE_RETRY_AFTER, unavailable
from app.errors import PROBLEM_BASE
from app.http.deps import etag, not_modified

log = logging.getLogger("app")


def json_bytes(
    content: str | bytes | dict[str, Any],
    *,
    version: int | None = None,
    status_code: int = 200,
    if_none_match: str | None = None,
    headers: dict[str, str] | None = None,
    last_modified: datetime | None = None,
) -> Response:
    """A JSON response with its ETag; 304 when the client already holds this version."""
    hdrs = dict(headers or {})
    if last_modified is not None:
        hdrs["Last-Modified"] = http_date(last_modified)
    if version is not None:
        hdrs["ETag"] = etag(version)
        if not_modified(if_none_match, version):
            return Response(status_code=304, headers=hdrs)
    if isinstance(content, dict):
        content = orjson.dumps(content)
    return Response(
        content=content, status_code=status_code, media_type="application/json", headers=hdrs
    )


async def send_json(send: Any, content: bytes, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """A 200 JSON answer written to the ASGI ``send`` (the paths answered before the router)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


def unavailable_response(exc: BaseException) -> Response:
    """503 with ``Retry-After`` for the database out of reach (:func:`app.db.unavailable`):
    a proxy tries the other instance, a client retries; a 500 would say the request is at
    fault. Logged without the trace: the cause is outside the app."""
    log.warning(
        "database unavailable", extra={"fields": {"error": f"{type(exc).__name__}: {exc}"[:300]}}
    )
    body = {
        "type": PROBLEM_BASE + "database-unavailable",
        "title": "The database is unavailable",
        "status": 503,
        "detail": "the catalogue cannot reach its database for now (restarting, or out of "
        f"connections); retry in {UNAVAILABLE_RETRY_AFTER} s",
    }
    return Response(
        orjson.dumps(body),
        status_code=503,
        media_type="application/problem+json",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER), "Cache-Control": "no-store"},
    )


class DatabaseUnavailable:
    """ASGI middleware: the database out of reach is a 503 (:func:`unavailable_response`)
    wherever it is met, also before the router's exception handlers (the item read and
    the item page answered ahead of the router, the key checked at the edge). Any other
    error passes on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started or not unavailable(exc):
                raise
            await unavailable_response(exc)(scope, receive, send)


@lru_cache(maxsize=65536)  # the same versions' dates again and again: 5 µs each to format
def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


@lru_cache(maxsize=65536)
def _etag_bytes(version: int) -> bytes:
    return etag(version).encode()


def effective_since(recorded_at: datetime | None, changed_on: date | None) -> datetime | None:
    """When the representation in force today last changed: its version's recording, or
    the start (in the province) of the day a scheduled change took effect since, whichever
    is later."""
    if changed_on is None:
        return recorded_at
    start = clock.start_of(changed_on)
    return start if recorded_at is None else max(recorded_at, start)


def item_tag(version: int, changed_on: date | None = None) -> str:
    """An item's entity tag: its version; a state computed past the stored snapshot (a
    scheduled change in force, its day not recorded yet) adds that day, so a client holding
    the version's tag gets the new state, not a 304."""
    return etag(version) if changed_on is None else f'"{version}.{changed_on:%Y%m%d}"'


@lru_cache(maxsize=1024)
def _public(fresh: int, stale: int) -> bytes:
    return f"public, max-age={fresh}, stale-while-revalidate={stale}".encode()


def public_control(next_change: date | None = None) -> bytes:
    """``Cache-Control`` of a public read (``CATALOGUE_CACHE_MAX_AGE``, ``…_STALE_WHILE_
    REVALIDATE``); an item's stays fresh, stale included, no later than its next scheduled
    change begins."""
    from app.config import get_settings

    settings = get_settings()
    fresh, stale = settings.cache_max_age, settings.cache_stale_while_revalidate
    left = seconds_in_force(next_change)
    if left is not None and left < fresh + stale:
        fresh = min(fresh, int(left))
        stale = min(stale, int(left) - fresh)
    return _public(fresh, stale)


def item_response(read: ItemRead, modified: datetime | None, if_none_match: str | None) -> Response:
    """``GET /items/{code}`` through the router: the representation with its tag, its
    freshness and when it last changed; 304 when the client holds this one."""
    tag = item_tag(read.version, read.changed_on)
    headers = {"ETag": tag, "Cache-Control": public_control(read.next_change).decode()}
    if modified is not None:
        headers["Last-Modified"] = http_date(modified)
    if _not_modified(if_none_match, None, tag, None):
        return Response(status_code=304, headers=headers)
    return Response(content=read.body, media_type="application/json", headers=headers)


#: route templates of the public reads that caches may keep
PUBLIC_READS = frozenset(
    "/api/v1" + p
    for p in (
        "/items",
        "/items/{code}",
        "/items/{code}/versions",
        "/items/{code}/versions/{number}",
        "/items/{code}/diff",
        "/items/{code}/situations",
        "/adjustments",
        "/catalogue-entries",
        "/catalogue-entries/{basic_code}",
        "/search",
        "/suggest",
        "/regions",
        "/regions/{code}",
        "/departments",
        "/departments/{credit_code}",
        "/materials",
        "/materials/{code}",
        "/code-lists",
        "/code-lists/{name}",
    )
)
IMMUTABLE = frozenset({"/api/v1/items/{code}/versions/{number}"})
NO_STORE = (b"cache-control", b"private, no-store")
VARY = (b"vary", b"Accept-Encoding")
ITEM_PATH = re.compile(r"/api/v1/items/([0-9A-Za-z]{1,40})")
SEEN_LIMIT = 20_000
#: how long a search took: not part of the content its ETag stands for
TIMING = re.compile(rb'"took_ms":[-0-9.eE+]+')


class _ItemRoute:  # what the metrics read of scope["route"] for a 304 answered here
    path = "/api/v1/items/{code}"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k == name:
            return v.decode("latin-1")
    return None


def _not_modified(inm: str | None, ims: str | None, tag: str, modified: datetime | None) -> bool:
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or tag.removeprefix("W/") in tags
    if ims is None or modified is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified.replace(microsecond=0) <= since


class HttpCaching:
    """ASGI middleware; see the module's docstring."""

    def __init__(self, app: Any) -> None:
        from app.config import get_settings

        self.app = app
        settings = get_settings()
        self.public = _public(settings.cache_max_age, settings.cache_stale_while_revalidate)
        self.immutable = b"public, max-age=31536000, immutable"
        self._seen: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD") or _header(scope, b"authorization"):
            await self.app(scope, receive, self._private(send))
            return
        inm = _header(scope, b"if-none-match")
        ims = _header(scope, b"if-modified-since")
        if not scope["query_string"] and await self._item(scope, send, inm, ims):
            return
        await self.app(scope, receive, _Public(self, scope, send, inm, ims))

    def _private(self, send: Any) -> Any:
        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                # never public, whatever the route said of its representation's freshness
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"cache-control" or not v.startswith(b"public")
                ]
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        return wrapped

    async def _item(self, scope: dict[str, Any], send: Any, inm: Any, ims: Any) -> bool:
        """``GET /api/v1/items/{code}`` (no query) answered here: the stored snapshot as it
        is, or a 304 from the version alone. False: the router's path (as_of, an unknown
        code, a scheduled event in force since, a test's reader)."""
        match = ITEM_PATH.fullmatch(scope["path"])
        if match is None or scope["method"] != "GET":
            return False
        reader = getattr(scope["app"].state, "snapshots", None)
        if not hasattr(reader, "avalidator"):
            return False
        code = match.group(1)
        found: Any = await (
            reader.avalidator("item", code)
            if inm or ims
            else reader.alatest_with_time("item", code)
        )
        if found is None:
            return False
        version, next_change, modified = found[0], found[-2], found[-1]
        if not in_force(next_change):
            return False  # computed from the log, with a tag of its own: the router's path
        tag = etag(version)
        scope["route"] = _ItemRoute
        control = self.public if next_change is None else public_control(next_change)
        headers = [(b"etag", _etag_bytes(version)), (b"cache-control", control), VARY]
        if modified is not None:
            headers.append((b"last-modified", http_date(modified).encode()))
        if inm or ims:
            if not _not_modified(inm, ims, tag, modified):
                found = await reader.alatest_with_time("item", code)
                if found is None or found[0] != version:
                    return False  # changed in between: the router reads it again
            else:
                await send({"type": "http.response.start", "status": 304, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return True
        body = found[1].encode() if isinstance(found[1], str) else found[1]
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    def first_seen(self, url: str, tag: str) -> datetime:
        """When this process first served ``url`` with ``tag`` (now, if it never did)."""
        now = clock.now().replace(microsecond=0)
        with self._lock:
            seen = self._seen.get(url)
            if seen is not None and seen[0] == tag:
                self._seen.move_to_end(url)
                return seen[1]
            self._seen[url] = (tag, now)
            if len(self._seen) > SEEN_LIMIT:
                self._seen.popitem(last=False)
        return now


class _Public:
    """The ``send`` of a GET: public reads get their caching headers (and a 304 when the
    client's copy is current); everything else passes as it is."""

    def __init__(self, owner: HttpCaching, scope: Any, send: Any, inm: Any, ims: Any) -> None:
        self.owner, self.scope, self.send = owner, scope, send
        self.inm, self.ims = inm, ims
        self.start: dict[str, Any] | None = None
        self.body: list[bytes] = []
        self.passing = True
        self.send_body = False

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            route = getattr(self.scope.get("route"), "path", None)
            if route not in PUBLIC_READS or message["status"] not in (200, 304):
                await self.send(message)
                return
            self.passing = False
            self.start = message
            self.route = route
            self.headers = {k.lower(): v for k, v in message.get("headers", [])}
            if b"etag" in self.headers:  # decided now: the body need not wait
                await self._finish(None)
            return
        if self.passing:
            await self.send(message)
            return
        if self.start is None:  # 304 or a body already on its way
            if self.send_body:
                await self.send(message)
            return
        self.body.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._finish(b"".join(self.body))

    async def _finish(self, body: bytes | None) -> None:
        start, self.start = self.start, None
        assert start is not None
        headers = self.headers
        tag = headers.get(b"etag", b"").decode("latin-1")
        if not tag:  # weak: the same content, not always the same bytes (a search's took_ms)
            digest = hashlib.blake2b(TIMING.sub(b"", body or b""), digest_size=12).hexdigest()
            tag = f'W/"h{digest}"'
        modified: datetime | None = None
        if b"last-modified" in headers:
            modified = parsedate_to_datetime(headers[b"last-modified"].decode("latin-1"))
        else:
            path = self.scope["path"] + "?" + self.scope["query_string"].decode("latin-1")
            modified = self.owner.first_seen(path, tag)
        out = [
            (k, v)
            for k, v in start.get("headers", [])
            if k.lower() not in (b"etag", b"last-modified", b"cache-control", b"vary")
        ]
        # a route may say how long its answer stays fresh (an item: until its next change)
        control = self.headers.get(b"cache-control") or (
            self.owner.immutable if self.route in IMMUTABLE else self.owner.public
        )
        out += [
            (b"etag", tag.encode("latin-1")),
            (b"last-modified", http_date(modified).encode()),
            (b"cache-control", control),
            VARY,
        ]
        status = start["status"]
        if status == 304 or _not_modified(self.inm, self.ims, tag, modified):
            out = [(k, v) for k, v in out if k.lower() not in (b"content-length", b"content-type")]
            await self.send({"type": "http.response.start", "status": 304, "headers": out})
            await self.send({"type": "http.response.body", "body": b""})
            self.send_body = False
            return
        await self.send({**start, "headers": out})
        self.send_body = True
        if body is not None:
            await self.send({"type": "http.response.body", "body": body})
