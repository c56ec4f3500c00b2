"""The editors' and reviewers' workspace (``/editor``): sign in with a key; the worklist
(:mod:`.worklist`). The item form is :mod:`.item_form`, change requests and the queue
:mod:`.change_requests`, lifecycle decisions :mod:`.decisions`, the corrections inbox and
the search gaps :mod:`.inbox`. Every write goes through :mod:`app.review.service` (and the
corrections' and search services), as the API's do. Times are shown in the province's
zone (:func:`app.pages.changes.moment`)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.catalogue import labels as field_labels
from app.catalogue.reads import get_item_json
from app.errors import Unauthorized
from app.http.deps import ReadSession, WriteSession
from app.pages import changes, worklist
from app.pages import session as sessions
from app.pages.session import PageSession
from app.pages.web import (
    LABELS,
    PageRoute,
    editor_form,
    env,
    first,
    page_lang,
    public_form,
    render,
)
from app.wording.i18n import Lang

router = APIRouter(prefix="/editor", route_class=PageRoute, include_in_schema=False)
EditorForm = Annotated[dict[str, list[str]], Depends(editor_form)]
LoginForm = Annotated[dict[str, list[str]], Depends(public_form)]

# what the workspace's templates (and the ticket page) show times and field paths by
env.filters["moment"] = changes.moment
env.globals["field_label"] = field_labels.label
env.globals["short_label"] = field_labels.field_label


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


def workspace_lang(request: Request) -> Lang:
    """The workspace's language: its pages are never converted to zh-Hant (their forms
    post the catalogue's text back), so zh-Hant readers get zh-Hans."""
    lang = page_lang(request)
    return Lang.HANS if lang == Lang.HANT else lang


def see_other(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


# --- signing in and out, the worklist --------------------------------------------------


@router.get("")
def home(request: Request, session: ReadSession) -> Response:
    """Signed in: what waits for the key holder (their drafts, requests returned to them,
    items delegated to their department awaiting acceptance, new corrections, what waits
    for review), then the department's items."""
    who = sessions.current(session, request)
    if who is None:
        return render(request, "editor/login.html", {"failed": False}, convertible=False)
    return workspace_page(
        request,
        "editor/home.html",
        who,
        w=worklist.worklist(session, who.principal),
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


# --- shared by the workspace's pages ------------------------------------------------------


def published(request: Request, code: str) -> dict[str, Any]:
    return orjson.loads(get_item_json(request.app.state.snapshots, code)[1])
