"""The citizens' corrections (纠错) pages: the report form on an item, and the ticket's
page a reporter follows. Thin: the API's service and its rate limit."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.corrections import service as corrections
from app.corrections.schemas import CorrectionIn
from app.errors import DomainError, InvalidInput, NotFound, TooManyRequests
from app.http.deps import ReadSession, WriteSession
from app.http.rate_limits import REPORTS, RateLimiter, client_of
from app.pages.citizen import CORRECTION_FIELDS, item_doc
from app.pages.session import check_csrf
from app.pages.web import (
    PageRoute,
    domain_errors,
    errors_by_field,
    first,
    optional,
    public_form,
    render,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PublicForm = Annotated[dict[str, list[str]], Depends(public_form)]


@router.get("/items/{code}/correction")
def correction_form(request: Request, session: ReadSession, code: str) -> Response:
    doc = item_doc(request, code)
    return render(
        request,
        "correction.html",
        {"item": doc, "correction_fields": CORRECTION_FIELDS, "correction": {}, "errors": {}},
    )


@router.post("/items/{code}/correction")
def report_correction(
    request: Request, form: PublicForm, session: WriteSession, code: str
) -> Response:
    check_csrf(request, form, None)
    wait = REPORTS.limiter(request.app).hit(client_of(request))
    if wait is not None:  # the API's limit, per client address
        # said on the page in the reader's language, with the wait (app/wording/problems.py)
        raise TooManyRequests(
            "too many reports from this address for now; try again later",
            retry_after=int(RateLimiter.retry_after(wait)),
        )
    values = {
        "field": optional(form, "field"),
        "suggested": optional(form, "suggested"),
        "text": first(form, "text").strip(),
        "contact": optional(form, "contact"),
    }
    try:
        data = CorrectionIn.model_validate(values)
        ticket = corrections.report(session, code, data).ticket
    except ValidationError as exc:
        errors = errors_by_field(exc.errors(include_url=False))  # rule and limits: worded
        return _correction_refused(request, code, values, errors)
    except InvalidInput as exc:
        session.rollback()
        return _correction_refused(request, code, values, domain_errors(exc))
    return RedirectResponse(f"/corrections/{ticket}", status_code=303)


def _correction_refused(
    request: Request, code: str, values: dict[str, Any], errors: dict[str, list[str]]
) -> Response:
    return render(
        request,
        "correction.html",
        {
            "item": item_doc(request, code),
            "correction_fields": CORRECTION_FIELDS,
            "correction": values,
            "errors": errors,
        },
        status=422,
    )


TICKET = re.compile(r"^[A-Za-z0-9_-]{16,43}$")


@router.get("/corrections/{ticket}")
def ticket_page(request: Request, session: ReadSession, ticket: str) -> Response:
    if not TICKET.match(ticket):
        raise NotFound(f"no correction {ticket}")
    c = corrections.by_ticket(session, ticket)
    fixed = corrections.fixed_versions(session, [c]).get(c.change_request_id or 0)
    try:
        name = item_doc(request, c.item_code)["name"]
    except DomainError:
        name = c.item_code
    return render(
        request,
        "ticket.html",
        {"c": c, "fixed_version": fixed, "item_name": name},
    )
