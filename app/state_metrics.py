"""The catalogue's state as Prometheus gauges, read from the database at scrape time.

Every process kind serves them (``catalogue serve`` on ``/metrics``; ``catalogue index``
and ``catalogue worker`` on ``CATALOGUE_METRICS_PORT``), and every process reads the same
rows, so two scrapes of any instance agree: "is the indexer behind?", "are webhooks
piling up?", "is an import stuck?" need no SQL. The counters of the request path are the
process's own (aggregated across uvicorn workers by app/observability.py).

A scrape costs a handful of indexed reads; a database that does not answer makes
``catalogue_state_up`` 0 instead of failing the scrape, so the process's own counters
still arrive.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from app import clock
from app.push.models import Subscription, SubscriptionStatus
from app.search.models import SearchPosition
from app.sync.models import ImportJob, ImportStatus
from app.versionlog import ChangeLog

log = logging.getLogger("app.state_metrics")


def _age(moment: datetime | None) -> float:
    return 0.0 if moment is None else max(0.0, (clock.now() - moment).total_seconds())


class CatalogueState(Collector):
    """Gauges of the feed head, the search indexer, webhooks, import jobs, the scheduler's
    duties and this process's database pool."""

    def __init__(self, bind: Engine | Session) -> None:
        #: an engine (a session per scrape) or the session of the request that scrapes
        self.bind = bind

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("catalogue_state_up", "1 when the state gauges could be read")
        try:
            if isinstance(self.bind, Session):
                families = list(self._read(self.bind))
            else:
                with Session(self.bind) as session:
                    families = list(self._read(session))
        except Exception as exc:  # the database is away: the process's own metrics still go
            log.warning("state metrics: %s: %s", type(exc).__name__, str(exc)[:200])
            up.add_metric([], 0)
            yield up
            yield from self._pool()
            return
        up.add_metric([], 1)
        yield up
        yield from families
        yield from self._pool()

    def _read(self, session: Session) -> Iterator[GaugeMetricFamily]:
        head = int(session.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar())
        g = GaugeMetricFamily("catalogue_feed_head_seq", "The change feed's last seq")
        g.add_metric([], head)
        yield g

        def first_after(seq: int) -> datetime | None:
            return session.execute(
                select(ChangeLog.recorded_at)
                .where(col(ChangeLog.seq) > seq)
                .order_by(col(ChangeLog.seq))
                .limit(1)
            ).scalar()

        lag = GaugeMetricFamily(
            "catalogue_indexer_lag_changes",
            "Changes recorded that the search index has not applied",
            labels=["index"],
        )
        lag_s = GaugeMetricFamily(
            "catalogue_indexer_lag_seconds",
            "Age of the oldest change the search index has not applied",
            labels=["index"],
        )
        for name, last in session.execute(select(SearchPosition.name, SearchPosition.last_seq)):
            lag.add_metric([name], max(0, head - int(last or 0)))
            lag_s.add_metric([name], _age(first_after(int(last or 0))))
        yield lag
        yield lag_s

        active = session.execute(
            select(
                func.count(), func.coalesce(func.min(Subscription.last_delivered_seq), head)
            ).where(Subscription.status == SubscriptionStatus.ACTIVE)
        ).one()
        behind = session.execute(
            select(func.coalesce(func.sum(head - col(Subscription.last_delivered_seq)), 0)).where(
                Subscription.status == SubscriptionStatus.ACTIVE
            )
        ).scalar()
        g = GaugeMetricFamily(
            "catalogue_webhook_backlog_changes",
            "Changes after the cursors of active subscriptions, summed",
        )
        g.add_metric([], int(behind or 0))
        yield g
        g = GaugeMetricFamily(
            "catalogue_webhook_oldest_pending_seconds",
            "Age of the oldest change an active subscription has not been sent",
        )
        g.add_metric([], _age(first_after(int(active[1]))) if active[0] else 0.0)
        yield g

        jobs = GaugeMetricFamily(
            "catalogue_import_jobs", "Import jobs by status", labels=["status"]
        )
        found = {
            status: n
            for status, n in session.execute(
                select(ImportJob.status, func.count()).group_by(ImportJob.status)
            )
        }
        for status in ImportStatus:
            jobs.add_metric([status.value], int(found.get(status.value, 0)))
        yield jobs

    def _pool(self) -> Iterator[GaugeMetricFamily]:
        bind = self.bind.get_bind() if isinstance(self.bind, Session) else self.bind
        pool = bind.engine.pool
        g = GaugeMetricFamily(
            "catalogue_db_pool_connections",
            "This process's database connections by state",
            labels=["state"],
        )
        for state in ("checkedout", "checkedin", "overflow", "size"):
            reading = getattr(pool, state, None)
            if callable(reading):
                g.add_metric([state], float(reading()))
        yield g


class _Together(Collector):
    """Several collectors scraped as one."""

    def __init__(self, parts: Iterable[Any]) -> None:
        self.parts = list(parts)

    def collect(self) -> Iterable[Any]:
        for part in self.parts:
            yield from part.collect()


def process_metrics() -> Collector:
    """This process's counters, or every worker's summed in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def scrape_registry(engine: Any) -> CollectorRegistry:
    """What a scrape of this process answers: its metrics and the catalogue's state."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Together([process_metrics(), CatalogueState(engine)]))
    return registry


def metrics_text(engine: Any) -> tuple[bytes, str]:
    return generate_latest(scrape_registry(engine)), CONTENT_TYPE_LATEST


def serve_metrics(engine: Any, port: int | None) -> None:
    """``/metrics`` of a process without an HTTP app (the indexer, the worker) on
    ``port`` (``CATALOGUE_METRICS_PORT``; none: not served), on all interfaces of a
    private network as the deployment arranges."""
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, registry=scrape_registry(engine))
