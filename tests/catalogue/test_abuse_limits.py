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


# --- 3. links: http(s) only, tel: and mailto: for a contact channel ----------------------


def test_links_that_run_script_are_refused_where_a_link_is_stored(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _items(session, 1, level="4")[0]
    admin = keys.admin()
    good = writable(client, item.code)
    guide = good["guide"]
    assert guide["windows"] and guide["consultation"] and guide["results"], "seed item too plain"
    places = {
        ("guide", "online", "url"): lambda b, v: b["guide"]["online"].update(url=v),
        ("guide", "windows", 0, "map_url"): lambda b, v: b["guide"]["windows"][0].update(map_url=v),
        ("guide", "consultation", 0, "url"): lambda b, v: b["guide"]["consultation"][0].update(
            url=v
        ),
        ("guide", "complaint", 0, "url"): lambda b, v: b["guide"]["complaint"][0].update(url=v),
        ("guide", "results", 0, "sample", "url"): lambda b, v: b["guide"]["results"][0].update(
            sample={"name": "样本", "url": v}
        ),
        ("materials", 0, "blank_form", "url"): lambda b, v: b["materials"][0].update(
            blank_form={"name": "空表", "url": v}
        ),
    }
    with nothing_written(client, session, item.code):
        for loc, put in places.items():
            for bad, rule in (
                ("javascript:alert(document.cookie)", "url.scheme"),
                (" JavaScript:alert(1)", "url.scheme"),
                ("data:text/html,<script>alert(1)</script>", "url.scheme"),
                ("//evil.example/x", "url.scheme"),
                ("https:evil.example", "url.host"),
            ):
                body = writable(client, item.code)
                put(body, bad)
                resp = client.put(f"{API}/items/{item.code}", json=body, headers=admin)
                assert error_at(problem(resp, 422), ["body", *loc])["type"] == rule, (loc, bad)
        # a phone or mail link is a web link's mistake, but a contact channel's own kind
        body = writable(client, item.code)
        body["guide"]["online"]["url"] = "tel:12345"
        resp = client.put(f"{API}/items/{item.code}", json=body, headers=admin)
        assert error_at(problem(resp, 422), ["body", "guide", "online", "url"])["type"] == (
            "url.scheme"
        )
        refused = problem(
            client.post(
                f"{API}/items/{item.code}/cancel",
                json=_event(
                    TODAY, decision={"number": "1号", "title": "决定", "url": "javascript:x"}
                ),
                headers=admin,
            ),
            422,
        )
        assert error_at(refused, ["body", "decision", "url"])["type"] == "url.scheme"
        entry = {"name": "某事项", "legal_basis": [{"law": "《某法》", "url": "javascript:x"}]}
        refused = problem(client.post(f"{API}/catalogue-entries", json=entry, headers=admin), 422)
        assert error_at(refused, ["body", "legal_basis", 0, "url"])["type"] == "url.scheme"

    body = writable(client, item.code)
    body["guide"]["consultation"][0]["url"] = "mailto:zxfw@example.gov.cn"
    body["guide"]["complaint"][0]["url"] = "tel:12345"
    body["guide"]["windows"][0]["map_url"] = "https://uri.amap.com/marker?position=126.6,45.7"
    resp = client.put(f"{API}/items/{item.code}", json=body, headers=admin)
    assert resp.status_code == 200, resp.text
    stored = client.get(f"{API}/items/{item.code}").json()["guide"]
    assert stored["consultation"][0]["url"] == "mailto:zxfw@example.gov.cn"
    assert stored["complaint"][0]["url"] == "tel:12345"


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


