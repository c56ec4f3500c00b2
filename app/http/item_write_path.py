"""``PATCH`` and ``PUT /api/v1/items/{code}`` answered before the router: inside the edge
(the key checked before the body was read, the body's size, media type and encoding
checked), the merge patch parsed (or the replacement parsed and validated as the route's
``ImplementationIn``) and the same edit run as the route runs it
(:func:`app.http.catalogue.edit_item`, :func:`~app.http.catalogue.replace_whole_item`),
the transaction opened, written and committed in one hop to a worker thread. FastAPI's
routing, dependencies and body machinery, and the write session's separate hop for its
end, cost about as much as the write itself on a small item (bench/sync.py). A refusal of
the write (404, 409, 412, 422…) is rolled back and answered by the app's own handler of
domain errors, as the route's would be. Anything else (a body that is not a JSON object, a
replacement the model refuses, a query string, a database error: rolled back, nothing
written) goes on to the route, which answers it as every other request."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.catalogue.schemas import ImplementationIn
from app.db import committing, get_engine, write_session
from app.errors import DomainError
from app.http.catalogue import edit_item, replace_whole_item
from app.http.deps import expected_version
from app.http.edge import replay_body
from app.security import Principal

ITEM_PATH = re.compile(r"/api/v1/items/([0-9A-Za-z]{1,40})")


class _ItemRoute:  # what the metrics read of scope["route"] for an edit answered here
    path = "/api/v1/items/{code}"


@contextmanager
def _transaction(app: FastAPI) -> Iterator[Session]:
    """The ``write_session`` dependency's transaction (or the app's override of it), begun
    and ended in the caller's thread."""
    factory = app.dependency_overrides.get(write_session)
    if factory is None:
        with committing(get_engine()) as session:
            yield session
    else:  # a test's session
        with contextmanager(factory)() as session:
            yield session


#: what the route does with a parsed body, in the write's transaction; None: the route is
#: to answer (a replacement its model refuses: the route's 422 says where)
Write = Callable[[Session], Response | None]


def _write(app: FastAPI, write: Write) -> Response | DomainError | None:
    """The route's write in one transaction: its answer, its refusal, or None when the
    route is to answer."""
    try:
        with _transaction(app) as session:
            return write(session)
    except DomainError as exc:
        return exc  # rolled back
    except SQLAlchemyError:
        return None  # rolled back: the route runs it again and answers as for any write


def _merge(caller: Principal, code: str, version: int | None, patch: dict[str, Any]) -> Write:
    return lambda session: edit_item(session, caller, code, version, patch)


def _replacement(caller: Principal, code: str, version: int | None, body: dict[str, Any]) -> Write:
    def write(session: Session) -> Response | None:
        try:  # in the worker thread: a large body's validation off the event loop
            data = ImplementationIn.model_validate(body)
        except ValidationError:
            return None
        return replace_whole_item(session, caller, code, version, data)

    return write


class ItemWritePath:
    """ASGI middleware inside the edge (see the module's docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        principal = scope.get("state", {}).get("principal")
        if (
            scope["type"] != "http"
            or scope["method"] not in ("PATCH", "PUT")
            or scope["query_string"]
            or principal is None  # the edge checked no key: the route says why
            or (match := ITEM_PATH.fullmatch(scope["path"])) is None
        ):
            await self.app(scope, receive, send)
            return
        messages = []
        while True:  # the edge has read and bounded it: these are its messages replayed
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        response = await self._answer(scope, principal, match.group(1), messages)
        if response is None:
            await self.app(scope, replay_body(messages, receive), send)
            return
        if isinstance(response, DomainError):
            handler = scope["app"].exception_handlers[DomainError]
            response = await handler(Request(scope, receive), response)
        scope["route"] = _ItemRoute
        scope["state"]["key_name"] = principal.name  # for the access log and metrics
        await response(scope, receive, send)

    @staticmethod
    async def _answer(
        scope: dict[str, Any], principal: Principal, code: str, messages: list[Any]
    ) -> Response | DomainError | None:
        raw = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
        if_match = next((v for k, v in scope["headers"] if k == b"if-match"), None)
        version = await expected_version(if_match.decode("latin-1") if if_match else None)
        write = (_replacement if scope["method"] == "PUT" else _merge)(
            principal, code, version, body
        )
        return await anyio.to_thread.run_sync(_write, scope["app"], write)
