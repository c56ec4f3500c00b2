"""Webhook subscriptions: who may make them, their cursor in the change log, and what a
delivery attempt does to them. The caller owns the transaction (a request, or the
dispatcher); nothing here commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlmodel import Session, col

from app.dbtypes import utcnow
from app.directory.models import Region
from app.errors import Forbidden, InvalidInput, NotFound
from app.pagination import with_prefix
from app.push import addresses
from app.push.models import Subscription, SubscriptionStatus, WebhookDelivery
from app.push.schemas import SubscriptionIn
from app.security import Principal, region_prefix
from app.sync.feed import head_seq, read_changes

# --- scope ---------------------------------------------------------------------------


def require_scope(actor: Principal, region: str | None) -> None:
    """Admins: any subscription; sync keys: those within their region prefix."""
    if actor.role == "admin":
        return
    if actor.role != "sync":
        raise Forbidden(
            f"key {actor.name!r} ({actor.role}) may not manage webhooks: admin and sync keys"
        )
    prefix = actor.region_prefix or "-"
    if region is None or not region.startswith(prefix):
        where = f"regions {region}*" if region else "every region"
        raise Forbidden(f"key {actor.name!r} is limited to regions {prefix}*, not {where}")


def get(session: Session, actor: Principal, subscription_id: int) -> Subscription:
    if actor.role not in ("admin", "sync"):
        require_scope(actor, None)  # 403 before saying whether it exists
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"no subscription {subscription_id}")
    require_scope(actor, sub.region)
    return sub


# --- the endpoints' work -------------------------------------------------------------


def _prefix(region: str | None) -> str | None:
    """The region filter as a code prefix (``230100`` and ``2301`` → ``2301``)."""
    return None if region is None else region_prefix(region.ljust(6, "0"))


def create(
    session: Session, actor: Principal, data: SubscriptionIn, allow: addresses.AllowList
) -> Subscription:
    """A subscription from the change log's head on (replay reaches back). The URL is
    checked (its host resolved) before the transaction's first statement: no write waits
    for a name server."""
    region = _prefix(data.region)
    require_scope(actor, region)
    addresses.check_input(data.url, allow)
    if data.region is not None and session.get(Region, data.region.ljust(6, "0")) is None:
        raise InvalidInput.field(
            ["body", "region"], f"no region {data.region.ljust(6, '0')}", "region_code.unknown"
        )
    now = utcnow()
    sub = Subscription(
        url=data.url,
        secret=data.secret,
        region=region,
        events=data.events,
        last_delivered_seq=head_seq(session),
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(sub)
    session.flush()
    return sub


def listing(
    session: Session, actor: Principal, *, after_id: int | None, limit: int
) -> list[Subscription]:
    """In id order, ``limit + 1`` rows (the caller pages)."""
    if actor.role not in ("admin", "sync"):
        require_scope(actor, None)  # 403
    stmt = select(Subscription).order_by(col(Subscription.id)).limit(limit + 1)
    if after_id is not None:
        stmt = stmt.where(col(Subscription.id) > after_id)
    if actor.role != "admin":
        stmt = stmt.where(*with_prefix(Subscription.region, actor.region_prefix or "-"))
    return list(session.scalars(stmt))


def remove(session: Session, actor: Principal, subscription_id: int) -> None:
    sub = get(session, actor, subscription_id)
    session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == sub.id))
    session.delete(sub)
    session.flush()


def replay(session: Session, actor: Principal, subscription_id: int, after: int) -> Subscription:
    """Set the cursor back (or forward, up to the head): the changes after ``after`` are
    delivered again, in order. A delivery in flight moves the cursor no more."""
    sub = get(session, actor, subscription_id)
    head = head_seq(session)
    if after > head:
        raise InvalidInput.field(
            ["body", "after"], f"the change log ends at seq {head}", "seq.beyond_head"
        )
    sub.last_delivered_seq = after
    sub.epoch += 1
    sub.failures = 0
    sub.failing_since = None
    sub.next_attempt_at = None
    sub.updated_at = utcnow()
    session.add(sub)
    session.flush()
    return sub


def resume(session: Session, actor: Principal, subscription_id: int) -> Subscription:
    """A paused subscription delivers again from its cursor, at once; the retry schedule
    starts afresh."""
    sub = get(session, actor, subscription_id)
    sub.status = SubscriptionStatus.ACTIVE
    sub.epoch += 1
    sub.failures = 0
    sub.failing_since = None
    sub.next_attempt_at = None
    sub.paused_at = None
    sub.updated_at = utcnow()
    session.add(sub)
    session.flush()
    return sub


def deliveries(
    session: Session, actor: Principal, subscription_id: int, *, before_id: int | None, limit: int
) -> list[WebhookDelivery]:
    """The delivery log, newest first, ``limit + 1`` rows."""
    sub = get(session, actor, subscription_id)
    stmt = (
        select(WebhookDelivery)
        .where(col(WebhookDelivery.subscription_id) == sub.id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit + 1)
    )
    if before_id is not None:
        stmt = stmt.where(col(WebhookDelivery.id) < before_id)
    return list(session.scalars(stmt))


# --- what the dispatcher reads and records ---------------------------------------------


def due(db: Connection, now: datetime) -> list[tuple[int, str | None, bool]]:
    """Active subscriptions behind the change log's head whose next attempt is due: their
    id, the error of their last attempt (None when it was accepted) and whether the
    receiver has accepted a delivery yet (in the delivery log)."""
    head = head_seq(db)
    accepted = (
        select(WebhookDelivery.id)
        .where(
            col(WebhookDelivery.subscription_id) == Subscription.id,
            col(WebhookDelivery.accepted).is_(True),
        )
        .exists()
    )
    stmt = (
        select(Subscription.id, Subscription.last_error, accepted)
        .where(
            Subscription.status == SubscriptionStatus.ACTIVE,
            col(Subscription.last_delivered_seq) < head,
        )
        .where(
            (col(Subscription.next_attempt_at).is_(None))
            | (col(Subscription.next_attempt_at) <= now)
        )
        .order_by(col(Subscription.id))
    )
    return [(sid, error, bool(proven)) for sid, error, proven in db.execute(stmt)]


def next_batch(db: Connection, sub: Any, limit: int) -> tuple[list[dict[str, Any]], int] | None:
    """The subscription's next changes after its cursor, as the feed has them
    (``read_changes``), kept to its events; and the last seq read. None: caught up. An
    empty list: the changes read were none of its events (the cursor may pass them)."""
    rows, last = read_changes(db, after=sub.last_delivered_seq, limit=limit, region=sub.region)
    if not rows and last <= sub.last_delivered_seq:
        return None
    if sub.events:
        wanted = set(sub.events)
        rows = [r for r in rows if r["event"] in wanted]
    return rows, last


def advance(db: Connection | Session, sub: Any, to_seq: int, now: datetime) -> bool:
    """Accepted (or nothing for it): the cursor moves to ``to_seq``, unless a replay or a
    resume came in the meantime (``epoch``). True when it moved."""
    result = db.execute(
        update(Subscription)
        .where(
            col(Subscription.id) == sub.id,
            col(Subscription.epoch) == sub.epoch,
            col(Subscription.last_delivered_seq) == sub.last_delivered_seq,
        )
        .values(
            last_delivered_seq=to_seq,
            failures=0,
            failing_since=None,
            next_attempt_at=None,
            last_error=None,
            updated_at=now,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def backoff(failures: int, base: float, cap: float) -> float:
    """Seconds before the next attempt after ``failures`` failed ones in a row."""
    return min(cap, base * 2 ** min(failures - 1, 60))


def fail(
    db: Connection | Session,
    sub: Any,
    error: str,
    now: datetime,
    *,
    base: float,
    cap: float,
    pause_after: float,
) -> bool:
    """A failed attempt: retry after the backoff, or pause once the subscription has been
    failing for ``pause_after`` seconds. True when it paused."""
    failures = sub.failures + 1
    since = sub.failing_since or now
    pause = (now - since).total_seconds() >= pause_after
    values: dict[str, Any] = {
        "failures": failures,
        "failing_since": since,
        "last_error": error[:300],
        "updated_at": now,
    }
    if pause:
        values.update(status=SubscriptionStatus.PAUSED, paused_at=now, next_attempt_at=None)
    else:
        values["next_attempt_at"] = now + timedelta(seconds=backoff(failures, base, cap))
    db.execute(
        update(Subscription)
        .where(col(Subscription.id) == sub.id, col(Subscription.epoch) == sub.epoch)
        .values(**values)
    )
    return pause


def prune_deliveries(db: Connection | Session, older_than: datetime) -> int:
    result = db.execute(delete(WebhookDelivery).where(col(WebhookDelivery.at) < older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
