"""Retention of personal data: a correction's contact is erased once it is older than
``CATALOGUE_CONTACT_RETENTION_DAYS``, in every documented deployment shape.

The duty runs in every long-running process kind (``catalogue serve`` with any background
work switched on, ``catalogue worker``, ``catalogue index``), so no shape is left without
it; exactly one process at a time erases (:class:`~app.leader.Leadership` ``retention``),
the others wait to take over. It erases at start and then every
``CATALOGUE_RETENTION_INTERVAL`` seconds: one UPDATE of the expired rows, cheap enough to
run hourly, so a contact never outlives its retention by more than the interval.
``catalogue corrections erase-contacts`` does the same once.

When the duty stops leading or fails, ``catalogue_duty_last_success_timestamp_seconds
{duty="retention"}`` stops moving: an alert on its age tells that no process erases.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from prometheus_client import Gauge
from sqlalchemy import Engine
from sqlmodel import Session

from app.corrections.service import erase_contacts
from app.db import for_writing
from app.leader import Leadership, run_in_thread

log = logging.getLogger("app.corrections.retention")

LEADERSHIP = "retention"

LAST_SUCCESS = Gauge(
    "catalogue_duty_last_success_timestamp_seconds",
    "Unix time a background duty last completed a round in this process",
    ["duty"],
    multiprocess_mode="max",
)


class Retention:
    """The erasure duty of one process."""

    def __init__(self, engine: Engine, *, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self.leadership = Leadership(engine, LEADERSHIP)

    def run_once(self) -> int:
        with Session(for_writing(self.engine)) as session:
            erased = erase_contacts(session)
            session.commit()
        LAST_SUCCESS.labels(duty=LEADERSHIP).set(time.time())
        if erased:
            log.info("retention: erased %d expired contacts", erased)
        return erased

    def run_forever(self, stop: threading.Event) -> None:
        """Erase while this process leads, every ``interval`` seconds, until ``stop``."""
        try:
            while not stop.is_set():
                try:
                    was = self.leadership.held
                    if self.leadership.acquire():
                        if not was:
                            log.info("retention: this process (pid %d) erases", os.getpid())
                        self.run_once()
                except Exception as exc:  # the database is away: the next round tries again
                    log.warning("retention: %s: %s", type(exc).__name__, str(exc)[:200])
                stop.wait(self.interval)
        finally:
            self.leadership.release()

    @classmethod
    def of_settings(cls, engine: Engine) -> Retention:
        from app.config import get_settings

        return cls(engine, interval=get_settings().retention_interval)


def start(engine: Engine) -> Callable[[], None]:
    """Run the duty in a thread of this process; returns what stops it."""
    return run_in_thread(Retention.of_settings(engine).run_forever, "retention")
