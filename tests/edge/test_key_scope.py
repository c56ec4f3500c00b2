"""`catalogue keys create` makes no key whose scope names nothing: a department the
directory does not hold or a region prefix no region has is refused in plain words, with a
non-zero exit and no key; the README's example department exists. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.directory.models import Department
from app.security import ApiKey
from tests.helpers import ROOT, run_cli


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _keys(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(ApiKey.name)))


def test_a_key_for_an_unknown_department_or_region_is_refused(own_engine: Engine) -> None:
    url = _url(own_engine)
    unknown = run_cli(
        url, "keys", "create", "--role", "editor", "--name", "typo",
        "--department", "11230100MB0000001X",
    )  # fmt: skip
    assert unknown.returncode != 0 and unknown.stdout == ""
    assert "no department with the credit code 11230100MB0000001X" in unknown.stderr

    nowhere = run_cli(
        url, "keys", "create", "--role", "reviewer", "--name", "typo", "--region", "239999"
    )
    assert nowhere.returncode != 0 and nowhere.stdout == ""
    assert "no region has a code starting with 239999" in nowhere.stderr
    assert _keys(own_engine) == []

    # the README's example: a department of the sample catalogue, and a region prefix
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"--role editor --name (\S+) --department (\S+)", readme)
    assert example is not None
    with Session(own_engine) as session:
        assert session.get(Department, example[2]) is not None
    made = run_cli(url, "keys", "create", "--role", "editor", "--name", example[1],
                   "--department", example[2], "--region", "2301")  # fmt: skip
    assert made.returncode == 0, made.stderr
    listed = json.loads(run_cli(url, "keys", "list").stdout)
    assert (listed["name"], listed["departments"]) == (example[1], [example[2]])
