"""Change requests: propose, review, publish. Thin: the rules live in the service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from app.catalogue.schemas import ITEM_CODE, Change
from app.fields import Para, Pattern, VersionNumber
from app.http.deps import Caller, RowId, WriteSession
from app.http.responses import json_bytes
from app.pagination import Page, decode_number_cursor, encode_cursor
from app.review import names, rebase, service
from app.review.models import ChangeRequest, RequestKind, RequestStatus

router = APIRouter(prefix="/api/v1", tags=["review"])
Note = Para(500)


class ChangeRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: Pattern(ITEM_CODE) | None = Field(  # type: ignore[valid-type]
        default=None, description="the item's code; null: create"
    )
    kind: RequestKind
    body: dict[str, Any] | None = Field(
        default=None, description="the full implementation, or the lifecycle event's body"
    )
    patch: dict[str, Any] | None = Field(default=None, description="an edit as a merge patch")
    note: Note | None = Field(default=None, description="why: kept by the published version")


class ChangeRequestEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: dict[str, Any] | None = None
    patch: dict[str, Any] | None = None
    note: Note | None = None


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Para(2000) | None = None


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Para(2000) = Field(description="what the author should change")


class ActionOut(BaseModel):
    action: str
    actor: str
    at: datetime
    reason: str | None = None


class Published(BaseModel):
    code: str
    version: VersionNumber


class ChangeRequestSummary(BaseModel):
    """A request in a list: what it is and where it stands (its content by its id)."""

    id: int
    kind: RequestKind
    item: str | None
    item_name: str | None = Field(
        description="the item's name (a proposed new item: its catalogue entry's name)"
    )
    department: str
    department_name: str | None = Field(description="the implementing body's name")
    region: str
    region_name: str | None = Field(description="the region's name (南岗区)")
    author: str
    status: RequestStatus
    note: str | None
    base_version: int | None = Field(description="the published version it was made on")
    created_at: datetime
    updated_at: datetime
    decided_by: str | None


class ChangeRequestOut(ChangeRequestSummary):
    body: dict[str, Any] | None
    patch: dict[str, Any] | None
    decided_at: datetime | None
    published: Published | None
    diff: list[Change] = Field(
        description="what it changes in the published item (once approved: what its "
        "version changed; withdrawn: nothing), each field by its label"
    )
    actions: list[ActionOut] = Field(description="who did what, when, why")


def _described(cr: ChangeRequest, ref: names.ItemRef | None) -> dict[str, Any]:
    """What a summary shows of a request (a full document adds to it): the item, its body
    and region by code and by name."""
    return {
        "id": cr.id,
        "kind": cr.kind,
        "item": cr.item_code,
        "item_name": ref.name if ref else None,
        "department": cr.department_code,
        "department_name": ref.department if ref else None,
        "region": cr.region_code,
        "region_name": ref.region if ref else None,
        "author": cr.author,
        "status": cr.status,
        "note": cr.note,
        "base_version": cr.base_version,
        "created_at": cr.created_at,
        "updated_at": cr.updated_at,
        "decided_by": cr.decided_by,
    }


def request_document(
    session: WriteSession, cr: ChangeRequest, lang: str = "zh-Hans"
) -> dict[str, Any]:
    shown = cr.status != RequestStatus.WITHDRAWN
    ref = names.request_refs(session, [cr]).get(cr.id or 0)
    return ChangeRequestOut(
        **_described(cr, ref),
        body=cr.body,
        patch=cr.patch,
        decided_at=cr.decided_at,
        published=Published(code=cr.published_code, version=cr.published_version)
        if cr.published_code
        else None,
        diff=[Change.model_validate(c) for c in rebase.diff(session, cr, lang)] if shown else [],
        actions=[
            ActionOut.model_validate(a, from_attributes=True) for a in service.actions(session, cr)
        ],
    ).model_dump(mode="json", by_alias=True)


def request_response(
    session: WriteSession, cr: ChangeRequest, status_code: int = 200, lang: str = "zh-Hans"
) -> Response:
    headers = {"Location": f"/api/v1/change-requests/{cr.id}"} if status_code != 200 else None
    return json_bytes(request_document(session, cr, lang), status_code=status_code, headers=headers)


@router.post(
    "/change-requests",
    response_model=ChangeRequestOut,
    status_code=201,
    summary="Propose a change (a draft): create, edit or a lifecycle event",
)
def create_request(session: WriteSession, caller: Caller, data: ChangeRequestIn) -> Response:
    cr = service.propose(
        session,
        caller,
        kind=data.kind,
        item=data.item,
        body=data.body,
        patch=data.patch,
        note=data.note,
    )
    return request_response(session, cr, 201)


@router.get("/change-requests", response_model=Page[ChangeRequestSummary])
def list_requests(
    session: WriteSession,
    caller: Caller,
    status: RequestStatus | None = None,
    department: Annotated[str | None, Query(max_length=18)] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    author: Annotated[str | None, Query(max_length=100)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The requests the key may read (its departments', its region's), newest first."""
    rows = service.list_requests(
        session,
        caller,
        status=status,
        department=department,
        region=region,
        author=author,
        before_id=decode_number_cursor(cursor),
        limit=limit,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    refs = names.request_refs(session, rows)
    return json_bytes(
        {
            "items": [summary_document(r, refs.get(r.id or 0)) for r in rows],
            "next_cursor": encode_cursor(str(rows[-1].id)) if more else None,
        }
    )


def summary_document(cr: ChangeRequest, ref: names.ItemRef | None) -> dict[str, Any]:
    return ChangeRequestSummary(**_described(cr, ref)).model_dump(mode="json")


RequestId = RowId


@router.get("/change-requests/{request_id}", response_model=ChangeRequestOut)
def get_request(
    session: WriteSession,
    caller: Caller,
    request_id: RequestId,
    lang: Annotated[
        Literal["zh-Hans", "zh-Hant", "en"], Query(description="the language of the diff's labels")
    ] = "zh-Hans",
) -> Response:
    """With its diff against the published version and its review actions."""
    return request_response(session, service.get(session, request_id, caller), lang=lang)


@router.patch("/change-requests/{request_id}", response_model=ChangeRequestOut)
def edit_request(
    session: WriteSession, caller: Caller, request_id: RequestId, data: ChangeRequestEdit
) -> Response:
    """Change a draft, or a rejected request (it is a draft again)."""
    cr = service.edit(
        session,
        request_id,
        caller,
        body=data.body,
        patch=data.patch,
        note=data.note,
        fields=data.model_fields_set,
    )
    return request_response(session, cr)


def _transition(action: str, model: type[BaseModel], summary: str) -> None:
    def endpoint(
        session: WriteSession,
        caller: Caller,
        request_id: RequestId,
        body: model | None = None,  # type: ignore[valid-type]
    ) -> Response:
        reason = getattr(body, "reason", None)
        if action == "rebase":
            cr = rebase.rebase(session, request_id, caller)
        else:
            cr = service.transition(session, request_id, action, caller, reason)
        return request_response(session, cr)

    endpoint.__annotations__["body"] = model | None
    router.add_api_route(
        f"/change-requests/{{request_id}}/{action}",
        endpoint,
        methods=["POST"],
        response_model=ChangeRequestOut,
        summary=summary,
        name=f"{action}_change_request",
    )


for _action, _model, _summary in (
    ("submit", ReasonIn, "Submit a draft for review (the author)"),
    ("withdraw", ReasonIn, "Withdraw a request (the author)"),
    (
        "approve",
        ReasonIn,
        "Approve and publish (a reviewer of the region or an admin; not the author)",
    ),
    ("reject", RejectIn, "Reject with a reason (a reviewer of the region or an admin)"),
    ("rebase", ReasonIn, "Bring the request onto the item's current version (the author)"),
):
    _transition(_action, _model, _summary)
