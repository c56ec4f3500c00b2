"""Corrections (纠错): reported by anyone, answered by the department, fixed through a
change request; the contact never public and erased after the retention period; the
rate limit, the text policy and the size limit. Both databases."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.config import get_settings
from app.corrections import service
from app.corrections.models import Correction, CorrectionStatus
from app.corrections.retention import Retention
from app.corrections.schemas import CorrectionIn
from app.dbtypes import utcnow
from app.errors import InvalidInput, RuleViolation
from app.http import rate_limits
from app.search.indexer import Indexer
from tests.conftest import Keys, app_on
from tests.helpers import API, counts, error_at, problem, run_cli, writable

pytest_plugins = ["tests.search_support"]

#: distinctive enough that finding it anywhere is a leak
CONTACT = "13800138000 zhang.san@example.com"


def item_with_windows(session: Session, nth: int = 0) -> Implementation:
    """A live item whose guide lists a window (the seed's list one each)."""
    found = [
        impl
        for impl in session.execute(
            select(Implementation).where(Implementation.status == "1").order_by(Implementation.code)
        ).scalars()
        if impl.guide and impl.guide.get("windows")
    ]
    assert len(found) > nth, "the seed has too few items with windows"
    return found[nth]


def other_item(session: Session, item: Implementation) -> Implementation:
    """A live item of another department."""
    return (
        session.execute(
            select(Implementation)
            .where(
                Implementation.status == "1",
                Implementation.department_code != item.department_code,
            )
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )


def report(client: TestClient, code: str, **body: Any) -> Any:
    return client.post(f"{API}/items/{code}/corrections", json={"text": "电话打不通", **body})


def reported(client: TestClient, code: str, **body: Any) -> dict[str, Any]:
    resp = report(client, code, **body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def inbox(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    resp = client.get(f"{API}/corrections", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def by_ticket(items: list[dict[str, Any]], ticket: str) -> dict[str, Any] | None:
    return next((c for c in items if c["ticket"] == ticket), None)


# --- a correction's whole life ---------------------------------------------------------


def test_report_inbox_reply_change_request_and_public_status(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = item_with_windows(session)
    elsewhere = other_item(session, item)
    editor = keys.editor(item.department_code)
    stranger = keys.editor(elsewhere.department_code)
    reviewer = keys.make("reviewer", region=item.region_code[:2] + "0000")
    before = counts(session)

    phone = "0451-86661234"
    resp = report(
        client,
        item.code,
        field="guide.windows.0.phone",
        suggested=phone,
        text="窗口电话已停用",
        contact=CONTACT,
    )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    ticket = created["ticket"]
    assert set(created) == {"ticket", "status_url"}
    assert created["status_url"] == f"{API}/corrections/{ticket}"
    assert resp.headers["location"] == created["status_url"]
    assert len(ticket) >= 22  # 128 random bits

    status = client.get(created["status_url"])
    assert status.status_code == 200, status.text
    assert status.json() == {
        "ticket": ticket,
        "item": item.code,
        "field": "guide.windows.0.phone",
        "status": "new",
        "reply": None,
        "change_request": None,
        "fixed_version": None,
        "created_at": status.json()["created_at"],
        "replied_at": None,
    }

    # the department's editor sees it with the contact; the region's reviewer without
    mine = by_ticket(inbox(client, editor, department=item.department_code), ticket)
    assert mine is not None
    assert mine["contact"] == CONTACT and mine["has_contact"] is True
    assert mine["text"] == "窗口电话已停用" and mine["suggested"] == phone
    theirs = by_ticket(inbox(client, reviewer, status="new"), ticket)
    assert theirs is not None
    assert theirs["contact"] is None and theirs["has_contact"] is True
    assert by_ticket(inbox(client, stranger), ticket) is None
    assert by_ticket(inbox(client, editor, status="accepted"), ticket) is None
    # nor may another department's editor answer it; a sync key reads no inbox
    denied = client.post(
        f"{API}/corrections/{ticket}/reply",
        json={"status": "rejected", "reply": "不是我们的"},
        headers=stranger,
    )
    problem(denied, 403)
    problem(client.get(f"{API}/corrections", headers=keys.sync("23")), 403)
    problem(client.get(f"{API}/corrections"), 401)

    # accepted, then one step to a change request, which a reviewer approves
    answer = client.post(
        f"{API}/corrections/{ticket}/reply",
        json={"status": "accepted", "reply": "已核实，将更正"},
        headers=editor,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "accepted" and answer.json()["contact"] == CONTACT
    assert counts(session) == before  # no version, no change-log row

    current = writable(client, item.code)
    made = client.post(f"{API}/corrections/{ticket}/change-request", headers=editor)
    assert made.status_code == 201, made.text
    cr = made.json()
    assert cr["kind"] == "edit" and cr["item"] == item.code and cr["status"] == "submitted"
    windows = current["guide"]["windows"]
    windows[0]["phone"] = phone
    assert cr["patch"] == {"guide": {"windows": windows}}
    assert cr["note"] == "纠错: guide.windows.0.phone"
    assert [(c["path"], c["label"], c["to"]) for c in cr["diff"]] == [
        (["guide", "windows", 0, "phone"], f"窗口「{windows[0]['name']}」 电话", phone)
    ]
    again = client.post(f"{API}/corrections/{ticket}/change-request", headers=editor)
    assert problem(again, 409)["type"].endswith("correction-linked")

    status = client.get(created["status_url"]).json()
    assert status["status"] == "accepted" and status["reply"] == "已核实，将更正"
    assert status["change_request"] == cr["id"] and status["fixed_version"] is None

    approved = client.post(f"{API}/change-requests/{cr['id']}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.text
    version = approved.json()["published"]["version"]
    published = client.get(f"{API}/items/{item.code}").json()
    assert published["guide"]["windows"] == windows  # the rest of the window as it was
    assert published["version"] == version

    status = client.get(created["status_url"]).json()
    assert status["change_request"] == cr["id"] and status["fixed_version"] == version
    assert status["replied_at"] is not None
    assert CONTACT not in str(status)


def test_link_a_change_request_made_by_hand(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = item_with_windows(session)
    elsewhere = other_item(session, item)
    editor = keys.editor(item.department_code, elsewhere.department_code)
    admin = keys.admin()
    ticket = reported(client, item.code, text="办理时间写错了")["ticket"]

    def propose(code: str, visits: int) -> int:
        resp = client.post(
            f"{API}/change-requests",
            json={"item": code, "kind": "edit", "patch": {"guide": {"visits": visits}}},
            headers=editor,
        )
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    visits = (item.guide["visits"] + 1) % 3
    mine, foreign = propose(item.code, visits), propose(elsewhere.code, 1)

    def answer(body: dict[str, Any], headers: dict[str, str] = editor) -> Any:
        return client.post(f"{API}/corrections/{ticket}/reply", json=body, headers=headers)

    wrong = answer({"status": "accepted", "reply": "好", "change_request": foreign})
    assert error_at(problem(wrong, 422), ["body", "change_request"])["type"] == (
        "correction.change_request"
    )
    missing = answer({"status": "accepted", "reply": "好", "change_request": 999999})
    problem(missing, 422)
    refused = answer({"status": "rejected", "reply": "不对", "change_request": mine})
    problem(refused, 422)
    problem(answer({"status": "new", "reply": "?"}), 422)

    linked = answer({"status": "accepted", "reply": "已更正", "change_request": mine})
    assert linked.status_code == 200, linked.text
    assert linked.json()["change_request"] == mine
    # a revised reply that leaves change_request out keeps the link; an admin may answer
    revised = answer({"status": "duplicate", "reply": "与另一条重复"}, admin)
    assert revised.status_code == 200, revised.text
    assert revised.json()["change_request"] == mine
    assert revised.json()["contact"] is None  # admins answer, the contact is the department's
    status = client.get(f"{API}/corrections/{ticket}").json()
    assert status["status"] == "duplicate" and status["change_request"] == mine

    # the one step needs an accepted correction with a field and a value
    assert problem(client.post(f"{API}/corrections/{ticket}/change-request", headers=editor), 409)[
        "type"
    ].endswith("correction-state")
    bare = reported(client, item.code, text="整页都过时了")["ticket"]
    answer_bare = client.post(
        f"{API}/corrections/{bare}/reply",
        json={"status": "accepted", "reply": "会更新"},
        headers=editor,
    )
    assert answer_bare.status_code == 200
    assert problem(client.post(f"{API}/corrections/{bare}/change-request", headers=editor), 409)[
        "type"
    ].endswith("correction-no-suggestion")
    reviewer = keys.make("reviewer", region="230000")
    problem(client.post(f"{API}/corrections/{bare}/change-request", headers=reviewer), 403)


def test_a_suggestion_that_does_not_fit_is_422(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = item_with_windows(session)
    editor = keys.editor(item.department_code)
    ticket = reported(client, item.code, field="guide.visits", suggested="很多次", text="次数不对")[
        "ticket"
    ]
    client.post(
        f"{API}/corrections/{ticket}/reply",
        json={"status": "accepted", "reply": "好"},
        headers=editor,
    )
    resp = client.post(f"{API}/corrections/{ticket}/change-request", headers=editor)
    body = problem(resp, 422)
    assert body["errors"][0]["loc"][-2:] == ["guide", "visits"]
    assert (
        session.execute(
            select(Correction.change_request_id).where(Correction.ticket == ticket)
        ).scalar_one()
        is None
    )


# --- the merge patch built from a field and a value ----------------------------------


def test_build_patch() -> None:
    doc = {
        "guide": {
            "visits": 1,
            "online": {"available": False, "url": None},
            "windows": [{"name": "一", "phone": "1"}, {"name": "二", "phone": "2"}],
        },
        "materials": [{"name": "身份证"}],
        "local_code": None,
    }
    assert service.build_patch(doc, "guide.online.url", "https://x.example") == {
        "guide": {"online": {"url": "https://x.example"}}
    }
    assert service.build_patch(doc, "guide.visits", "2") == {"guide": {"visits": 2}}
    assert service.build_patch(doc, "guide.online.available", "true") == {
        "guide": {"online": {"available": True}}
    }
    assert service.build_patch(doc, "guide.windows.1.phone", "3") == {
        "guide": {"windows": [{"name": "一", "phone": "1"}, {"name": "二", "phone": "3"}]}
    }
    assert doc["guide"]["windows"][1]["phone"] == "2"  # the document is left alone
    assert service.build_patch(doc, "materials.0.name", "居民身份证") == {
        "materials": [{"name": "居民身份证"}]
    }
    assert service.build_patch(doc, "local_code", "A-1") == {"local_code": "A-1"}
    with pytest.raises(InvalidInput):
        service.build_patch(doc, "guide.windows.5.phone", "3")
    with pytest.raises(InvalidInput):
        service.build_patch(doc, "guide.visits.0", "3")
    with pytest.raises(RuleViolation):
        service.build_patch(doc, "name", "新名称")  # 四级四同: the entry's


# --- personal data -------------------------------------------------------------------


def public_answers(client: TestClient, code: str, ticket: str) -> Iterator[tuple[str, str]]:
    """(url, body) of every public GET that could show something of a correction."""

    def get(url: str, **params: Any) -> Any:
        resp = client.get(url, params=params)
        assert resp.status_code == 200, f"{url}: {resp.text}"
        return resp

    def pages(url: str, **params: Any) -> Iterator[tuple[str, str]]:
        cursor = None
        while True:
            resp = get(url, **params, **({"cursor": cursor} if cursor else {}))
            yield url, resp.text
            cursor = resp.json().get("next_cursor")
            if not cursor:
                return

    yield from pages(f"{API}/corrections/{ticket}")
    yield from pages(f"{API}/items/{code}")
    yield from pages(f"{API}/items", limit=1000)
    yield from pages(f"{API}/items/{code}/versions")
    versions = get(f"{API}/items/{code}/versions").json()["items"]
    for v in versions:
        yield from pages(f"{API}/items/{code}/versions/{v['version']}")
    after = 0
    while True:
        resp = get(f"{API}/changes", after=after, limit=1000)
        yield f"{API}/changes?after={after}", resp.text
        body = resp.json()
        if not body["changes"]:
            break
        after = body["last_seq"]
    for q in ("电话", "13800138000", "zhang.san"):
        yield from pages(f"{API}/search", q=q)
    yield from pages(f"{API}/sync/digest", items="true")
    yield from pages(f"{API}/adjustments")


def test_the_contact_is_in_no_public_answer_nor_the_log(
    client: TestClient,
    session: Session,
    keys: Keys,
    embedded: Indexer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = item_with_windows(session, 1)
    editor = keys.editor(item.department_code)
    reviewer = keys.make("reviewer", region="230000")
    with caplog.at_level(logging.DEBUG):
        ticket = reported(
            client,
            item.code,
            field="guide.windows.0.hours",
            suggested="工作日 9:00-17:00",
            text="窗口时间变了，请联系我",
            contact=CONTACT,
        )["ticket"]
        client.post(
            f"{API}/corrections/{ticket}/reply",
            json={"status": "accepted", "reply": "谢谢"},
            headers=editor,
        )
        cr = client.post(f"{API}/corrections/{ticket}/change-request", headers=editor).json()
        approved = client.post(f"{API}/change-requests/{cr['id']}/approve", headers=reviewer)
        assert approved.status_code == 200, approved.text
        embedded.run_once(session)
    assert "/corrections" in caplog.text  # the access log was captured
    assert CONTACT not in caplog.text and "13800138000" not in caplog.text

    scanned = 0
    for url, body in public_answers(client, item.code, ticket):
        scanned += 1
        assert "13800138000" not in body and "zhang.san" not in body, f"the contact in {url}"
    assert scanned > 5
    # the editors of the department still see it
    mine = by_ticket(inbox(client, editor, item=item.code), ticket)
    assert mine is not None and mine["contact"] == CONTACT


def test_contacts_are_erased_after_the_retention_period(
    client: TestClient, session: Session
) -> None:
    item = item_with_windows(session)
    old = reported(client, item.code, contact=CONTACT)["ticket"]
    recent = reported(client, item.code, contact="recent@example.com")["ticket"]
    session.execute(
        update(Correction)
        .where(Correction.ticket == old)
        .values(created_at=utcnow() - timedelta(days=181))
    )
    session.flush()
    assert get_settings().contact_retention_days == 180
    assert service.erase_contacts(session) == 1
    rows = {
        c.ticket: c
        for c in session.execute(
            select(Correction).where(Correction.ticket.in_([old, recent]))  # type: ignore[attr-defined]
        ).scalars()
    }
    assert rows[old].contact is None and rows[old].contact_erased_at is not None
    assert rows[recent].contact == "recent@example.com"
    assert service.erase_contacts(session) == 0
    # the time frozen: 180 days on, the recent one goes too
    later = utcnow() + timedelta(days=181)
    assert service.erase_contacts(session, now=later) == 1
    assert rows[old].text == "电话打不通"  # the report itself stays


def test_erase_contacts_command_and_serve_loop(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = own_engine.url.render_as_string(hide_password=False)
    with Session(own_engine) as session:
        code = item_with_windows(session).code
        for days, contact in ((200, CONTACT), (10, "kept@example.com"), (300, None)):
            c = service.report(
                session,
                code,
                CorrectionIn(text="地址错了", contact=contact),
                now=utcnow() - timedelta(days=days),
            )
            assert c.status == CorrectionStatus.NEW
        session.commit()
    out = run_cli(url, "corrections", "erase-contacts")
    assert out.returncode == 0, out.stderr
    assert "erased 1 contacts older than 180 days" in out.stdout
    out = run_cli(
        url, "corrections", "erase-contacts", env={"CATALOGUE_CONTACT_RETENTION_DAYS": "5"}
    )
    assert "erased 1 contacts older than 5 days" in out.stdout, out.stdout + out.stderr
    with Session(own_engine) as session:
        contacts = session.execute(select(Correction.contact)).scalars().all()
        assert contacts == [None, None, None]
        service.report(
            session,
            code,
            CorrectionIn(text="电话错了", contact=CONTACT),
            now=utcnow() - timedelta(days=365),
        )
        session.commit()
    # what the long-running processes run in a thread (app/corrections/retention.py)
    stop = threading.Event()
    duty = Retention(own_engine, interval=0.05)
    thread = threading.Thread(target=duty.run_forever, args=(stop,))
    thread.start()
    try:
        for _ in range(200):
            with Session(own_engine) as session:
                if session.execute(select(Correction.contact)).scalars().all() == [None] * 4:
                    break
            time.sleep(0.05)
        else:
            raise AssertionError("the retention duty erased nothing")
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


# --- abuse: rate limit, text policy, size ----------------------------------------------


@pytest.fixture
def rate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CATALOGUE_CORRECTIONS_RATE", "2/minute,3/day")
    get_settings.cache_clear()
    try:
        yield
    finally:
        monkeypatch.delenv("CATALOGUE_CORRECTIONS_RATE")
        get_settings.cache_clear()


def test_429_past_the_rate_limit(
    rate: None, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rate_limits, "TARPIT_SECONDS", 0.2)
    item = item_with_windows(session)
    with TestClient(app_on(session)) as client:
        assert report(client, item.code).status_code == 201
        assert report(client, item.code).status_code == 201
        before = counts(session), session.execute(select(Correction.id)).all()
        start = time.perf_counter()
        refused = report(client, item.code)
        assert time.perf_counter() - start >= 0.2  # answered slowly: a flood waits
        body = problem(refused, 429)
        assert body["type"].endswith("rate-limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # refused before the body is parsed or the database touched
        assert problem(report(client, "nonexistent"), 429)
        assert problem(
            client.post(
                f"{API}/items/{item.code}/corrections",
                content=b"{not json",
                headers={"Content-Type": "application/json"},
            ),
            429,
        )
        assert (counts(session), session.execute(select(Correction.id)).all()) == before
        # reads are not limited
        assert client.get(f"{API}/items/{item.code}").status_code == 200


def test_a_wrong_rate_setting_stops_the_start(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOGUE_CORRECTIONS_RATE", "five a minute")
    get_settings.cache_clear()
    try:
        with (
            pytest.raises(ValueError, match="CATALOGUE_CORRECTIONS_RATE"),
            TestClient(app_on(session)),
        ):
            pass
    finally:
        monkeypatch.delenv("CATALOGUE_CORRECTIONS_RATE")
        get_settings.cache_clear()


def test_rate_limiter_windows() -> None:
    now = [1000.0]
    limiter = rate_limits.RateLimiter(
        rate_limits.parse_rate("5/minute,50/day"), clock=lambda: now[0]
    )
    assert limiter.limits == [(5, 60), (50, 86400)]
    for _ in range(5):
        assert limiter.hit("a") is None
        now[0] += 1
    wait = limiter.hit("a")
    assert wait == pytest.approx(55)  # the first of the five leaves the minute then
    assert limiter.hit("b") is None  # per client
    now[0] += 55
    assert limiter.hit("a") is None
    # the day's 50, a minute's worth at a time
    for _ in range(44):
        now[0] += 13
        assert limiter.hit("a") is None, _
    now[0] += 60
    wait = limiter.hit("a")
    assert wait is not None and wait > 3600
    assert rate_limits.RateLimiter.retry_after(0.2) == "1"
    assert rate_limits.parse_rate("") == []
    assert rate_limits.parse_rate("10/5m") == [(10, 300)]
    with pytest.raises(ValueError):
        rate_limits.parse_rate("5 per minute")
    assert rate_limits.client_key("2001:db8::1") == rate_limits.client_key("2001:db8::2")
    assert rate_limits.client_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert rate_limits.client_key(None) == "unknown"
    small = rate_limits.RateLimiter([(1, 60)], max_clients=2, clock=lambda: now[0])
    for key in "xyz":
        small.hit(key)
    assert len(small._hits) == 2


def test_text_policy_size_and_field(client: TestClient, session: Session) -> None:
    item = item_with_windows(session)
    nul = problem(report(client, item.code, text="电话\x00打不通"), 422)
    assert error_at(nul, ["body", "text"])["type"] == "text.nul"
    bidi = problem(report(client, item.code, text="abc\u202edef"), 422)
    assert error_at(bidi, ["body", "text"])["type"] == "text.bidi"
    long = problem(report(client, item.code, text="错" * 2001), 422)
    assert error_at(long, ["body", "text"])["type"] == "string_too_long"
    line = problem(report(client, item.code, contact="a\nb"), 422)
    assert error_at(line, ["body", "contact"])["type"] == "text.line_break"
    assert report(client, item.code, text="错" * 2000).status_code == 201


def test_field_paths_and_limits(client: TestClient, session: Session) -> None:
    item = item_with_windows(session)
    for path, rule in (
        ("guide.nope", "correction.field"),
        ("guide.windows.phone", "correction.field"),
        ("guide.visits.0", "correction.field"),
        ("Guide/windows", "string_pattern_mismatch"),
    ):
        body = problem(report(client, item.code, field=path), 422)
        assert error_at(body, ["body", "field"])["type"] == rule, path
    big = client.post(
        f"{API}/items/{item.code}/corrections",
        content=b'{"text": "' + b"x" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    problem(big, 413)


def test_unknown_item_and_ticket(client: TestClient) -> None:
    problem(report(client, "X" * 31), 404)
    not_utf8 = client.post(
        f"{API}/items/{'X' * 31}/corrections",
        content=b'{"text": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert problem(not_utf8, 422)["errors"][0]["type"] == "json_invalid"
    problem(client.get(f"{API}/corrections/{'a' * 22}"), 404)
    problem(client.get(f"{API}/corrections/short"), 422)


def test_accepted_fields_pass_the_path_check() -> None:
    for path in (
        "guide.windows",
        "guide.windows.0.phone",
        "guide.consultation.0.phone",
        "materials.2.name",
        "fees.0.standard",
        "name",
        "guide.online.url",
    ):
        assert CorrectionIn(text="x", field=path).field == path
