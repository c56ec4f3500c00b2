"""Shared helpers for API tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from app.catalogue.documents import item_input
from app.catalogue.models import CatalogueEntry, Implementation, IssuedCode, ItemFee, ItemMaterial
from app.directory.models import Department
from app.versionlog import ChangeLog, RecordVersion

API = "/api/v1"
ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The `catalogue` command on the database at ``url``, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "CATALOGUE_DATABASE_URL": url,
            "CATALOGUE_LOG_LEVEL": "WARNING",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )


def counts(session: Session) -> dict[str, int]:
    """Row counts of everything a write can leave behind."""
    session.expire_all()
    return {
        model.__name__: session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (
            CatalogueEntry,
            Implementation,
            ItemMaterial,
            ItemFee,
            RecordVersion,
            ChangeLog,
            IssuedCode,
            Department,
        )
    }


def writable(client: TestClient, code: str) -> dict[str, Any]:
    """The writable representation of an item, as a PUT body."""
    resp = client.get(f"{API}/items/{code}")
    assert resp.status_code == 200, resp.text
    return item_input(resp.json())


def new_item_body(
    session: Session, client: TestClient, department: Department, nth: int = 0
) -> dict[str, Any]:
    """A valid body for an implementation the department does not have yet: an existing item's
    guide and materials, moved to an entry the department does not implement."""
    template = session.execute(
        select(Implementation.code).order_by(Implementation.code).limit(1)
    ).scalar_one()
    body = writable(client, template)
    taken = set(
        session.execute(
            select(Implementation.basic_code).where(
                Implementation.department_code == department.credit_code
            )
        ).scalars()
    )
    entry = session.execute(
        select(CatalogueEntry.basic_code)
        .where(CatalogueEntry.basic_code.not_in(taken))  # type: ignore[union-attr]
        .order_by(CatalogueEntry.basic_code)
        .offset(nth)
        .limit(1)
    ).scalar_one()
    body.update(
        code=None,
        basic_code=entry,
        department=department.credit_code,
        region=department.region_code,
        level=department.level,
    )
    for m in body["materials"]:
        m["code"] = None
    for f in body["fees"]:
        f["code"] = None
    return body


def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return resp.json()


def error_at(body: dict[str, Any], loc: list[Any]) -> dict[str, Any]:
    for e in body.get("errors", []):
        if e["loc"] == loc:
            return e
    raise AssertionError(f"no error at {loc}: {body}")


def committing_app(engine: Any, snapshots: Any) -> Any:
    """The app on ``engine`` with ``snapshots`` as its read path, its requests committing for
    real (as app.db's sessions do, on an engine of the test's)."""
    from collections.abc import Iterator

    from app.db import committing, read_session, write_session
    from app.main import create_app

    def _read() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    def _write() -> Iterator[Session]:
        with committing(engine) as session:
            yield session

    app = create_app()
    app.state.snapshots = snapshots
    app.dependency_overrides[read_session] = _read
    app.dependency_overrides[write_session] = _write
    return app
