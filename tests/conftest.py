"""Test databases: built by the Alembic migrations (not create_all) and seeded once per
backend; each test runs inside a transaction that is rolled back at its end.

SQLite always runs. PostgreSQL runs when CATALOGUE_TEST_DATABASE_URL points at a server
(``.ci/run`` sets it); each run creates and drops its own database there.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from app.catalogue.reads import SessionSnapshots
from app.config import get_settings
from app.db import make_engine, read_session, write_session
from app.directory.models import Department
from app.main import create_app
from app.migrate import upgrade
from app.security import create_key
from bench.common import postgres_database

# the suite tests direct writes; tests/review/test_review.py turns review of editors' writes on
os.environ.setdefault("CATALOGUE_REVIEW_EDITORS", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_ENV = "CATALOGUE_TEST_DATABASE_URL"


def _postgres_database() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CATALOGUE_TEST_REQUIRE_POSTGRES"):
            pytest.fail(f"{PG_ENV} is not set but CATALOGUE_TEST_REQUIRE_POSTGRES is")
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
        )
    with postgres_database(base, "catalogue_test") as url:
        yield url


def _migrate_and_seed(url: str) -> Engine:
    from app.seed import load_reference, load_sample

    upgrade(url)
    engine = make_engine(url)
    seed_dir = Path(get_settings().seed_dir)
    with Session(engine) as session:
        load_reference(session, seed_dir)
        load_sample(session, seed_dir)
        session.commit()
    return engine


#: the seeded database built first in this process, per kind and seed: (kind, seed dir) ->
#: a SQLite file or a PostgreSQL database name that later databases are copied from
_TEMPLATES: dict[tuple[str, str], str] = {}


def build_database(url: str) -> Engine:
    """A migrated and seeded database at ``url`` (new and empty), as ``make run`` makes it.
    The first of each kind in a test process is built so; the next are copies of it (a
    SQLite backup, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), milliseconds instead of
    seconds, the same bytes."""
    kind = "sqlite" if url.startswith("sqlite") else "postgresql"
    key = (kind, get_settings().seed_dir)
    template = _TEMPLATES.get(key)
    if kind == "sqlite":
        target = Path(make_url(url).database or "")
        fresh = bool(make_url(url).database) and not target.exists()
        if template is None or not fresh:
            engine = _migrate_and_seed(url)
            if template is None and fresh:
                engine.dispose()
                _TEMPLATES[key] = _sqlite_template(target)
            return engine
        with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return make_engine(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        empty = not conn.execute(
            text("SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'")
        ).first()
    engine.dispose()
    if template is None or not empty:
        engine = _migrate_and_seed(url)
        if template is None and empty:
            engine.dispose()
            _TEMPLATES[key] = _postgres_template(url)
        return engine
    _copy_postgres(template, url)
    return make_engine(url)


def _sqlite_template(built: Path) -> str:
    folder = tempfile.mkdtemp(prefix="catalogue-template-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "seeded.db"
    with sqlite3.connect(built) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    return str(path)


def _admin(url: str) -> Engine:
    from sqlalchemy import create_engine

    from app.db import normalise_url

    return create_engine(
        make_url(normalise_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )


def _postgres_template(built_url: str) -> str:
    """A template copy of the database just built (a template must have no connection)."""
    name = f"catalogue_template_{uuid.uuid4().hex[:8]}"
    admin = _admin(built_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(built_url).database}"'))
    admin.dispose()
    atexit.register(_drop_postgres, built_url, name)
    return name


def _copy_postgres(template: str, url: str) -> None:
    name = make_url(url).database
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()


def _drop_postgres(url: str, name: str) -> None:
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


#: the layers (markers registered in pyproject.toml) by folder; a test outside these is "api"
_LAYER_BY_FOLDER = {"unit": "unit", "browser": "browser"}
#: modules that measure ranking quality over query sets rather than one behaviour
_RELEVANCE = {
    "test_search_relevance.py",
    "test_search_heldout_v2.py",
    "test_search_v4.py",
    "test_search_understanding.py",
}
#: modules that start servers or processes, or drive many requests (seconds per test):
#: ``-m "not slow"`` leaves them out of a quick run
_SLOW = {
    "test_behind_nginx.py",
    "test_multi_instance.py",
    "test_sqlite_writers.py",
    "test_database_unavailable.py",
    "test_http_import.py",
    "test_sync_e2e.py",
    "test_sync_concurrency.py",
    "test_mirror_stop.py",
    "test_schemathesis.py",
    "test_generated_client.py",
    "test_review_races.py",
    "test_webhook_fairness.py",
    "test_search_e2e.py",
    "test_snapshot.py",
    "test_smoke_shape.py",
    "test_mirror_fresh.py",
    "test_export_standards.py",
    "test_exports.py",
    "test_export_formulas.py",
    "test_contact_retention_shapes.py",
    "test_import_report.py",
    "test_import_listing.py",
    "test_import_limits.py",
    "test_state_metrics.py",
    "test_doctor.py",
    "test_graceful_stop.py",
    "test_index_versions.py",
    "test_index_restore.py",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks each test with its layer (``pytest -m unit``, ``-m "not slow"``…)."""
    tests_dir = ROOT / "tests"
    for item in items:
        path = Path(str(item.path))
        try:
            folder = path.relative_to(tests_dir).parts[0]
        except (ValueError, IndexError):
            folder = ""
        layer = _LAYER_BY_FOLDER.get(folder)
        if layer is None:
            layer = "relevance" if path.name in _RELEVANCE else "api"
        item.add_marker(layer)
        if path.name in _SLOW or layer in ("browser", "relevance"):
            item.add_marker("slow")
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgres" in callspec.id:
            item.add_marker("postgres")
    if hasattr(config, "workerinput"):  # an xdist worker: every worker orders alike
        items[:] = _slow_modules_first(items)


def _slow_modules_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The order in which ``--dist loadfile`` hands modules out: the slow ones (a minute
    each, some) first and the many short ones last, so that the workers end together
    rather than one running a long module alone at the end. Each module's tests stay
    together and in their order."""
    by_module: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_module.setdefault(_module_scope(item.nodeid), []).append(item)

    def weight(scope: str) -> tuple[int, int]:
        first = by_module[scope][0]
        return (0 if first.get_closest_marker("slow") else 1, -len(by_module[scope]))

    return [item for scope in sorted(by_module, key=weight) for item in by_module[scope]]


def _module_scope(nodeid: str) -> str:
    """The unit ``--dist loadfile`` hands to one worker: a module, or all browser tests
    (they share one served site)."""
    module = nodeid.split("::", 1)[0]
    return "tests/browser" if module.startswith("tests/browser/") else module


if importlib.util.find_spec("xdist") is not None:

    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        """Under ``pytest -n … --dist loadfile``: a module's tests on one worker (its module
        fixtures built once), and the browser tests together (they share one served
        site). xdist's own ``loadgroup`` cannot do it: it renames test ids, which pytest 9
        no longer lets a plugin do."""
        if config.getvalue("dist") != "loadfile":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class ByModule(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return _module_scope(nodeid)

        # the modules in collection order, which puts the slow ones first
        # (_slow_modules_first), not xdist's by number of tests
        config.option.loadscopereorder = False
        return ByModule(config, log)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The skipped tests counted by reason, so that a run says what it did not check and what
    each part needs (a database server, a browser, the real data beside the repository)."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    if not reasons:
        return
    total = sum(reasons.values())
    terminalreporter.write_sep("=", f"{total} skipped, by reason")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:6d}  {reason}")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'catalogue.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    engine = build_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def review_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Editors' writes need review (``CATALOGUE_REVIEW_EDITORS``), as a deployment has it
    by default; the settings as they were afterwards."""
    monkeypatch.setenv("CATALOGUE_REVIEW_EDITORS", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def own_engine(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A seeded database of its own, of the kind of ``db_url``: writes commit for real."""
    databases: Iterator[str] = (
        iter([f"sqlite:///{tmp_path_factory.mktemp('own') / 'own.db'}"])
        if db_url.startswith("sqlite")
        else _postgres_database()
    )
    engine = build_database(next(databases))
    yield engine
    engine.dispose()
    for _ in databases:  # drops the PostgreSQL database
        pass


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


def app_on(session: Session, app: FastAPI | None = None) -> FastAPI:
    """The app reading and writing through ``session`` (and seeing its uncommitted writes):
    a new one, or ``app`` (:func:`_reused_app`) made so."""
    app = app or create_app()

    def _read() -> Iterator[Session]:
        yield session

    def _write() -> Iterator[Session]:
        # as app.db.write_session: commit when the endpoint returns, else roll back
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    app.state.snapshots = SessionSnapshots(session)
    # an upload's job would run on the app's own database, which this app does not use: it
    # stays queued (tests/sync/test_http_import.py runs jobs on a real server)
    app.state.import_runner = lambda *args: None
    app.dependency_overrides[read_session] = _read
    app.dependency_overrides[write_session] = _write
    return app


#: the app of the ``client`` fixture, built once per settings object: (settings, app, its
#: state as built)
_SHARED_APP: tuple[Any, FastAPI, dict[str, Any]] | None = None


def _reused_app() -> FastAPI:
    """The ``client`` fixture's app, as new. FastAPI builds an app's routes (each endpoint's
    dependencies analysed) at its first request, 0.13 s: paid by every test that made an app
    of its own, a few minutes of a run. So the app is built again only when the settings
    change (a test's ``CATALOGUE_*``); between tests its state goes back to what
    ``create_app`` left, its dependency overrides are dropped and its middleware (and their
    caches) are built anew."""
    global _SHARED_APP
    settings = get_settings()
    if _SHARED_APP is None or _SHARED_APP[0] is not settings:
        app = create_app()
        _SHARED_APP = (settings, app, dict(app.state._state))
        return app
    _, app, built = _SHARED_APP
    app.state._state.clear()
    app.state._state.update(built)
    app.dependency_overrides.clear()
    app.middleware_stack = None
    return app


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    with TestClient(app_on(session, _reused_app()), raise_server_exceptions=True) as test_client:
        yield test_client


class Keys:
    """Keys of each role, created in the test's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._n = 0

    def make(
        self, role: str, departments: list[str] | None = None, region: str | None = None
    ) -> dict[str, str]:
        self._n += 1
        secret = create_key(
            self.session,
            name=f"{role}-{self._n}",
            role=role,
            departments=departments,
            region=region,
        )
        self.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    def admin(self) -> dict[str, str]:
        return self.make("admin")

    def editor(self, *departments: str) -> dict[str, str]:
        return self.make("editor", list(departments))

    def sync(self, region: str) -> dict[str, str]:
        return self.make("sync", region=region)


@pytest.fixture
def keys(session: Session) -> Keys:
    return Keys(session)


def department_at(session: Session, level: str, region_prefix: str = "23") -> Department:
    dept = session.exec(
        select(Department)
        .where(Department.level == level, Department.region_code.startswith(region_prefix))  # type: ignore[attr-defined]
        .order_by(Department.credit_code)
    ).first()
    assert dept is not None, f"the seed has no level-{level} department in {region_prefix}*"
    return dept
