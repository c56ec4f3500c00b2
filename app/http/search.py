"""Citizen search, suggestions, search gaps and the synonym table. Thin: see the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from app.errors import Forbidden
from app.fields import Line
from app.http.deps import Caller, ExpectedVersion, ReadSession, WriteSession
from app.http.rate_limits import CLICKS, PROBLEM, RateLimitedRoute
from app.http.responses import json_bytes
from app.http.search_path import (
    DEFAULT_LIMIT,
    LIMIT_MAX,
    SEARCH_PARAMETERS,
    answer_search,
    search_service_of,
)
from app.search import clicks
from app.search.answers import SearchAnswer
from app.search.service import SearchService
from app.search.tables import list_gaps, replace_synonyms, synonym_document

router = APIRouter(prefix="/api/v1", tags=["search"])


async def search_service(request: Request) -> SearchService:
    """Async: a sync dependency costs every request a hop through the thread pool."""
    return search_service_of(request.app)


Search = Annotated[SearchService, Depends(search_service)]


@router.get("/search", response_class=Response, responses={200: {"model": SearchAnswer}})
async def search(
    request: Request,
    svc: Search,
    q: Annotated[str | None, Query(description="what the citizen wants done, in any words")] = None,
    region: Annotated[
        str | None, Query(description="where the citizen is: one hit per catalogue entry")
    ] = None,
    department: Annotated[str | None, Query(description="credit code(s), comma-separated")] = None,
    type: Annotated[str | None, Query(description="item type code(s)")] = None,
    audience: Annotated[str | None, Query(description="audience code(s)")] = None,
    theme: Annotated[str | None, Query(description="theme code(s)")] = None,
    online: Annotated[str | None, Query(description="true: handled online")] = None,
    status: Annotated[
        str | None, Query(description="status code(s); default leaves out 3 and 4")
    ] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = DEFAULT_LIMIT,
    entry: Annotated[
        str | None,
        Query(description="a catalogue entry's basic code: all its implementations, ungrouped"),
    ] = None,
) -> Response:
    """Search items. With ``region``, what applies there: that region's implementation, or
    its city's or province's where the item is handled higher up.

    Answers `{total, took_ms, region, hits: [{code, basic_code, name, department, region,
    type, status, online, score, highlight}], facets: {type, department, region, theme:
    [{key, label, count}]}, next_cursor}`. A plain request is answered before the router
    (``app.http.search_path``), by the same function."""
    values = {"q": q, "region": region, "department": department, "type": type,
              "audience": audience, "theme": theme, "online": online, "status": status,
              "cursor": cursor, "entry": entry}  # fmt: skip
    args = {SEARCH_PARAMETERS[k]: v for k, v in values.items()} | {"limit": limit}
    return json_bytes(await run_in_threadpool(answer_search, request.app, svc, args))


@router.get("/suggest", response_class=Response)
def suggest(
    session: ReadSession,
    svc: Search,
    q: Annotated[str, Query(min_length=1, max_length=50, description="what has been typed")],
    region: str | None = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 10,
) -> Response:
    """As-you-type completion: Chinese prefixes, pinyin and initials. Answers
    `{suggestions: [{text, code}]}`."""
    return json_bytes(svc.suggest(session, q, region, limit))


@router.get("/search/gaps")
def search_gaps(
    session: ReadSession,
    caller: Caller,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Queries that found nothing or little, with counts: the aliases and synonyms to add."""
    if caller.role not in ("editor", "admin"):
        raise Forbidden(f"key {caller.name!r} ({caller.role}) may not read search gaps")
    return list_gaps(session, days=days, limit=limit)


class ClickLimitedRoute(RateLimitedRoute):
    """Clicks pass the client's limit (``CATALOGUE_SEARCH_CLICKS_RATE``, per address and
    worker) before the body is parsed or a session opened."""

    limit = CLICKS


class ClickIn(BaseModel):
    q: Line(100) = Field(description="the query as it was searched")
    code: Line(31) = Field(description="the opened hit's code (or its basic code)")


def search_click(session: WriteSession, svc: Search, body: Annotated[ClickIn, Body()]) -> Response:
    """A citizen opened the hit ``code`` for ``q``: counts only (the normalised query and
    the entry, a weight that halves every 30 days), no address, key or session is kept.
    What many people open rises in that query's first page. Rate limited per client
    address (``CATALOGUE_SEARCH_CLICKS_RATE``): 429 with ``Retry-After`` beyond."""
    clicks.record_click(session, body.q, body.code)
    return Response(status_code=204)


router.add_api_route(
    "/search/clicks",
    search_click,
    methods=["POST"],
    status_code=204,
    response_class=Response,
    route_class_override=ClickLimitedRoute,
    responses={
        429: {
            "description": "Too many clicks from this address (per worker: "
            "CATALOGUE_SEARCH_CLICKS_RATE, default 30 a minute and 500 a day)",
            "content": PROBLEM,
            "headers": {
                "Retry-After": {
                    "description": "seconds until a click is counted again",
                    "schema": {"type": "integer"},
                }
            },
        }
    },
)


class SynonymsIn(BaseModel):
    groups: list[Annotated[list[Line(50)], Field(max_length=100)]] = Field(
        max_length=5000, description='groups of equivalent terms, e.g. [["驾照", "驾驶证"]]'
    )


@router.get("/synonyms")
def get_synonyms(session: ReadSession) -> dict[str, Any]:
    """The synonym table in use (version 0: the built-in vocabulary)."""
    return synonym_document(session)


@router.put("/synonyms")
def put_synonyms(
    session: WriteSession,
    caller: Caller,
    svc: Search,
    expected: ExpectedVersion,
    body: Annotated[SynonymsIn, Body()],
) -> dict[str, Any]:
    """Replace the synonym table (admin). Applies to the next query (within a second in
    the other worker processes); no reindex needed."""
    caller.require_admin()
    result = replace_synonyms(session, body.groups, caller.name, expected)
    svc.forget_synonyms()
    return result
