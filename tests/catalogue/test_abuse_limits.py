"""Abuse of the catalogue's own rules, each refused cheaply and writing nothing, on SQLite and
PostgreSQL: situations that would take minutes to enumerate, merges out of scope or beside
a decided end, links that run script, cursors this API did not issue; and the change feed's
seq, which a rolled-back proposal does not spend."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from app.catalogue.models import ChangeLog, Implementation
from app.catalogue.situations import MAX_COMBINATIONS, Situations, check_item
from app.config import get_settings
from app.db import for_writing
from app.readpath import ReadPath
from app.versionlog import FEED_LOCK, take_feed_lock
from tests.conftest import Keys
from tests.helpers import API, committing_app, counts, error_at, problem, writable

TODAY = date.today()
PROBLEMS = "https://service-catalogue.example/problems/"


def _head(client: TestClient) -> int:
    return client.get(f"{API}/changes", params={"limit": 1}).json()["head_seq"]


@contextmanager
def nothing_written(client: TestClient, session: Session, *codes: str) -> Iterator[None]:
    """Row counts, the feed's head and the items as read are the same after the block."""
    before = (counts(session), _head(client), [client.get(f"{API}/items/{c}").text for c in codes])
    yield
    after = (counts(session), _head(client), [client.get(f"{API}/items/{c}").text for c in codes])
    assert after == before, "a refused request wrote something"


def _items(session: Session, n: int, **where: Any) -> list[Implementation]:
    """Items in use (at least ``n``), by code."""
    query = select(Implementation).where(Implementation.status == "1")
    for column, value in where.items():
        query = query.where(getattr(Implementation, column) == value)
    found = list(session.execute(query.order_by(Implementation.code)).scalars())
    assert len(found) >= n
    return found


def _event(effective: date, **extra: Any) -> dict[str, Any]:
    return {
        "decision": {"number": "黑政规〔2026〕9号", "title": "关于调整行政权力事项的决定"},
        "reason": "测试",
        "effective_date": effective.isoformat(),
        **extra,
    }


# --- 4. cursors: one this API did not issue is a 422 on every list ------------------------


def test_every_list_refuses_a_cursor_it_did_not_issue(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _items(session, 1, level="4")[0]
    admin = keys.admin()
    public = [
        "/regions",
        "/departments",
        "/materials",
        "/catalogue-entries",
        "/items",
        f"/items/{item.code}/versions",
        "/adjustments",
        "/search?q=身份证",
    ]
    keyed = ["/change-requests", "/corrections", "/subscriptions"]
    # "nope", "abc", a code, a row number, as the cursors were written before they were signed
    foreign = ["bm9wZQ", "YWJj", "MjMwMTAw", "MTA", "@@", "x" * 201]
    with nothing_written(client, session):
        for path in public + keyed:
            for cursor in foreign:
                sep = "&" if "?" in path else "?"
                resp = client.get(f"{API}{path}{sep}cursor={cursor}", headers=admin)
                body = problem(resp, 422)
                rule = error_at(body, ["query", "cursor"])["type"]
                # a list may bound the parameter's length before it reads it as a cursor
                assert rule == "cursor" or len(cursor) > 200, (path, cursor)
    # the cursors it does issue lead on
    for path in public:
        sep = "&" if "?" in path else "?"
        first = client.get(f"{API}{path}{sep}limit=1").json()
        if first["next_cursor"] is None:
            continue
        after = client.get(f"{API}{path}{sep}limit=1&cursor={first['next_cursor']}")
        assert after.status_code == 200, (path, after.text)
        assert after.json()["items"] and after.json()["items"] != first["items"], path


