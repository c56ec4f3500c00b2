"""A release rolls across a change of the search index's schema without /search going dark.

Each schema version has an index of its own (Elasticsearch: alias ``<name>-v<N>``; embedded:
folder ``v<N>``). A release of schema N+1 that finds only schema N's index answers searches
from it (its query code declares it reads N) and says so; its indexer, a leader-elected duty
of its own, builds N+1 beside the running indexer of N, which keeps N current; searches then
switch; N's index is dropped once nothing indexes it any more. The upgrade from the index
named before names carried a version reads it as schema 5 and rebuilds cleanly.

Real indices: the embedded one and the Elasticsearch API (osmem); both databases.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.leader import Leadership
from app.search.backends.base import (
    LEGACY_SCHEMA,
    READABLE,
    SCHEMA_VERSION,
    BackendUnavailable,
    OtherIndex,
    SearchBackend,
)
from app.search.backends.elastic import ElasticsearchBackend, es_mapping
from app.search.backends.embedded import TantivyBackend
from app.search.index_pruning import leadership_name
from app.search.indexer import Indexer, wait_for
from app.search.models import SearchPosition
from app.search.service import SearchService
from tests.conftest import app_on
from tests.helpers import API, run_cli
from tests.search_support import codes_found, codes_in_force, commit_conditions

pytest_plugins = ["tests.search_support"]

OLD, NEW = SCHEMA_VERSION, SCHEMA_VERSION + 1
#: what the release of schema NEW declares it reads: its own and the previous one
NEW_READS = frozenset({OLD, NEW})


class Releases:
    """Backends of one catalogue's index (one ``CATALOGUE_SEARCH_INDEX``), as releases of
    different schema versions open them; and the index the releases before versions left."""

    def __init__(self, kind: str, tmp_path: Path, url: str = "") -> None:
        self.kind, self.tmp_path, self.url = kind, tmp_path, url
        self.name = f"roll-{uuid.uuid4().hex[:8]}-items"

    def __call__(self, schema: int, reads: frozenset[int]) -> SearchBackend:
        if self.kind == "embedded":
            path = self.tmp_path / "index"
            return TantivyBackend(path, schema_version=schema, readable=reads)
        return ElasticsearchBackend(self.url, alias=self.name, schema_version=schema,
                                    readable=reads)  # fmt: skip

    def legacy(self, docs: list[dict[str, Any]]) -> str:
        """The index as the releases before versioned names left it, holding ``docs``: the
        alias ``<name>`` over ``<name>-1`` (no schema in its mapping), or the generations in
        the index's folder itself. Its name."""
        if self.kind == "embedded":
            build = TantivyBackend(self.tmp_path / "build")
            build.rebuild([docs])
            shutil.copytree(
                build.root, self.tmp_path / "index", dirs_exist_ok=True
            )  # CURRENT, g1 at the top
            return str(self.tmp_path / "index")
        es = ElasticsearchBackend(self.url, alias=self.name)
        es.es.indices.create(index=f"{self.name}-1", **es_mapping())
        es.es.indices.update_aliases(
            actions=[{"add": {"index": f"{self.name}-1", "alias": self.name}}]
        )
        es._view(OtherIndex(LEGACY_SCHEMA, self.name, legacy=True)).upsert(docs)
        return self.name


@pytest.fixture(params=["embedded", "elasticsearch"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Releases:
    if request.param == "embedded":
        return Releases("embedded", tmp_path)
    return Releases("elasticsearch", tmp_path, request.getfixturevalue("osmem_base_url"))


def _serves_from(schema: int) -> float | None:
    return REGISTRY.get_sample_value("catalogue_search_serves_from_schema", {"schema": str(schema)})


def _positions(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.execute(select(SearchPosition.name)).scalars())


@contextmanager
def running(indexer: Indexer, engine: Engine) -> Iterator[threading.Event]:
    """The indexer's loop in a thread (as ``catalogue index`` runs it), stopped on exit."""
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run_forever, args=(engine, stop), daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=30)


def _quick(indexer: Indexer) -> Indexer:
    """Prune as soon as the index is caught up (the setting's default waits an hour)."""
    indexer.prune_after, indexer.prune_retry = 0.0, 0.2
    return indexer


def test_a_release_of_the_next_schema_serves_from_the_previous_index_until_its_own_is_built(
    own_engine: Engine, make: Releases
) -> None:
    engine = own_engine
    old = SearchService(make(OLD, frozenset({OLD})))
    old_indexer = Indexer(old)
    old_indexer.reindex(engine)
    a, b = codes_in_force(engine, 2)
    commit_conditions(engine, a, "滚动发布事项 麒麟")
    while old_indexer.step(engine):
        pass

    # the next release rolls in: only the previous schema's index exists
    new = SearchService(make(NEW, NEW_READS))
    serving = new.backend.serving()
    assert (serving.schema, serving.serves_from) == (NEW, OLD)
    assert "being built" in serving.detail
    assert _serves_from(NEW) == OLD
    with Session(engine) as session, TestClient(app_on(session)) as api:
        api.app.state.search = new  # type: ignore[attr-defined]
        found = api.get(f"{API}/search", params={"q": "麒麟"})
        assert [h["code"] for h in found.json()["hits"]] == [a]  # from the previous index
        ready = api.get("/readyz")  # (its database check is the app's default database's)
        assert ready.json()["checks"]["search"] == "ok", ready.text  # ready: it reads one
        said = ready.json()["search"]
        assert (said["schema"], said["serves_from"]) == (NEW, OLD)
        assert "being built" in said["detail"]
    assert new.backend.needs_rebuild()
    with pytest.raises(BackendUnavailable, match="not built yet"):
        new.backend.delete([(a, 1)])  # no document by document: it is built whole
    # a release whose query code reads only its own schema: 503 with the reason, as before
    strict = make(NEW, frozenset({NEW}))
    with pytest.raises(BackendUnavailable, match=f"schema version {OLD}.*catalogue reindex"):
        strict.ping()

    new_indexer = _quick(Indexer(new))
    assert new_indexer.leadership != old_indexer.leadership
    assert new_indexer.name != old_indexer.name
    with running(old_indexer, engine) as stop_old, running(new_indexer, engine):
        # its indexer builds the new index beside the old one's, then searches switch
        assert wait_for(lambda: new.backend.serving().serves_from == NEW, timeout=60)
        assert _serves_from(NEW) == NEW
        assert codes_found(new, engine, "麒麟") == [a]
        with Session(engine) as session, TestClient(app_on(session)) as api:
            api.app.state.search = new  # type: ignore[attr-defined]
            assert api.get("/readyz").json()["search"] == {"schema": NEW, "serves_from": NEW}
        # both indexers follow the change log, each its own index, side by side
        commit_conditions(engine, b, "滚动发布另一事项 貔貅")
        assert wait_for(lambda: codes_found(new, engine, "貔貅") == [b], timeout=30)
        assert wait_for(lambda: codes_found(old, engine, "貔貅") == [b], timeout=30)
        assert {old_indexer.name, new_indexer.name} <= _positions(engine)
        # the previous release still runs (its indexer leads): its index is kept
        time.sleep(1.0)  # a few rounds of the new indexer's pruning
        assert [o.schema for o in new.backend.others()] == [OLD]
        assert codes_found(old, engine, "麒麟") == [a]

        stop_old.set()  # the previous release is gone: its index goes
        assert wait_for(lambda: not new.backend.others(), timeout=30)
        assert wait_for(lambda: old_indexer.name not in _positions(engine), timeout=10)
        assert codes_found(new, engine, "貔貅") == [b]
        assert not new.backend.needs_rebuild()
        # the next write reaches the new index only
        commit_conditions(engine, a, "滚动发布之后 獬豸")
        assert wait_for(lambda: codes_found(new, engine, "獬豸") == [a], timeout=30)


def test_the_unversioned_index_is_read_as_schema_5_then_replaced(
    own_engine: Engine, make: Releases, tmp_path: Path
) -> None:
    engine = own_engine
    a = codes_in_force(engine, 1)[0]
    commit_conditions(engine, a, "旧名索引事项 麒麟")
    scratch = Indexer(SearchService(TantivyBackend(tmp_path / "scratch")))
    with Session(engine) as session:
        docs, _ = scratch.documents(session, codes_in_force(engine, 50))
        session.add(SearchPosition(name=make.kind, last_seq=1))  # its indexer's position
        session.commit()
    name = make.legacy(docs)
    svc = SearchService(make(SCHEMA_VERSION, READABLE | {LEGACY_SCHEMA}))
    indexer = _quick(Indexer(svc))
    assert [(o.schema, o.name, o.legacy) for o in svc.backend.others()] == [(5, name, True)]
    serving = svc.backend.serving()  # read as schema 5 while its own is built
    assert serving.serves_from == 5 and serving.index == Path(name).name
    assert "being built" in serving.detail
    assert codes_found(svc, engine, "麒麟") == [a]

    previous = Leadership(engine, leadership_name(None))  # the previous release's indexer
    assert previous.acquire()
    try:
        with running(indexer, engine):
            assert wait_for(lambda: svc.backend.serving().serves_from == SCHEMA_VERSION
                            and not svc.backend.serving().detail, timeout=60)  # fmt: skip
            assert codes_found(svc, engine, "麒麟") == [a]
            time.sleep(1.0)
            assert [o.name for o in svc.backend.others()] == [name]  # its indexer runs
            previous.release()
            assert wait_for(lambda: not svc.backend.others(), timeout=30)
    finally:
        previous.release()
    assert codes_found(svc, engine, "麒麟") == [a]
    assert wait_for(
        lambda: make.kind not in _positions(engine), timeout=10
    )  # no lag of a gone index in /metrics
    assert indexer.name == f"{svc.backend.name}-v{SCHEMA_VERSION}"


def test_reindex_prune_drops_an_older_index_once_its_indexer_is_gone(own_engine: Engine) -> None:
    """`catalogue reindex --prune`: this release's index built, then the older schemas'
    dropped at once, except one whose indexer still runs (a release that reads it)."""
    if own_engine.dialect.name != "sqlite":
        pytest.skip("the embedded index beside a SQLite file (PostgreSQL's is in the cwd)")
    url = own_engine.url.render_as_string(hide_password=False)
    folder = Path(str(own_engine.url.database)).parent / "search-index"
    before = OLD - 1  # the previous release's schema
    older = Indexer(SearchService(TantivyBackend(folder, schema_version=before,
                                                 readable=frozenset({before}))))  # fmt: skip
    older.reindex(own_engine)
    running_older = Leadership(own_engine, leadership_name(before))
    assert running_older.acquire()
    try:
        kept = run_cli(url, "reindex", "--prune", env={"CATALOGUE_SEARCH_URL": ""})
        assert kept.returncode == 0, kept.stderr[-2000:]
        assert f"(schema version {before}): its indexer runs" in kept.stdout
        assert (folder / f"v{before}" / "CURRENT").exists()
    finally:
        running_older.release()
    done = run_cli(url, "reindex", "--prune", env={"CATALOGUE_SEARCH_URL": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"dropped {folder / f'v{before}'} (schema version {before})" in done.stdout
    assert not (folder / f"v{before}").exists()
    assert (folder / f"v{OLD}" / "CURRENT").exists()
    assert older.name not in _positions(own_engine)
