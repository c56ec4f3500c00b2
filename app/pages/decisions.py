"""Lifecycle decisions (动态调整) as forms: one form per event the API has (cancel, suspend,
resume, reinstate, delegate, accept, reclaim, merge, split), chosen by ``?kind=``. Each
builds the body of ``POST /api/v1/items/{code}/<event>`` from fields named by the body's
paths (``decision.number``, ``to.0.department``, ``into``), so the API's field errors land
next to them. A proposal is a submitted change request (:func:`app.review.service.propose`),
then rehearsed: the event runs as approval would run it, in a savepoint rolled back, so a
refusal (an unknown item to merge into, a department outside the region) is shown now,
by the event's own rules, and nothing is written. The author's draft or returned lifecycle
request (``?request=<id>``) opens in the same form, filled from its body; saving it
changes that draft (rehearsed as well), to be submitted from its page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import case, select
from sqlmodel import Session, col

from app import clock
from app.catalogue import lifecycle
from app.catalogue.documents import item_input
from app.catalogue.models import CatalogueEntry
from app.catalogue.reads import list_items
from app.directory.models import Department, Region
from app.errors import DomainError, InvalidInput
from app.http.deps import ReadSession, WriteSession
from app.pages import session as sessions
from app.pages.editor import EditorForm, published, see_other, signed_in_as, workspace_page
from app.pages.forms import WINDOW_TEXT
from app.pages.item_form import own_draft
from app.pages.session import PageSession
from app.pages.web import PageRoute, domain_errors, first
from app.review import service as review
from app.review.models import ChangeRequest, RequestKind
from app.security import region_prefix

router = APIRouter(prefix="/editor", route_class=PageRoute, include_in_schema=False)

#: the forms in the order offered: the simple decisions first
KINDS = (
    RequestKind.SUSPEND,
    RequestKind.RESUME,
    RequestKind.CANCEL,
    RequestKind.REINSTATE,
    RequestKind.DELEGATE,
    RequestKind.ACCEPT,
    RequestKind.RECLAIM,
    RequestKind.MERGE,
    RequestKind.SPLIT,
)
assert set(KINDS) == set(lifecycle.EVENT_MODELS), "a form for every lifecycle event"
MODES = ("delegate", "entrust")
TARGET_ROWS = 3  # receiving bodies of a delegation; more: propose again or use the API
SPLIT_ROWS = 3
DECISION = ("number", "title", "url")


def _kind(value: str | None) -> RequestKind | None:
    return RequestKind(value) if value in KINDS else None


def _rows(
    form: dict[str, list[str]], prefix: str, fields: tuple[str, ...], count: int
) -> tuple[list[dict[str, str]], list[int]]:
    """The filled rows ``prefix.<i>.<field>`` (rows left empty are no rows) and, for each,
    the form row it came from (an error at ``to.0`` belongs next to the form's row 2)."""
    rows, origin = [], []
    count = max(count, _rows_in(form, prefix))
    for i in range(count):
        row = {f: first(form, f"{prefix}.{i}.{f}").strip() for f in fields}
        if any(row.values()) and first(form, f"{prefix}.{i}.remove") != "on":
            rows.append(row)
            origin.append(i)
    return rows, origin


def _rows_in(form: Mapping[str, Any], prefix: str) -> int:
    """How many rows of ``prefix`` the form has (a draft's may be more than a new form's)."""
    head = prefix + "."
    places = [
        int(k[len(head) :].split(".", 1)[0])
        for k in form
        if k.startswith(head) and k[len(head) :].split(".", 1)[0].isdigit()
    ]
    return min(max(places, default=-1) + 1, 100)


def body_of(
    kind: RequestKind, form: dict[str, list[str]], doc: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The event's body as the API takes it, and where its list rows sit in the form."""
    body: dict[str, Any] = {
        "decision": {k: first(form, f"decision.{k}").strip() for k in DECISION},
        "reason": first(form, "reason").strip(),
        "effective_date": first(form, "effective_date").strip(),
    }
    body["decision"]["url"] = body["decision"]["url"] or None
    origins: dict[str, list[int]] = {}
    if kind == RequestKind.DELEGATE:
        body["mode"] = first(form, "mode").strip()
        body["handover_date"] = first(form, "handover_date").strip()
        body["to"], origins["to"] = _rows(form, "to", ("department", "region"), TARGET_ROWS)
    elif kind == RequestKind.ACCEPT:
        count = len((doc.get("guide") or {}).get("windows") or ()) + 1
        windows, origins["guide.windows"] = _rows(form, "guide.windows", WINDOW_TEXT, count)
        # the local windows replace the copied ones; optional fields left empty stay unset
        body["guide"] = {"windows": [{k: v for k, v in w.items() if v} for w in windows]}
    elif kind == RequestKind.MERGE:
        body["into"] = first(form, "into").strip()
    elif kind == RequestKind.SPLIT:
        rows, origins["into"] = _rows(form, "into", ("basic_code",), SPLIT_ROWS)
        template = item_input(doc)
        body["into"] = [
            {
                **template,
                "code": None,
                "basic_code": r["basic_code"],
                "local_code": None,
                "materials": [{**m, "code": None} for m in template["materials"]],
                "fees": [{**f, "code": None} for f in template["fees"]],
            }
            for r in rows
        ]
    return body, origins


def form_values(kind: RequestKind, doc: dict[str, Any]) -> dict[str, str]:
    """A new form: today's date; an acceptance starts from the windows copied over."""
    today = clock.today().isoformat()
    values = {"effective_date": today}
    if kind == RequestKind.DELEGATE:
        values.update(mode="delegate", handover_date=today)
    if kind == RequestKind.ACCEPT:
        for i, w in enumerate((doc.get("guide") or {}).get("windows") or ()):
            values.update({f"guide.windows.{i}.{f}": w.get(f) or "" for f in WINDOW_TEXT})
    return values


def draft_values(kind: RequestKind, body: dict[str, Any]) -> dict[str, str]:
    """A draft's form: its body's fields at the paths :func:`body_of` reads them from."""
    values: dict[str, Any] = {
        f"decision.{k}": (body.get("decision") or {}).get(k) for k in DECISION
    }
    values.update(reason=body.get("reason"), effective_date=body.get("effective_date"))
    if kind == RequestKind.DELEGATE:
        values.update(mode=body.get("mode"), handover_date=body.get("handover_date"))
        for i, target in enumerate(body.get("to") or ()):
            values.update({f"to.{i}.{f}": target.get(f) for f in ("department", "region")})
    elif kind == RequestKind.ACCEPT:
        for i, w in enumerate((body.get("guide") or {}).get("windows") or ()):
            values.update({f"guide.windows.{i}.{f}": w.get(f) for f in WINDOW_TEXT})
    elif kind == RequestKind.MERGE:
        values["into"] = body.get("into")
    elif kind == RequestKind.SPLIT:
        for i, part in enumerate(body.get("into") or ()):
            values[f"into.{i}.basic_code"] = (
                part.get("basic_code") if isinstance(part, dict) else None
            )
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _placed(errors: dict[str, list[str]], origins: dict[str, list[int]]) -> dict[str, list[str]]:
    """Errors keyed by the form's own rows (``to.0.region`` → ``to.2.region``)."""
    placed: dict[str, list[str]] = {}
    for key, msgs in errors.items():
        for prefix, origin in origins.items():
            head, _, rest = key.removeprefix(prefix + ".").partition(".")
            if key.startswith(prefix + ".") and head.isdigit() and int(head) < len(origin):
                key = f"{prefix}.{origin[int(head)]}" + (f".{rest}" if rest else "")
                break
        placed.setdefault(key, []).extend(msgs)
    return placed


def _choices(session: Session, kind: RequestKind | None, doc: dict[str, Any]) -> dict[str, Any]:
    """What the form offers to pick from (the rules judge what is picked)."""
    if kind == RequestKind.DELEGATE:
        below = region_prefix(doc["region"]["code"])  # a delegation stays in the region
        departments = session.execute(
            select(Department)
            .where(col(Department.region_code).startswith(below))
            .where(Department.credit_code != doc["department"]["code"])
            .order_by(Department.region_code, Department.credit_code)
        ).scalars()
        regions = session.execute(
            select(Region).where(col(Region.code).startswith(below)).order_by(Region.code)
        ).scalars()
        return {
            "departments": [(d.credit_code, d.name) for d in departments],
            "regions": [(r.code, r.name) for r in regions],
        }
    if kind == RequestKind.MERGE:
        rows, _ = list_items(session, department=doc["department"]["code"], limit=200)
        return {"items": [(r["code"], r["name"]) for r in rows if r["code"] != doc["code"]]}
    if kind == RequestKind.SPLIT:
        entries = session.execute(
            select(CatalogueEntry.basic_code, CatalogueEntry.name)
            .order_by(
                # this entry's sub items (子项) first: what a split usually makes
                case((col(CatalogueEntry.parent_basic_code) == doc["basic_code"], 0), else_=1),
                CatalogueEntry.basic_code,
            )
            .limit(500)
        ).all()
        return {"entries": [(c, n) for c, n in entries]}
    return {}


def _page(
    request: Request,
    session: Session,
    who: Any,
    doc: dict[str, Any],
    kind: RequestKind | None,
    values: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 200,
    draft: ChangeRequest | None = None,
) -> Response:
    return workspace_page(
        request,
        "editor/lifecycle.html",
        who,
        status=status,
        item=doc,
        kinds=KINDS,
        kind=kind,
        modes=MODES,
        values=values,
        errors=errors,
        draft=draft,
        target_rows=range(max(TARGET_ROWS, _rows_in(values, "to"))),
        split_rows=range(max(SPLIT_ROWS, _rows_in(values, "into"))),
        windows=range(
            max(
                len((doc.get("guide") or {}).get("windows") or ()),
                _rows_in(values, "guide.windows"),
            )
            + 1
        ),
        window_fields=WINDOW_TEXT,
        **_choices(session, kind, doc),
    )


@router.get("/items/{code}/lifecycle")
def lifecycle_form(request: Request, session: ReadSession, code: str) -> Response:
    who = signed_in_as(request, session)
    doc = published(request, code)
    draft = _lifecycle_draft(session, who, request.query_params.get("request"), code)
    if draft is not None:
        kind: RequestKind | None = RequestKind(draft.kind)
        values = draft_values(RequestKind(draft.kind), draft.body or {})
    else:
        kind = _kind(request.query_params.get("kind"))
        values = form_values(kind, doc) if kind else {}
    return _page(request, session, who, doc, kind, values, {}, draft=draft)


def _lifecycle_draft(
    session: Session, who: PageSession, request_id: str | None, code: str
) -> ChangeRequest | None:
    """The editor's own draft or returned lifecycle request of this item that
    ``request`` names."""
    cr = own_draft(session, who, request_id)
    if cr is not None and (cr.kind not in KINDS or cr.item_code != code):
        raise InvalidInput.field(
            ["query", "request"], "not a lifecycle request of this item", "request"
        )
    return cr


@router.post("/items/{code}/lifecycle")
def propose_decision(
    request: Request, form: EditorForm, session: WriteSession, code: str
) -> Response:
    who = signed_in_as(request, session)
    sessions.check_csrf(request, form, who)
    doc = published(request, code)
    draft = _lifecycle_draft(session, who, first(form, "request") or None, code)
    kind = RequestKind(draft.kind) if draft else _kind(first(form, "kind"))
    values = {k: v[0] for k, v in form.items() if k != sessions.CSRF_FIELD and v}
    origins: dict[str, list[int]] = {}
    try:
        if kind is None:
            raise InvalidInput.field(["kind"], "choose an adjustment", "kind")
        body, origins = body_of(kind, form, doc)
        if draft is not None:  # the draft changed, to be submitted from its page
            cr = review.edit(
                session, draft.id, who.principal, body=body, patch=None, note=None, fields={"body"}
            )
        else:
            cr = review.propose(
                session, who.principal, kind=kind, item=code, body=body, submit=True
            )
    except DomainError as exc:
        session.rollback()  # nothing of a refused proposal is kept
        errors = _placed(domain_errors(exc), origins)
        return _page(
            request, session, who, doc, kind, values, errors, status=exc.status, draft=draft
        )
    return see_other(f"/editor/requests/{cr.id}")
