"""The background duties a ``catalogue serve`` runs beside its requests, started in one
place as its settings switch them on (``catalogue serve`` switches all on; a deployment with
``catalogue index`` and ``catalogue worker`` switches them off): applying the change log to
the search index, delivering webhooks, recording the day a decision takes effect, and
erasing contacts past their retention with any of them. Each runs in a thread of its own,
and each is leader-elected, so one process at a time does it (app/leader.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import Engine

from app.catalogue import effective
from app.config import Settings
from app.corrections import retention
from app.leader import run_in_thread
from app.push.dispatcher import Dispatcher, DispatchSettings
from app.search.indexer import Indexer
from app.search.service import SearchService


def start(engine: Engine, settings: Settings, search: SearchService) -> Callable[[], None]:
    """Start the duties the settings switch on; returns what stops them all."""
    halts: list[Callable[[], None]] = []
    if settings.effects:
        halts.append(effective.start(engine))
    if settings.search_indexer:
        loop = partial(Indexer(search).run_forever, engine)
        halts.append(run_in_thread(loop, "search-indexer"))
    if settings.webhooks:
        dispatcher = Dispatcher(engine, DispatchSettings.of(settings))
        halts.append(run_in_thread(dispatcher.run_forever, "webhook-dispatcher"))
    if settings.search_indexer or settings.webhooks or settings.effects:
        halts.append(retention.start(engine))  # every process kind with duties erases

    def halt() -> None:
        for stop in reversed(halts):
            stop()

    return halt
