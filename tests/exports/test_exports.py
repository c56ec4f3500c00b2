"""GET /exports/items.xlsx|items.csv and `catalogue export`: the 清单 layout (Chinese
headers, labels beside codes, materials and fees in their own sheets), the filters of
GET /items with its 422s, no personal data, and the round trip through `catalogue import`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.security import region_prefix
from app.versionlog import RecordVersion
from tests.conftest import app_on
from tests.helpers import API, run_cli

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ITEM_HEADERS_START = ["实施编码", "版本", "基本编码", "事项名称", "事项类型", "业务领域"]


def listed(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    """Every item GET /items lists with these filters."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        resp = client.get(f"{API}/items", params={**params, "limit": 1000, "cursor": cursor})
        assert resp.status_code == 200, resp.text
        out += resp.json()["items"]
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            return out


TITLES = {"事项": "政务服务事项实施清单"}


def workbook(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    """Each sheet of the layout as its header and rows, without the title above and 序号."""
    book = load_workbook(io.BytesIO(content), read_only=True)
    out = {}
    for ws in book:
        if ws.sheet_state == "hidden":
            continue
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0].startswith(TITLES.get(ws.title, ws.title)), rows[0]
        assert rows[1][0] == "序号"
        rows = rows[1:]
        width = len(rows[0])  # a read-only sheet leaves out the empty cells that end a row
        out[ws.title] = [(tuple(r) + (None,) * (width - len(r)))[1:] for r in rows]
    return out


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def labels(client: TestClient, name: str) -> dict[str, str]:
    resp = client.get(f"{API}/code-lists/{name}")
    assert resp.status_code == 200, resp.text
    return {r["code"]: r["label"] for r in resp.json()["codes"]}


def test_the_workbook_holds_every_item_its_materials_and_fees_with_labels(
    client: TestClient,
) -> None:
    resp = client.get(f"{API}/exports/items.xlsx")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == XLSX
    assert 'filename="items.xlsx"' in resp.headers["content-disposition"]
    sheets = workbook(resp.content)
    assert list(sheets)[:3] == ["事项", "申请材料", "收费项目"]
    items, materials, fees = sheets["事项"], sheets["申请材料"], sheets["收费项目"]
    assert list(items[0][:6]) == ITEM_HEADERS_START
    header = list(items[0])
    by_code = {row[0]: dict(zip(header, row, strict=True)) for row in items[1:]}
    expected = listed(client)
    assert list(by_code) == [i["code"] for i in expected]  # one row per implementation

    # a row says what GET /items/{code} says, each code with its label beside it
    types, levels = labels(client, "item_types"), labels(client, "levels")
    code = expected[0]["code"]
    item = client.get(f"{API}/items/{code}").json()
    row = by_code[code]
    assert row["事项名称"] == item["name"] and row["版本"] == item["version"]
    assert row["事项类型"] == f"{item['item_type']} {types[item['item_type']]}"  # 01 行政许可
    assert row["行使层级"] == f"{item['level']} {levels[item['level']]}"
    assert row["实施主体"] == item["department"]["name"]
    assert row["实施主体编码"] == item["department"]["code"]
    assert row["受理条件"] == "\n".join(item["guide"]["conditions"])
    assert row["是否网办"] == ("是" if item["guide"]["online"]["available"] else "否")

    # materials and fees: a row each, keyed by 实施编码 + their own code, in the item's order
    m_header = list(materials[0])
    assert m_header[:4] == ["实施编码", "事项名称", "材料编码", "材料名称"]
    mine = [dict(zip(m_header, r, strict=True)) for r in materials[1:] if r[0] == code]
    assert [m["材料编码"] for m in mine] == [m["code"] for m in item["materials"]]
    necessity = labels(client, "material_necessity")
    first = item["materials"][0]
    assert mine[0]["必要性"] == f"{first['necessity']} {necessity[first['necessity']]}"
    assert all(r[2].startswith(r[0]) for r in materials[1:])
    assert list(fees[0][:4]) == ["实施编码", "事项名称", "收费编码", "收费项目名称"]
    with_fees = [i for i in expected if client.get(f"{API}/items/{i['code']}").json()["fees"]]
    assert {r[0] for r in fees[1:]} == {i["code"] for i in with_fees}


def test_the_csv_is_a_sheet_of_the_workbook(client: TestClient) -> None:
    region = "230100"
    book = workbook(client.get(f"{API}/exports/items.xlsx", params={"region": region}).content)
    for sheet, title in (("items", "事项"), ("materials", "申请材料"), ("fees", "收费项目")):
        resp = client.get(f"{API}/exports/items.csv", params={"region": region, "sheet": sheet})
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/csv")
        rows = csv_rows(resp.content)
        as_text = [["" if v is None else str(v) for v in r] for r in book[title]]
        assert rows == as_text, sheet
    items = csv_rows(client.get(f"{API}/exports/items.csv").content)
    assert items[0][:6] == ITEM_HEADERS_START
    assert "01 行政许可" in {r[4] for r in items[1:]}


@pytest.mark.parametrize(
    "params",
    [{"region": "230100"}, {"region": "230000"}, {"department": None}, {"status": "2"}],
)
def test_the_filters_are_those_of_the_item_list(client: TestClient, params: dict[str, Any]) -> None:
    if "department" in params:
        params = {"department": listed(client)[0]["department"]}
    rows = csv_rows(client.get(f"{API}/exports/items.csv", params=params).content)
    header = rows[0]
    codes = [r[0] for r in rows[1:]]
    assert codes == [i["code"] for i in listed(client, **params)]
    if "region" in params:
        assert codes and all(
            r[header.index("行政区划代码")].startswith(region_prefix(params["region"]))
            for r in rows[1:]
        )
    if "department" in params:
        assert codes and {r[header.index("实施主体编码")] for r in rows[1:]} == {
            params["department"]
        }
    if params.get("status") == "2":
        assert codes == []  # none suspended in the seed: a header and no rows


EXPORTS = ["items.xlsx", "items.csv", "cpsv-ap.jsonld", "hsds.json"]


@pytest.mark.parametrize("export", EXPORTS)
def test_a_filter_that_names_nothing_is_422_with_its_field(client: TestClient, export: str) -> None:
    resp = client.get(
        f"{API}/exports/{export}",
        params={"region": "999999", "department": "91230100MA1B2C3D4E", "status": "9"},
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    found = {(tuple(e["loc"]), e["type"]) for e in resp.json()["errors"]}
    assert found == {
        (("query", "region"), "region_code.unknown"),
        (("query", "department"), "department.unknown"),
        (("query", "status"), "code_list.item_statuses"),
    }


def test_an_unknown_sheet_is_422(client: TestClient) -> None:
    resp = client.get(f"{API}/exports/items.csv", params={"sheet": "remarks"})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["query", "sheet"]


def test_the_openapi_document_names_each_export_media_type(client: TestClient) -> None:
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    media = {
        "items.xlsx": XLSX,
        "items.csv": "text/csv",
        "cpsv-ap.jsonld": "application/ld+json",
        "hsds.json": "application/json",
    }
    for name, media_type in media.items():
        operation = paths[f"{API}/exports/{name}"]["get"]
        assert media_type in operation["responses"]["200"]["content"], name
        assert "security" not in operation  # public: no key
        assert "422" in operation["responses"]


def test_a_citizens_correction_contact_is_in_no_export(client: TestClient) -> None:
    code = listed(client, region="230100")[0]["code"]
    contact = "13912345678 zhang.san@example.com"
    resp = client.post(
        f"{API}/items/{code}/corrections",
        json={"text": "窗口电话打不通", "field": "guide.windows.0.phone", "contact": contact},
    )
    assert resp.status_code == 201, resp.text
    for export in EXPORTS:
        content = client.get(f"{API}/exports/{export}", params={"region": "230100"}).content
        if export.endswith(".xlsx"):
            text = json.dumps(workbook(content), ensure_ascii=False, default=str)
        else:
            text = content.decode("utf-8")
        assert code in text, export
        assert "13912345678" not in text and "zhang.san" not in text, export
        assert "窗口电话打不通" not in text, export
    for sheet in ("materials", "fees"):
        text = client.get(f"{API}/exports/items.csv", params={"sheet": sheet}).text
        assert "13912345678" not in text


# --- the round trip (committed writes: a database of its own) -------------------------


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _versions(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return dict(
            session.execute(
                select(RecordVersion.code, func.max(RecordVersion.version))
                .where(RecordVersion.kind == "item")
                .group_by(RecordVersion.code)
            ).all()
        )


def test_an_exported_workbook_edited_in_one_cell_updates_that_item_only(
    own_engine: Engine, tmp_path: Path
) -> None:
    url = _url(own_engine)
    path = tmp_path / "清单.xlsx"
    done = run_cli(url, "export", "--format", "xlsx", "--out", str(path))
    assert done.returncode == 0, done.stderr
    before = _versions(own_engine)
    assert f"exported {len(before)} implementations" in done.stderr

    # the same file again: nothing changes
    again = run_cli(url, "import", str(path))
    assert again.returncode == 0, again.stderr
    assert f"0 created, 0 updated, {len(before)} unchanged, 0 in conflict, 0 rejected" in (
        again.stdout
    )
    assert _versions(own_engine) == before

    # a clerk edits one cell (承诺办结时限说明 of the third item) and imports it
    book = load_workbook(path)
    sheet = book["事项"]
    header = [c.value for c in sheet[2]]  # under the title
    row = 5
    code = sheet.cell(row, header.index("实施编码") + 1).value
    sheet.cell(row, header.index("承诺办结时限说明") + 1).value = "自受理之日起5个工作日内办结"
    book.save(path)
    edited = run_cli(url, "import", str(path))
    assert edited.returncode == 0, edited.stderr
    assert f"0 created, 1 updated, {len(before) - 1} unchanged" in edited.stdout
    after = _versions(own_engine)
    assert after == {**before, code: before[code] + 1}  # exactly one new version
    with TestClient(app_on(Session(own_engine))) as client:
        item = client.get(f"{API}/items/{code}").json()
    assert item["guide"]["promised_time_limit"]["note"] == "自受理之日起5个工作日内办结"

    # the workbook says which version it shows: the same edit on the old file conflicts,
    # and a 四级四同 name (the catalogue entry's) is refused, row by row
    sheet.cell(row + 1, header.index("事项名称") + 1).value = "改过的名称"
    book.save(path)
    report = tmp_path / "report.csv"
    stale = run_cli(url, "import", str(path), "--report", str(report))
    assert stale.returncode == 2, stale.stderr
    assert "1 in conflict, 1 rejected" in stale.stdout
    assert _versions(own_engine) == after


def test_a_label_typed_by_hand_is_read_as_its_code(own_engine: Engine, tmp_path: Path) -> None:
    url = _url(own_engine)
    path = tmp_path / "items.xlsx"
    # the workbook the endpoint serves, in-process: `catalogue export` writes the same (the
    # round trip above runs it) and costs seconds of imports; the import is checked here
    with Session(own_engine) as session, TestClient(app_on(session)) as client:
        exported = client.get(f"{API}/exports/items.xlsx", params={"region": "230100"})
    assert exported.status_code == 200, exported.text
    path.write_bytes(exported.content)
    book = load_workbook(path)
    sheet = book["事项"]
    header = [c.value for c in sheet[2]]  # under the title
    column = header.index("办件类型") + 1
    code = sheet.cell(3, header.index("实施编码") + 1).value
    now = str(sheet.cell(3, column).value)
    other = "即办件" if now.startswith("2") else "承诺件"  # the label alone
    sheet.cell(3, column).value = other
    sheet.cell(4, column).value = "1 承诺件"  # code and label disagree: refused
    book.save(path)
    done = run_cli(url, "import", str(path), "--report", str(tmp_path / "r.csv"))
    assert "1 updated" in done.stdout and "1 rejected" in done.stdout, done.stdout + done.stderr
    lines = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert [(line["row"], line["field"], line["rule"]) for line in lines] == [
        ("4", "case_type", "code_list.case_types")
    ]
    with TestClient(app_on(Session(own_engine))) as client:
        item = client.get(f"{API}/items/{code}").json()
    assert item["case_type"] == ("1" if other == "即办件" else "2")


def test_the_command_writes_what_the_endpoint_serves(own_engine: Engine, tmp_path: Path) -> None:
    url = _url(own_engine)
    with TestClient(app_on(Session(own_engine))) as client:
        served = client.get(f"{API}/exports/items.csv", params={"region": "230600"}).content
        fees = client.get(f"{API}/exports/items.csv", params={"sheet": "fees"}).content
    out = tmp_path / "items.csv"
    done = run_cli(url, "export", "--format", "csv", "--region", "230600", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == served
    stdout = run_cli(url, "export", "--format", "csv", "--sheet", "fees")
    assert stdout.stdout == fees.decode().replace("\r\n", "\n")  # stdout read as text
    bad = run_cli(url, "export", "--format", "csv", "--region", "999999")
    assert bad.returncode == 2 and "region_code.unknown" in bad.stderr
    refused = run_cli(url, "import", str(out))
    assert refused.returncode == 1 and "import the exported XLSX" in refused.stderr
