"""Releases that roll across a migration (expand-then-contract), on SQLite and PostgreSQL.

The app is the production one (``create_app`` on ``CATALOGUE_DATABASE_URL``). "The next
release" is this release's migrations plus one more, written into a copy of
``migrations/`` and run by Alembic as ``catalogue migrate`` of that release would:

- this release on a database one migration behind it (an unmigrated database): not
  ready, with the reason; every write 503 with Retry-After and nothing written; reads and
  an import's progress answer without a 500;
- this release on the next release's schema after an expand-only migration: ready (the
  database says it still serves this release's head), writes go through;
- after a contract migration: not ready ("replace this instance"), writes refused;
- downgraded again: ready.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.config import Settings, get_settings
from app.db import for_writing, get_engine, normalise_url
from app.http import schema_gate
from app.main import create_app
from app.migrate import MIGRATIONS, downgrade, schema_head, upgrade
from app.search.backends.base import SCHEMA_VERSION
from app.search.backends.elastic import ElasticsearchBackend
from app.search.service import backend_from_settings
from app.security import create_key
from tests.helpers import API

pytest_plugins = ["tests.search_support"]  # osmem_base_url

NEXT = '''"""The next release's migration ({kind}).

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None
CONTRACT = {contract}


def upgrade() -> None:
    {change}
    conn = op.get_bind()
    before = conn.execute(
        sa.text("SELECT serves_from FROM schema_release WHERE revision = :r"), {{"r": down_revision}}
    ).scalar_one()
    conn.execute(
        sa.text("INSERT INTO schema_release (revision, serves_from) VALUES (:r, :s)"),
        {{"r": revision, "s": revision if CONTRACT else before}},
    )


def downgrade() -> None:
    op.get_bind().execute(
        sa.text("DELETE FROM schema_release WHERE revision = :r"), {{"r": revision}}
    )
    {undo}
'''


def next_release(directory: Path) -> Config:
    """A copy of this release's migrations with the next release's two: an expand-only one
    (a nullable column this release does not know) and a contract one (it drops it)."""
    shutil.copytree(MIGRATIONS, directory, ignore=shutil.ignore_patterns("__pycache__"))
    head = schema_head()
    versions = directory / "versions"
    (versions / "9001_next_expand.py").write_text(
        NEXT.format(
            kind="expand-only",
            revision="9001",
            down=head,
            contract=False,
            change='op.add_column("department", sa.Column("next_note", sa.Text(), nullable=True))',
            undo='with op.batch_alter_table("department") as b:\n        b.drop_column("next_note")',
        )
    )
    (versions / "9002_next_contract.py").write_text(
        NEXT.format(
            kind="contract",
            revision="9002",
            down="9001",
            contract=True,
            change='with op.batch_alter_table("department") as b:\n        b.drop_column("next_note")',
            undo='op.add_column("department", sa.Column("next_note", sa.Text(), nullable=True))',
        )
    )
    return directory


def migrate_with(directory: Path, url: str, revision: str, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(directory))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    (command.downgrade if down else command.upgrade)(cfg, revision)
    schema_gate.forget()  # the app looks again at once (else within RECHECK seconds)


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, own_engine: Engine) -> Iterator[dict[str, Any]]:
    url = own_engine.url.render_as_string(hide_password=False)
    with Session(for_writing(own_engine)) as session:
        secret = create_key(session, name="release-admin", role="admin")
        session.commit()
    with own_engine.connect() as conn:
        code = conn.execute(
            text("SELECT code FROM implementation WHERE status = '1' ORDER BY code LIMIT 1")
        ).scalar_one()
    own_engine.dispose()
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    schema_gate.forget()
    app = create_app()
    try:
        with TestClient(app) as client:
            yield {"client": client, "url": url, "code": code, "key": f"Bearer {secret}"}
    finally:
        app.state.snapshots.close()
        get_engine().dispose()
        monkeypatch.undo()
        get_settings.cache_clear()
        get_engine.cache_clear()
        schema_gate.forget()


def _patch(p: dict[str, Any], visits: int) -> Any:
    return p["client"].patch(
        f"{API}/items/{p['code']}",
        json={"guide": {"visits": visits}},
        headers={"Authorization": p["key"]},
    )


def _version(p: dict[str, Any]) -> int:
    return p["client"].get(f"{API}/items/{p['code']}").json()["version"]


def test_an_unmigrated_database_refuses_writes_and_says_why(production: dict[str, Any]) -> None:
    client, url = production["client"], production["url"]
    head = schema_head()
    # an older release's schema: the import jobs' heartbeat (0015) and every later one not run
    downgrade(url, "0014")
    schema_gate.forget()
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        reason = ready.json()["checks"]["database"]
        assert f"this release needs {head}" in reason and "catalogue migrate" in reason, reason
        before = _version(production)  # reads go on

        refused = _patch(production, before % 9 + 1)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert int(refused.headers["retry-after"]) >= 1
        assert "catalogue migrate" in refused.json()["detail"]
        job = client.get(
            f"{API}/imports/1",
            headers={"Authorization": production["key"]},
        )
        assert job.status_code in (404, 503), job.text  # never a 500
        assert _version(production) == before  # nothing written
    finally:
        upgrade(url)
        schema_gate.forget()
    assert client.get("/readyz").status_code == 200
    done = _patch(production, before % 9 + 1)
    assert done.status_code == 200, done.text
    assert done.json()["version"] == before + 1


def test_the_next_releases_expand_serves_this_release_and_its_contract_does_not(
    production: dict[str, Any], tmp_path: Path
) -> None:
    client, url = production["client"], production["url"]
    scripts = next_release(tmp_path / "next-release")
    head = schema_head()

    migrate_with(scripts, url, "9001")  # expand-only
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["schema"]["database"] == "9001"
    assert ready.json()["schema"]["release"] == head
    before = _version(production)
    written = _patch(production, before % 9 + 1)
    assert written.status_code == 200, written.text
    assert _version(production) == before + 1

    migrate_with(scripts, url, "9002")  # contract: this release's code is no longer served
    gone = client.get("/readyz")
    assert gone.status_code == 503
    assert "replace this instance" in gone.json()["checks"]["database"]
    refused = _patch(production, (before + 1) % 9 + 1)
    assert refused.status_code == 503 and "retry-after" in refused.headers
    assert _version(production) == before + 1

    migrate_with(scripts, url, head, down=True)  # the next release rolled back
    assert client.get("/readyz").status_code == 200
    assert _patch(production, (before + 1) % 9 + 1).status_code == 200


def test_an_instance_named_apart_never_swaps_the_owners_index(osmem_base_url: str) -> None:
    """A restore-test instance pointed at production's cluster with an index name of its
    own (CATALOGUE_SEARCH_INDEX) rebuilds under its own alias: production's keeps its
    index and its documents."""
    run = uuid.uuid4().hex[:6]
    owner = backend_from_settings(
        Settings(search_url=osmem_base_url, search_index=f"prod-{run}-items")
    )
    restore = backend_from_settings(
        Settings(search_url=osmem_base_url, search_index=f"restore-{run}-items")
    )
    assert isinstance(owner, ElasticsearchBackend) and isinstance(restore, ElasticsearchBackend)
    assert owner.base == f"prod-{run}-items"
    owner.ensure()
    before = owner._indices()
    restore.ensure()
    restore.rebuild([])  # builds <its alias>-2 and swaps its own alias
    assert owner._indices() == before
    assert restore._indices() == [f"restore-{run}-items-v{SCHEMA_VERSION}-2"]
    with pytest.raises(ValidationError):  # a name the cluster would refuse, at start
        Settings(search_index="Catalogue Items")
