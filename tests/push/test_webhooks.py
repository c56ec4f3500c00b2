"""Webhooks against a real HTTP receiver on 127.0.0.1 (a ThreadingHTTPServer of the test,
no mocks), on a seeded database of this module's own where writes commit (SQLite and
PostgreSQL). The dispatcher runs with backoff in tenths of a second. Fixtures and helpers:
tests/webhook_support.py."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.config import get_settings
from app.leader import Leadership
from app.push.addresses import AllowList
from app.push.dispatcher import SIGNATURE, DispatchSettings
from app.search.indexer import wait_for
from tests.conftest import ROOT
from tests.helpers import API
from tests.webhook_support import (
    FAST,
    SECRET,
    Receiver,
    allowing,
    deliveries,
    dispatching,
    feed,
    head,
    key,
    live_codes,
    make_changes,
    sub_of,
    subscribe,
    until,
    verify,
)

pytest_plugins = ["tests.webhook_support"]

# --- the tests -----------------------------------------------------------------------


def test_hundred_changes_arrive_in_order_signed(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, receiver.url)
    start = sub["last_delivered_seq"]
    assert start == head(api)  # from the head on
    make_changes(api, admin, live_codes(hook_engine, 7), 100)
    expected = feed(api, start)
    assert len(expected) == 100
    with dispatching(hook_engine):
        until(lambda: receiver.last_seq() == expected[-1]["seq"], "100 changes")
    for _, headers, body in receiver.requests:
        verify(headers, body)
        assert headers["Content-Type"] == "application/json"
    # the same entries GET /changes returns, in seq order, each once
    assert receiver.accepted_changes() == expected
    assert len(receiver.requests) == 10  # batches of 10, each accepted at once
    log = deliveries(api, admin, sub["id"])
    assert [d["attempt"] for d in log] == [1] * 10 and all(d["accepted"] for d in log)
    assert [(d["first_seq"], d["last_seq"], d["changes"]) for d in reversed(log)] == [
        (expected[i]["seq"], expected[i + 9]["seq"], 10) for i in range(0, 100, 10)
    ]
    assert sub_of(api, admin, sub["id"])["last_delivered_seq"] == expected[-1]["seq"]


def test_a_receiver_down_for_a_while_gets_every_change_after_it_returns(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, receiver.url)
    codes = live_codes(hook_engine, 5)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        receiver.status = 503  # up, but refusing
        make_changes(api, admin, codes, 25)
        with dispatching(hook_engine):
            until(lambda: len(receiver.requests) >= 4, "retries of the refused batch")
            receiver.stop()  # then not listening at all
            make_changes(api, admin, codes, 25)
            until(
                lambda: any(
                    d["status_code"] is None and "Connect" in (d["error"] or "")
                    for d in deliveries(api, admin, sub["id"])
                ),
                "a refused connection in the delivery log",
            )
            failing = sub_of(api, admin, sub["id"])
            assert failing["failures"] >= 5 and failing["status"] == "active"
            assert failing["last_error"] and failing["failing_since"]
            assert failing["last_delivered_seq"] == sub["last_delivered_seq"]  # nothing lost
            receiver.status = 200
            receiver.start()  # back, on the same port
            last = head(api)
            until(lambda: receiver.last_seq() == last, "every change after the return")
    finally:
        logging.getLogger().removeHandler(handler)
    expected = feed(api, sub["last_delivered_seq"])
    assert len(expected) == 50
    # none lost, none twice among the accepted deliveries, in order
    assert receiver.accepted_changes() == expected
    # the refused requests only repeated the batch at the cursor (at least once)
    seqs = [c["seq"] for c in expected]
    for _, headers, body in receiver.requests:
        verify(headers, body)
        got = [c["seq"] for c in orjson.loads(body)["changes"]]
        assert got == seqs[seqs.index(got[0]) : seqs.index(got[0]) + len(got)]
    log = deliveries(api, admin, sub["id"])
    attempts = [d["attempt"] for d in reversed(log) if d["first_seq"] == seqs[0]]
    assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) >= 5
    assert {d["status_code"] for d in log} >= {503, None, 200}
    after = sub_of(api, admin, sub["id"])
    assert after["failures"] == 0 and after["last_error"] is None
    assert all(SECRET not in r.getMessage() for r in records), "the secret was logged"
    assert any("subscription" in r.getMessage() for r in records)  # failures were logged


def test_replay_from_a_seq(api: TestClient, hook_engine: Engine, receiver: Receiver) -> None:
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, receiver.url)
    make_changes(api, admin, live_codes(hook_engine, 3), 12)
    expected = feed(api, sub["last_delivered_seq"])
    with dispatching(hook_engine):
        until(lambda: receiver.last_seq() == expected[-1]["seq"], "the first delivery")
        after = expected[4]["seq"]
        resp = api.post(
            f"{API}/subscriptions/{sub['id']}/replay", json={"after": after}, headers=admin
        )
        assert resp.status_code == 200 and resp.json()["last_delivered_seq"] == after
        until(lambda: len(receiver.accepted_changes()) == 12 + 7, "the replay")
    assert receiver.accepted_changes() == expected + expected[5:]
    beyond = api.post(
        f"{API}/subscriptions/{sub['id']}/replay", json={"after": head(api) + 1}, headers=admin
    )
    assert beyond.status_code == 422 and beyond.json()["errors"][0]["type"] == "seq.beyond_head"


def test_a_paused_subscription_resumes(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, receiver.url)
    receiver.status = 500
    make_changes(api, admin, live_codes(hook_engine, 2), 3)
    pausing = DispatchSettings(**{**FAST.__dict__, "pause_after": 0.3})
    with dispatching(hook_engine, pausing):
        until(lambda: sub_of(api, admin, sub["id"])["status"] == "paused", "the pause")
        paused = sub_of(api, admin, sub["id"])
        assert paused["paused_at"] and paused["next_attempt_at"] is None
        sent = len(receiver.requests)
        time.sleep(0.5)
        assert len(receiver.requests) == sent  # paused: nothing more is sent
        receiver.status = 204
        resp = api.post(f"{API}/subscriptions/{sub['id']}/resume", headers=admin)
        assert resp.status_code == 200 and resp.json()["status"] == "active"
        last = head(api)
        until(lambda: receiver.last_seq() == last, "delivery after resume")
    assert receiver.accepted_changes() == feed(api, sub["last_delivered_seq"])


REFUSED = [
    ("http://10.0.0.1/hook", "url.private_address"),
    ("http://169.254.169.254/latest/meta-data/", "url.private_address"),
    ("http://localhost:8080/hook", "url.private_address"),
    ("http://[::1]/hook", "url.private_address"),
    ("http://[::ffff:192.168.1.1]/hook", "url.private_address"),
    ("http://0.0.0.0/hook", "url.private_address"),
    ("http://100.64.0.1/hook", "url.private_address"),
    ("http://127.0.0.2:9/hook", "url.private_address"),
    ("ftp://example.com/hook", "url.scheme"),
    ("file:///etc/passwd", "url.scheme"),
    ("https://user:pw@93.184.215.14/hook", "url.userinfo"),
    ("not a url", "url.scheme"),
]


@pytest.mark.parametrize(("url", "rule"), REFUSED, ids=[u for u, _ in REFUSED])
def test_private_addresses_and_other_schemes_are_refused(
    api: TestClient, hook_engine: Engine, url: str, rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = key(hook_engine, "admin")
    before = api.get(f"{API}/subscriptions", params={"limit": 1000}, headers=admin).json()
    with allowing(monkeypatch, ""):  # nothing allowed, loopback neither
        resp = api.post(f"{API}/subscriptions", json={"url": url, "secret": SECRET}, headers=admin)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    [error] = resp.json()["errors"]
    assert error["loc"] == ["body", "url"] and error["type"] == rule, error
    after = api.get(f"{API}/subscriptions", params={"limit": 1000}, headers=admin).json()
    assert after == before


def test_the_allow_setting_and_the_check_at_delivery(
    api: TestClient, hook_engine: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = key(hook_engine, "admin")
    with allowing(monkeypatch, "10.0.0.0/8, 127.0.0.1"):
        for url in ("http://10.1.2.3/hook", receiver.url):
            assert subscribe(api, admin, url)["url"] == url
    # a subscription made while allowed: delivery checks the address again
    sub = subscribe(api, admin, receiver.url)
    make_changes(api, admin, live_codes(hook_engine, 1), 1)
    strict = DispatchSettings(**{**FAST.__dict__, "allow": AllowList()})
    with dispatching(hook_engine, strict):
        until(lambda: len(deliveries(api, admin, sub["id"])) >= 2, "refused deliveries")
    errors = {d["error"].split(":")[0] for d in deliveries(api, admin, sub["id"])}
    assert errors == {"url.private_address"}
    assert receiver.requests == []  # nothing reached it


def test_secrets_are_never_returned(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    created = api.post(
        f"{API}/subscriptions", json={"url": receiver.url, "secret": SECRET}, headers=admin
    )
    sid = created.json()["id"]
    assert created.headers["Location"] == f"{API}/subscriptions/{sid}"
    reads = [
        created,
        api.get(f"{API}/subscriptions", headers=admin),
        api.get(f"{API}/subscriptions/{sid}", headers=admin),
        api.get(f"{API}/subscriptions/{sid}/deliveries", headers=admin),
        api.post(f"{API}/subscriptions/{sid}/resume", headers=admin),
    ]
    for resp in reads:
        assert resp.status_code in (200, 201), resp.text
        assert SECRET not in resp.text and SECRET[:-4] not in resp.text
        assert "secret" not in resp.json() or resp.json().get("secret") is None
    assert created.json()["secret_hint"] == "…" + SECRET[-4:]
    short = api.post(
        f"{API}/subscriptions", json={"url": receiver.url, "secret": "short"}, headers=admin
    )
    assert short.status_code == 422 and short.json()["errors"][0]["loc"] == ["body", "secret"]


def test_events_and_region_filter_the_deliveries(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    [elsewhere] = live_codes(hook_engine, 1, "2301")
    [county] = live_codes(hook_engine, 1, "2309")
    with Session(hook_engine) as session:
        region = session.get(Implementation, county).region_code  # type: ignore[union-attr]
    suspends = subscribe(api, admin, receiver.url + "/suspend", events=["suspend"])
    local = subscribe(api, admin, receiver.url + "/local", region=region)
    make_changes(api, admin, [elsewhere, county], 4)
    decision = {"number": "黑政规〔2026〕9号", "title": "关于调整省级行政权力事项的决定"}
    event = {
        "decision": decision,
        "reason": "系统升级",
        "effective_date": time.strftime("%Y-%m-%d"),
    }
    for action in ("suspend", "resume"):
        resp = api.post(f"{API}/items/{county}/{action}", json=event, headers=admin)
        assert resp.status_code == 200, resp.text
    last = head(api)
    with dispatching(hook_engine):
        until(
            lambda: (
                sub_of(api, admin, suspends["id"])["last_delivered_seq"] == last
                and sub_of(api, admin, local["id"])["last_delivered_seq"] == last
            ),
            "both subscriptions caught up",
        )
    by_sub: dict[int, list[dict[str, Any]]] = {}
    with receiver.lock:
        requests = list(receiver.requests)
    for status, headers, body in requests:
        assert status == 200
        verify(headers, body)
        changes = orjson.loads(body)["changes"]
        by_sub.setdefault(int(headers["X-Catalogue-Subscription"]), []).extend(changes)
    assert [(c["event"], c["code"]) for c in by_sub[suspends["id"]]] == [("suspend", county)]
    local_items = [c for c in by_sub[local["id"]] if c["kind"] == "item"]
    assert [(c["event"], c["code"]) for c in local_items] == [
        ("revise", county),
        ("revise", county),
        ("suspend", county),
        ("resume", county),
    ]


def test_scope_of_sync_keys(api: TestClient, hook_engine: Engine, receiver: Receiver) -> None:
    admin = key(hook_engine, "admin")
    harbin = key(hook_engine, "sync", region="230100")
    body = {"url": receiver.url, "secret": SECRET}
    mine = api.post(f"{API}/subscriptions", json={**body, "region": "230100"}, headers=harbin)
    assert mine.status_code == 201 and mine.json()["region"] == "2301", mine.text
    assert mine.json()["created_by"].startswith("hooks-sync")
    for region in (None, "2309", "230900", "23"):
        resp = api.post(f"{API}/subscriptions", json={**body, "region": region}, headers=harbin)
        assert resp.status_code == 403, (region, resp.text)
    editor = key(hook_engine, "editor", departments=["11230000MB0000001X"])
    assert api.post(f"{API}/subscriptions", json=body, headers=editor).status_code == 403
    assert api.get(f"{API}/subscriptions", headers=editor).status_code == 403
    assert api.get(f"{API}/subscriptions").status_code == 401
    unknown = api.post(f"{API}/subscriptions", json={**body, "region": "2399"}, headers=admin)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0] == {
        "loc": ["body", "region"],
        "msg": "no region 239900",
        "type": "region_code.unknown",
    }
    everything = subscribe(api, admin, receiver.url)
    listed = api.get(f"{API}/subscriptions", params={"limit": 1000}, headers=harbin).json()
    assert mine.json()["id"] in {s["id"] for s in listed["items"]}
    assert all(s["region"].startswith("2301") for s in listed["items"])
    for method, suffix in (
        ("GET", ""),
        ("GET", "/deliveries"),
        ("DELETE", ""),
        ("POST", "/resume"),
    ):
        url = f"{API}/subscriptions/{everything['id']}{suffix}"
        assert api.request(method, url, headers=harbin).status_code == 403, (method, url)
    bad = api.post(f"{API}/subscriptions", json={**body, "events": ["cancelled"]}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["type"] == "subscription.event"
    gone = api.delete(f"{API}/subscriptions/{mine.json()['id']}", headers=harbin)
    assert gone.status_code == 204
    assert api.get(f"{API}/subscriptions/{mine.json()['id']}", headers=admin).status_code == 404


def test_a_subscription_deleted_during_a_delivery(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, receiver.url)
    make_changes(api, admin, live_codes(hook_engine, 1), 2)
    receiver.delay = 1.0
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        with dispatching(hook_engine) as dispatcher:
            until(lambda: len(receiver.requests) == 1, "the delivery on its way")
            assert api.delete(f"{API}/subscriptions/{sub['id']}", headers=admin).status_code == 204
            until(dispatcher.idle, "the delivery's end")
    finally:
        logging.getLogger().removeHandler(handler)
    assert not [r for r in records if r.exc_info], "the dispatcher failed"
    assert api.get(f"{API}/subscriptions/{sub['id']}/deliveries", headers=admin).status_code == 404
    assert len(receiver.requests) == 1


def test_one_leader_at_a_time(hook_engine: Engine) -> None:
    first, second = Leadership(hook_engine, "test-lead"), Leadership(hook_engine, "test-lead")
    try:
        assert first.acquire() and first.acquire()  # held, and still held
        assert not second.acquire()
        assert Leadership(hook_engine, "another").acquire()  # locks are per name
        first.release()
        assert wait_for(second.acquire, timeout=5)
        assert not first.acquire()
    finally:
        first.release()
        second.release()


def test_two_dispatchers_deliver_once(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, receiver.url)
    make_changes(api, admin, live_codes(hook_engine, 3), 30)
    expected = feed(api, sub["last_delivered_seq"])
    with dispatching(hook_engine) as one, dispatching(hook_engine) as two:
        until(lambda: receiver.last_seq() == expected[-1]["seq"], "30 changes")
        assert one.leadership.held != two.leadership.held
    assert receiver.accepted_changes() == expected
    assert len(receiver.requests) == 3


def test_catalogue_worker_delivers(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, receiver.url)
    make_changes(api, admin, live_codes(hook_engine, 2), 5)
    expected = feed(api, sub["last_delivered_seq"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env={
            **os.environ,
            "CATALOGUE_DATABASE_URL": hook_engine.url.render_as_string(hide_password=False),
            "CATALOGUE_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
            "CATALOGUE_WEBHOOK_POLL_INTERVAL": "0.1",
            "CATALOGUE_LOG_LEVEL": "WARNING",
        },
    )
    try:
        until(lambda: receiver.last_seq() == expected[-1]["seq"], "the worker's delivery", 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert receiver.accepted_changes() == expected


def test_serve_runs_the_dispatcher_in_a_thread(
    hook_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import db
    from app.main import create_app

    monkeypatch.setenv("CATALOGUE_WEBHOOKS", "true")  # as `catalogue serve` sets it
    monkeypatch.setenv(
        "CATALOGUE_DATABASE_URL", hook_engine.url.render_as_string(hide_password=False)
    )
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        with TestClient(create_app()):
            names = {t.name for t in threading.enumerate()}
            assert "webhook-dispatcher" in names
        assert "webhook-dispatcher" not in {t.name for t in threading.enumerate()}
    finally:
        get_settings.cache_clear()
        db.get_engine.cache_clear()


def test_settings_are_documented() -> None:
    # every setting in the table of docs/operations.md (the README keeps the main ones)
    table = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for name in type(get_settings()).model_fields:
        assert f"`CATALOGUE_{name.upper()}`" in table, name
    assert (ROOT / "docs" / "webhooks.md").exists()
    assert Path(ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8").count(SIGNATURE)
