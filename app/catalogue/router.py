"""Catalogue entries and implementations (items). Thin: the rules live in the service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response

from app.catalogue import service
from app.catalogue.schemas import (
    CatalogueEntryIn,
    CatalogueEntryOut,
    ImplementationIn,
    ItemOut,
    ItemSummary,
    Page,
)
from app.deps import Caller, ExpectedVersion, ReadSession, WriteSession
from app.responses import json_bytes

router = APIRouter(prefix="/api/v1")

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
IfNoneMatch = Annotated[str | None, Header(include_in_schema=False)]


# --- catalogue entries -------------------------------------------------------------


@router.get(
    "/catalogue-entries", response_model=Page[CatalogueEntryOut], tags=["catalogue entries"]
)
def list_entries(
    session: ReadSession,
    type: str | None = None,
    domain: str | None = None,
    q: Annotated[str | None, Query(description="part of the name")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[CatalogueEntryOut]:
    rows, next_cursor = service.list_entries(
        session, item_type=type, domain=domain, q=q, cursor=cursor, limit=limit
    )
    return Page[CatalogueEntryOut](
        items=[CatalogueEntryOut.model_validate(service.entry_document(r)) for r in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/catalogue-entries/{basic_code}", response_model=CatalogueEntryOut, tags=["catalogue entries"]
)
def get_entry(session: ReadSession, basic_code: str, if_none_match: IfNoneMatch = None) -> Response:
    entry = service.get_entry(session, basic_code)
    return json_bytes(
        service.entry_document(entry), version=entry.version, if_none_match=if_none_match
    )


@router.post(
    "/catalogue-entries",
    response_model=CatalogueEntryOut,
    status_code=201,
    tags=["catalogue entries"],
    summary="Add a catalogue entry (admin); the basic code is issued when absent",
)
def create_entry(session: WriteSession, caller: Caller, data: CatalogueEntryIn) -> Response:
    entry = service.create_entry(session, data, caller)
    return json_bytes(
        service.entry_document(entry),
        version=entry.version,
        status_code=201,
        headers={"Location": f"/api/v1/catalogue-entries/{entry.basic_code}"},
    )


@router.put(
    "/catalogue-entries/{basic_code}", response_model=CatalogueEntryOut, tags=["catalogue entries"]
)
def replace_entry(
    session: WriteSession,
    caller: Caller,
    basic_code: str,
    data: CatalogueEntryIn,
    version: ExpectedVersion,
) -> Response:
    entry = service.replace_entry(session, basic_code, data, caller, version)
    return json_bytes(service.entry_document(entry), version=entry.version)


# --- implementations ---------------------------------------------------------------


@router.get("/items", response_model=Page[ItemSummary], tags=["items"])
def list_items(
    session: ReadSession,
    region: Annotated[
        str | None, Query(description="region code; includes the regions under it")
    ] = None,
    department: Annotated[str | None, Query(description="credit code")] = None,
    type: Annotated[str | None, Query(description="item type code")] = None,
    status: str | None = None,
    level: str | None = None,
    updated_since: datetime | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ItemSummary]:
    rows, next_cursor = service.list_items(
        session,
        region=region,
        department=department,
        item_type=type,
        status=status,
        level=level,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )
    return Page[ItemSummary](
        items=[ItemSummary.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/items/{code}",
    response_model=ItemOut,
    tags=["items"],
    summary="An implementation with its guide, materials and fees",
)
async def get_item(request: Request, code: str) -> Response:
    # The hot path: no dependency to resolve, the stored representation returned as-is (it
    # was validated when written).
    version, body = service.get_item_json(request.app.state.snapshots, code)
    return json_bytes(body, version=version, if_none_match=request.headers.get("if-none-match"))


def _item_response(doc: dict[str, Any], status_code: int = 200) -> Response:
    headers = {"Location": f"/api/v1/items/{doc['code']}"} if status_code == 201 else None
    return json_bytes(doc, version=doc["version"], status_code=status_code, headers=headers)


@router.post(
    "/items",
    response_model=ItemOut,
    status_code=201,
    tags=["items"],
    summary="Add an implementation (editor of the implementing department)",
)
def create_item(session: WriteSession, caller: Caller, data: ImplementationIn) -> Response:
    return _item_response(service.create_item(session, data, caller), 201)


@router.put(
    "/items/{code}", response_model=ItemOut, tags=["items"], summary="Replace an implementation"
)
def replace_item(
    session: WriteSession,
    caller: Caller,
    code: str,
    data: ImplementationIn,
    version: ExpectedVersion,
) -> Response:
    return _item_response(service.replace_item(session, code, data, caller, version))


@router.patch(
    "/items/{code}",
    response_model=ItemOut,
    tags=["items"],
    summary="Change part of an implementation (JSON merge patch, RFC 7386)",
)
def patch_item(
    session: WriteSession,
    caller: Caller,
    code: str,
    version: ExpectedVersion,
    patch: Annotated[dict[str, Any], Body(description="JSON merge patch")],
) -> Response:
    return _item_response(service.patch_item(session, code, patch, caller, version))
