"""Learning from use without personal data: which entry citizens opened for which query.

``POST /api/v1/search/clicks`` records ``{q, code}``: the normalised query and the opened
hit's catalogue entry get one more click in a weight that halves every
:data:`CLICK_HALF_LIFE_DAYS` days. Nothing else is stored: no address, key, session or time
of a single click. A search whose normalised query has entries with a weight of at least
:data:`CLICK_MIN` ranks its first page's candidates (the first :data:`CLICK_WINDOW`) with
``score × (1 + CLICK_GAIN × ln(1 + weight))``: what many people opened rises, one person's
clicks do not move anything. The table is read into memory at most every
:data:`CLICK_REFRESH` seconds, so a search costs no database round trip for it.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from app.catalogue.models import Implementation
from app.dbtypes import utcnow
from app.errors import InvalidInput
from app.search.models import SearchClick
from app.search.text import normalise

CLICK_HALF_LIFE_DAYS = 30.0
#: decayed clicks an entry needs before they move its rank
CLICK_MIN = 3.0
CLICK_GAIN = 0.15
#: the candidates of a first page re-ranked by clicks
CLICK_WINDOW = 30
CLICK_REFRESH = 60.0
#: rows decayed below this weight are deleted when a click is recorded
CLICK_FORGET = 0.05


def click_key(q: str) -> str:
    """The normalised query clicks are counted under (NFKC, simplified, lower case, single
    spaces): 護照, 护照 and ' 护照 ' are one query."""
    return re.sub(r"\s+", " ", normalise(q)).strip()[:100]


def decayed(weight: float, since: datetime, now: datetime) -> float:
    days = max((now - since).total_seconds(), 0.0) / 86400.0
    return weight * 0.5 ** (days / CLICK_HALF_LIFE_DAYS)


def record_click(session: Session, q: str, code: str) -> dict[str, Any]:
    """One click on the hit ``code`` (an implementation code or a basic code) for ``q``."""
    key = click_key(q)
    if not key:
        raise InvalidInput.field(["body", "q"], "the query that was searched", "q")
    basic = code if len(code) == 12 and code.isdigit() else None
    if basic is None:
        item = session.get(Implementation, code)
        if item is None:
            raise InvalidInput.field(["body", "code"], f"no implementation {code}", "code")
        basic = item.basic_code
    now = utcnow()
    row = session.get(SearchClick, (key, basic))
    if row is None:
        row = SearchClick(query=key, basic_code=basic, weight=0.0, updated_at=now)
    row.weight = decayed(row.weight, row.updated_at, now) + 1.0
    row.updated_at = now
    session.add(row)
    session.flush()
    return {"query": key, "basic_code": basic, "weight": round(row.weight, 3)}


def forget_faded(session: Session) -> int:
    """Delete rows whose weight has decayed to nothing (run now and then)."""
    now = utcnow()
    gone = [
        (r.query, r.basic_code)
        for r in session.exec(select(SearchClick))
        if decayed(r.weight, r.updated_at, now) < CLICK_FORGET
    ]
    for q, b in gone:
        session.exec(
            delete(SearchClick).where(col(SearchClick.query) == q, col(SearchClick.basic_code) == b)
        )  # type: ignore[call-overload]
    return len(gone)


class ClickTable:
    """The clicks in memory: normalised query → {basic code: decayed weight ≥ CLICK_MIN}."""

    def __init__(self) -> None:
        self._table: dict[str, dict[str, float]] = {}
        self._read = -math.inf

    def forget(self) -> None:
        self._read = -math.inf

    def weights(self, session: Session, q: str) -> dict[str, float]:
        now = time.monotonic()
        if now - self._read > CLICK_REFRESH:
            table: dict[str, dict[str, float]] = {}
            at = utcnow()
            for r in session.exec(select(SearchClick).where(col(SearchClick.weight) >= CLICK_MIN)):
                w = decayed(r.weight, r.updated_at, at)
                if w >= CLICK_MIN:
                    table.setdefault(r.query, {})[r.basic_code] = w
            self._table, self._read = table, now
        return self._table.get(click_key(q), {})


def rerank(hits: list[Any], weights: dict[str, float], retired: Iterable[str] = ()) -> list[Any]:
    """Hits (with ``.score`` and ``.doc``) by their score raised by clicks; hits of a
    ``retired`` status stay below the others (see ``SearchEngine._live_first``)."""
    if not weights:
        return hits
    below = set(retired)

    def key(h: Any) -> tuple[bool, float]:
        w = weights.get(h.doc["basic_code"], 0.0)
        return h.doc.get("status") in below, -h.score * (1 + CLICK_GAIN * math.log1p(w))

    return sorted(hits, key=key)  # stable: ties keep the engine's order
