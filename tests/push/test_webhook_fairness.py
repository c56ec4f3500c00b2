"""Receivers that stall cannot hold up the others: each delivery has a deadline for the
whole exchange (a receiver answering a byte at a time, each within the read timeout,
fails when it runs out), and a subscription whose last attempt ran out of time is
retried, with backoff, in the slow lane while the others keep the workers. Real HTTP
receivers on 127.0.0.1; SQLite and PostgreSQL (tests/webhook_support.py)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.push.dispatcher import DispatchSettings
from tests.webhook_support import (
    FAST,
    Receiver,
    deliveries,
    dispatching,
    head,
    key,
    live_codes,
    make_changes,
    sub_of,
    subscribe,
    until,
)

pytest_plugins = ["tests.webhook_support"]

CERTS = Path(__file__).resolve().parent.parent / "data" / "webhook-tls"

DEADLINE = 1.0
#: a byte of the answer every 1.5 s: within the read timeout (2 s), never within the deadline
TRICKLE = 1.5
SETTINGS = DispatchSettings(
    **{
        **FAST.__dict__,
        "deadline": DEADLINE,
        "concurrency": 4,
        "slow_lane": 1,
        "backoff_base": 0.2,
        "backoff_cap": 0.5,
    }
)


def _span(delivery: dict[str, Any]) -> tuple[float, float]:
    end = datetime.fromisoformat(delivery["at"]).timestamp()
    return end - delivery["duration_ms"] / 1000, end


def test_four_trickling_receivers_do_not_hold_up_a_normal_one(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    assert FAST.timeout > TRICKLE  # no read of theirs times out: only the deadline ends them
    admin = key(hook_engine, "admin")
    slow = [Receiver().start() for _ in range(4)]
    try:
        for r in slow:
            r.trickle = TRICKLE
        # the normal receiver has accepted a delivery; then four receivers that trickle
        # subscribe, untried: they are tried in all the workers but one
        normal = subscribe(api, admin, receiver.url)["id"]
        codes = live_codes(hook_engine, 3)
        make_changes(api, admin, codes, 1)
        accepted = head(api)
        waited = []
        with dispatching(hook_engine, SETTINGS):
            until(lambda: receiver.last_seq() == accepted, "the normal receiver's first change")
            slow_subs = [subscribe(api, admin, r.url)["id"] for r in slow]
            make_changes(api, admin, codes, 1)
            first = head(api)
            started = time.monotonic()
            until(lambda: receiver.last_seq() == first, "the normal receiver's change", 10)
            waited.append(time.monotonic() - started)
            until(
                lambda: all(deliveries(api, admin, sid) for sid in slow_subs),
                "an attempt of each trickling receiver",
            )
            # each ran out of time once: retried in the slow lane from now on
            for _ in range(3):
                make_changes(api, admin, codes, 1)
                last = head(api)
                started = time.monotonic()
                until(lambda: receiver.last_seq() == last, "a later change", 10)  # noqa: B023
                waited.append(time.monotonic() - started)
            until(
                lambda: all(len(deliveries(api, admin, sid)) >= 2 for sid in slow_subs),
                "a retry of each trickling receiver",
            )
    finally:
        for r in slow:
            r.stop()

    # the normal receiver: every change without waiting for the trickling ones, the first
    # too (they were tried in the other workers)
    assert max(waited) < DEADLINE * 0.8, waited
    normal_log = deliveries(api, admin, normal)
    assert all(d["accepted"] and d["attempt"] == 1 for d in normal_log)

    # the trickling ones: failed attempts with the deadline as their reason, each ended by
    # it (not by a read timeout, not after the whole answer), retried after a backoff
    firsts: list[tuple[float, float]] = []
    retries: list[tuple[float, float]] = []
    for sid in slow_subs:
        log = list(reversed(deliveries(api, admin, sid)))
        assert [d["attempt"] for d in log] == list(range(1, len(log) + 1))
        for d in log:
            assert d["status_code"] is None and not d["accepted"], d
            assert d["error"].startswith("deadline: "), d
            assert DEADLINE * 1000 <= d["duration_ms"] < DEADLINE * 1000 + 900, d
        sub = sub_of(api, admin, sid)
        assert sub["status"] == "active" and sub["failures"] >= 2
        assert sub["last_error"].startswith("deadline: ")
        assert sub["last_delivered_seq"] < first  # nothing counted as delivered
        firsts.append(_span(log[0]))
        retries += [_span(d) for d in log[1:]]
    # untried receivers had all the workers but one: at most three first attempts at once;
    # the slow lane has one worker: the retries never overlapped one another
    assert SETTINGS.concurrency == 4
    for moment, _ in firsts:
        assert sum(start <= moment + 0.05 < end for start, end in firsts) <= 3, firsts
    retries.sort()
    for (_, end), (start, _) in zip(retries, retries[1:], strict=False):
        assert start >= end - 0.05, retries


def test_a_delivery_that_runs_out_of_time_sends_its_batch_again(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    """The deadline ends a delivery whose answer is slow, not one that is slow to come:
    the receiver that recovers gets the batch again and the cursor moves."""
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, receiver.url)
    receiver.trickle = TRICKLE
    make_changes(api, admin, live_codes(hook_engine, 1), 2)
    last = head(api)
    with dispatching(hook_engine, SETTINGS):
        until(lambda: deliveries(api, admin, sub["id"]), "a delivery that runs out of time")
        receiver.trickle = 0.0
        until(lambda: sub_of(api, admin, sub["id"])["last_delivered_seq"] == last, "the resend")
    log = list(reversed(deliveries(api, admin, sub["id"])))
    assert log[0]["error"].startswith("deadline: ") and log[-1]["accepted"]
    assert {d["first_seq"] for d in log} == {log[0]["first_seq"]}  # the same batch again
    assert sub_of(api, admin, sub["id"])["last_error"] is None  # back in the normal lane


def test_a_receiver_on_https_that_trickles_its_answer_runs_out_of_time_too(
    api: TestClient, hook_engine: Engine
) -> None:
    """Over TLS the deadline cuts the connection under the TLS socket: the answer a byte
    at a time ends at the deadline as over plain HTTP. The dispatcher trusts the test
    receiver's self-signed certificate (tests/data/webhook-tls), nothing else changes."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(CERTS / "cert.pem", CERTS / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    gone = threading.Event()

    def serve() -> None:
        raw, _ = listener.accept()
        with tls.wrap_socket(raw, server_side=True) as conn:
            conn.recv(65536)  # the request
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                try:
                    conn.send(bytes([byte]))
                except OSError:
                    break
                time.sleep(TRICKLE)
        gone.set()

    threading.Thread(target=serve, daemon=True).start()
    admin = key(hook_engine, "admin")
    sub = subscribe(api, admin, f"https://127.0.0.1:{listener.getsockname()[1]}/hook")
    try:
        with dispatching(hook_engine, SETTINGS) as dispatcher:
            dispatcher.client.close()  # nothing is due yet: no delivery is using it
            dispatcher.client = httpx.Client(
                verify=ssl.create_default_context(cafile=CERTS / "cert.pem"),
                trust_env=False,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            make_changes(api, admin, live_codes(hook_engine, 1), 1)
            until(lambda: deliveries(api, admin, sub["id"]), "the attempt")
    finally:
        listener.close()
    [attempt] = deliveries(api, admin, sub["id"])[-1:]
    assert attempt["error"].startswith("deadline: "), attempt
    assert DEADLINE * 1000 <= attempt["duration_ms"] < DEADLINE * 1000 + 900, attempt
    assert gone.wait(5)  # the receiver saw the connection end
