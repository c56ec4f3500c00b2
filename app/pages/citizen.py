"""The citizens' pages: search with a region, the item's guide, the one-time checklist by
situation, corrections (纠错) and the public adjustment notices. Thin: each reads through
the services the API uses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, select
from starlette.types import Receive, Scope, Send

from app import clock
from app.catalogue import history, published, situations
from app.catalogue.effective import in_force
from app.catalogue.material_conditions import full_materials
from app.catalogue.reads import get_item_json
from app.config import get_settings
from app.db import read_session
from app.directory.models import Region
from app.directory.service import check_filters
from app.errors import InvalidInput
from app.http.deps import ReadSession
from app.http.search import search_service_of
from app.legal import citations
from app.pages import effective
from app.pages.session import set_cookie
from app.pages.web import (
    LABELS,
    PageRoute,
    RenderedPages,
    domain_errors,
    page_lang,
    public_form,
    render,
    render_html,
    respond,
)
from app.pagination import decode_number_cursor, encode_cursor
from app.search.service import SearchService

router = APIRouter(route_class=PageRoute, include_in_schema=False)
REGION_COOKIE = "sc_region"
PublicForm = Annotated[dict[str, list[str]], Depends(public_form)]
#: what a citizen may say is wrong, as paths of the item (the API's ``field``)
CORRECTION_FIELDS = (
    ("", ("整个事项", "The item as a whole")),
    ("guide.windows", ("办理窗口（地址、电话、时间）", "Windows (address, phone, hours)")),
    ("materials", ("申请材料", "Materials")),
    ("fees", ("收费", "Fees")),
    ("guide.promised_time_limit", ("办理时限", "Time limits")),
    ("guide.process", ("办理流程", "Steps")),
    ("guide.conditions", ("受理条件", "Conditions")),
    ("guide.online", ("网上办理", "Online handling")),
    ("guide.faq", ("常见问题", "FAQ")),
)
ANSWER = "a."  # the checklist form's parameters: a.<question id>=<option id>


# --- regions -------------------------------------------------------------------------


class RegionTree:
    """The province's cities and counties for the picker, read once a minute."""

    def __init__(self) -> None:
        self._tree: list[dict[str, Any]] = []
        self._names: dict[str, str] = {}
        self._read = 0.0
        self._lock = threading.Lock()

    def get(self, session: Session) -> tuple[list[dict[str, Any]], dict[str, str]]:
        if time.monotonic() - self._read > 60:
            with self._lock:
                province = get_settings().province
                rows = session.exec(
                    select(Region)
                    .where(Region.code.startswith(province[:2]), Region.level <= 3)  # type: ignore[attr-defined]
                    .order_by(Region.code)
                ).all()
                today = clock.today()
                live = [r for r in rows if not (r.valid_to and r.valid_to < today)]
                names = {r.code: r.name for r in live}
                cities = [
                    {"code": r.code, "name": r.name, "counties": []}
                    for r in live
                    if r.parent_code == province
                ]
                by_code = {c["code"]: c for c in cities}
                for r in live:
                    if r.level == 3 and r.parent_code in by_code:
                        by_code[r.parent_code]["counties"].append({"code": r.code, "name": r.name})
                self._tree, self._names, self._read = cities, names, time.monotonic()
        return self._tree, self._names


REGIONS = RegionTree()


def chosen_region(request: Request, names: dict[str, str]) -> str | None:
    """``?region=`` (an empty one: the whole province), else the remembered one."""
    if "region" in request.query_params:
        value = request.query_params["region"]
    else:
        value = request.cookies.get(REGION_COOKIE, "")
    return value if value in names else None


def remember_region(response: Response, request: Request, region: str | None) -> None:
    if "region" in request.query_params:
        set_cookie(response, request, REGION_COOKIE, region or "", max_age=365 * 86400)


def _picker(session: Session, request: Request) -> dict[str, Any]:
    tree, names = REGIONS.get(session)
    region = chosen_region(request, names)
    return {
        "cities": tree,
        "region": region,
        "region_name": names.get(region or "", ""),
        "province": get_settings().province,
        "province_name": names.get(get_settings().province, ""),
    }


@router.get("/")
def home(request: Request, session: ReadSession) -> Response:
    context = _picker(session, request)
    response = render(request, "home.html", context)
    remember_region(response, request, context["region"])
    return response


# --- search --------------------------------------------------------------------------

FACET_PARAMS = {"type": "type", "department": "department", "theme": "theme"}


def _search_region(
    request: Request, context: dict[str, Any], svc: SearchService, session: Session
) -> str | None:
    """A ``?region=`` outside the province's picker is kept when the directory knows it
    (an imported listing of another province's county), shown as an extra choice; an
    unknown code is said so. Never silently dropped for the whole province."""
    asked = request.query_params.get("region", "").strip()
    if not asked or asked == context["region"]:
        return context["region"]
    svc.prepare(session)
    name = svc.region_name(asked)
    if name is None:
        context["region_unknown"] = asked[:12]
        return None
    context.update(region=asked, region_name=name, extra_region={"code": asked, "name": name})
    return asked


@router.get("/search")
def search(request: Request, session: ReadSession) -> Response:
    context = _picker(session, request)
    params = request.query_params
    q = params.get("q", "").strip()[:100]
    svc = search_service_of(request.app)
    region = _search_region(request, context, svc, session)
    entry = (params.get("entry") or "").strip()[:40] or None
    filters = {p: params.get(p) or None for p in FACET_PARAMS}
    if context.get("region_unknown"):
        result: dict[str, Any] = {"total": 0, "hits": [], "facets": {}, "next_cursor": None}
    else:
        online = "true" if params.get("online") == "true" else None
        result = _run_search(svc, session, q, (region, entry, online), filters, params)
    return _search_page(request, session, svc, context, q, entry, filters, result)


def _run_search(
    svc: SearchService,
    session: Session,
    q: str,
    where: tuple[str | None, str | None, str | None],
    filters: dict[str, str | None],
    params: Any,
) -> dict[str, Any]:
    """The search the API runs: ``where`` is (region, entry, online)."""
    region, entry, online = where
    return svc.search(
        session,
        q=q or None,
        region=region,
        department=filters["department"],
        item_type=filters["type"],
        audience=None,
        theme=filters["theme"],
        online=online,
        status=None,
        cursor=params.get("cursor") or None,
        limit=20,
        entry=entry if entry and entry.isalnum() else None,
    )


def _search_page(
    request: Request,
    session: Session,
    svc: SearchService,
    context: dict[str, Any],
    q: str,
    entry: str | None,
    filters: dict[str, str | None],
    result: dict[str, Any],
) -> Response:
    params = request.query_params
    try:
        session.commit()  # a query that found little is recorded (the search gaps)
    except Exception:  # a busy database is no reason to fail a search
        session.rollback()
    alternatives: list[dict[str, Any]] = []
    if q and not result["hits"]:
        for prefix in dict.fromkeys((q, q[:2], q[:1])):
            found = svc.suggest(session, prefix, context["region"], 5)["suggestions"]
            alternatives = [s for s in found if s["text"] != q]
            if alternatives:
                break
    base = {"q": q, "region": context["region"] or "", **filters}
    if entry:
        base["entry"] = entry
    context.update(
        q=q,
        result=result,
        alternatives=alternatives,
        base=base,
        filters=filters,
        online=params.get("online") == "true",
    )
    response = render(request, "search.html", context)
    remember_region(response, request, context["region"])
    return response


# --- the item -------------------------------------------------------------------------


def item_doc(request: Request, code: str) -> dict[str, Any]:
    """The item as ``GET /api/v1/items/{code}`` answers it (the same read)."""
    return effective.read_item(request, code)


def _adjustments(request: Request, code: str) -> list[history.Event]:
    with request.app.state.snapshots.connection() as db:
        events = history.lifecycle_events(db, code)
    return [e for e in events if e.event in history.ADJUSTMENT_EVENTS]


def _questions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions with, for a follow-up, the options that reveal it."""
    asked = situations.questions_of(doc)["situations"]
    revealed_by: dict[str, list[str]] = {}
    for q in asked:
        for o in q["options"]:
            for r in o.get("reveals") or ():
                revealed_by.setdefault(r, []).append(o["label"])
    return [{**q, "revealed_by": revealed_by.get(q["id"], [])} for q in asked]


def _item_context(
    request: Request, session: Session, code: str, doc: dict[str, Any], on: date | None
) -> dict[str, Any]:
    return {
        "item": doc,
        "effective": effective.view(request, doc, on),
        "labels": LABELS.of(session),
        **_known(doc),
        # every material some answers ask for, each saying when (the checklist's own rule)
        "materials": full_materials(doc),
        "questions": _questions(doc),
        "adjustments": _adjustments(request, code),
        "correction_fields": CORRECTION_FIELDS,
        "answers": {},
        "errors": {},
        "correction": {},
        "correction_errors": {},
        "legal_marks": citations.marks(session, doc),
    }


def _known(doc: dict[str, Any]) -> dict[str, Any]:
    """What the pages need to show unknown as unknown (未公布), never as none."""
    return {"incomplete": published.incomplete(doc), "fees_known": published.fees_known(doc)}


RENDERED = RenderedPages()


@contextmanager
def _reading(request: Request) -> Iterator[Session]:
    """A read session as the ``read_session`` dependency (or the app's override) gives."""
    factory = request.app.dependency_overrides.get(read_session, read_session)
    with contextmanager(factory)() as session:
        yield session


def _page_key(request: Request, code: str, version: int, body: str | bytes) -> tuple[Any, ...]:
    # the body's hash too: a version number alone could name other content in a test's
    # rolled-back transaction or another database served by the same process
    return (code, version, hash(body), page_lang(request))


class _ItemPageRoute:  # what the metrics read of scope["route"] for a page answered early
    path = "/items/{code}"


async def cached_item_page(scope: Scope, receive: Receive, send: Send) -> bool:
    """``GET /items/{code}`` answered from :data:`RENDERED` before FastAPI's request handling
    (as the JSON read is answered before the router): the item's newest stored version is
    read as ``GET /api/v1/items/{code}`` reads it, every time, and only a page kept for
    that very version is sent. False: the route's way (a first view, a scheduled event in
    force since, an unknown code, a query)."""
    request = Request(scope)
    if not set(request.query_params) <= {"lang"}:
        return False
    code = scope["path"].removeprefix("/items/")
    reader = scope["app"].state.snapshots
    latest = getattr(reader, "alatest_with_time", None)
    found = await latest("item", code) if latest else reader.latest("item", code)
    if found is None or not in_force(found[2]):
        return False  # 404, or the state in force computed from the log
    cached = RENDERED.get(_page_key(request, code, found[0], found[1]))
    if cached is None:
        return False
    scope["route"] = _ItemPageRoute
    await respond(request, cached)(scope, receive, send)
    return True


@router.get("/items/{code}")
async def item_page(request: Request, code: str) -> Response:
    """The guide. The same read as ``GET /api/v1/items/{code}``; the rendered page is kept
    by the item's version and the language (plain requests only), so a busy item renders
    once every five minutes at most and never shows an old version. A kept page is usually
    answered by :func:`cached_item_page` before this route."""
    plain = set(request.query_params) <= {"lang"}
    on = None if plain else effective.as_of(request)  # a bad one: 422 before any read
    key = body = None
    if plain:
        version, body = get_item_json(request.app.state.snapshots, code)
        key = _page_key(request, code, version, body)
        cached = RENDERED.get(key)
        if cached is not None:
            return respond(request, cached)

    def build() -> tuple[str, bool]:
        doc = orjson.loads(body) if body is not None else effective.read_item(request, code, on)
        with _reading(request) as session:
            context = _item_context(request, session, code, doc, on)
            context["answers"] = _answers(request, context["item"])  # "change answers"
            # a page pending acceptance says whether the delegating item still takes
            # applications: that changes on its handover day, not with this item's version
            keep = not context["effective"]["pending"]
            return render_html(request, "item.html", context), keep

    html, keep = await run_in_threadpool(build)
    return respond(request, RENDERED.put(key, html) if key and keep else html)


def _answers(request: Request, doc: dict[str, Any]) -> dict[str, list[str]]:
    """The form's answers to the questions this set of answers leads to (a follow-up the
    citizen answered without choosing what reveals it is not asked, so not sent)."""
    given = {
        key[len(ANSWER) :]: [v for v in request.query_params.getlist(key) if v]
        for key in request.query_params
        if key.startswith(ANSWER)
    }
    given = {k: v for k, v in given.items() if v}
    asked = situations.Situations(situations.questions_of(doc)["situations"]).asked(given)
    return {q: given[q] for q in asked if q in given}


@router.get("/items/{code}/checklist")
def checklist_page(request: Request, session: ReadSession, code: str) -> Response:
    on = effective.as_of(request)
    doc = effective.read_item(request, code, on)
    answers = _answers(request, doc)
    try:
        result = situations.checklist(doc, answers)
    except InvalidInput as exc:
        context = _item_context(request, session, code, doc, on)
        context.update(answers=answers, errors=domain_errors(exc))
        return render(request, "item.html", context, status=422)
    return render(
        request,
        "checklist.html",
        {
            "item": doc,
            "effective": effective.view(request, doc, on),
            "list": result,
            "labels": LABELS.of(session),
            **_known(doc),
            "has_questions": bool((doc.get("guide") or {}).get("situations")),
            "answers_query": request.url.query,
        },
    )


# --- adjustments (动态调整公示) -----------------------------------------------------------


@router.get("/adjustments")
def adjustments_page(request: Request, session: ReadSession) -> Response:
    params = request.query_params
    context = _picker(session, request)
    event = params.get("type") or None
    if event not in (None, *history.ADJUSTMENT_EVENTS):
        raise InvalidInput.field(["query", "type"], f"no event {event!r}", "event")
    since_text = params.get("since") or None
    try:
        since = date.fromisoformat(since_text) if since_text else None
    except ValueError:
        raise InvalidInput.field(["query", "since"], "a date: YYYY-MM-DD", "date") from None
    region = context["region"]
    check_filters(session, region=region)
    limit = 50
    rows = history.list_adjustments(
        session,
        since=since,
        event=event,
        region=region,
        department=None,
        before_id=decode_number_cursor(params.get("cursor") or None),
        limit=limit,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    context.update(
        rows=rows,
        event=event,
        since=since_text or "",
        event_names=history.ADJUSTMENT_EVENTS,
        next_cursor=encode_cursor(str(rows[-1]["id"])) if more else None,
        base={"type": event or "", "since": since_text or "", "region": region or ""},
        labels=LABELS.of(session),
    )
    response = render(request, "adjustments.html", context)
    remember_region(response, request, region)
    return response
