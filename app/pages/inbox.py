"""The editors' inbox pages: corrections (纠错) with replies, and the search gaps with a
propose-alias form. Part of the ``/editor`` workspace (:mod:`app.pages.editor`)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.catalogue import service as catalogue
from app.corrections import service as corrections
from app.corrections.models import CorrectionStatus
from app.corrections.schemas import CorrectionIn
from app.deps import ReadSession, WriteSession
from app.errors import DomainError, Forbidden, InvalidInput
from app.pages import session as sessions
from app.pages.editor import EditorForm, see_other, signed_in_as, workspace_page
from app.pages.session import PageSession
from app.pages.web import PageRoute, domain_errors, errors_by_field, first
from app.search import service as search

router = APIRouter(prefix="/editor", route_class=PageRoute, include_in_schema=False)


# --- corrections inbox ---------------------------------------------------------------------


@router.get("/corrections")
def inbox(request: Request, session: WriteSession) -> Response:
    who = signed_in_as(request, session)
    status = request.query_params.get("status") or None
    if status not in (None, *CorrectionStatus):
        raise InvalidInput.field(["query", "status"], f"no status {status!r}", "status")
    rows = corrections.inbox(
        session,
        who.principal,
        department=None,
        status=status,
        item=None,
        region=None,
        before_id=None,
        limit=100,
    )[:100]
    shown = [
        {"c": c, "contact": c.contact if corrections.may_see_contact(who.principal, c) else None}
        for c in rows
    ]
    return workspace_page(
        request, "editor/corrections.html", who, rows=shown, filter_status=status, errors={}
    )


@router.post("/corrections/{ticket}/reply")
def reply(request: Request, form: EditorForm, session: WriteSession, ticket: str) -> Response:
    who = signed_in_as(request, session)
    sessions.check_csrf(request, form, who)
    try:
        corrections.reply(
            session,
            ticket,
            who.principal,
            status=first(form, "status"),
            text=first(form, "reply").strip(),
            change_request=None,
            link=False,
        )
    except DomainError:
        session.rollback()
        raise
    return see_other("/editor/corrections")


# --- search gaps and aliases ---------------------------------------------------------------


@router.get("/gaps")
def gaps(request: Request, session: ReadSession) -> Response:
    who = signed_in_as(request, session)
    if who.principal.role not in ("editor", "admin"):
        raise Forbidden(f"key {who.principal.name!r} ({who.principal.role}) reads no search gaps")
    found = search.list_gaps(session, days=30, limit=100)
    return workspace_page(
        request,
        "editor/gaps.html",
        who,
        gaps=found["gaps"],
        errors={},
        values={},
        sent=request.query_params.get("sent") == "1",
    )


@router.post("/gaps/alias")
def propose_alias(request: Request, form: EditorForm, session: WriteSession) -> Response:
    """An alias is the catalogue entry's (admins write entries): an editor's proposal goes
    to the item's corrections inbox, where the region's reviewers and admins see it."""
    who = signed_in_as(request, session)
    sessions.check_csrf(request, form, who)
    values = {k: first(form, k).strip() for k in ("code", "alias", "query")}
    try:
        impl = catalogue.get_item_json(request.app.state.snapshots, values["code"])
        doc = orjson.loads(impl[1])
        who.principal.require_item_scope(doc["department"]["code"], doc["region"]["code"])
        data = CorrectionIn.model_validate(
            {
                "field": "name",
                "suggested": values["alias"],
                "text": f"别名提议（{who.principal.name}）：检索“{values['query']}”无结果，"
                f"建议为“{doc['name']}”（基本编码 {doc['basic_code']}）增加别名"
                f"“{values['alias']}”。",
            }
        )
        corrections.report(session, values["code"], data)
    except ValidationError as exc:
        session.rollback()
        errors = errors_by_field(
            [{"loc": e["loc"], "msg": e["msg"]} for e in exc.errors(include_url=False)]
        )
        return _gaps_refused(request, session, who, values, errors)
    except DomainError as exc:
        session.rollback()
        return _gaps_refused(request, session, who, values, domain_errors(exc), exc.status)
    return see_other("/editor/gaps?sent=1")


def _gaps_refused(
    request: Request,
    session: Session,
    who: PageSession,
    values: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 422,
) -> Response:
    if "suggested" in errors:
        errors["alias"] = errors.pop("suggested")
    found = search.list_gaps(session, days=30, limit=100)
    return workspace_page(
        request,
        "editor/gaps.html",
        who,
        status=status,
        gaps=found["gaps"],
        errors=errors,
        values=values,
        sent=False,
    )
