"""The webhook dispatcher: delivers the change log to subscriptions, derived from it.

Writes do nothing for webhooks: the dispatcher polls the change log (a ``max(seq)`` and the
small subscription table every ``CATALOGUE_WEBHOOK_POLL_INTERVAL`` seconds) and, for each
active subscription behind the head whose next attempt is due, reads the changes after its
cursor as ``GET /changes`` has them (``read_changes``), kept to its region and events, and
POSTs them in batches of ``CATALOGUE_WEBHOOK_BATCH``:
``{"changes": [...], "last_seq": n, "epoch": "..."}`` (the feed's epoch, as on a page),
signed ``X-Catalogue-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``.

* Ordering: a subscription's next batch is read only once the previous one was accepted
  (one worker per subscription at a time; subscriptions are delivered side by side).
* A deadline: each delivery, from resolving the host to the answer's status, has
  ``CATALOGUE_WEBHOOK_DEADLINE`` seconds (:mod:`app.push.deadline`); a worker drains a
  subscription for about that long at a time, then lets the others due have it.
* A slow lane: a subscription whose last attempt ran out of time is delivered by its own
  few workers (``CATALOGUE_WEBHOOK_SLOW_LANE``), so receivers that stall cannot take the
  workers of those that answer; and receivers that have accepted nothing yet (new
  subscriptions) are tried in all the workers but one, so new receivers that stall cannot
  take every worker either.
* At least once: the cursor moves only after a 2xx, in the transaction that logs the
  attempt; a batch whose answer was lost is sent again (the receiver keeps ``last_seq``
  and skips what it holds).
* Retries: any other answer, or none, is retried after ``base · 2^(n-1)`` seconds, at most
  ``cap``; a subscription failing for ``pause_after`` seconds (24 h) pauses until resumed.
* One dispatcher at a time (:mod:`app.leader`): every ``catalogue serve`` process and
  ``catalogue worker`` may run one; only the leader delivers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from prometheus_client import Counter
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.config import Settings
from app.db import for_writing
from app.dbtypes import utcnow
from app.leader import Leadership
from app.push import addresses, service
from app.push.deadline import Deadline, missed
from app.push.models import Subscription, SubscriptionStatus, WebhookDelivery
from app.sync.epoch import current_epoch

log = logging.getLogger("app.push")

SIGNATURE = "X-Catalogue-Signature"
#: the delivery log keeps this many days of attempts
DELIVERY_LOG_DAYS = 30
PRUNE_EVERY = 3600.0
LEADERSHIP = "webhook-dispatcher"

DELIVERIES = Counter("catalogue_webhook_deliveries_total", "Webhook delivery attempts", ["result"])

_SUBSCRIPTION = select(*Subscription.__table__.c)  # type: ignore[attr-defined]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


@dataclass(frozen=True)
class DispatchSettings:
    poll_interval: float = 1.0
    timeout: float = 10.0
    deadline: float = 10.0
    backoff_base: float = 5.0
    backoff_cap: float = 3600.0
    pause_after: float = 86400.0
    batch: int = 100
    concurrency: int = 4
    slow_lane: int = 1
    allow: addresses.AllowList = field(default_factory=addresses.AllowList)

    @classmethod
    def of(cls, settings: Settings) -> DispatchSettings:
        return cls(
            poll_interval=settings.webhook_poll_interval,
            timeout=settings.webhook_timeout,
            deadline=settings.webhook_deadline,
            backoff_base=settings.webhook_backoff_base,
            backoff_cap=settings.webhook_backoff_cap,
            pause_after=settings.webhook_pause_after,
            batch=settings.webhook_batch,
            concurrency=settings.webhook_concurrency,
            slow_lane=settings.webhook_slow_lane,
            allow=addresses.AllowList.parse(settings.webhook_allow_hosts),
        )


class Dispatcher:
    def __init__(self, engine: Engine, settings: DispatchSettings) -> None:
        self.engine = engine
        self.writer = for_writing(engine)
        self.settings = settings
        self.leadership = Leadership(engine, LEADERSHIP)
        import httpx  # here, not at import: only a process delivering webhooks needs it

        self.client = httpx.Client(
            timeout=settings.timeout,
            follow_redirects=False,  # a redirect could point anywhere: it is a failure
            trust_env=False,  # connect to the checked address, not through a proxy
            # a connection per delivery: its deadline watches the socket it opened
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": "service-catalogue-webhooks/1"},
        )
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="webhook")
        self._slow = ThreadPoolExecutor(settings.slow_lane, thread_name_prefix="webhook-slow")
        self._lock = threading.Lock()
        self._inflight: set[int] = set()
        #: subscriptions whose receiver accepted nothing yet, being tried: in all the
        #: workers but one, which stays for the receivers known to answer
        self._untried: set[int] = set()
        self._tries = max(1, settings.concurrency - 1)
        self._pruned = 0.0

    # --- the loop ----------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set, whenever this process leads."""
        try:
            while not stop.is_set():
                try:
                    if self.leadership.acquire():
                        self.round(stop)
                        self._prune()
                except Exception as exc:  # the database is down: try again later
                    log.warning("webhooks: %s: %s", type(exc).__name__, str(exc)[:200])
                stop.wait(self.settings.poll_interval)
        finally:
            self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._slow.shutdown(wait=True, cancel_futures=True)
        self.leadership.release()
        self.client.close()

    def round(self, stop: threading.Event | None = None) -> int:
        """Start draining every due subscription not already being delivered to: in the
        slow lane when its last attempt ran out of time; untried receivers in all the
        workers but one."""
        with self.engine.connect() as conn:
            due = service.due(conn, utcnow())
        started = 0
        for sid, last_error, proven in due:
            slow = missed(last_error)
            untried = not proven and not slow
            with self._lock:
                if sid in self._inflight or (untried and len(self._untried) >= self._tries):
                    continue
                self._inflight.add(sid)
                if untried:
                    self._untried.add(sid)
            lane = self._slow if slow else self._pool
            lane.submit(self._drain, sid, stop or threading.Event())
            started += 1
        return started

    def _drain(self, sid: int, stop: threading.Event) -> None:
        turn = time.monotonic() + self.settings.deadline
        try:
            # a process that lost the lead stops between batches; a subscription with
            # more to send after its turn waits for the next round, behind the others
            while not stop.is_set() and self.leadership.held and self.deliver_next(sid):
                if time.monotonic() >= turn:
                    break
        except Exception:
            log.exception("webhooks: delivering to subscription %d failed", sid)
        finally:
            with self._lock:
                self._inflight.discard(sid)
                self._untried.discard(sid)

    def idle(self) -> bool:
        with self._lock:
            return not self._inflight

    def _prune(self) -> None:
        if time.monotonic() - self._pruned < PRUNE_EVERY:
            return
        self._pruned = time.monotonic()
        with Session(self.writer) as session:
            n = service.prune_deliveries(session, utcnow() - timedelta(days=DELIVERY_LOG_DAYS))
            session.commit()
        if n:
            log.info("webhooks: pruned %d delivery log rows", n)

    # --- one batch ---------------------------------------------------------------------

    def deliver_next(self, sid: int) -> bool:
        """Deliver the subscription's next batch; True when it was accepted (or held none
        of its events) and more may follow."""
        now = utcnow()
        with self.engine.connect() as conn:
            sub = conn.execute(_SUBSCRIPTION.where(Subscription.id == sid)).first()
            if (
                sub is None
                or sub.status != SubscriptionStatus.ACTIVE
                or (sub.next_attempt_at is not None and sub.next_attempt_at > now)
            ):
                return False
            batch = service.next_batch(conn, sub, self.settings.batch)
            epoch = current_epoch(conn)
        if batch is None:
            return False
        changes, last = batch
        if not changes:  # none of its events: pass them
            with Session(self.writer) as session:
                moved = service.advance(session, sub, last, now)
                session.commit()
            return moved
        body = orjson.dumps({"changes": changes, "last_seq": last, "epoch": epoch})
        status, error, ms = self._post(sub, body)
        accepted = status is not None and 200 <= status < 300
        DELIVERIES.labels("accepted" if accepted else "failed").inc()
        at = utcnow()
        if not self._record(sub, changes, last, status, error, ms, at):
            return False
        if not accepted:
            log.warning(
                "webhooks: subscription %d: %s (attempt %d)",
                sid,
                error or f"HTTP {status}",
                sub.failures + 1,
            )
        return accepted

    def _record(
        self,
        sub: Any,
        changes: list[dict[str, Any]],
        last: int,
        status: int | None,
        error: str | None,
        ms: int,
        at: datetime,
    ) -> bool:
        """Log the attempt; move the cursor (accepted) or schedule the retry. False when
        the subscription was deleted meanwhile."""
        accepted = status is not None and 200 <= status < 300
        delivery = WebhookDelivery(
            subscription_id=sub.id,
            first_seq=changes[0]["seq"],
            last_seq=last,
            changes=len(changes),
            attempt=sub.failures + 1,
            status_code=status,
            error=error[:300] if error else None,
            duration_ms=ms,
            accepted=accepted,
            at=at,
        )
        paused = False
        with Session(self.writer) as session:
            try:
                session.add(delivery)
                session.flush()
                if accepted:
                    service.advance(session, sub, last, at)
                else:
                    paused = service.fail(
                        session,
                        sub,
                        error or f"HTTP {status}",
                        at,
                        base=self.settings.backoff_base,
                        cap=self.settings.backoff_cap,
                        pause_after=self.settings.pause_after,
                    )
                session.commit()
            except IntegrityError:  # deleted while the batch was on its way
                session.rollback()
                return False
        if paused:
            log.warning("webhooks: subscription %d paused after failing since %s",
                        sub.id, sub.failing_since or at)  # fmt: skip
        return True

    def _post(self, sub: Any, body: bytes) -> tuple[int | None, str | None, int]:
        """POST a batch to the subscription's checked address within the deadline:
        (status, error, ms)."""
        import httpx

        started = time.perf_counter()
        with Deadline(self.settings.deadline) as deadline:
            try:
                target = addresses.check(sub.url, self.settings.allow)
                request = self.client.build_request(
                    "POST",
                    target.request_url(),
                    content=body,
                    headers={
                        **target.headers(),
                        "Content-Type": "application/json",
                        SIGNATURE: sign(sub.secret, body, int(time.time())),
                        "X-Catalogue-Subscription": str(sub.id),
                    },
                    extensions={**target.extensions(), "trace": deadline.trace},
                    # a connection not made yet has no socket to cut: it waits no longer
                    timeout=httpx.Timeout(
                        self.settings.timeout, connect=min(self.settings.timeout, deadline.left())
                    ),
                )
                response = self.client.send(request, stream=True)
                response.close()  # the answer's body is not read: its status is the answer
                status, error = response.status_code, None
            except addresses.AddressRefused as exc:
                status, error = None, f"{exc.rule}: {exc.message}"
            except httpx.HTTPError as exc:
                status = None
                error = deadline.reason if deadline.over else f"{type(exc).__name__}: {exc}"
        return status, error, int((time.perf_counter() - started) * 1000)
