"""The editors' and reviewers' workspace (``/editor``): sign in with a key; own items and
open changes; the item form (guide, windows, materials, fees, situations) whose edits are
change requests; the diff; submit, approve, reject. Lifecycle decisions are in
:mod:`.decisions`, the corrections inbox and the search gaps in :mod:`.inbox`. Every write
goes through :mod:`app.review.service` (and the corrections' and search services), as the
API's do."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.catalogue import service as catalogue
from app.deps import ReadSession, WriteSession
from app.errors import DomainError, Forbidden, InvalidInput, Unauthorized
from app.pages import conditions, forms
from app.pages import session as sessions
from app.pages.session import PageSession
from app.pages.web import (
    LABELS,
    PageRoute,
    domain_errors,
    editor_form,
    first,
    optional,
    public_form,
    render,
)
from app.review import rebase
from app.review import service as review
from app.review.models import ChangeRequest, RequestStatus

router = APIRouter(prefix="/editor", route_class=PageRoute, include_in_schema=False)
EditorForm = Annotated[dict[str, list[str]], Depends(editor_form)]
LoginForm = Annotated[dict[str, list[str]], Depends(public_form)]
OPEN = (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.REJECTED)


def signed_in_as(request: Request, session: Session) -> PageSession:
    found = sessions.current(session, request)
    if found is None:
        raise SignInNeeded()
    return found


class SignInNeeded(Unauthorized):
    sign_in = True  # the page answers with the sign-in form (PageRoute)

    def __init__(self) -> None:
        super().__init__("sign in with your key first")


def workspace_page(
    request: Request, template: str, who: PageSession, status: int = 200, **context: Any
):
    return render(request, template, context, status=status, session=who, convertible=False)


def see_other(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


# --- signing in and out ------------------------------------------------------------------


@router.get("")
def home(request: Request, session: ReadSession) -> Response:
    who = sessions.current(session, request)
    if who is None:
        return render(request, "editor/login.html", {"failed": False}, convertible=False)
    p = who.principal
    items: list[dict[str, Any]] = []
    if p.role == "editor":
        for department in p.departments:
            rows, _ = catalogue.list_items(session, department=department, limit=200)
            items += rows
    open_requests = (
        [
            r
            for r in review.list_requests(
                session,
                p,
                status=None,
                department=None,
                region=None,
                author=None,
                before_id=None,
                limit=200,
            )
            if r.status in OPEN
        ]
        if p.role in ("editor", "reviewer", "admin")
        else []
    )
    by_item: dict[str, list[ChangeRequest]] = {}
    for r in open_requests:
        by_item.setdefault(r.item_code or "", []).append(r)
    return workspace_page(
        request,
        "editor/home.html",
        who,
        items=items,
        open_requests=open_requests,
        by_item=by_item,
        labels=LABELS.of(session),
    )


@router.post("/login")
def login(request: Request, form: LoginForm, session: WriteSession) -> Response:
    sessions.check_csrf(request, form, None)
    secret = first(form, "key")
    try:
        value, _ = sessions.sign_in(session, secret)
    except Unauthorized:
        return render(request, "editor/login.html", {"failed": True}, status=401, convertible=False)
    response = see_other("/editor")
    sessions.set_session_cookie(response, request, value)
    return response


@router.post("/logout")
def logout(request: Request, form: LoginForm, session: WriteSession) -> Response:
    who = sessions.current(session, request)
    sessions.check_csrf(request, form, who)
    response = see_other("/editor")
    sessions.sign_out(response, request, session, who)
    return response


# --- the item form -------------------------------------------------------------------------


def published(request: Request, code: str) -> dict[str, Any]:
    return orjson.loads(catalogue.get_item_json(request.app.state.snapshots, code)[1])


def _own_draft(session: Session, who: PageSession, request_id: str | None) -> ChangeRequest | None:
    if not request_id:
        return None
    if not request_id.isdigit() or len(request_id) > 9:
        raise InvalidInput.field(["query", "request"], "a change request's number", "request")
    cr = review.get(session, int(request_id), who.principal)
    if cr.author != who.principal.name or cr.status not in review.EDITABLE:
        raise Forbidden(f"change request {cr.id} is not a draft of yours")
    return cr


def _edit_page(
    request: Request,
    session: Session,
    who: PageSession,
    doc: dict[str, Any],
    values: dict[str, Any],
    *,
    cr: ChangeRequest | None,
    errors: dict[str, list[str]] | None = None,
    note: str = "",
    situations_text: str | None = None,
    status: int = 200,
) -> Response:
    return workspace_page(
        request,
        "editor/edit.html",
        who,
        status=status,
        item=doc,
        v=values,
        cr=cr,
        errors=forms.fold_errors(errors or {}),
        note=note,
        situations_text=forms.situations_text(values)
        if situations_text is None
        else situations_text,
        labels=LABELS.of(session),
        depths=forms.DEPTHS,
        option_choices=forms.option_choices(values),
        when_text=conditions.text_of,
    )


@router.get("/items/{code}/edit")
def edit_form(request: Request, session: ReadSession, code: str) -> Response:
    who = signed_in_as(request, session)
    doc = published(request, code)
    cr = _own_draft(session, who, request.query_params.get("request"))
    values = review.proposed_input(session, cr) if cr else catalogue.item_input(doc)
    return _edit_page(request, session, who, doc, values, cr=cr, note=(cr.note if cr else "") or "")


@router.post("/items/{code}/edit")
def save_edit(request: Request, form: EditorForm, session: WriteSession, code: str) -> Response:
    who = signed_in_as(request, session)
    sessions.check_csrf(request, form, who)
    doc = published(request, code)
    cr = _own_draft(session, who, first(form, "request"))
    base = review.proposed_input(session, cr) if cr else catalogue.item_input(doc)
    values, own_errors = forms.from_form(base, form)
    note = optional(form, "note")
    raw_situations = first(form, forms.SITUATIONS_FIELD)
    try:
        if own_errors:
            raise InvalidInput("the form is not valid", errors=own_errors)
        patch = forms.merge_patch_between(catalogue.item_input(doc), values)
        if cr is not None:
            cr = review.edit(
                session,
                cr.id,
                who.principal,
                body=None,
                patch=patch,
                note=note,
                fields={"patch", "body", "note"},
            )
        else:
            cr = review.propose(
                session, who.principal, kind="edit", item=code, patch=patch, note=note
            )
    except DomainError as exc:
        session.rollback()  # nothing of a refused edit is kept
        return _edit_page(
            request,
            session,
            who,
            doc,
            values,
            cr=cr,
            errors=domain_errors(exc),
            note=note or "",
            situations_text=raw_situations,
            status=exc.status,
        )
    return see_other(f"/editor/requests/{cr.id}")


# --- change requests -----------------------------------------------------------------------


def _request_page(
    request: Request,
    session: Session,
    who: PageSession,
    cr: ChangeRequest,
    *,
    error: DomainError | None = None,
) -> Response:
    p = who.principal
    mine = cr.author == p.name
    reviewer = p.role in ("reviewer", "admin") and not mine
    return workspace_page(
        request,
        "editor/request.html",
        who,
        status=error.status if error else 200,
        cr=cr,
        diff=rebase.diff(session, cr) if cr.status not in ("approved", "withdrawn") else [],
        actions=review.actions(session, cr),
        mine=mine,
        may_review=reviewer and cr.status == RequestStatus.SUBMITTED,
        error=error,
        dumps=lambda v: orjson.dumps(v, option=orjson.OPT_INDENT_2).decode(),
    )


def _request_id(value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput.field(["path", "request_id"], "a change request's number", "request")
    return int(value)


@router.get("/requests/{request_id}")
def request_page(request: Request, session: WriteSession, request_id: str) -> Response:
    who = signed_in_as(request, session)
    cr = review.get(session, _request_id(request_id), who.principal)
    return _request_page(request, session, who, cr)


@router.post("/requests/{request_id}/{action}")
def request_action(
    request: Request, form: EditorForm, session: WriteSession, request_id: str, action: str
) -> Response:
    who = signed_in_as(request, session)
    sessions.check_csrf(request, form, who)
    number = _request_id(request_id)
    if action not in ("submit", "withdraw", "approve", "reject", "rebase"):
        raise InvalidInput.field(["path", "action"], f"no action {action!r}", "action")
    try:
        if action == "rebase":
            rebase.rebase(session, number, who.principal)
        else:
            review.transition(session, number, action, who.principal, optional(form, "reason"))
    except DomainError as exc:
        session.rollback()
        cr = review.get(session, number, who.principal)
        return _request_page(request, session, who, cr, error=exc)
    return see_other(f"/editor/requests/{number}")


@router.get("/queue")
def queue(request: Request, session: WriteSession) -> Response:
    who = signed_in_as(request, session)
    rows = review.list_requests(
        session,
        who.principal,
        status=RequestStatus.SUBMITTED,
        department=None,
        region=None,
        author=None,
        before_id=None,
        limit=200,
    )
    return workspace_page(request, "editor/queue.html", who, rows=rows[:200])
