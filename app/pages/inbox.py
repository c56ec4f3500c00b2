"""The editors' inbox pages: corrections (纠错) with replies, and the search gaps with a
propose-alias form (an ``alias`` change request). Part of the ``/editor`` workspace (:mod:`app.pages.editor`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.corrections import service as corrections
from app.corrections.models import CorrectionStatus
from app.deps import ReadSession, WriteSession
from app.errors import DomainError, Forbidden, InvalidInput
from app.pages import session as sessions
from app.pages.editor import EditorForm, see_other, signed_in_as, workspace_page
from app.pages.session import PageSession
from app.pages.web import PageRoute, domain_errors, first
from app.review import service as review
from app.review.models import RequestKind
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
    """An alias (俗称) is the catalogue entry's, so it goes through review: an editor's
    proposal is a submitted ``alias`` change request that a reviewer of the province
    approves (admins too); the request's page shows it."""
    who = signed_in_as(request, session)
    sessions.check_csrf(request, form, who)
    values = {k: first(form, k).strip() for k in ("code", "alias", "query")}
    try:
        cr = review.propose(
            session,
            who.principal,
            kind=RequestKind.ALIAS,
            item=values["code"] or None,
            body={"aliases": [values["alias"]], "query": values["query"] or None},
            note=f"检索缺口：“{values['query']}”" if values["query"] else None,
            submit=True,
        )
    except DomainError as exc:
        session.rollback()
        errors = {_FORM_FIELD.get(k, k): m for k, m in domain_errors(exc).items()}
        if exc.status == 404:  # no such item: the code field is wrong
            errors["code"] = errors.pop("", [exc.detail])
        return _gaps_refused(request, session, who, values, errors, exc.status)
    return see_other(f"/editor/requests/{cr.id}")


#: where an error of the request's body is shown on the gaps form
_FORM_FIELD = {"aliases": "alias", "aliases.0": "alias", "query": "query", "item": "code"}


def _gaps_refused(
    request: Request,
    session: Session,
    who: PageSession,
    values: dict[str, str],
    errors: dict[str, list[str]],
    status: int = 422,
) -> Response:
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
