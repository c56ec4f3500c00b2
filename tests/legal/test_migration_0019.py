"""Migration 0019 (legal bases, their tasks, material files) goes up and down on SQLite
and PostgreSQL, and the tables it makes hold what the models write."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlmodel import Session

from app.db import normalise_url
from app.files.models import StoredFile
from app.legal.models import LegalBasis, LegalBasisTask
from app.migrate import downgrade, upgrade
from tests.conftest import _postgres_database

TABLES = {"legal_basis", "legal_basis_task", "stored_file"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0019_up_and_down(backend: str, tmp_path: Path) -> None:
    databases = (
        iter([f"sqlite:///{tmp_path}/m.db"]) if backend == "sqlite" else _postgres_database()
    )
    url = next(databases)
    try:
        upgrade(url, "0019")
        engine = create_engine(normalise_url(url))
        assert set(inspect(engine).get_table_names()) >= TABLES
        assert {"ix_legal_basis_task_department", "ix_legal_basis_task_item_code"} <= {
            i["name"] for i in inspect(engine).get_indexes("legal_basis_task")
        }
        with Session(engine) as session:
            basis = LegalBasis(title="《中华人民共和国护照法》", issued_on=date(2006, 4, 29))
            session.add(basis)
            session.flush()
            session.add(
                LegalBasisTask(
                    legal_basis_id=basis.id or 0,
                    legal_basis_version=1,
                    item_code="1" * 31,
                    department_code="1" * 18,
                    region_code="230000",
                    reason="repealed",
                )
            )
            session.add(
                StoredFile(
                    sha256="a" * 64, name="表.pdf", media_type="application/pdf", size=5,
                    data=b"%PDF-",
                )
            )  # fmt: skip
            session.commit()
            assert bytes(session.get(StoredFile, "a" * 64).data) == b"%PDF-"  # type: ignore[union-attr]
        engine.dispose()
        downgrade(url, "0018")
        engine = create_engine(normalise_url(url))
        assert not TABLES & set(inspect(engine).get_table_names())
        engine.dispose()
        upgrade(url, "0019")
        engine = create_engine(normalise_url(url))
        assert set(inspect(engine).get_table_names()) >= TABLES
        engine.dispose()
    finally:
        for _ in databases:  # drops the PostgreSQL database
            pass
