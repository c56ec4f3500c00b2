"""Pages for people, server-rendered by the API's own app from the same services: the
citizens' search and guides (:mod:`.citizen`), the editors' and reviewers' workspace
(:mod:`.editor`, :mod:`.inbox`), and ``/docs`` from local assets (:mod:`.docs`). See
docs/pages.md."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Message, Receive, Scope, Send

API_PREFIX = "/api/"
_CHOSEN = "pages.route"
_ALLOWED = "pages.allowed"
_EARLY = "pages.early"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ITEM_PAGE = re.compile(r"/items/[0-9A-Za-z]{1,40}")


class PageRoutes(BaseRoute):
    """The pages' routers, matched ahead of the API's: a path under ``/api/`` is passed on
    at once (one string test on the API's path), a page's path is matched against the
    pages' routes only, not after every API route (measured: 162 µs against 30 µs)."""

    path = None  # a group, not a path: route walkers (OpenAPI, tests) see none

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.routes = routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["path"].startswith(API_PREFIX):
            return Match.NONE, {}
        if scope["method"] in ("GET", "HEAD") and ITEM_PAGE.fullmatch(scope["path"]):
            return Match.FULL, {_EARLY: True}  # the item page: tried from its cache first
        return self._match(scope)

    def _match(self, scope: Scope) -> tuple[Match, Scope]:
        # HEAD is a GET without its body (RFC 9110 9.3.2): matched as one
        probe = {**scope, "method": "GET"} if scope["method"] == "HEAD" else scope
        partial = False
        for route in self.routes:
            match, child = route.matches(probe)
            if match is Match.FULL:
                return match, {**child, _CHOSEN: route}
            partial = partial or match is Match.PARTIAL
        if partial:  # the path, not the method: 405 unless a route after the pages takes it
            return Match.PARTIAL, {_ALLOWED: self._methods(scope)}
        return Match.NONE, {}

    def _methods(self, scope: Scope) -> set[str]:
        """The methods the path takes, tried one by one (included routers keep theirs
        inside; only a 405 asks)."""
        return {
            method
            for method in METHODS
            if any(r.matches({**scope, "method": method})[0] is Match.FULL for r in self.routes)
        }

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = scope.pop(_ALLOWED, None)
        if allowed is not None:
            await not_allowed(scope, allowed)(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            send = _without_body(send)
        if scope.pop(_EARLY, False):
            if await _citizen().cached_item_page(scope, receive, send):
                return
            _, child = self._match(scope)
            scope.update(child)
        route = scope.pop(_CHOSEN)
        scope["route"] = route
        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def _citizen() -> Any:
    # imported when first asked: app.pages.citizen imports the app's services, which
    # import this package
    from app.pages import citizen

    return citizen


def _without_body(send: Send) -> Send:
    async def head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return head


def not_allowed(scope: Scope, allowed: set[str]) -> Response:
    """405 as a page, with every method the path takes in ``Allow`` (RFC 9110 15.5.6)."""
    from app.pages.web import render
    from app.wording.problems import Problem

    methods = allowed | ({"HEAD"} if "GET" in allowed else set())
    request = Request(scope)
    detail = f"{request.method} is not a method of this page: {', '.join(sorted(methods))}"
    problem = Problem("http.405", detail)
    response = render(
        request, "error.html", {"status": 405, "problem": problem, "errors": []}, status=405
    )
    response.headers["Allow"] = ", ".join(sorted(methods))
    return response


def install(app: FastAPI) -> None:
    """Register the pages, their static files and the offline ``/docs`` on ``app`` (created
    with ``docs_url=None, redoc_url=None``), after the API's routers."""
    from app.pages import (
        change_requests,
        citizen,
        corrections_pages,
        decisions,
        editor,
        history,
        inbox,
        item_form,
        quality,
    )
    from app.pages.docs import install_docs
    from app.pages.web import STATIC

    install_docs(app)  # before /static: its mount is the more specific one
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    before = len(app.router.routes)
    for router in (
        citizen.router,
        corrections_pages.router,
        history.router,
        editor.router,
        item_form.router,
        change_requests.router,
        decisions.router,
        inbox.router,
        quality.router,
    ):
        app.include_router(router)
    included = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes.insert(0, PageRoutes(included))
