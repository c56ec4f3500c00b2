"""An import report an editor reads: an exported workbook edited with a renamed column, a
time limit in a unit the catalogue does not know and a material without its name. The
report has one line a fault, each naming the sheet, the row and the column's header and
saying what is wrong in Chinese; the renamed column is said once (not on every row it
empties), and the workbook is checked but not written. Through ``catalogue import
--report`` and through the API's job (GET /imports/{id})."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.security import create_key
from bench.common import server
from tests.conftest import app_on
from tests.helpers import API, run_cli

REGION = "230100"


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _versions(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT code, version FROM implementation")).all())  # type: ignore[arg-type]


def _edited(engine: Engine, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The region's workbook with the three faults; where each was made."""
    path = tmp_path / "清单.xlsx"
    # the workbook GET /exports/items.xlsx serves, in-process: `catalogue export` writes the
    # same (tests/exports/test_exports.py) and costs seconds of imports
    with Session(engine) as session:
        done = TestClient(app_on(session)).get(
            f"{API}/exports/items.xlsx", params={"region": REGION}
        )
    assert done.status_code == 200, done.text
    path.write_bytes(done.content)
    book = load_workbook(path)
    items = book["事项"]
    header = [c.value for c in items[2]]
    items.cell(2, header.index("办件类型") + 1).value = "办件种类"  # renamed
    limit = header.index("法定办结时限") + 1
    row = next(r for r in range(3, items.max_row + 1) if items.cell(r, limit).value)
    items.cell(row, limit).value = "20 工作周"
    materials = book["申请材料"]
    m_header = [c.value for c in materials[2]]
    m_row = 4
    materials.cell(m_row, m_header.index("材料名称") + 1).value = None
    book.save(path)
    return path, {"limit_row": row, "material_row": m_row}


def _check(lines: list[dict[str, Any]], at: dict[str, Any]) -> None:
    assert [(line["sheet"], str(line["row"]), line["column"]) for line in lines] == [
        ("事项", "2", "办件种类"),
        ("事项", str(at["limit_row"]), "法定办结时限"),
        ("申请材料", str(at["material_row"]), "材料名称"),
    ], lines
    header, limit, material = (line["text"] for line in lines)
    assert header.startswith("工作表「事项」第 2 行「办件种类」列：")
    assert "本表缺少：「办件类型」" in header and "未写入任何数据" in header
    assert limit.startswith(f"工作表「事项」第 {at['limit_row']} 行「法定办结时限」列：")
    assert "应为" in limit and "Input should" not in limit
    assert material.startswith(f"工作表「申请材料」第 {at['material_row']} 行「材料名称」列：")
    assert "请填写" in material


def test_the_command_reports_each_fault_where_the_editor_made_it(
    own_engine: Engine, tmp_path: Path
) -> None:
    path, at = _edited(own_engine, tmp_path)
    before = _versions(own_engine)
    report = tmp_path / "report.csv"
    done = run_cli(_url(own_engine), "import", str(path), "--report", str(report))
    assert "nothing was written" in done.stderr, done.stdout + done.stderr
    lines = list(csv.DictReader(report.open(encoding="utf-8")))
    _check(lines, at)
    assert _versions(own_engine) == before  # checked, not written


def test_the_api_job_says_the_same(own_engine: Engine, tmp_path: Path) -> None:
    path, at = _edited(own_engine, tmp_path)
    url = _url(own_engine)
    with Session(own_engine) as session:  # in-process: the key is not what is checked
        secret = create_key(session, name="clerk", role="admin")
        session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    with server(url) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        with path.open("rb") as f:
            sent = client.post(f"{API}/imports", headers=headers, files={"file": (path.name, f)})
        assert sent.status_code == 202, sent.text
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the job runs in the background: its status
            job = client.get(sent.headers["location"], headers=headers).json()
            if job["status"] not in ("queued", "running"):
                break
            time.sleep(0.2)
    assert job["status"] == "done", job
    _check(job["report"], at)
