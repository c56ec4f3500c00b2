"""``GET /api/v1/search`` answered before the router: inside the edge (the key, the text
policy of the query string and the metrics as for every request), the parameters read from
the query string by the names the route declares, and the same search run as the route runs
it (:func:`app.http.search.answer_search`). FastAPI's routing, dependencies and parameter
machinery cost about a millisecond a search, a fifth of a typical one (bench/search.py).
Anything but a plain request (a parameter the route does not know or one given twice, a
``limit`` that is not 1–100, an error of the search) goes on to the route, which answers
it as every other request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.config import get_settings
from app.db import read_session
from app.errors import DomainError
from app.http.responses import send_json
from app.search.service import SearchService, backend_from_settings

SEARCH_PATH = "/api/v1/search"
#: query parameter → the search service's argument (the route declares the same names)
SEARCH_PARAMETERS = {"q": "q", "region": "region", "department": "department",
                     "type": "item_type", "audience": "audience", "theme": "theme",
                     "online": "online", "status": "status", "cursor": "cursor",
                     "entry": "entry"}  # fmt: skip
DEFAULT_LIMIT = 20
LIMIT_MAX = 100


def search_arguments(query_string: bytes) -> dict[str, Any] | None:
    """The service's arguments, or None when the route is to read the parameters."""
    # as Starlette reads a query string
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    args: dict[str, Any] = dict.fromkeys(SEARCH_PARAMETERS.values())
    args["limit"] = DEFAULT_LIMIT
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            return None
        seen.add(name)
        if name == "limit":
            if not (value.isascii() and value.isdigit() and value[0] != "0"):
                return None
            args["limit"] = int(value)
            if args["limit"] > LIMIT_MAX:
                return None
        elif name in SEARCH_PARAMETERS:
            args[SEARCH_PARAMETERS[name]] = value
        else:
            return None
    return args


def search_service_of(app: FastAPI) -> SearchService:
    found = getattr(app.state, "search", None)
    if found is None:
        found = app.state.search = SearchService(backend_from_settings(get_settings()))
    return found


@contextmanager
def _read_session(app: FastAPI) -> Iterator[Session]:
    """The ``read_session`` dependency (or the app's override of it), entered and left in
    the caller's thread: the search takes one hop through the thread pool, not three (the
    endpoint, the session's start and its end; each costs ~0.2 ms, more on a busy host)."""
    factory = app.dependency_overrides.get(read_session, read_session)
    with contextmanager(factory)() as session:
        yield session


def answer_search(app: FastAPI, svc: SearchService, args: dict[str, Any]) -> bytes:
    """The search's JSON, in the caller's thread (the route's and ``SearchPath``'s)."""
    with _read_session(app) as session:
        result = svc.search(session, **args)
        try:
            session.commit()  # a zero/low-result query was recorded
        except SQLAlchemyError:  # a busy database is no reason to fail a search
            session.rollback()
    return orjson.dumps(result)


class _SearchRoute:  # what the metrics read of scope["route"] for a search answered here
    path = SEARCH_PATH


class SearchPath:
    """ASGI middleware inside the edge (see the module's docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != SEARCH_PATH:
            await self.app(scope, receive, send)
            return
        args = search_arguments(scope["query_string"])
        content = None
        if args is not None:
            app = scope["app"]
            try:
                content = await run_in_threadpool(answer_search, app, search_service_of(app), args)
            except DomainError:
                content = None  # the route raises it again and answers it as any error
        if content is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = _SearchRoute
        await send_json(send, content)
