"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from psycopg.errors import UndefinedColumn, UndefinedTable
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app import duties
from app.config import get_settings
from app.db import get_engine, unavailable
from app.errors import PROBLEM_BASE, DomainError, field_error
from app.http import drain
from app.http.catalogue import router as catalogue_router
from app.http.checklist_path import ChecklistPath
from app.http.compression import Compression
from app.http.corrections import router as corrections_router
from app.http.deps import ReadSession
from app.http.directory import router as directory_router
from app.http.drain import DRAINING
from app.http.edge import Edge, api_routes
from app.http.exports import router as exports_router
from app.http.files import router as files_router
from app.http.imports import router as imports_router
from app.http.item_write_path import ItemWritePath
from app.http.legal import router as legal_router
from app.http.lifecycle import router as lifecycle_router
from app.http.openapi import build_openapi
from app.http.push import router as push_router
from app.http.quality import router as quality_router
from app.http.rate_limits import CLICKS, REPORTS
from app.http.readpath import ReadPath
from app.http.request_metrics import MetricsMiddleware
from app.http.responses import DatabaseUnavailable, HttpCaching, unavailable_response
from app.http.review import router as review_router
from app.http.schema_gate import SchemaGate
from app.http.search import router as search_router
from app.http.search_path import SearchPath, search_service_of
from app.http.situations import router as situations_router
from app.http.sync import router as sync_router
from app.migrate import schema_state
from app.observability import configure_logging
from app.pages import install as install_pages
from app.state_metrics import metrics_text
from app.sync.import_uploads import remove_leftovers

PROBLEM = "application/problem+json"
log = logging.getLogger("app")

DESCRIPTION = """
The unified catalogue of government-service items (政务服务事项目录).

* **Catalogue entries** (基本目录, 12-digit basic code) are written by admins.
* **Items** (实施清单, 31-character implementation code) carry the guide, materials and fees
  and are written by the editors of the implementing department.
* Reads need no key. Writes need `Authorization: Bearer <key>`; keys are scoped by role,
  department and region.
* Every representation carries `version` and an `ETag`; send `If-Match` to write safely
  (a stale one gets 412) and `If-None-Match` to read cheaply (304).
* Errors are `application/problem+json` with the path of every bad field.
"""


def _problem(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
    return _problem(exc.status, exc.problem())


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [field_error(list(e["loc"]), e["msg"], e["type"]) for e in exc.errors()]
    return _problem(
        422,
        {
            "type": PROBLEM_BASE + "validation",
            "title": "Invalid input",
            "status": 422,
            "detail": f"{len(errors)} field(s) are not valid",
            "errors": errors,
        },
    )


async def database_busy(request: Request, exc: DBAPIError) -> Response:
    """The database away (503, ``app.http.responses.unavailable_response``), not migrated, or
    SQLite's lock contention it could not wait out: tell the client to retry."""
    if unavailable(exc):
        return unavailable_response(exc)
    if isinstance(exc.orig, UndefinedTable | UndefinedColumn) or any(
        missing in str(exc.orig) for missing in ("no such table", "no such column")
    ):
        # a database the release's migrations never ran on
        return _problem(
            503,
            {
                "type": PROBLEM_BASE + "not-ready",
                "title": "The database is not ready",
                "status": 503,
                "detail": "the database schema is not at this release's head: run "
                "`catalogue migrate` (GET /readyz says where it stands)",
            },
        )
    if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
        return await server_error(request, exc)
    response = _problem(
        503,
        {
            "type": PROBLEM_BASE + "busy",
            "title": "The database is busy",
            "status": 503,
            "detail": "another write holds the database; nothing was written, retry shortly",
        },
    )
    response.headers["Retry-After"] = "1"
    return response


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    response = _problem(
        exc.status_code,
        {
            "type": "about:blank",
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": str(exc.detail),
        },
    )
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:  # every method of the path, not only the first route's
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


def allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.state.api_routes:
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    """A fault of ours: problem+json like every other answer, the trace in the log only."""
    log.exception("unhandled error", extra={"fields": {"path": request.url.path}})
    return _problem(
        500,
        {
            "type": PROBLEM_BASE + "server-error",
            "title": "Internal server error",
            "status": 500,
            "detail": "the request failed on our side; nothing was written",
        },
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Leave the balancer on SIGTERM (app/http/drain.py); the rate limits (a wrong rate
    stops the start); the background duties the settings switch on (app/duties.py). Import
    uploads that stopped processes left are removed."""
    settings = get_settings()
    drain.install(settings.drain_seconds)
    for limit in (REPORTS, CLICKS):
        limit.install(app)
    removed = remove_leftovers()
    if removed:
        log.info("upload folders of stopped processes removed", extra={"fields": {"n": removed}})
    halt = duties.start(get_engine(), settings, search_service_of(app))
    try:
        yield
    finally:
        halt()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="service-catalogue",
        version="1.0",
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # /docs from local assets: app.pages.docs
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_exception_handler(DomainError, domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, database_busy)  # type: ignore[arg-type]
    app.add_exception_handler(ProgrammingError, database_busy)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, server_error)
    routers = [
        situations_router,  # first: the checklist is a POST on a hot path (routes match in order)
        catalogue_router,
        lifecycle_router,
        directory_router,
        sync_router,
        imports_router,
        search_router,
        review_router,
        corrections_router,
        exports_router,
        push_router,
        legal_router,
        files_router,
        quality_router,
    ]
    app.state.api_routes = api_routes(routers)
    app.add_middleware(SearchPath)  # inside the edge too: the query string is checked first
    app.add_middleware(ChecklistPath)  # inside the edge: the body is checked first
    app.add_middleware(ItemWritePath)  # inside the edge: the key and the body checked first
    app.add_middleware(Edge, routes=app.state.api_routes)  # inside the metrics: counted too
    app.add_middleware(SchemaGate)  # a write on a schema of another release: 503, unread
    app.add_middleware(HttpCaching)  # before the edge: a conditional item read stops here
    app.add_middleware(DatabaseUnavailable)  # the database away is a 503 wherever it is met
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(Compression)  # outermost: every answer, a 304 and a problem included
    # the hot read path reads snapshots through this (tests swap in their session's)
    app.state.snapshots = ReadPath(
        get_engine(),
        keep=settings.read_connections,
        most=settings.read_connections,
        recycle=settings.pool_recycle,
        validator_poll=settings.validator_poll,
    )
    for router in routers:
        app.include_router(router)
    install_pages(app)  # the pages for people and the offline /docs (app/pages)
    app.openapi = lambda: build_openapi(app, app.state.api_routes)  # type: ignore[method-assign]

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        responses={503: {"description": "the database or the search backend is not ready"}},
    )
    def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        schema: dict[str, str | None] = {}
        try:
            with get_engine().connect() as conn:
                state = schema_state(conn)
            checks["database"] = "ok" if state.serves else f"error: {state.reason}"
            schema = {"database": state.at, "release": state.head}
            if state.serves_from is not None:  # ahead by expand-only migrations
                schema["serves_from"] = state.serves_from
        except Exception as exc:  # an operator wants the reason, not a stack trace
            checks["database"] = f"error: {type(exc).__name__}: {exc}"[:300]
        search: dict[str, int | str] = {}
        try:
            backend = search_service_of(app).backend
            reachable = backend.ping()
            checks["search"] = "ok" if reachable else "error: the search backend does not answer"
            if reachable:  # which schema's index searches read (an older one during a roll)
                serving = backend.serving()
                search = {"schema": serving.schema, "serves_from": serving.serves_from}
                search |= {"detail": serving.detail} if serving.detail else {}
        except Exception as exc:
            checks["search"] = f"error: {type(exc).__name__}: {exc}"[:300]
        if DRAINING.is_set():
            checks["process"] = "draining: stopping after SIGTERM (app/http/drain.py)"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks, "schema": schema}
            | ({"search": search} if search else {}),
            200 if ok else 503,
        )

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics(session: ReadSession) -> PlainTextResponse:
        body, content_type = metrics_text(session)
        return PlainTextResponse(body, media_type=content_type)

    return app
