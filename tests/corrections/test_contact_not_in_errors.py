"""A database error never carries a citizen's contact into the log: a failed statement's
message leaves its parameters out (app.db), and what PostgreSQL's DETAIL echoes of the row
("Failing row contains (…)") is cut by the log's formatter, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from app.corrections.models import Correction
from app.dbtypes import utcnow
from app.observability import JsonFormatter

CONTACT = "13912345678 someone@example.cn"


def _row(**changes: object) -> dict[str, object]:
    return {
        "ticket": "duplicate-ticket-for-the-test",
        "item_code": "X",
        "department_code": "X",
        "region_code": "230100",
        "text": "窗口电话打不通",
        "contact": CONTACT,
        "status": "new",
        "created_at": utcnow(),
        **changes,
    }


def _logged(exc: BaseException) -> str:
    """The line the app's log writes for ``exc`` (its JSON formatter, traceback included)."""
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "failed: %s", (exc,),
                               (type(exc), exc, exc.__traceback__))  # fmt: skip
    return JsonFormatter().format(record)


def test_failed_inserts_do_not_show_the_contact(engine: Engine) -> None:
    failures = []
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(insert(Correction), _row())
        for row in (_row(), _row(ticket="another-ticket", text=None)):  # unique, not null
            nested = conn.begin_nested()
            with pytest.raises(IntegrityError) as failed:
                conn.execute(insert(Correction), row)
            nested.rollback()
            failures.append(failed.value)
        tx.rollback()
    for exc in failures:
        assert "parameters hidden" in str(exc)  # the statement's parameters: never shown
        line = _logged(exc)
        assert json.loads(line)["level"] == "error"
        assert CONTACT not in line and "13912345678" not in line, line
        print(line[:300], file=sys.stderr)
