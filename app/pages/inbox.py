"""The editors' inbox pages: corrections (纠错) with replies, each with the way to the
change that fixes it (the item form filled from the correction's field and suggestion,
:mod:`app.pages.item_form`, whose draft is linked to the ticket: :func:`link_fix`); the
search gaps with a propose-alias form (an ``alias`` change request). Part of the
``/editor`` workspace (:mod:`app.pages.editor`). The ticket's public page
(:mod:`app.pages.citizen`) shows the resolution from :func:`resolution`: 已更正 with the
version once the request is approved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import object_session
from sqlmodel import Session

from app.corrections import service as corrections
from app.corrections.models import Correction, CorrectionStatus
from app.errors import DomainError, Forbidden, InvalidInput
from app.http.deps import ReadSession, WriteSession
from app.pages import session as sessions
from app.pages.editor import (
    EditorForm,
    see_other,
    signed_in_as,
    workspace_page,
)
from app.pages.session import PageSession
from app.pages.web import PageRoute, domain_errors, env, first
from app.review import names
from app.review import service as review
from app.review.models import ChangeRequest, RequestKind, RequestStatus
from app.search.tables import list_gaps
from app.security import Principal

router = APIRouter(prefix="/editor", route_class=PageRoute, include_in_schema=False)


# --- a ticket's resolution -----------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """What became of a correction: the request fixing it, the version that published the
    fix, and when the ticket last changed (reported, answered, or its fix published)."""

    request: ChangeRequest | None
    version: int | None
    published_at: datetime | None
    updated: datetime

    @property
    def in_progress(self) -> bool:
        return self.request is not None and self.version is None


def resolution(session: Session, c: Correction) -> Resolution:
    cr = session.get(ChangeRequest, c.change_request_id) if c.change_request_id else None
    fixed = cr is not None and cr.status == RequestStatus.APPROVED and cr.published_version
    published_at = cr.decided_at if fixed and cr is not None else None
    moments = [m for m in (c.created_at, c.replied_at, published_at) if m is not None]
    return Resolution(
        request=cr if cr is not None and cr.status != RequestStatus.WITHDRAWN else None,
        version=cr.published_version if fixed and cr is not None else None,
        published_at=published_at,
        updated=max(moments),
    )


def _ticket_resolution(c: Correction) -> Resolution:
    # the ticket page's correction is read in the request's session, open while it renders
    session = object_session(c)
    assert isinstance(session, Session)
    return resolution(session, c)


env.globals["ticket_resolution"] = _ticket_resolution


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
        {
            "c": c,
            "contact": c.contact if corrections.may_see_contact(who.principal, c) else None,
            "resolution": resolution(session, c),
            "may_make": _may_make(who, c),
        }
        for c in rows
    ]
    return workspace_page(
        request,
        "editor/corrections.html",
        who,
        rows=shown,
        refs=names.item_refs(session, (c.item_code for c in rows)),
        filter_status=status,
        errors={},
    )


def _may_make(who: PageSession, c: Correction) -> bool:
    """May the key holder make the change this correction asks for (an editor of the
    item's department, an admin), and is it still to be made?"""
    return may_fix(who.principal, c) and c.change_request_id is None


def may_fix(p: Principal, c: Correction) -> bool:
    editor = p.role == "admin" or corrections.may_see_contact(p, c)  # the department's
    return editor and c.status in (CorrectionStatus.NEW, CorrectionStatus.ACCEPTED)


def link_fix(session: Session, ticket: str, p: Principal, cr: ChangeRequest, reply: str) -> None:
    """The correction accepted, answered and linked to the change request that fixes it
    (the API's ``POST /corrections/{ticket}/reply`` with ``change_request``)."""
    if not reply:
        raise InvalidInput.field(["correction_reply"], "a reply tells the reporter", "missing")
    corrections.reply(
        session,
        ticket,
        p,
        status=CorrectionStatus.ACCEPTED,
        text=reply,
        change_request=cr.id,
        link=True,
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
    found = list_gaps(session, days=30, limit=100)
    return workspace_page(
        request,
        "editor/gaps.html",
        who,
        gaps=found["gaps"],
        regions=names.region_names(session, (g.get("region") for g in found["gaps"])),
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
    found = list_gaps(session, days=30, limit=100)
    return workspace_page(
        request,
        "editor/gaps.html",
        who,
        status=status,
        gaps=found["gaps"],
        regions=names.region_names(session, (g.get("region") for g in found["gaps"])),
        errors=errors,
        values=values,
        sent=False,
    )
