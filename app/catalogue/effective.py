"""The effective day: a decided change becomes what the catalogue says on its date.

A lifecycle event (取消, 暂停, 下放 on its handover date, 承接, 合并, 拆分…) is recorded when
it is decided and takes effect on its effective date (``app.catalogue.history``). Each
version keeps ``next_change``, the day its stored snapshot stops being the state in force;
:func:`in_force` is the one test of it. Reads past that day compute the state from the log.
"""

from __future__ import annotations

from datetime import date

from app import clock


def in_force(next_change: date | None, on: date | None = None) -> bool:
    """Whether a stored snapshot whose next scheduled change is ``next_change`` is still the
    state in force on ``on`` (the province's today)."""
    return next_change is None or next_change > (on or clock.today())
