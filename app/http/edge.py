"""The edge: what every request goes through before the app spends anything on it.

In this order, each refusal cheap and final (a ``problem+json`` answer, nothing read
further, nothing written):

1. the path and the query string hold no text the policy refuses (a NUL, a control or
   bidi character: 422 naming the parameter), so no database ever sees them;
2. for a request that carries a body to an operation that needs a key, the key is checked
   from the headers alone (401), before one byte of the body is read, and so is its role
   for a lifecycle decision (403);
3. the body's media type is one the operation reads (415, with the accepted ones);
4. the body fits the operation's limit (413): a ``Content-Length`` above it is refused at
   once, a body sent in chunks is counted as it arrives and refused when it passes it.

The operation's needs come from its own route: a key when it depends on
:func:`app.http.deps.current_principal`, the limit from ``openapi_extra["x-body-limit"]``
(``bulk`` for bulk writes and imports, a number of bytes, else the single-write limit),
the roles from ``x-roles``, the media types from its request body. The key checked here is what the endpoint's ``Caller`` receives.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio.to_thread
import orjson
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.errors import PROBLEM_BASE, DomainError, field_error
from app.fields import violation
from app.http.forwarded import trusted_proxies
from app.http.readpath import ReadPath
from app.security import authenticate, bearer_key, key_principal

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = "application/json"
#: a multipart upload's framing and form fields around its one file
MULTIPART_OVERHEAD = 64 * 1024


class RouteNeeds:
    """What an operation needs of a request, read once from its route."""

    def __init__(self, route: APIRoute) -> None:
        from app.http.deps import current_principal  # the dependency marks a keyed operation

        self.key = _depends_on(route.dependant, current_principal)
        extra = route.openapi_extra or {}
        #: a lifecycle decision: the key's role is checked before the body too
        self.decision = bool(extra.get("x-decision"))
        #: the roles that may call it at all (checked before the body)
        self.roles: tuple[str, ...] = tuple(extra.get("x-roles", ()))
        # a bulk body says itself which line is not UTF-8; a file is bytes
        self.bulk = extra.get("x-body-limit") in ("bulk", "file")
        settings = get_settings()
        limit = extra.get("x-body-limit")  # "bulk", "file", a number of bytes, or the default
        self.limit = (
            settings.bulk_body_limit
            if limit == "bulk"
            else settings.file_limit + MULTIPART_OVERHEAD
            if limit == "file"
            else limit
            if isinstance(limit, int)
            else settings.body_limit
        )
        declared = extra.get("requestBody", {}).get("content")
        if declared:
            self.media_types = tuple(declared)
        elif route.body_field is not None:
            self.media_types = (JSON, "application/merge-patch+json")
        else:
            self.media_types = ()


def _depends_on(dependant: Any, call: Any) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }


async def send_problem(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    *,
    unread_body: bool = True,
) -> None:
    payload = orjson.dumps(body)
    raw = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if unread_body:  # the rest of the body is never read: the connection cannot be reused
        raw.append((b"connection", b"close"))
    raw.extend((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def parameter_errors(scope: Scope) -> list[dict[str, Any]]:
    """Every path segment or query parameter holding text the policy refuses."""
    errors: list[dict[str, Any]] = []
    path: str = scope.get("path", "")
    bad = violation(path, multiline=False)
    if bad is not None:
        errors.append(field_error(["path"], f"{bad[2]} (U+{ord(path[bad[1]]):04X})", bad[0]))
    query = scope.get("query_string", b"").decode("latin-1")
    if query and violation(unquote(query), multiline=False) is not None:
        for name, value in parse_qsl(query, keep_blank_values=True):
            for part, loc in ((name, ["query"]), (value, ["query", name])):
                bad = violation(part, multiline=False)
                if bad is not None:
                    msg = f"{bad[2]} (U+{ord(part[bad[1]]):04X})"
                    errors.append(field_error(loc, msg, bad[0]))
    return errors


def api_routes(routers: list[APIRouter]) -> list[APIRoute]:
    """The operations of the API, each with its full path."""
    return [r for router in routers for r in router.routes if isinstance(r, APIRoute)]


class Edge:
    """ASGI middleware; see the module's docstring."""

    def __init__(self, app: ASGIApp, routes: list[APIRoute]) -> None:
        trusted_proxies(get_settings().trusted_proxies)  # a wrong value stops the start
        self.app = app
        self.routes = routes
        self.needs: dict[int, RouteNeeds] = {}
        self._matched: dict[tuple[str, str], RouteNeeds | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = parameter_errors(scope)
        if errors:
            await send_problem(
                send,
                422,
                problem(
                    422, "validation", "Invalid input", "a parameter is not valid", errors=errors
                ),
                unread_body=scope["method"] in BODY_METHODS,
            )
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        needs = self._needs(scope)
        if needs is None:  # no such operation: the router answers 404 or 405
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if needs.key:
            try:
                principal = await self._authenticate(scope, headers.get("authorization"))
            except DomainError as exc:
                await send_problem(
                    send, exc.status, exc.problem(), {"WWW-Authenticate": 'Bearer realm="api"'}
                )
                return
            try:
                if needs.decision:
                    principal.require_decision_role()
                if needs.roles:
                    principal.require_role(needs.roles)
            except DomainError as exc:
                await send_problem(send, exc.status, exc.problem())
                return
            scope.setdefault("state", {})["principal"] = principal
        refusal = self._refuse_body(needs, headers)
        if refusal is not None:
            await send_problem(send, *refusal)
            return
        body = await self._read(receive, needs.limit)
        if body is None:
            await send_problem(send, *_too_large(needs.limit))
            return
        if not needs.bulk and not _is_utf8(body):  # the bulk reader says which line itself
            await send_problem(
                send,
                422,
                problem(
                    422,
                    "validation",
                    "Invalid input",
                    "the body is not UTF-8",
                    errors=[field_error(["body"], "JSON is sent in UTF-8", "json_invalid")],
                ),
                unread_body=False,
            )
            return
        await self.app(scope, replay_body(body, receive), rate_limit_fields(scope, send))

    def _needs(self, scope: Scope) -> RouteNeeds | None:
        # matching every route's pattern costs more than the rest of the edge: remember the
        # answer by method and path (bounded; paths carry codes, so there are many)
        key = (scope["method"], scope["path"])
        if key in self._matched:
            return self._matched[key]
        if len(self._matched) >= 4096:
            self._matched.clear()
        found = self._match(scope)
        self._matched[key] = found
        return found

    def _match(self, scope: Scope) -> RouteNeeds | None:
        for route in self.routes:
            if route.matches(scope)[0] is Match.FULL:
                needs = self.needs.get(id(route))
                if needs is None:
                    needs = self.needs[id(route)] = RouteNeeds(route)
                return needs
        return None

    @staticmethod
    async def _authenticate(scope: Scope, authorization: str | None) -> Any:
        snapshots = scope["app"].state.snapshots
        if isinstance(snapshots, ReadPath):  # on the loop: no hop to a worker thread
            secret, prefix = bearer_key(authorization)
            return key_principal(await snapshots.akey(prefix), secret)

        def on_a_thread() -> Any:  # a test's reader over its own session
            with snapshots.connection() as db:
                return authenticate(db, authorization)

        return await anyio.to_thread.run_sync(on_a_thread)

    @staticmethod
    def _refuse_body(
        needs: RouteNeeds, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]] | tuple[int, dict[str, Any], dict[str, str]] | None:
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return 400, problem(
                    400, "bad-request", "Bad request", "Content-Length is not a number"
                )
            if int(length) > needs.limit:
                return _too_large(needs.limit)
            if int(length) == 0:
                return None
        elif "transfer-encoding" not in headers:
            return None  # no body at all: the operation says what it misses
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if needs.media_types and media not in needs.media_types:
            accepted = ", ".join(needs.media_types)
            return (
                415,
                problem(
                    415,
                    "unsupported-media-type",
                    "Unsupported media type",
                    f"this operation reads {accepted}, not {media or 'a body without a type'}",
                    accepted=list(needs.media_types),
                ),
                {"Accept-Post": accepted, "Accept-Patch": accepted},
            )
        return None

    @staticmethod
    async def _read(receive: Receive, limit: int) -> list[Message] | None:
        """The body's messages, or None once they pass ``limit`` bytes."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > limit:
                return None
            if not message.get("more_body", False):
                return messages


def rate_limit_fields(scope: Scope, send: Send) -> Send:
    """A 429 says which limit it counts against and when it resets, as the IETF draft's
    ``RateLimit`` field does (``"<policy>";r=0;t=<seconds>``), beside ``Retry-After``: a
    client library that honours the one or the other waits."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 429:
            headers = list(message.get("headers", []))
            after = next((v for k, v in headers if k.lower() == b"retry-after"), None)
            if after is not None and not any(k.lower() == b"ratelimit" for k, _ in headers):
                policy = scope["path"].rstrip("/").rsplit("/", 1)[-1].encode("latin-1")
                headers.append((b"ratelimit", b'"%s";r=0;t=%s' % (policy, after)))
                message = {**message, "headers": headers}
        await send(message)

    return sending


def _is_utf8(messages: list[Message]) -> bool:
    try:
        b"".join(m.get("body", b"") for m in messages).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _too_large(limit: int) -> tuple[int, dict[str, Any]]:
    return 413, problem(
        413,
        "too-large",
        "Request body too large",
        f"this operation reads at most {limit:,} bytes; split the request",
        limit=limit,
    )


def replay_body(messages: list[Message], then: Receive) -> Receive:
    """The body read by the edge, then the connection's own messages (a disconnect)."""
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0) if queue else await then()

    return receive
