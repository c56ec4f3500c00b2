"""City platforms: the change feed, bulk upserts, digests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.directory.service import check_filters
from app.fields import Seq
from app.http.deps import Caller, ReadSession, WriteSession
from app.http.responses import json_bytes
from app.sync import digest as sync_digest
from app.sync.bulk import REPLAYED, apply_bulk
from app.sync.epoch import check_position
from app.sync.feed import head_seq, read_changes
from app.sync.schemas import BulkItemIn, BulkResult, ChangePage, Digest
from app.sync.snapshot import SnapshotKind
from app.sync.snapshot import stream as stream_snapshot

router = APIRouter(prefix="/api/v1", tags=["sync"])


#: a position this feed's history never had (410 feed-position-unknown)
POSITION_UNKNOWN = {
    410: {
        "description": "after is beyond the head, or epoch names another history (a restore, "
        "another instance): start again from GET /sync/snapshot",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
}


@router.get("/changes", response_model=ChangePage, responses=POSITION_UNKNOWN)
async def changes(
    request: Request,
    after: Annotated[Seq, Query(description="the last seq you hold (0 from the start)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    region: Annotated[
        str | None,
        Query(description="items of this region and below: a GB/T 2260 code or its prefix"),
    ] = None,
    epoch: Annotated[
        str | None,
        Query(
            max_length=64,
            description="the epoch of the page you read last: 410 if the "
            "feed's history is another one (re-snapshot)",
        ),
    ] = None,
) -> Response:
    """Every change that alters what GET /items/{code} returns, and every change of a
    catalogue entry, department or shared material (the seed's included), in commit order,
    with the full state at that version. Store ``last_seq`` and ask again with
    ``after=last_seq`` (and ``epoch``): no change is missed or repeated. A position this
    history never had (beyond the head, another epoch) is a 410 ``feed-position-unknown``:
    start again from GET /sync/snapshot. Regions and code lists (reference
    data, replaced whole) are read from GET /regions and GET /code-lists/{name}."""
    with request.app.state.snapshots.connection() as db:
        check_filters(db, region=region)
        head = head_seq(db)
        mine = check_position(db, after=after, epoch=epoch, head=head)
        rows, last = read_changes(db, after=after, limit=limit, region=region)
        head = max(head, last)
    return json_bytes({"changes": rows, "last_seq": last, "head_seq": head, "epoch": mine})


@router.get(
    "/sync/snapshot",
    response_class=StreamingResponse,
    summary="Every implementation of a region, as one NDJSON stream with its feed position",
    responses={
        200: {
            "description": 'a first line {"seq", "epoch", "count", "kind"}, then one record a '
            "line in code order (an implementation exactly as GET /items/{code} answers it)",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
def snapshot(
    request: Request,
    region: Annotated[
        str | None,
        Query(description="items of this region and below: a GB/T 2260 code or its prefix"),
    ] = None,
    kind: Annotated[
        SnapshotKind,
        Query(description="items (the default), entries, departments, materials or regions"),
    ] = SnapshotKind.ITEMS,
) -> StreamingResponse:
    """The catalogue as it is at one feed position (``seq`` on the first line): a copy loads
    it and continues with ``/changes?after=<seq>&epoch=<epoch>``."""
    snapshots = request.app.state.snapshots
    with snapshots.connection() as db:
        check_filters(db, region=region)

    def lines() -> Iterator[bytes]:
        with snapshots.connection() as db:
            yield from stream_snapshot(db, kind, region)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def bulk_item_schema() -> dict[str, Any]:
    """An item of a bulk body (an implementation and the version its sender last saw), its
    nested models referred to in the components, where the item endpoints put them."""
    schema = BulkItemIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


@router.post(
    "/sync/items",
    response_model=BulkResult,
    summary="Create or replace up to 1,000 implementations (JSON array or NDJSON)",
    openapi_extra={
        "x-body-limit": "bulk",
        "x-roles": ["admin", "editor", "sync"],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": bulk_item_schema()}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        },
    },
)
async def bulk_upsert(
    request: Request,
    response: Response,
    session: WriteSession,
    caller: Caller,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="a retry with the same key returns the first answer (1-200 visible "
            "ASCII characters)",
        ),
    ] = None,
) -> BulkResult:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    result = await run_in_threadpool(
        apply_bulk, session, body, content_type, caller, idempotency_key
    )
    if result.pop(REPLAYED, False):
        response.headers["Idempotent-Replayed"] = "true"
    return BulkResult.model_validate(result)


@router.get("/sync/digest", response_model=Digest)
def digest(
    session: ReadSession,
    region: str | None = None,
    department: str | None = None,
    code_from: Annotated[str | None, Query(alias="from")] = None,
    code_to: Annotated[str | None, Query(alias="to")] = None,
    by: Annotated[str | None, Query(description="department or range: split the digest")] = None,
    parts: Annotated[int, Query(ge=1, le=256)] = 16,
    items: Annotated[bool, Query(description="list each item's code, version and hash")] = False,
) -> Digest:
    """Count and content hash of the items in scope, to prove a copy equal in a few requests."""
    check_filters(session, region=region, department=department)
    return Digest.model_validate(
        sync_digest.digest(
            session,
            region=region,
            department=department,
            code_from=code_from,
            code_to=code_to,
            by=by,
            parts=parts,
            items=items,
        )
    )
