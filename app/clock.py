"""The catalogue's clock: what time it is, and which day it is in the province.

"Today" is the province's calendar day (``CATALOGUE_TIMEZONE``, default ``Asia/Shanghai``),
not the server's: a decision effective on 1 January takes effect at midnight in Harbin,
not at 08:00 when a container's UTC date turns. Everything that decides "in force today"
asks :func:`today`; every timestamp comes from :func:`now`.

Tests move time with :func:`frozen` (no sleeping until a date): the clock is a function of
this module, replaced for the duration of the block, in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.config import get_settings


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    """The province's time zone."""
    return _zone(get_settings().timezone)


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return _now()


def today() -> date:
    """The province's calendar day now."""
    return now().astimezone(zone()).date()


def start_of(day: date) -> datetime:
    """The instant (UTC) the province's ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=zone()).astimezone(UTC)


def end_of(day: date) -> datetime:
    """The instant (UTC) the province's ``day`` ends (the next one begins)."""
    return start_of(day + timedelta(days=1))


def local(moment: datetime) -> datetime:
    """``moment`` in the province's time zone (for people to read)."""
    return moment.astimezone(zone())


@contextmanager
def frozen(moment: datetime | date) -> Iterator[Callable[[datetime | date], None]]:
    """Run the block with the clock at ``moment`` (a day means its first instant in the
    province). Yields ``move(to)`` to set the clock again inside the block."""
    global _now
    current = [_instant(moment)]
    saved = _now
    _now = lambda: current[0]  # noqa: E731

    def move(to: datetime | date) -> None:
        current[0] = _instant(to)

    try:
        yield move
    finally:
        _now = saved


def _instant(moment: datetime | date) -> datetime:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("a frozen clock needs an aware datetime")
        return moment.astimezone(UTC)
    return start_of(moment)
