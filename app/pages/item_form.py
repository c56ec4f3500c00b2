"""The item form (``/editor/items/{code}/edit``): the guide in the order it reads, in
sections that fold, its lists' rows added and removed without JavaScript; saved as a
change request (a draft). An editor's own open edit of the item is continued, never a
second one started beside it: its draft is what the form shows and what saving updates;
one waiting for review is said so, with the way to take it back and change it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.catalogue import labels as field_labels
from app.catalogue.documents import item_input, merge_patch
from app.corrections import service as corrections
from app.corrections.models import Correction
from app.errors import DomainError, Forbidden, InvalidInput, NotFound, RuleViolation
from app.http.deps import ReadSession, WriteSession
from app.pages import conditions, forms, inbox, situation_form, worklist
from app.pages import session as sessions
from app.pages.corrections_pages import TICKET
from app.pages.editor import (
    EditorForm,
    published,
    see_other,
    signed_in_as,
    workspace_lang,
    workspace_page,
)
from app.pages.session import PageSession
from app.pages.web import (
    LABELS,
    PageRoute,
    domain_errors,
    errors_by_field,
    first,
    optional,
)
from app.review import service as review
from app.review.models import ChangeRequest, RequestStatus
from app.wording import i18n

router = APIRouter(prefix="/editor", route_class=PageRoute, include_in_schema=False)


def own_draft(session: Session, who: PageSession, request_id: str | None) -> ChangeRequest | None:
    """The draft (or returned request) of the editor's that ``?request=`` names."""
    if not request_id:
        return None
    if not request_id.isdigit() or len(request_id) > 9:
        raise InvalidInput.field(["query", "request"], "a change request's number", "request")
    cr = review.get(session, int(request_id), who.principal)
    if cr.author != who.principal.name or cr.status not in review.EDITABLE:
        raise Forbidden(f"change request {cr.id} is not a draft of yours")
    return cr


def correction_of(
    session: Session, who: PageSession, code: str, ticket: str | None
) -> Correction | None:
    """The correction (``?correction=<ticket>``) whose fix the form makes: its item's, one
    the editor answers and that is not rejected."""
    if not ticket:
        return None
    if not TICKET.match(ticket):
        raise NotFound("no such correction")
    c = corrections.by_ticket(session, ticket)
    if c.item_code != code:
        raise InvalidInput.field(
            ["query", "correction"], f"not a correction of {code}", "correction"
        )
    if not inbox.may_fix(who.principal, c):
        raise Forbidden(f"key {who.principal.name!r} does not fix correction {ticket}")
    return c


def value_at(doc: Any, path: str) -> Any:
    """The value at a correction's field path (None where there is none)."""
    for part in path.split("."):
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def suggested(values: dict[str, Any], c: Correction) -> dict[str, Any] | None:
    """The item input with the correction's suggestion at its field, where the field is one
    value (``guide.windows.0.phone``); None where it names a part (``guide.windows``): the
    form then shows the suggestion for the editor to apply."""
    if not c.field or c.suggested is None or isinstance(value_at(values, c.field), dict | list):
        return None
    try:
        # the API's own step from a suggestion to a patch (a list carried whole)
        patch = corrections.build_patch(values, c.field, c.suggested)
    except DomainError:
        return None
    return merge_patch(values, patch)


def _page(
    request: Request,
    session: Session,
    who: PageSession,
    doc: dict[str, Any],
    filled: forms.Filled,
    *,
    base: ChangeRequest | None,
    draft: ChangeRequest | None,
    errors: dict[str, list[str]] | None = None,
    note: str = "",
    situations_text: str | None = None,
    add: str | None = None,
    correction: Correction | None = None,
    correction_reply: str | None = None,
    prefilled: bool = False,
    status: int = 200,
) -> Response:
    folded = forms.fold_errors(errors or {})
    values = filled.values
    lang = workspace_lang(request)
    i = i18n.pick(lang)
    return workspace_page(
        request,
        "editor/edit.html",
        who,
        status=status,
        item=doc,
        v=values,
        base_request=base,
        draft=draft,
        rejection=worklist.rejections(session, [draft]).get(draft.id or 0) if draft else None,
        errors=folded,
        note=note,
        situations_text=situation_form.advanced_text(values)
        if situations_text is None
        else situations_text,
        labels=LABELS.of(session),
        depths=forms.DEPTHS,
        units_shown=[(u, i18n.UNITS[u][i].strip()) for u in forms.UNITS],
        step_channels=[
            (c, field_labels.value_text(["guide", "process", 0, "channel"], c, lang) or c)
            for c in forms.STEP_CHANNELS
        ],
        window_fields=forms.WINDOW_TEXT,
        channel_fields=forms.CHANNEL_TEXT,
        faq_fields=forms.FAQ_TEXT,
        sections=forms.SECTIONS,
        opened=forms.sections_open(folded, add, request.query_params.get("open"))
        | forms.sections_with_errors(
            {correction.field: []} if correction and correction.field else {}
        ),
        flagged=forms.sections_with_errors(folded),
        rows=forms.rows_shown(filled, add),
        option_choices=situation_form.option_choices(values),
        questions=situation_form.questions_shown(values, filled.questions, add),
        result_choices=[
            (r, field_labels.value_text(["guide", "results", 0, "type"], r, lang) or r)
            for r in forms.RESULT_TYPES
        ],
        special_fields=forms.SPECIAL_TEXT,
        intermediary_fields=forms.INTERMEDIARY_TEXT,
        remedies=forms.REMEDIES,
        line_lists=forms.LINE_LISTS,
        when_text=conditions.text_of,
        added=add,
        correction=correction,
        correction_reply=correction_reply
        if correction_reply is not None
        else (correction.reply if correction else None)
        or i18n.translator(lang)("correction.reply.default"),
        prefilled=prefilled,
    )


@router.get("/items/{code}/edit")
def edit_form(request: Request, session: ReadSession, code: str) -> Response:
    who = signed_in_as(request, session)
    doc = published(request, code)
    base = own_draft(session, who, request.query_params.get("request"))
    draft = base or worklist.open_edit_of(session, who.principal, code)
    if draft is not None and draft.status == RequestStatus.SUBMITTED:
        return workspace_page(request, "editor/edit_waiting.html", who, item=doc, cr=draft)
    correction = correction_of(session, who, code, request.query_params.get("correction"))
    base = base or draft
    values = review.proposed_input(session, base) if base else item_input(doc)
    fixed = suggested(values, correction) if correction else None
    note = (base.note if base else "") or ""
    if correction and not note:
        t = i18n.translator(workspace_lang(request))
        note = t("correction.note.default", field=field_labels.label(correction.field or ""))
    return _page(
        request,
        session,
        who,
        doc,
        forms.filled_from(fixed or values),
        base=base,
        draft=draft,
        note=note,
        correction=correction,
        prefilled=fixed is not None,
    )


@router.post("/items/{code}/edit")
def save_edit(request: Request, form: EditorForm, session: WriteSession, code: str) -> Response:
    who = signed_in_as(request, session)
    sessions.check_csrf(request, form, who)
    doc = published(request, code)
    # what the form was filled from (its rows point into it), and the draft it saves into
    base = own_draft(session, who, first(form, "request"))
    draft = base or worklist.open_edit_of(session, who.principal, code)
    filled = forms.from_form(
        review.proposed_input(session, base) if base else item_input(doc), form
    )
    note = optional(form, "note")
    raw_situations = first(form, forms.SITUATIONS_FIELD)
    add = first(form, "add")
    ticket = first(form, "correction") or None
    correction = correction_of(session, who, code, ticket)
    reply = first(form, "correction_reply").strip()
    kept = {
        "base": base,
        "note": note or "",
        "situations_text": raw_situations,
        "correction": correction,
        "correction_reply": reply,
    }
    if add in forms.LISTS or situation_form.is_add(
        add
    ):  # 添加一行: the form again, as typed, one row more; nothing saved
        return _page(
            request,
            session,
            who,
            doc,
            filled,
            draft=draft,
            errors=errors_by_field(filled.errors),
            add=add,
            **kept,
        )
    try:
        if filled.errors:
            raise InvalidInput("the form is not valid", errors=filled.errors)
        if draft is not None and draft.status == RequestStatus.SUBMITTED:
            raise RuleViolation(
                f"change request {draft.id} of this item is waiting for review: withdraw it "
                "to change it",
                type="change-request-state",
            )
        patch = forms.merge_patch_between(item_input(doc), filled.values)
        if draft is not None:
            draft = review.edit(
                session,
                draft.id,
                who.principal,
                body=None,
                patch=patch,
                note=note,
                fields={"patch", "body", "note"},
            )
        else:
            draft = review.propose(
                session, who.principal, kind="edit", item=code, patch=patch, note=note
            )
        if ticket:
            inbox.link_fix(session, ticket, who.principal, draft, reply)
    except DomainError as exc:
        session.rollback()  # nothing of a refused edit is kept
        return _page(
            request,
            session,
            who,
            doc,
            filled,
            draft=draft,
            errors=domain_errors(exc),
            status=exc.status,
            **kept,
        )
    return see_other(f"/editor/requests/{draft.id}")
