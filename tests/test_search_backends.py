"""The backends themselves, over HTTP for Elasticsearch (osmem-server): external versioning,
reindex behind an alias, the compatibility setting, search-check, and the fault test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from elasticsearch import ApiError
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.catalogue.models import Implementation
from app.search.analysis import Analyzer
from app.search.backends import (
    BackendUnavailable,
    ElasticsearchBackend,
    SearchBackend,
    TantivyBackend,
)
from app.search.indexer import Indexer
from app.search.service import SearchEngine, SearchRequest, SearchService
from tests.helpers import API, problem
from tests.search_support import ES_ENV, Proxy, attach, change_head, fresh_es

pytest_plugins = ["tests.search_support"]


def doc(code: str, version: int, name: str = "普通护照签发", status: str = "1") -> dict[str, Any]:
    d: dict[str, Any] = {
        "code": code, "basic_code": "000115001000", "name": name, "department_code": "D1",
        "department_name": "公安局", "region_code": "230100", "region_name": "哈尔滨市",
        "level": "3", "item_type": "01", "audience": ["1"], "themes": ["P105"],
        "online": "true", "status": status, "version": version,
    }  # fmt: skip
    d.update(Analyzer().document_fields(name))
    return d


@pytest.fixture(params=["embedded", "osmem"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> SearchBackend:
    if request.param == "embedded":
        return TantivyBackend(tmp_path / "index")
    return fresh_es(request.getfixturevalue("osmem_base_url"))


def test_an_older_update_never_overwrites_a_newer_one(backend: SearchBackend) -> None:
    backend.upsert([doc("A", 3, status="2")])
    backend.upsert([doc("A", 2, status="1")])
    assert backend.versions() == {"A": (3, "2")}
    backend.upsert([doc("A", 4, status="1")])
    assert backend.versions() == {"A": (4, "1")}
    backend.delete([("A", 4)])
    assert backend.versions() == {}


def test_rebuild_swaps_in_a_new_generation(backend: SearchBackend) -> None:
    backend.upsert([doc("A", 1), doc("B", 1)])
    terms = Analyzer().query_terms("护照").weighted()
    assert backend.search(terms, {}, offset=0, limit=10, facets=False).total == 2
    backend.rebuild([[doc("B", 2), doc("C", 1)]])
    assert backend.versions() == {"B": (2, "1"), "C": (1, "1")}
    assert backend.search(terms, {}, offset=0, limit=10, facets=False).total == 2
    if isinstance(backend, ElasticsearchBackend):
        assert backend._indices() == [f"{backend.alias}-2"]  # the alias moved, -1 is gone


def test_vendor_media_types_are_refused_without_the_compat_setting(osmem_base_url: str) -> None:
    if os.environ.get(ES_ENV):
        pytest.skip("a real Elasticsearch cluster accepts its own media types")
    plain = ElasticsearchBackend(
        osmem_base_url, alias=f"compat-{os.getpid()}-items", compat_json=True
    )
    plain.upsert([doc("A", 1)])
    vendor = ElasticsearchBackend(
        osmem_base_url, alias=f"compat-{os.getpid()}-items", compat_json=False
    )
    with pytest.raises(ApiError) as refused:
        vendor.versions()
    assert refused.value.status_code == 406


def test_search_check_finds_and_repairs_differences(
    session: Session, client: TestClient, seed_index: tuple[Path, int], tmp_path: Path
) -> None:
    src, head = seed_index
    shutil.copytree(src, tmp_path / "index")
    backend = TantivyBackend(tmp_path / "index")
    indexer = attach(session, client, SearchService(backend), head)
    assert indexer.check(session).clean
    codes = sorted(backend.versions())
    backend.delete([(codes[0], 10**6)])
    backend.upsert([doc("NOT-IN-THE-DB", 1)])
    report = indexer.check(session, repair=True)
    assert report.missing == [codes[0]] and report.extra == ["NOT-IN-THE-DB"]
    assert report.repaired == 2
    assert indexer.check(session).clean


def test_writes_succeed_while_elasticsearch_is_down_and_the_index_catches_up(
    session: Session, client: TestClient, keys: Any, osmem_base_url: str, db_url: str
) -> None:
    """Fault test: the cluster is unreachable (a proxy in front of osmem refuses
    connections) during 1,000 writes; when it is back, the indexer catches up from its
    position in the change log and search-check finds no difference."""
    if db_url.startswith("postgresql"):
        pytest.skip("the outage is the search cluster's: run once, on SQLite (40 s on PostgreSQL)")
    proxy = Proxy(urlparse(osmem_base_url).port or 0)
    proxy.start()
    backend = fresh_es(proxy.url)
    svc = SearchService(backend)
    indexer = Indexer(svc)
    indexer.build(session)
    attach(session, client, svc, change_head(session))
    assert indexer.check(session).clean
    codes = list(
        session.exec(
            select(Implementation.code)
            .where(col(Implementation.status) == "1")
            .order_by(Implementation.code)
            .limit(50)
        )
    )
    admin = keys.admin()
    proxy.stop()
    try:
        problem(client.get(f"{API}/search", params={"q": "护照"}), 503)
        for i in range(1000):
            code = codes[i % len(codes)]
            resp = client.patch(
                f"{API}/items/{code}",
                json={"guide": {"visits": (i // len(codes)) % 2 + 1}},
                headers={**admin, "Content-Type": "application/merge-patch+json"},
            )
            assert resp.status_code == 200, resp.text
        with pytest.raises(BackendUnavailable):
            indexer.run_once(session)
        assert indexer.position(session).last_seq < change_head(session)
    finally:
        proxy.start()
    applied = indexer.catch_up(session)
    assert applied >= 950  # every change row since the outage (no-op writes make none)
    assert indexer.position(session).last_seq == change_head(session)
    report = indexer.check(session)
    assert report.clean, report.as_dict()
    assert client.get(f"{API}/search", params={"q": "护照"}).status_code == 200
    proxy.stop()


def test_incomplete_and_pending_items_are_out_by_default_and_in_on_request(
    backend: SearchBackend,
) -> None:
    """A listing imported without a guide (7 待完善) or an item awaiting acceptance (4) is
    not what a citizen should be sent to; asked for by status, it is found."""
    engine = SearchEngine(backend)
    backend.upsert([doc("A", 1), doc("B", 1, status="7"), doc("C", 1, status="4")])

    def found(**statuses: list[str]) -> set[str]:
        return {h.doc["code"] for h in engine.search(SearchRequest(q="护照", **statuses)).hits}

    assert found() == {"A"}
    assert found(statuses=["7"]) == {"B"}
    assert found(statuses=["1", "4", "7"]) == {"A", "B", "C"}
