"""What an operator on call reads without SQL: the catalogue's state in ``/metrics`` of
every process kind, counters that agree across uvicorn workers, and a request id on every
response and log line."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.observability import JsonFormatter
from app.search.models import SearchPosition
from tests.conftest import Keys
from tests.helpers import API, ROOT
from tests.serve_support import database_url, free_port

GAUGES = (
    "catalogue_state_up",
    "catalogue_feed_head_seq",
    "catalogue_indexer_lag_changes",
    "catalogue_indexer_lag_seconds",
    "catalogue_webhook_backlog_changes",
    "catalogue_webhook_oldest_pending_seconds",
    "catalogue_import_jobs",
    "catalogue_db_pool_connections",
)


def sample(text: str, name: str, labels: str = "") -> float:
    """The value of one sample of the exposition ``text``."""
    pattern = re.escape(name + (("{" + labels + "}") if labels else "")) + r" (\S+)"
    found = re.search(r"(?m)^" + pattern + "$", text)
    assert found, f"{name}{{{labels}}} not in /metrics"
    return float(found.group(1))


def test_metrics_read_the_state_and_the_indexer_lag_rises_while_it_stands(
    client: TestClient, session: Session, keys: Keys
) -> None:
    head = sample(client.get("/metrics").text, "catalogue_feed_head_seq")
    session.add(SearchPosition(name="catalogue-items", last_seq=int(head)))
    session.commit()
    text = client.get("/metrics").text
    for gauge in GAUGES:
        assert f"\n{gauge}" in text, gauge
    assert sample(text, "catalogue_state_up") == 1
    assert sample(text, "catalogue_indexer_lag_changes", 'index="catalogue-items"') == 0
    assert sample(text, "catalogue_import_jobs", 'status="running"') == 0

    # no indexer runs here: two writes leave the index two changes behind
    code = client.get(f"{API}/items", params={"limit": 1}).json()["items"][0]["code"]
    admin = keys.admin()
    now = client.get(f"{API}/items/{code}").json()["guide"].get("visits") or 0
    for visits in ((now + 1) % 3, (now + 2) % 3):
        resp = client.patch(
            f"{API}/items/{code}", json={"guide": {"visits": visits}}, headers=admin
        )
        assert resp.status_code == 200, resp.text
    text = client.get("/metrics").text
    assert sample(text, "catalogue_feed_head_seq") == head + 2
    assert sample(text, "catalogue_indexer_lag_changes", 'index="catalogue-items"') == 2
    assert sample(text, "catalogue_indexer_lag_seconds", 'index="catalogue-items"') >= 0


def test_a_request_id_is_echoed_made_when_absent_and_on_the_log_line(
    client: TestClient, keys: Keys
) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.01"})
    assert given.headers["x-request-id"] == "lb-7f3a.01"
    made = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    # an id that is not a plain token is not echoed into headers and logs
    odd = client.get("/healthz", headers={"X-Request-ID": "a b<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("catalogue.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        resp = client.post(
            f"{API}/items/unknown-code/corrections",
            json={"text": "地址错了"},
            headers={"X-Request-ID": "trace-42"},
        )
        assert resp.headers["x-request-id"] == "trace-42"
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line.get("request_id") == "trace-42" for line in lines), lines


def test_counters_agree_across_workers_and_the_worker_serves_metrics(
    own_engine: Engine, tmp_path: Path
) -> None:
    url = database_url(own_engine)
    env = {
        "CATALOGUE_DATABASE_URL": url,
        "CATALOGUE_SEARCH_URL": "",
        "CATALOGUE_SEARCH_INDEXER": "false",
        "CATALOGUE_WEBHOOKS": "false",
        "CATALOGUE_EFFECTS": "false",
        "CATALOGUE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    import os

    port, metrics_port = free_port(), free_port()
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
    )
    worker_log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=tmp_path,
        env={**os.environ, **env, "CATALOGUE_METRICS_PORT": str(metrics_port)},
        stdout=worker_log,
        stderr=worker_log,
    )
    base = f"http://127.0.0.1:{port}"

    def get(path: str, at: str = base) -> str:
        return urllib.request.urlopen(at + path, timeout=5).read().decode()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/healthz")
                break
            except OSError:
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
                assert time.monotonic() < deadline
                time.sleep(0.2)
        for _ in range(40):  # new connections: both workers answer some
            get("/healthz")
        line = 'method="GET",route="/healthz",status="200"'
        first = sample(get("/metrics"), "catalogue_http_requests_total", line)
        second = sample(get("/metrics"), "catalogue_http_requests_total", line)
        assert first == second >= 40  # every worker's count, whichever worker scrapes

        deadline = time.monotonic() + 30
        while True:
            try:
                text = get("/metrics", f"http://127.0.0.1:{metrics_port}")
                break
            except OSError:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert sample(text, "catalogue_state_up") == 1
        assert "catalogue_effects_leader" in text and "catalogue_feed_head_seq" in text
    finally:
        for proc in (serve, worker):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        worker_log.close()


@pytest.fixture(autouse=True)
def _no_leak_of_the_multiprocess_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
