"""The 清单 workbook as a clerk opens it: a title and 序号, the header frozen and filtered,
coded columns offering their code list, text of several lines wrapped, printed landscape
one page wide with the header on every page, 更新时间 in the province's time, and the
guide's lists (办理流程, 办理窗口, 咨询方式, 常见问题…) as sheets of their own, a column a
field — no JSON in a cell but the catch-all 其他(JSON)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from app import clock
from tests.helpers import API

REGION = "230100"


def _items(client: TestClient) -> list[dict[str, Any]]:
    listed = client.get(f"{API}/items", params={"region": REGION, "limit": 1000}).json()
    return [client.get(f"{API}/items/{i['code']}").json() for i in listed["items"]]


def test_the_workbook_is_one_a_clerk_filters_and_prints(client: TestClient) -> None:
    got = client.get(f"{API}/exports/items.xlsx", params={"region": REGION})
    assert got.status_code == 200, got.text
    book = load_workbook(io.BytesIO(got.content))
    items = _items(client)
    sheet = book["事项"]
    assert str(sheet["A1"].value).startswith("政务服务事项实施清单")
    header = [c.value for c in sheet[2]]
    assert header[:3] == ["序号", "实施编码", "版本"]
    assert [sheet.cell(r, 1).value for r in range(3, 3 + len(items))] == list(
        range(1, len(items) + 1)
    )
    assert sheet.freeze_panes == "C3"
    assert sheet.auto_filter.ref.startswith("A2:")
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$2"

    # a coded column offers its code list, kept on the hidden sheet 代码表
    column = header.index("事项类型") + 1
    letter = sheet.cell(2, column).column_letter
    (check,) = [v for v in sheet.data_validations.dataValidation if letter in str(v.sqref)]
    assert check.type == "list" and "代码表" in check.formula1
    codes = book["代码表"]
    assert codes.sheet_state == "hidden"
    offered = [
        c.value for c in codes[check.formula1.split("!")[1].replace("$", "").split(":")[0][0]]
    ]
    assert "01 行政许可" in offered

    # 更新时间 as the province's clock reads it; text of several lines wrapped
    by_code = {sheet.cell(r, 2).value: r for r in range(3, 3 + len(items))}
    item = items[0]
    row = by_code[item["code"]]
    local = datetime.fromisoformat(item["updated_at"]).astimezone(clock.zone())
    assert sheet.cell(row, header.index("更新时间") + 1).value == local.strftime("%Y-%m-%d %H:%M")
    several = [
        sheet.cell(by_code[i["code"]], header.index("受理条件") + 1)
        for i in items
        if len(i["guide"].get("conditions") or []) > 1
    ]
    assert several and all(c.alignment.wrap_text for c in several)

    # no JSON in any cell but the catch-all columns
    for ws in book:
        if ws.title == "代码表":
            continue
        others = (
            [c.value for c in ws[2]].index("其他(JSON)")
            if "其他(JSON)" in [c.value for c in ws[2]]
            else -1
        )
        for r in ws.iter_rows(min_row=3, values_only=True):
            cells = [v for i, v in enumerate(r) if i != others]
            assert not [v for v in cells if isinstance(v, str) and v.startswith(("[{", '{"'))]


def test_the_guides_lists_are_sheets_of_their_own(client: TestClient) -> None:
    got = client.get(f"{API}/exports/items.xlsx", params={"region": REGION})
    book = load_workbook(io.BytesIO(got.content), read_only=True)
    assert {"办理流程", "办理窗口", "咨询方式", "监督投诉方式", "常见问题"} <= set(book.sheetnames)
    items = {i["code"]: i for i in _items(client)}
    rows = list(book["办理窗口"].iter_rows(min_row=2, values_only=True))
    header = list(rows[0])
    assert header[:5] == ["序号", "实施编码", "事项名称", "窗口名称", "办理地点"]
    windows: dict[str, list[dict[str, Any]]] = {}
    for r in rows[1:]:
        windows.setdefault(r[1], []).append(dict(zip(header, r, strict=False)))
    for code, item in items.items():
        mine = windows.get(code, [])
        assert [w["窗口名称"] for w in mine] == [w["name"] for w in item["guide"]["windows"]]
        assert [w["联系电话"] for w in mine] == [w["phone"] for w in item["guide"]["windows"]]
    faq = list(book["常见问题"].iter_rows(min_row=2, values_only=True))
    assert faq[0][3:5] == ("问题", "解答")
    asked = [q for i in items.values() for q in i["guide"].get("faq") or []]
    assert [(r[3], r[4]) for r in faq[1:]] == [(q["question"], q["answer"]) for q in asked]
    # and the same sheet as CSV
    csv_text = client.get(
        f"{API}/exports/items.csv", params={"region": REGION, "sheet": "windows"}
    ).text
    assert csv_text.lstrip("\ufeff").startswith("实施编码,事项名称,窗口名称,办理地点")
