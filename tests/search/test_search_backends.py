"""The backends themselves, over HTTP for Elasticsearch (osmem-server): external versioning,
reindex behind an alias, the compatibility setting, search-check, and the fault test."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import tantivy
from elasticsearch import ApiError
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.catalogue.models import Implementation
from app.search.analysis import Analyzer
from app.search.backends import tantivy_search
from app.search.backends.base import SCHEMA_VERSION, BackendUnavailable, SearchBackend
from app.search.backends.elastic import ElasticsearchBackend
from app.search.backends.embedded import TantivyBackend
from app.search.engine import SearchEngine, SearchRequest
from app.search.indexer import Indexer, wait_for
from app.search.service import SearchService
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


def test_pending_items_are_out_and_incomplete_ones_after_complete_ones(
    backend: SearchBackend,
) -> None:
    """An item awaiting acceptance (4) is not what a citizen should be sent to; a listing
    imported without a guide (7 待完善) is found, after the complete one of equal relevance
    (the catalogue knows who handles it); asked for by status, each is found."""
    engine = SearchEngine(backend)
    backend.upsert([doc("B", 1, status="7"), doc("A", 1), doc("C", 1, status="4")])

    def ranked(**statuses: list[str]) -> list[str]:
        return [h.doc["code"] for h in engine.search(SearchRequest(q="护照", **statuses)).hits]

    def found(**statuses: list[str]) -> set[str]:
        return set(ranked(**statuses))

    assert ranked() == ["A", "B"]
    assert found(statuses=["7"]) == {"B"}
    assert found(statuses=["1", "4", "7"]) == {"A", "B", "C"}


def test_collapsed_facets_count_the_implementation_chosen_per_entry(
    backend: SearchBackend,
) -> None:
    """With a region the facets count exactly the hits: per entry the most specific
    region's implementation, every value of a multi-valued field once (the embedded index
    counts them from integer columns, Elasticsearch by a terms aggregation)."""

    def impl(
        code: str, entry: str, region: str, dept: str, themes: list[str], kind: str = "01"
    ) -> dict[str, Any]:
        d = doc(code, 1)
        d.update(basic_code=entry, region_code=region, department_code=dept, themes=themes,
                 item_type=kind)  # fmt: skip
        return d

    backend.upsert(
        [
            impl("C1", "E1", "230102", "DC", ["P1", "P2"]),  # the county's: chosen over C2
            impl("C2", "E1", "230100", "DT", ["P1"]),
            impl("C3", "E2", "230100", "DT", [], "05"),  # the city holds E2 for the county
            impl("C4", "E3", "230000", "DP", ["P2"]),  # the province holds E3
            impl("C5", "E3", "230200", "DX", ["P3"]),  # another city: not in the chain
        ]
    )
    terms = Analyzer().query_terms("护照").weighted()
    chain = ["230102", "230100", "230000"]
    found = backend.search(terms, {}, offset=0, limit=10, facets=True, collapse=chain)
    assert found.total == 3 and sorted(h.doc["code"] for h in found.hits) == ["C1", "C3", "C4"]
    assert found.facets == {
        "type": {"01": 2, "05": 1},
        "department": {"DC": 1, "DT": 1, "DP": 1},
        "region": {"230102": 1, "230100": 1, "230000": 1},
        "theme": {"P1": 1, "P2": 2},
    }
    themed = backend.search(
        terms, {"themes": ["P2"]}, offset=0, limit=10, facets=True, collapse=chain
    )
    assert sorted(h.doc["code"] for h in themed.hits) == ["C1", "C4"]
    assert themed.facets["theme"] == {"P1": 1, "P2": 2}


def test_an_index_of_an_older_schema_is_not_opened_but_rebuilt(tmp_path: Path) -> None:
    """A generation built by a version before the facet columns (no SCHEMA file) answers
    503 with the remedy until a rebuild replaces it; it never fails on a missing field."""
    old = tmp_path / "index" / "g1"
    old.mkdir(parents=True)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("code", stored=True)
    tantivy.Index(builder.build(), path=str(old))
    (tmp_path / "index" / "CURRENT").write_text("g1")
    backend = TantivyBackend(tmp_path / "index")
    assert backend.needs_rebuild()
    terms = Analyzer().query_terms("护照").weighted()
    with pytest.raises(BackendUnavailable, match="catalogue reindex"):
        backend.search(terms, {}, offset=0, limit=10, facets=True)
    with pytest.raises(BackendUnavailable):
        backend.upsert([doc("A", 1)])
    with pytest.raises(BackendUnavailable, match="schema version 1"):
        backend.ping()
    backend.rebuild([[doc("A", 1)]])
    assert not backend.needs_rebuild() and backend.ping()
    assert backend.search(terms, {}, offset=0, limit=10, facets=True).total == 1


def test_the_indexer_thread_rebuilds_an_index_of_an_older_schema(
    engine: Engine, seed_index: tuple[Path, int], tmp_path: Path
) -> None:
    src, _ = seed_index
    shutil.copytree(src, tmp_path / "index")
    own = tmp_path / "index" / f"v{SCHEMA_VERSION}"  # this release's schema's folder
    gen = (own / "CURRENT").read_text().strip()
    (own / gen / "SCHEMA").unlink()  # as the versions before it left it
    backend = TantivyBackend(tmp_path / "index")
    assert backend.needs_rebuild()
    indexer = Indexer(SearchService(backend), name="older-schema")  # its own position
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run_forever, args=(engine, stop), daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: not backend.needs_rebuild(), timeout=60)
    finally:
        stop.set()
        thread.join(timeout=30)
    with Session(engine) as session:
        assert len(backend.versions()) == len(session.exec(select(Implementation.code)).all())


def test_the_preference_added_after_ranking_gives_the_same_page_or_steps_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "primary" flag's score is added to the window of the words' own ranking from a
    column; the page equals the engine's ranking of the whole query, to the bit; the window
    widens when a document beyond it could reach the page, and the shortcut steps aside
    when it still could at the widest."""
    filters = {"status": ["1"]}
    built: dict[tuple[int, str], TantivyBackend] = {}

    def check(names: list[str], q: str, want: int) -> tuple[TantivyBackend, bool]:
        backend = built.get((len(names), q))
        if backend is None:
            backend = built[(len(names), q)] = TantivyBackend(tmp_path / f"{len(names)}-{q}")
            fields = {n: Analyzer().document_fields(n) for n in set(names)}
            backend.upsert(
                [{**doc(f"M{i:05d}", 1), "name": n, **fields[n]} for i, n in enumerate(names)]
            )
        searcher = backend._idx().searcher()
        terms = Analyzer().query_terms(q)
        assert terms.prefer  # the query names no follow-up: primary items first
        fast = backend._page(searcher, terms.weighted(), filters, terms.prefer, want)
        full = backend._ranked(
            searcher, backend._query(terms.weighted(), filters, terms.prefer), want
        )
        if fast is not None:
            assert fast == full[:2]  # the same scores (to the bit) and documents
        return backend, fast is not None

    # 2,170 matches, more than a window: the unflagged 注销 and 撤销 items lose to the flag
    mixed = (
        ["结婚登记"] * 30 + ["结婚登记注销"] * 1200 + ["撤销结婚登记"] * 900 + ["结婚证补领"] * 40
    )
    ties = ["结婚登记"] * 2100
    for q, want in (("结婚登记", 10), ("结婚登记", 30), ("结婚", 25)):
        assert check(mixed, q, want)[1], (q, want)
    # the 31st is unflagged: one beyond the first window, as good in words, could be it; in
    # the widened window (every match) it is the page's
    assert check(mixed, "结婚登记", 31)[1]
    # every match ties: the first window cannot tell, the widened one holds them all
    assert check(ties, "结婚登记", 10)[1]
    # no flagged match in the first window: the flagged ones beyond it gain the flag too
    unflagged_first = ["结婚登记注销"] * 2100 + ["内地居民与外国人结婚登记申请"] * 5
    assert check(unflagged_first, "结婚登记", 10)[1]

    # when the window cannot widen enough, the shortcut steps aside
    monkeypatch.setattr(tantivy_search, "PAGE_WINDOW_MAX", tantivy_search.RANK_WINDOW)
    assert not check(mixed, "结婚登记", 31)[1]
    backend, exact = check(ties, "结婚登记", 10)
    assert not exact
    terms = Analyzer().query_terms("结婚登记")
    page = backend.search(terms.weighted(), filters, offset=0, limit=10, facets=True,
                          prefer=terms.prefer)  # fmt: skip
    assert len(page.hits) == 10 and page.total == 2100  # the engine's ranking of it all
    searcher = backend._idx().searcher()
    query = backend._query(terms.weighted(), filters, terms.prefer)
    full = backend._ranked(searcher, query, 10)[1]
    assert [h.doc["code"] for h in page.hits] == [searcher.doc(a)["code"][0] for a in full]
