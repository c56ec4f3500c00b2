"""Corrections (纠错): report without a key, follow a ticket, answer from the inbox. Thin:
the rules live in the service.

The report operation is rate limited per client address (``CATALOGUE_CORRECTIONS_RATE``,
default 5 a minute and 50 a day) before anything else of it runs (app/http/rate_limits.py).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from app.corrections import service
from app.corrections.models import Correction, CorrectionStatus
from app.corrections.schemas import (
    BODY_LIMIT,
    CorrectionCreated,
    CorrectionIn,
    CorrectionOut,
    CorrectionStatusOut,
    ReplyIn,
    ToChangeRequestIn,
)
from app.http.deps import Caller, ReadSession, WriteSession
from app.http.rate_limits import PROBLEM, REPORTS, RateLimitedRoute
from app.http.responses import json_bytes
from app.http.review import ChangeRequestOut, request_response
from app.pagination import Page, decode_number_cursor, encode_cursor
from app.security import Principal

log = logging.getLogger("app.corrections")


class ReportLimitedRoute(RateLimitedRoute):
    """Reports pass the client's limit (``CATALOGUE_CORRECTIONS_RATE``) before anything
    else of them runs."""

    limit = REPORTS


router = APIRouter(prefix="/api/v1", tags=["corrections"])

Ticket = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9_-]{16,43}$",
        description="the ticket the report was answered with",
    ),
]

RATE_LIMITED = {
    429: {
        "description": "Too many reports from this address (per worker: "
        "CATALOGUE_CORRECTIONS_RATE, default 5 a minute and 50 a day)",
        "content": PROBLEM,
        "headers": {
            "Retry-After": {
                "description": "seconds until a report is accepted again",
                "schema": {"type": "integer"},
            }
        },
    }
}


def report_correction(
    request: Request, session: WriteSession, code: str, data: CorrectionIn
) -> Response:
    """Report a problem with an item: no key. The field it concerns, a suggested value
    and a contact are optional; the text is at most 2,000 characters. Answers the ticket
    and its public status URL (which shows the status and the reply, never the contact).
    The contact is shown to the editors of the item's department only and erased after
    `CATALOGUE_CONTACT_RETENTION_DAYS` (180) days. At most `CATALOGUE_CORRECTIONS_RATE`
    reports per client address (429 with `Retry-After` beyond it)."""
    c = service.report(session, code, data)
    url = service.status_url(c.ticket)
    return json_bytes(
        CorrectionCreated(ticket=c.ticket, status_url=url).model_dump(),
        status_code=201,
        headers={"Location": url},
    )


router.add_api_route(
    "/items/{code}/corrections",
    report_correction,
    methods=["POST"],
    status_code=201,
    response_model=CorrectionCreated,
    responses=RATE_LIMITED,
    summary="Report a problem with an item (纠错; no key)",
    route_class_override=ReportLimitedRoute,
    openapi_extra={"x-body-limit": BODY_LIMIT},
)


def _public(c: Correction, fixed: dict[int, int]) -> dict[str, Any]:
    return CorrectionStatusOut(
        ticket=c.ticket,
        item=c.item_code,
        field=c.field,
        status=c.status,
        reply=c.reply,
        change_request=c.change_request_id,
        fixed_version=fixed.get(c.change_request_id or 0),
        created_at=c.created_at,
        replied_at=c.replied_at,
    ).model_dump(mode="json")


def _detail(c: Correction, actor: Principal, fixed: dict[int, int]) -> dict[str, Any]:
    return CorrectionOut(
        ticket=c.ticket,
        status_url=service.status_url(c.ticket),
        item=c.item_code,
        department=c.department_code,
        region=c.region_code,
        field=c.field,
        suggested=c.suggested,
        text=c.text,
        contact=c.contact if service.may_see_contact(actor, c) else None,
        has_contact=c.contact is not None,
        contact_erased=c.contact_erased_at is not None,
        status=c.status,
        reply=c.reply,
        replied_by=c.replied_by,
        replied_at=c.replied_at,
        change_request=c.change_request_id,
        fixed_version=fixed.get(c.change_request_id or 0),
        created_at=c.created_at,
    ).model_dump(mode="json")


@router.get("/corrections/{ticket}", response_model=CorrectionStatusOut)
def correction_status(session: ReadSession, ticket: Ticket) -> Response:
    """A ticket's public status: status, reply, the change request that fixes it and the
    item version that published the fix. No key, no personal data."""
    c = service.by_ticket(session, ticket)
    return json_bytes(_public(c, service.fixed_versions(session, [c])))


@router.get("/corrections", response_model=Page[CorrectionOut])
def correction_inbox(
    session: WriteSession,
    caller: Caller,
    department: Annotated[str | None, Query(max_length=18)] = None,
    status: CorrectionStatus | None = None,
    item: Annotated[str | None, Query(max_length=31)] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The inbox: the corrections of the key's departments (editors) or region
    (reviewers; admins: all), newest first. The contact is shown to the editors of the
    item's department only."""
    rows = service.inbox(
        session,
        caller,
        department=department,
        status=status,
        item=item,
        region=region,
        before_id=decode_number_cursor(cursor),
        limit=limit,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    fixed = service.fixed_versions(session, rows)
    return json_bytes(
        {
            "items": [_detail(c, caller, fixed) for c in rows],
            "next_cursor": encode_cursor(str(rows[-1].id)) if more else None,
        }
    )


@router.post("/corrections/{ticket}/reply", response_model=CorrectionOut)
def reply_correction(
    session: WriteSession, caller: Caller, ticket: Ticket, data: ReplyIn
) -> Response:
    """Answer: accepted, rejected or duplicate, with the reply the reporter reads, and
    the change request that fixes it (of the same item). An answer may be revised. The
    item's department's editors, its region's reviewers, admins."""
    c = service.reply(
        session,
        ticket,
        caller,
        status=data.status,
        text=data.reply,
        change_request=data.change_request,
        link="change_request" in data.model_fields_set,
    )
    return json_bytes(_detail(c, caller, service.fixed_versions(session, [c])))


@router.post(
    "/corrections/{ticket}/change-request",
    response_model=ChangeRequestOut,
    status_code=201,
    summary="Turn an accepted suggestion into a change request (editor of the department)",
)
def correction_change_request(
    session: WriteSession,
    caller: Caller,
    ticket: Ticket,
    data: ToChangeRequestIn | None = None,
) -> Response:
    """An accepted correction with a `field` and a `suggested` value becomes an edit
    request of the item: a merge patch setting that field (a list is carried whole, with
    the element changed), submitted for review unless `submit` is false, and linked to
    the ticket. A suggestion that does not fit the field is answered 422 with the
    request's errors: write the change request yourself then, and link it in a reply."""
    data = data or ToChangeRequestIn()
    cr = service.to_change_request(session, ticket, caller, note=data.note, submit=data.submit)
    return request_response(session, cr, 201)
