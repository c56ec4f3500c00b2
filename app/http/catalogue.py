"""Catalogue entries and implementations (items). Thin: the rules live in the service."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from sqlmodel import Session

from app.catalogue import entries, history, items, reads
from app.catalogue.entries import entry_document
from app.catalogue.schemas import (
    Adjustment,
    CatalogueEntryIn,
    CatalogueEntryOut,
    DiffOut,
    ImplementationIn,
    ItemOut,
    ItemSummary,
    VersionMeta,
    VersionOut,
)
from app.directory.service import check_filters
from app.fields import Day, Instant, VersionNumber
from app.http.deps import Caller, ExpectedVersion, ReadSession, WriteSession
from app.http.readpath import item_read
from app.http.responses import item_response, json_bytes
from app.http.review import request_response
from app.pagination import Page, decode_number_cursor, encode_cursor
from app.review import service as review
from app.security import Principal

router = APIRouter(prefix="/api/v1")

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
#: the events /adjustments lists (动态调整公示)
AdjustmentEvent = Enum(  # type: ignore[misc]
    "AdjustmentEvent", {e: e for e in history.ADJUSTMENT_EVENTS}, type=str
)
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
) -> Response:
    rows, next_cursor = entries.list_entries(
        session, item_type=type, domain=domain, q=q, cursor=cursor, limit=limit
    )
    # stored rows as stored: the output is not judged by the input's text policy
    return json_bytes({"items": [entry_document(r) for r in rows], "next_cursor": next_cursor})


@router.get(
    "/catalogue-entries/{basic_code}", response_model=CatalogueEntryOut, tags=["catalogue entries"]
)
def get_entry(session: ReadSession, basic_code: str, if_none_match: IfNoneMatch = None) -> Response:
    entry = entries.get_entry(session, basic_code)
    return json_bytes(entry_document(entry), version=entry.version, if_none_match=if_none_match)


@router.post(
    "/catalogue-entries",
    response_model=CatalogueEntryOut,
    status_code=201,
    tags=["catalogue entries"],
    summary="Add a catalogue entry (admin); the basic code is issued when absent",
)
def create_entry(session: WriteSession, caller: Caller, data: CatalogueEntryIn) -> Response:
    entry = entries.create_entry(session, data, caller)
    return json_bytes(
        entry_document(entry),
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
    entry = entries.replace_entry(session, basic_code, data, caller, version)
    return json_bytes(entry_document(entry), version=entry.version)


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
    updated_since: Annotated[Instant | None, Query(description="ISO 8601 timestamp")] = None,
    basic_code: str | None = None,
    as_of: Annotated[Day | None, Query(description="statuses in force on this day")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ItemSummary]:
    check_filters(session, region=region, department=department)
    rows, next_cursor = reads.list_items(
        session,
        region=region,
        department=department,
        item_type=type,
        basic_code=basic_code,
        status=status,
        level=level,
        updated_since=updated_since,
        as_of=as_of,
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
async def get_item(
    request: Request,
    code: str,
    as_of: Annotated[Day | None, Query(description="the state in force on this day")] = None,
) -> Response:
    # The hot path: no dependency to resolve, the stored representation returned as-is (it
    # was validated when written). Past states and stale snapshots take the slower path.
    read, modified = await item_read(request.app.state.snapshots, code, as_of)
    return item_response(read, modified, request.headers.get("if-none-match"))


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
    proposal = review.instead_of_direct_write(
        session, caller, kind="create", item=None, region=data.region, body=_sent(data)
    )
    if proposal is not None:
        return request_response(session, proposal, 202)
    return _item_response(items.create_item(session, data, caller), 201)


def _sent(data: ImplementationIn) -> dict[str, Any]:
    """What was sent, as a change request keeps it (the note apart)."""
    body = data.model_dump(mode="json", exclude_none=True)
    if data.change_note:
        body["change_note"] = data.change_note
    return body


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
    return replace_whole_item(session, caller, code, version, data)


def replace_whole_item(
    session: Session, caller: Principal, code: str, version: int | None, data: ImplementationIn
) -> Response:
    """``PUT /items/{code}`` once its parameters are read (the route's, and
    ``app.http.item_write_path``'s): the replacement published, or proposed for review."""
    proposal = review.instead_of_direct_write(
        session, caller, kind="edit", item=code, body=_sent(data), expected_version=version
    )
    if proposal is not None:
        return request_response(session, proposal, 202)
    return _item_response(items.replace_item(session, code, data, caller, version))


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
    return edit_item(session, caller, code, version, patch)


def edit_item(
    session: Session, caller: Principal, code: str, version: int | None, patch: dict[str, Any]
) -> Response:
    """``PATCH /items/{code}`` once its parameters are read (the route's, and
    ``app.http.item_write_path``'s): the edit published, or proposed for review (202)."""
    proposal = review.instead_of_direct_write(
        session, caller, kind="edit", item=code, patch=patch, expected_version=version
    )
    if proposal is not None:
        return request_response(session, proposal, 202)
    return _item_response(items.patch_item(session, code, patch, caller, version))


# --- history -------------------------------------------------------------------------


@router.get("/items/{code}/versions", response_model=Page[VersionMeta], tags=["history"])
def list_versions(
    session: ReadSession, code: str, cursor: Cursor = None, limit: Limit = 100
) -> Page[VersionMeta]:
    rows = history.list_versions(session, code, decode_number_cursor(cursor), limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[VersionMeta](
        items=[VersionMeta.model_validate(history.version_meta(v)) for v in rows],
        next_cursor=encode_cursor(str(rows[-1].version)) if more else None,
    )


@router.get("/items/{code}/versions/{number}", response_model=VersionOut, tags=["history"])
async def get_version(
    request: Request, code: str, number: Annotated[VersionNumber, Path()]
) -> Response:
    with request.app.state.snapshots.connection() as db:
        v = history.get_version(db, code, number)
    body = (
        b'{"meta":'
        + orjson.dumps(history.version_meta(v))
        + b',"item":'
        + v.snapshot.encode()
        + b"}"
    )
    return json_bytes(body, version=v.version, last_modified=v.recorded_at)


@router.get("/items/{code}/diff", response_model=DiffOut, tags=["history"])
async def diff_versions(
    request: Request,
    code: str,
    from_: Annotated[VersionNumber, Query(alias="from")],
    to: Annotated[VersionNumber, Query()],
) -> Response:
    with request.app.state.snapshots.connection() as db:
        return json_bytes(history.diff_versions(db, code, from_, to))


@router.get("/adjustments", response_model=Page[Adjustment], tags=["lifecycle"])
def list_adjustments(
    session: ReadSession,
    since: Annotated[Day | None, Query(description="recorded on or after this day")] = None,
    type: Annotated[AdjustmentEvent | None, Query(description="the lifecycle event")] = None,
    region: str | None = None,
    department: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[Adjustment]:
    """动态调整公示: the public list of lifecycle events, newest first."""
    before = decode_number_cursor(cursor)
    check_filters(session, region=region, department=department)
    rows = history.list_adjustments(
        session,
        since=since,
        event=type.value if type else None,
        region=region,
        department=department,
        before_id=before,
        limit=limit,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[Adjustment](
        items=[Adjustment.model_validate(r) for r in rows],
        next_cursor=encode_cursor(str(rows[-1]["id"])) if more else None,
    )
