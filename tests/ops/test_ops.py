"""Operations: health, readiness, metrics, migrations, schemas, the command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import Session

from app.db import normalise_url
from app.migrate import downgrade, upgrade
from app.schemas_export import render, schema_documents
from tests.conftest import ROOT, _postgres_database
from tests.helpers import API, run_cli


def test_health_ready_and_metrics(client: TestClient, session: Session) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    client.get(f"{API}/regions/230000")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'catalogue_http_requests_total{method="GET",route="/api/v1/regions/{code}",status="200"}'
        in metrics.text
    )


def test_readyz_reports_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from app import config, db
    from app.main import create_app

    monkeypatch.setenv("CATALOGUE_DATABASE_URL", f"sqlite:///{tmp_path}/missing/never.db")
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        with TestClient(create_app()) as client:
            resp = client.get("/readyz")
        assert resp.status_code == 503 and resp.json()["checks"]["database"].startswith("error")
        assert "search" in resp.json()["checks"]  # the search backend is checked too
    finally:
        config.get_settings.cache_clear()
        db.get_engine.cache_clear()


def test_published_schemas_are_up_to_date() -> None:
    for filename, doc in schema_documents().items():
        path = ROOT / "schemas" / filename
        assert path.exists(), f"{path} missing: run `make schemas`"
        assert path.read_text(encoding="utf-8") == render(doc), (
            f"{filename} is stale: run `make schemas`"
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_upgrade_and_downgrade(backend: str, tmp_path: Path) -> None:
    databases = (
        iter([f"sqlite:///{tmp_path}/m.db"]) if backend == "sqlite" else _postgres_database()
    )
    url = next(databases)
    try:
        upgrade(url)
        engine = create_engine(normalise_url(url))
        assert {"implementation", "record_version", "change_log", "api_key"} <= set(
            inspect(engine).get_table_names()
        )
        if backend == "postgresql":  # large columns in lz4 where the server has it
            with engine.connect() as conn:
                methods = conn.execute(
                    text(
                        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
                    )
                ).scalar_one()
            lz4 = "l" if "lz4" in methods else ""
            assert _compression(engine, "record_version", "snapshot") == lz4
            downgrade(url, "0007")
            assert _compression(engine, "record_version", "snapshot") == ""  # the default
            upgrade(url)
            assert _compression(engine, "implementation", "guide") == lz4
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(url)
        engine.dispose()
    finally:
        for _ in databases:  # drop the PostgreSQL database
            pass


def _compression(engine: Engine, table: str, column: str) -> str:
    """How PostgreSQL compresses the column's new values: l (lz4), p (pglz), '' (default)."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT attcompression FROM pg_attribute "
                "WHERE attrelid = CAST(:table AS regclass) AND attname = :column"
            ),
            {"table": table, "column": column},
        ).scalar_one()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli(env["CATALOGUE_DATABASE_URL"], *args)


def test_cli_migrate_seed_once_and_keys(tmp_path: Path) -> None:
    env = {"CATALOGUE_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    assert _cli("migrate", env=env).returncode == 0
    first = _cli("seed", env=env)
    assert first.returncode == 0 and "sample catalogue loaded" in first.stdout, first.stderr
    second = _cli("seed", env=env)
    assert second.returncode == 0 and "catalogue kept" in second.stdout

    created = _cli(
        "keys", "create", "--role", "sync", "--name", "harbin", "--region", "230100", env=env
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("sc_")
    listed = [json.loads(line) for line in _cli("keys", "list", env=env).stdout.splitlines()]
    assert listed == [
        {
            "name": "harbin",
            "role": "sync",
            "departments": [],
            "region_prefix": "2301",
            "created_at": listed[0]["created_at"],
            "revoked": False,
        }
    ]
    assert secret not in (tmp_path / "cli.db").read_bytes().decode("latin-1")
    bad = _cli("keys", "create", "--role", "editor", "--name", "x", env=env)
    assert bad.returncode == 2 and "department" in bad.stderr
    assert _cli("keys", "revoke", "harbin", env=env).returncode == 0
    assert json.loads(_cli("keys", "list", env=env).stdout)["revoked"] is True
