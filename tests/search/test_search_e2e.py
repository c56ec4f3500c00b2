"""End to end: `catalogue serve`'s app with its indexer thread, over HTTP, on a seeded
SQLite catalogue with the embedded index next to it; then the CLI's reindex and
search-check on the same files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app.search.backends.base import SCHEMA_VERSION
from app.security import create_key
from bench.common import server
from tests.conftest import build_database
from tests.helpers import run_cli


def cli(url: str, *args: str) -> str:
    proc = run_cli(url, *args)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def until(fetch: Any, ok: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_writes_reach_search_through_the_indexer_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'catalogue.db'}"
    # the seeded template's copy and a key made in-process (a CLI start costs seconds of
    # imports): the commands this module checks are reindex and search-check
    engine = build_database(url)
    with Session(engine) as session:
        admin = create_key(session, name="e2e", role="admin")
        session.commit()
    engine.dispose()
    monkeypatch.setenv("CATALOGUE_SEARCH_INDEXER", "true")  # what `catalogue serve` sets
    with server(url) as port:
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=10)
        body = until(
            lambda: api.get("/search", params={"q": "护照", "region": "230102"}).json(),
            lambda b: b["total"] > 0,
        )
        assert body["hits"][0]["name"] == "普通护照签发"  # indexed from the change log
        code = body["hits"][0]["code"]
        item = api.get(f"/items/{code}").json()
        online = item["guide"]["online"]["available"]
        resp = api.patch(
            f"/items/{code}",
            json={"guide": {"online": {"available": not online}}},
            headers={
                "Authorization": f"Bearer {admin}",
                "Content-Type": "application/merge-patch+json",
            },  # fmt: skip
        )
        assert resp.status_code == 200, resp.text
        flipped = until(
            lambda: api.get("/search", params={"q": "护照", "region": "230102"}).json(),
            lambda b: b["hits"][0]["online"] is (not online),
        )
        assert flipped["hits"][0]["online"] is (not online)
    monkeypatch.delenv("CATALOGUE_SEARCH_INDEXER")
    assert (tmp_path / "search-index" / f"v{SCHEMA_VERSION}" / "CURRENT").exists()  # beside the db
    report = json.loads(cli(url, "search-check", "--no-repair"))
    assert report["missing"] == report["stale"] == report["extra"] == 0, report
    assert "indexed 353 items" in cli(url, "reindex")
