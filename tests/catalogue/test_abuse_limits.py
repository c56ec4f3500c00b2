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

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from app import clock
from app.catalogue.models import Implementation
from app.catalogue.situations import MAX_COMBINATIONS, Situations, check_item
from app.db import for_writing
from app.http.readpath import ReadPath
from app.versionlog import FEED_LOCK, ChangeLog, take_feed_lock
from tests.conftest import Keys
from tests.helpers import API, committing_app, counts, error_at, problem, writable

TODAY = clock.today()
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


# --- 1. situations: refused by their size, in milliseconds ------------------------------

#: the reproducer: 10 multiple-choice questions of 20 options (2^20 - 1 answers each)
WIDE = [
    {
        "id": f"q{i}",
        "question": f"问题{i}（可多选）",
        "multiple": True,
        "options": [{"id": f"q{i}o{j}", "label": f"选项{j}"} for j in range(20)],
    }
    for i in range(10)
]
#: each question small, the roots few (the structure's floor passes): the follow-ups one
#: option reveals make 20^20 sets of answers, which only a walk finds
DEEP = [
    {
        "id": "kind",
        "question": "办理类型",
        "options": [
            {"id": "new", "label": "首次", "reveals": [f"f{i}" for i in range(20)]},
            {"id": "again", "label": "补领"},
        ],
    },
    *(
        {
            "id": f"f{i}",
            "question": f"追问{i}",
            "options": [{"id": f"f{i}o{j}", "label": f"选项{j}"} for j in range(20)],
        }
        for i in range(20)
    ),
]


def test_situations_of_many_answers_are_refused_in_milliseconds(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _items(session, 1, level="4")[0]
    admin = keys.admin()
    with nothing_written(client, session, item.code):
        t = time.perf_counter()
        resp = client.patch(
            f"{API}/items/{item.code}", json={"guide": {"situations": WIDE}}, headers=admin
        )
        wide_s = time.perf_counter() - t
        body = problem(resp, 422)
        for i in range(10):
            error = error_at(body, ["body", "guide", "situations", i, "options"])
            assert error["type"] == "situation.too_many_combinations"
            assert "1048575 answers" in error["msg"]

        t = time.perf_counter()
        resp = client.patch(
            f"{API}/items/{item.code}", json={"guide": {"situations": DEEP}}, headers=admin
        )
        deep_s = time.perf_counter() - t
        body = problem(resp, 422)
        assert error_at(body, ["body", "guide", "situations"])["type"] == (
            "situation.too_many_combinations"
        )
        # a full replace is refused the same way, by the body's model
        full = writable(client, item.code)
        full["guide"]["situations"] = DEEP
        body = problem(client.put(f"{API}/items/{item.code}", json=full, headers=admin), 422)
        assert error_at(body, ["body", "guide", "situations"])["type"] == (
            "situation.too_many_combinations"
        )
    # the enumeration of WIDE took 26 s before it was bounded; the round trip is what is left
    # (a bound the unbounded enumeration cannot meet, that a loaded host does not miss)
    assert wide_s < 10 and deep_s < 10, (wide_s, deep_s)


def test_the_count_stops_past_the_limit() -> None:
    t = time.perf_counter()
    assert Situations(DEEP).count() == MAX_COMBINATIONS + 1
    assert len(Situations(DEEP).combinations()) == MAX_COMBINATIONS + 1
    errors = check_item({"guide": {"situations": DEEP}, "materials": [{"name": "证"}]}, ["body"])
    assert "situation.too_many_combinations" in {e["type"] for e in errors}
    assert time.perf_counter() - t < 0.5
    # at the limit exactly: 2 × 2 × 2^6 = 256 sets of answers are allowed, one more is not
    edge = [
        {"id": "a", "question": "甲", "options": [{"id": "a1", "label": "1"}, {"id": "a2", "label": "2"}]},
        {"id": "b", "question": "乙", "options": [{"id": "b1", "label": "1"}, {"id": "b2", "label": "2"}]},
        {
            "id": "c",
            "question": "丙",
            "multiple": True,
            "required": False,
            "options": [{"id": f"c{i}", "label": str(i)} for i in range(6)],
        },
    ]  # fmt: skip
    assert Situations(edge).count() == 2 * 2 * 64 == MAX_COMBINATIONS
    edge[0]["options"].append({"id": "a3", "label": "3"})
    assert Situations(edge).count() == MAX_COMBINATIONS + 1


def test_a_wide_body_is_refused_before_its_write_waits_for_the_database(
    own_engine: Engine,
) -> None:
    """While another transaction holds the write (SQLite: the write slot; PostgreSQL: the
    item's row), a PUT of too many answers is answered at once: its check needs no lock."""
    with Session(own_engine) as session:
        item = _items(session, 1, level="4")[0]
        code = item.code
        admin = Keys(session).admin()
    app = committing_app(own_engine, ReadPath(own_engine))
    with TestClient(app) as client:
        full = writable(client, code)
        full["guide"]["situations"] = WIDE
        answers: list[Any] = []
        with Session(for_writing(own_engine)) as holder:
            # the contender: SQLite's BEGIN IMMEDIATE takes the write; PostgreSQL locks the row
            holder.execute(
                select(Implementation.code).where(Implementation.code == code).with_for_update()
            )
            sender = threading.Thread(
                target=lambda: answers.append(
                    client.put(f"{API}/items/{code}", json=full, headers=admin)
                )
            )
            t = time.perf_counter()
            sender.start()
            sender.join(timeout=10)
            waited = time.perf_counter() - t
            answered = bool(answers)
            holder.rollback()
        sender.join()
    assert answered, "the refusal waited for the write held by another transaction"
    body = problem(answers[0], 422)
    assert error_at(body, ["body", "guide", "situations", 0, "options"])["type"] == (
        "situation.too_many_combinations"
    )
    assert waited < 5


# --- 2. merges: the survivor in scope, one end at a time -------------------------------


def _two_departments(session: Session) -> tuple[Implementation, Implementation]:
    """Two items in use of two departments (level 4)."""
    items = _items(session, 2, level="4")
    first = items[0]
    other = next(i for i in items if i.department_code != first.department_code)
    return first, other


def test_a_merge_into_another_departments_item_is_out_of_scope(
    client: TestClient, session: Session, keys: Keys
) -> None:
    mine, theirs = _two_departments(session)
    editor = keys.editor(mine.department_code)
    with nothing_written(client, session, mine.code, theirs.code):
        body = problem(
            client.post(
                f"{API}/items/{mine.code}/merge",
                json=_event(TODAY, into=theirs.code),
                headers=editor,
            ),
            403,
        )
        assert (
            body["type"] == PROBLEMS + "out-of-scope" and theirs.department_code in body["detail"]
        )
    # a key of both departments may; so may an admin of the province
    both = keys.editor(mine.department_code, theirs.department_code)
    resp = client.post(
        f"{API}/items/{mine.code}/merge", json=_event(TODAY, into=theirs.code), headers=both
    )
    assert resp.status_code == 200, resp.text
    other, elsewhere = _two_departments(session)
    resp = client.post(
        f"{API}/items/{other.code}/merge",
        json=_event(TODAY, into=elsewhere.code),
        headers=keys.admin(),
    )
    assert resp.status_code == 200, resp.text


def test_an_item_whose_end_is_decided_takes_no_second_end(
    client: TestClient, session: Session, keys: Keys
) -> None:
    a, b, c, d = _items(session, 4, level="4")[:4]
    admin = keys.admin()
    later = TODAY + timedelta(days=30)
    resp = client.post(
        f"{API}/items/{a.code}/merge", json=_event(later, into=b.code), headers=admin
    )
    assert resp.status_code == 200, resp.text
    rule = PROBLEMS + "lifecycle-end-scheduled"
    with nothing_written(client, session, a.code, b.code, c.code, d.code):
        for path, body in (
            ("merge", _event(later, into=c.code)),  # a second merge, into another item
            ("merge", _event(TODAY + timedelta(days=10), into=c.code)),  # or sooner
            ("merge", _event(later, into=b.code)),  # the same one again
            ("cancel", _event(later + timedelta(days=1))),
            ("cancel", _event(TODAY)),
            ("suspend", _event(TODAY)),
        ):
            refused = problem(
                client.post(f"{API}/items/{a.code}/{path}", json=body, headers=admin), 409
            )
            assert refused["type"] == rule, (path, refused)
            assert refused["scheduled"]["event"] == "merge"
            assert refused["scheduled"]["effective_date"] == later.isoformat()
        # nothing is merged into an item that is itself to end
        refused = problem(
            client.post(
                f"{API}/items/{d.code}/merge", json=_event(TODAY, into=a.code), headers=admin
            ),
            409,
        )
        assert refused["type"] == rule
    # a decided cancellation blocks a merge the same way
    resp = client.post(f"{API}/items/{c.code}/cancel", json=_event(later), headers=admin)
    assert resp.status_code == 200, resp.text
    with nothing_written(client, session, c.code, d.code):
        refused = problem(
            client.post(
                f"{API}/items/{c.code}/merge", json=_event(TODAY, into=d.code), headers=admin
            ),
            409,
        )
        assert refused["type"] == rule and refused["scheduled"]["event"] == "cancel"
    assert [e["event"] for e in client.get(f"{API}/items/{a.code}").json()["scheduled"]] == [
        "merge"
    ]


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


# --- 5. the feed's seq: a proposal spends none ------------------------------------------


def _seqs(session: Session) -> tuple[int, int]:
    session.expire_all()
    return session.execute(select(func.count(), func.max(ChangeLog.seq))).one()


def test_proposals_do_not_move_the_feeds_head(
    client: TestClient, session: Session, keys: Keys, review_on: None
) -> None:
    """A lifecycle proposal is rehearsed in a savepoint (its refusal answers at once) and
    rolled back: the seq it took comes back with it, so the next change is head + 1."""
    items = _items(session, 3, level="4")[:3]
    count, head = _seqs(session)
    assert count == head == _head(client)  # the seed's changes are 1…head
    for item in items:
        editor = keys.editor(item.department_code)
        resp = client.post(f"{API}/items/{item.code}/suspend", json=_event(TODAY), headers=editor)
        assert resp.status_code == 202, resp.text
    assert _head(client) == head
    resp = client.patch(
        f"{API}/items/{items[0].code}", json={"guide": {"visits": 3}}, headers=keys.admin()
    )
    assert resp.status_code == 200, resp.text
    assert _head(client) == head + 1
    assert _seqs(session) == (head + 1, head + 1)
    changes = client.get(f"{API}/changes", params={"after": head}).json()["changes"]
    assert [(c["seq"], c["code"]) for c in changes] == [(head + 1, items[0].code)]


def test_a_savepoint_rolled_back_gives_back_the_feed_lock_and_its_seq(
    engine: Engine,
) -> None:
    """The lock taken in a rolled-back savepoint is released with it (PostgreSQL): the next
    change of the same transaction takes it again before its seq."""
    from app.catalogue.items import patch_item
    from app.security import Principal

    postgres = engine.dialect.name == "postgresql"

    def held(session: Session) -> bool:
        if not postgres:
            return True  # SQLite: the write transaction is the lock
        return bool(
            session.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND objid = :key"
                ),
                {"key": FEED_LOCK},
            ).scalar_one()
        )

    admin = Principal(name="test", role="admin")
    with Session(for_writing(engine)) as session:
        code = _items(session, 1, level="4")[0].code
        count, head = _seqs(session)
        attempt = session.begin_nested()
        patch_item(session, code, {"guide": {"visits": 4}}, admin)
        assert held(session) and _seqs(session) == (count + 1, head + 1)
        attempt.rollback()
        assert _seqs(session) == (count, head)
        if postgres:
            assert not held(session)
        take_feed_lock(session)  # as a later write of the transaction does
        assert held(session)
        patch_item(session, code, {"guide": {"visits": 5}}, admin)
        assert _seqs(session) == (count + 1, head + 1)
        session.rollback()
