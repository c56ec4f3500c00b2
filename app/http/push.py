"""Webhooks: subscriptions to the change log, their delivery log, replay and resume.
Thin: see the service; deliveries are the dispatcher's (app/push/dispatcher.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.config import get_settings
from app.http.deps import Caller, RowId, WriteSession
from app.pagination import Page, decode_number_cursor, encode_cursor
from app.push import addresses, service
from app.push.schemas import DeliveryOut, ReplayIn, SubscriptionIn, SubscriptionOut

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no key, or an unknown or revoked one", "content": PROBLEM},
    403: {
        "description": "not an admin key, or a sync key outside its region",
        "content": PROBLEM,
    },
    404: {"description": "no such subscription", "content": PROBLEM},
}
WRITE = {"x-roles": ["admin", "sync"]}


router = APIRouter(prefix="/api/v1", tags=["webhooks"])

SubscriptionId = RowId


def _out(sub: Any) -> dict[str, Any]:
    return SubscriptionOut.model_validate(sub.public()).model_dump(mode="json")


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    responses=ERRORS,
    summary="Subscribe a URL to the change log (admins; sync keys within their region)",
    openapi_extra=WRITE,
)
def create_subscription(session: WriteSession, caller: Caller, data: SubscriptionIn) -> Response:
    """Deliveries start from the change log's head: every later change of the region (and
    every entry and department) with one of the events, POSTed in seq order as
    `{"changes": [...], "last_seq": n, "epoch": "..."}` (the feed's epoch, as on GET
    /changes) and signed `X-Catalogue-Signature: t=<unix time>, v1=<hex HMAC-SHA256 of
    "t.body" with the secret>`. The URL must be http(s) on a
    public address (422 `url.private_address`, `url.scheme`…) unless its host is listed
    in `CATALOGUE_WEBHOOK_ALLOW_HOSTS`. The secret is never shown again."""
    allow = addresses.AllowList.parse(get_settings().webhook_allow_hosts)
    sub = service.create(session, caller, data, allow)
    url = f"/api/v1/subscriptions/{sub.id}"
    return Response(
        SubscriptionOut.model_validate(sub.public()).model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Location": url},
    )


@router.get("/subscriptions", response_model=Page[SubscriptionOut], responses=ERRORS)
def list_subscriptions(
    session: WriteSession,
    caller: Caller,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Admins see every subscription, sync keys those within their region. The secret is
    never shown: `secret_hint` holds its last four characters."""
    rows = service.listing(session, caller, after_id=decode_number_cursor(cursor), limit=limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [_out(s) for s in rows],
        "next_cursor": encode_cursor(str(rows[-1].id)) if more else None,
    }


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut, responses=ERRORS)
def get_subscription(
    session: WriteSession, caller: Caller, subscription_id: SubscriptionId
) -> dict[str, Any]:
    return _out(service.get(session, caller, subscription_id))


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response_model=Page[DeliveryOut],
    responses=ERRORS,
)
def list_deliveries(
    session: WriteSession,
    caller: Caller,
    subscription_id: SubscriptionId,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Every delivery attempt, newest first: the seqs it carried, the attempt number at
    that position, the receiver's status (or the error), how long it took."""
    rows = service.deliveries(
        session, caller, subscription_id, before_id=decode_number_cursor(cursor), limit=limit
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [DeliveryOut.model_validate(d, from_attributes=True) for d in rows],
        "next_cursor": encode_cursor(str(rows[-1].id)) if more else None,
    }


@router.post(
    "/subscriptions/{subscription_id}/replay",
    response_model=SubscriptionOut,
    responses=ERRORS,
    openapi_extra=WRITE,
)
def replay_subscription(
    session: WriteSession, caller: Caller, subscription_id: SubscriptionId, data: ReplayIn
) -> dict[str, Any]:
    """Deliver again every change after `after`, in order (the cursor is set back; a
    delivery in flight no longer moves it)."""
    return _out(service.replay(session, caller, subscription_id, data.after))


@router.post(
    "/subscriptions/{subscription_id}/resume",
    response_model=SubscriptionOut,
    responses=ERRORS,
    openapi_extra=WRITE,
)
def resume_subscription(
    session: WriteSession, caller: Caller, subscription_id: SubscriptionId
) -> dict[str, Any]:
    """A paused subscription (it failed for `CATALOGUE_WEBHOOK_PAUSE_AFTER`, 24 h)
    delivers again from its cursor, at once."""
    return _out(service.resume(session, caller, subscription_id))


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    responses=ERRORS,
    openapi_extra=WRITE,
)
def delete_subscription(
    session: WriteSession, caller: Caller, subscription_id: SubscriptionId
) -> Response:
    """The subscription and its delivery log are removed; nothing more is sent."""
    service.remove(session, caller, subscription_id)
    return Response(status_code=204)
