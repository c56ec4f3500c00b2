"""`catalogue import`: JSON, NDJSON, CSV and XLSX through the bulk path, with a report."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.catalogue.documents import item_input
from app.catalogue.models import Implementation
from app.catalogue.reads import SessionSnapshots, get_item_json
from app.codes.rules import implementation_code
from app.directory.models import Department
from tests.conftest import build_database
from tests.helpers import run_cli


def new_bodies(session: Session, n: int) -> list[dict[str, Any]]:
    first = session.execute(select(Implementation).order_by(Implementation.code)).scalars().first()
    template = item_input(orjson.loads(get_item_json(SessionSnapshots(session), first.code)[1]))
    out = []
    for dept in session.execute(
        select(Department).where(Department.level == "4").order_by(Department.credit_code)
    ).scalars():
        if (
            session.get(
                Implementation, implementation_code(dept.credit_code, "4", first.basic_code)
            )
            is None
        ):
            body = json.loads(json.dumps(template))
            body.update(
                code=None,
                department=dept.credit_code,
                region=dept.region_code,
                level="4",
                local_code=f"LOCAL-{len(out)}",
            )
            for row in body["materials"] + body["fees"]:
                row["code"] = None
            out.append(body)
            if len(out) == n:
                return out
    raise AssertionError("not enough free departments")


def write(path: Path, fmt: str, rows: list[dict[str, Any]]) -> None:
    if fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif fmt == "ndjson":
        path.write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8"
        )
    else:
        header = sorted({k for r in rows for k in r})
        table = [
            [
                json.dumps(r[h], ensure_ascii=False)
                if isinstance(r.get(h), (dict, list))
                else r.get(h)
                for h in header
            ]
            for r in rows
        ]
        if fmt == "csv":
            with path.open("w", encoding="utf-8", newline="") as f:
                csv.writer(f).writerows([header, *table])
        else:
            from openpyxl import Workbook

            book = Workbook()
            book.active.append(header)
            for line in table:
                book.active.append(line)
            book.save(path)


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "xlsx"])
def test_import_applies_good_rows_and_reports_bad_ones(fmt: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/import.db"
    engine = build_database(url)
    with Session(engine) as session:
        rows = new_bodies(session, 3)
    rows[1]["region"] = "239999"  # the bad one
    path = tmp_path / f"items.{fmt}"
    write(path, fmt, rows)
    report = tmp_path / "report.csv"
    proc = run_cli(url, "import", str(path), "--source", "harbin-platform", "--report", str(report))
    assert proc.returncode == 2, proc.stderr
    assert "2 created" in proc.stdout and "1 rejected" in proc.stdout
    lines = list(csv.DictReader(report.open(encoding="utf-8")))
    first_row = 1 if fmt in ("json", "ndjson") else 2
    assert lines == [
        {
            "sheet": "",
            "row": str(first_row + 1),
            "column": "",
            "text": f"第 {first_row + 1} 行：「行政区划」：没有行政区划 239999",
            "field": "region",
            "rule": "region_code.unknown",
            "message": lines[0]["message"],
        }
    ]
    with Session(engine) as session:
        for i in (0, 2):
            code = implementation_code(rows[i]["department"], "4", rows[i]["basic_code"])
            item = session.get(Implementation, code)
            assert (
                item is not None
                and item.local_code == f"LOCAL-{i}"
                and item.source_system == "harbin-platform"
            )
        assert (
            session.get(
                Implementation,
                implementation_code(rows[1]["department"], "4", rows[1]["basic_code"]),
            )
            is None
        )
    engine.dispose()
