"""A database error never carries a citizen's contact: a failed statement's message (what
the log and the CLI show) leaves its parameters out, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from app.corrections.models import Correction
from app.dbtypes import utcnow

CONTACT = "13912345678 someone@example.cn"


def test_a_failed_insert_does_not_show_the_contact(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    row = {
        "ticket": "duplicate-ticket-for-the-test",
        "item_code": "X",
        "department_code": "X",
        "region_code": "230100",
        "text": "窗口电话打不通",
        "contact": CONTACT,
        "status": "new",
        "created_at": utcnow(),
    }
    caplog.set_level(logging.DEBUG)
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(insert(Correction), row)
        with pytest.raises(IntegrityError) as failed:
            conn.execute(insert(Correction), row)  # the ticket is unique
        tx.rollback()
    assert "duplicate-ticket" not in str(failed.value)  # no parameter at all
    assert CONTACT not in str(failed.value) and CONTACT not in repr(failed.value)
    assert CONTACT not in caplog.text
