"""Change requests as pages: the request (what it changes, named by labels, also once
approved; a lifecycle proposal by its decision and receiving bodies), its author's submit,
withdraw, rebase and 撤回并修改, a reviewer's approve and reject; the review queue with
items named by name and region."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.errors import DomainError, InvalidInput
from app.http.deps import WriteSession
from app.pages import changes, worklist
from app.pages import session as sessions
from app.pages.editor import (
    EditorForm,
    see_other,
    signed_in_as,
    workspace_lang,
    workspace_page,
)
from app.pages.session import PageSession
from app.pages.web import LABELS, PageRoute, optional
from app.review import names, rebase
from app.review import service as review
from app.review.models import ChangeRequest, RequestKind, RequestStatus

router = APIRouter(prefix="/editor", route_class=PageRoute, include_in_schema=False)
ACTIONS = ("submit", "withdraw", "approve", "reject", "rebase", "revise")
#: what was done to a request, in words (zh-Hans, en)
DONE = {
    "create": ("创建", "created"),
    "edit": ("修改", "edited"),
    "submit": ("提交审核", "submitted"),
    "withdraw": ("撤回", "withdrew"),
    "approve": ("审核通过并发布", "approved and published"),
    "reject": ("退回", "returned"),
    "rebase": ("更新到最新版本", "rebased"),
}


def _page(
    request: Request,
    session: Session,
    who: PageSession,
    cr: ChangeRequest,
    *,
    error: DomainError | None = None,
) -> Response:
    p = who.principal
    mine = cr.author == p.name
    lang = workspace_lang(request)
    ref = names.request_refs(session, [cr])[cr.id or 0]
    body = cr.body or {}
    targets = body.get("to") or []
    departments = names.department_names(session, (t.get("department") for t in targets))
    regions = names.region_names(session, (t.get("region") for t in targets))
    into = body.get("into") if isinstance(body.get("into"), str) else None
    items = {
        code: f"{r.name}（{r.region} · {r.department}）· {code}"
        for code, r in names.item_refs(session, [into]).items()
    }
    rows = changes.rows(changes.request_changes(session, cr, lang), lang, LABELS.of(session))
    return workspace_page(
        request,
        "editor/request.html",
        who,
        status=error.status if error else 200,
        cr=cr,
        ref=ref,
        rows=rows,
        proposal=changes.proposal(cr, lang, departments, regions, items)
        if cr.kind not in (RequestKind.EDIT, RequestKind.CREATE)
        else [],
        actions=review.actions(session, cr),
        done=DONE,
        mine=mine,
        may_review=p.role in ("reviewer", "admin")
        and not mine
        and cr.status == RequestStatus.SUBMITTED,
        error=error,
    )


def _request_id(value: str) -> int:
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput.field(["path", "request_id"], "a change request's number", "request")
    return int(value)


@router.get("/requests/{request_id}")
def request_page(request: Request, session: WriteSession, request_id: str) -> Response:
    who = signed_in_as(request, session)
    cr = review.get(session, _request_id(request_id), who.principal)
    return _page(request, session, who, cr)


def revise(session: Session, number: int, who: PageSession) -> ChangeRequest:
    """撤回并修改: a request waiting for review is withdrawn and its content becomes a new
    draft of the author's, which the item form then shows."""
    if review.get(session, number, who.principal).kind != RequestKind.EDIT:
        raise InvalidInput.field(
            ["path", "action"], "only an edit is taken back to be changed", "action"
        )
    cr = review.transition(session, number, "withdraw", who.principal)
    return review.propose(
        session,
        who.principal,
        kind=cr.kind,
        item=cr.item_code,
        body=cr.body,
        patch=cr.patch,
        note=cr.note,
    )


@router.post("/requests/{request_id}/{action}")
def request_action(
    request: Request, form: EditorForm, session: WriteSession, request_id: str, action: str
) -> Response:
    who = signed_in_as(request, session)
    sessions.check_csrf(request, form, who)
    number = _request_id(request_id)
    if action not in ACTIONS:
        raise InvalidInput.field(["path", "action"], f"no action {action!r}", "action")
    try:
        if action == "rebase":
            rebase.rebase(session, number, who.principal)
        elif action == "revise":
            draft = revise(session, number, who)
            return see_other(f"/editor/items/{draft.item_code}/edit?request={draft.id}")
        else:
            review.transition(session, number, action, who.principal, optional(form, "reason"))
    except DomainError as exc:
        session.rollback()
        cr = review.get(session, number, who.principal)
        return _page(request, session, who, cr, error=exc)
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
        limit=worklist.SHOWN,
    )[: worklist.SHOWN]
    return workspace_page(
        request,
        "editor/queue.html",
        who,
        rows=rows,
        refs=names.request_refs(session, rows),
    )
