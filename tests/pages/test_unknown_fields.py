"""What a citizen reads of an item 待完善 (imported from the 广安区 listing without a guide) is
true: every page and the checklist answer, and an unknown part reads 未公布 with the way to
correct it, never None, 0 元, 否, 不收费, 不能网上办理 or 最多跑 次.

The items are the attributed sample of the real list (tests/data/items_guangan_sample.json),
imported as an operator does (`catalogue import`), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session

from app import clock
from app.catalogue.situations import Situations
from tests.conftest import _postgres_database, app_on, build_database
from tests.helpers import API, run_cli

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "items_guangan_sample.json"
GUANGAN = "511602"
#: what a page must not say of a part it does not know
FALSE_CLAIMS = ("None", "0 元", "否", "不收费", "不能网上办理", "最多跑", "null", "undefined")


class _Text(HTMLParser):
    """The text a reader gets from a piece of a page (scripts and styles left out)."""

    BLOCKS = {"p", "li", "dt", "dd", "h1", "h2", "h3", "tr", "td", "th", "div", "br", "section"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip += tag in ("script", "style")
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def main_text(html: str) -> str:
    """The text of the page's ``<main>``."""
    found = re.search(r"<main\b.*?</main>", html, re.S)
    assert found, html[:500]
    return text_of(found.group(0))


def section_text(html: str, section_id: str) -> str:
    """The text of ``<section id=…>`` (the guide's sections do not nest)."""
    found = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert found, section_id
    return text_of(found.group(0))


def line_after(text: str, label: str) -> str:
    """The line that follows the line ``label`` (a <dt> and its <dd>, a heading and its text)."""
    lines = text.splitlines()
    return lines[lines.index(label) + 1]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def guangan(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A seeded database with the sample of the 广安区 listing imported."""
    urls = (
        iter([f"sqlite:///{tmp_path_factory.mktemp('guangan') / 'guangan.db'}"])
        if request.param == "sqlite"
        else _postgres_database()
    )
    url = next(urls)
    engine = build_database(url)
    try:
        done = run_cli(url, "import", str(SAMPLE))
        assert "161 created" in done.stdout, done.stdout + done.stderr
        yield engine
    finally:
        engine.dispose()
        for _ in urls:  # drops the PostgreSQL database
            pass


@pytest.fixture(scope="module")
def client(guangan: Engine) -> Iterator[TestClient]:
    with Session(guangan) as session, TestClient(app_on(session)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def incomplete(client: TestClient) -> list[dict[str, Any]]:
    """Every item 待完善 of 广安区 the sample gives."""
    body = client.get(f"{API}/items", params={"region": GUANGAN, "status": "7", "limit": 1000})
    items = body.json()["items"]
    assert len(items) == 161 and body.json()["next_cursor"] is None
    return items


@pytest.fixture(scope="module")
def police(incomplete: list[dict[str, Any]]) -> str:
    """第二类易制毒化学品运输许可 of 区公安分局, as the listing gives it: no guide, no materials."""
    (code,) = [i["code"] for i in incomplete if i["name"] == "第二类易制毒化学品运输许可"]
    return code


def assert_no_false_claim(text: str, where: str) -> None:
    for claim in FALSE_CLAIMS:
        assert claim not in text, f"{where} says {claim!r}:\n{text}"


def test_the_item_page_shows_unknown_as_unknown(client: TestClient, police: str) -> None:
    resp = client.get(f"/items/{police}")
    assert resp.status_code == 200
    text = main_text(resp.text)
    assert_no_false_claim(text, "the item page")
    assert "办事指南待完善" in text and "本事项由四川省广安市广安区公安分局办理" in text
    unknown = "未公布（我要纠错：{}）"
    for label in ("法定办结时限", "承诺办结时限", "办件类型", "权力来源", "服务对象"):
        assert line_after(text, label) == unknown.format(label), label
    assert section_text(resp.text, "fees") == "收费\n" + unknown.format("收费")
    assert section_text(resp.text, "where") == "到哪里办\n" + unknown.format("到哪里办")
    assert section_text(resp.text, "how").splitlines() == [
        "怎么办",
        "办理流程",
        unknown.format("办理流程"),
        "网上办理",
        unknown.format("网上办理"),
        "到现场次数：" + unknown.format("到现场次数"),
    ]
    assert section_text(resp.text, "materials") == "申请材料\n" + unknown.format("申请材料")
    for heading in ("受理条件", "设定依据"):
        assert line_after(text, heading) == unknown.format(heading), heading
    # every 未公布 leads to the correction form of this item
    assert resp.text.count(f'href="/items/{police}/correction"') >= text.count("未公布")


def test_the_checklist_page_and_its_print_view(client: TestClient, police: str) -> None:
    resp = client.get(f"/items/{police}/checklist")
    assert resp.status_code == 200  # was a 500: the page read a guide that is not there
    text = main_text(resp.text)
    assert_no_false_claim(text, "the checklist page")
    assert "本事项不区分情形" not in text  # unknown whether it has situations
    assert line_after(text, "需要带的材料") == "未公布（我要纠错：申请材料）"
    assert line_after(text, "需要缴纳的费用") == "未公布（我要纠错：收费）"
    for said in (
        "承诺办结时限：未公布",
        "法定办结时限：未公布",
        "办理窗口：未公布",
        "网上办理：未公布",
        "到现场次数：未公布",
    ):
        assert said in text, said
    # printed (the same page, its print styles): the correction links are not printed
    assert 'class="no-print"' in resp.text and "打印清单" in text


def test_the_history_correction_and_dated_pages(client: TestClient, police: str) -> None:
    resp = client.get(f"/items/{police}/history")
    assert resp.status_code == 200
    text = main_text(resp.text)
    assert_no_false_claim(text, "the history page")
    assert "第二类易制毒化学品运输许可：历史版本" in text and "版本 1" in text
    correction = client.get(f"/items/{police}/correction")
    assert correction.status_code == 200
    assert_no_false_claim(main_text(correction.text), "the correction form")
    # the guide as of a day (read from the log, not the kept page) says the same
    dated = client.get(f"/items/{police}", params={"as_of": clock.today().isoformat()})
    assert dated.status_code == 200
    assert_no_false_claim(main_text(dated.text), "the dated guide")
    assert "未公布（我要纠错：收费）" in section_text(dated.text, "fees")


def test_english_pages_say_not_published(client: TestClient, police: str) -> None:
    text = main_text(client.get(f"/items/{police}", params={"lang": "en"}).text)
    client.cookies.clear()  # ?lang= is remembered: the other tests read Chinese
    assert "Not published" in text and "This guide is incomplete" in text
    for claim in ("None", "Free of charge", "Not available online", "At most"):
        assert claim not in text, claim


def test_the_checklist_api_says_fees_are_unknown(client: TestClient, police: str) -> None:
    resp = client.post(f"{API}/items/{police}/checklist", json={"answers": {}})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["fee_total"] is None and body["fees"] == [] and body["materials"] == []
    assert body["unknown"] == [
        "materials",
        "fees",
        "legal_time_limit",
        "promised_time_limit",
        "process",
        "windows",
        "online",
        "visits",
    ]


def test_every_incomplete_item_of_the_sample_reads(
    client: TestClient, incomplete: list[dict[str, Any]]
) -> None:
    for item in incomplete:
        code = item["code"]
        for path in (f"/items/{code}", f"/items/{code}/checklist"):
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.status_code)
            assert_no_false_claim(main_text(resp.text), path)
        api = client.post(f"{API}/items/{code}/checklist", json={"answers": {}})
        assert api.status_code == 200 and api.json()["fee_total"] is None, code


def test_a_complete_item_without_fees_still_reads_free(client: TestClient) -> None:
    """The rule is "unknown is unknown", not "never say 不收费": a guide that says it charges
    nothing reads 不收费 and its checklist totals 0 元."""
    items = client.get(f"{API}/items", params={"limit": 200}).json()["items"]
    for item in items:
        doc = client.get(f"{API}/items/{item['code']}").json()
        if doc["guide"] and not doc["fees"] and not doc["guide"]["charges_fee"]:
            break
    else:
        pytest.fail("the seed has no item free of charge")
    assert section_text(client.get(f"/items/{doc['code']}").text, "fees") == "收费\n不收费"
    first = Situations(doc["guide"].get("situations") or []).combinations()[0]
    answers = {question: list(options) for question, options in first.items()}
    body = client.post(f"{API}/items/{doc['code']}/checklist", json={"answers": answers}).json()
    assert body.get("fee_total") == 0 and "fees" not in body.get("unknown", [])


def _row_of(rows: list[list[Any]], code: str) -> dict[str, Any]:
    """The item's row by its sheet's header (the first row naming 实施编码; a title may
    come before it)."""
    header_at = next(
        i for i, r in enumerate(rows) if "实施编码" in [str(v).lstrip("\ufeff") for v in r]
    )
    header = [str(h).lstrip("\ufeff") for h in rows[header_at]]
    (row,) = [r for r in rows[header_at + 1 :] if code in r]
    return dict(zip(header, row, strict=False))


def test_exports_leave_unknown_cells_empty(client: TestClient, police: str) -> None:
    """The workbook and the CSV hold an unknown as an empty cell (what an import reads back as
    "not given"), never 否, 0 or None; CPSV-AP and HSDS state no cost and no channel."""
    params = {"region": GUANGAN, "status": "7"}
    csv_text = client.get(f"{API}/exports/items.csv", params=params).text
    book = load_workbook(
        io.BytesIO(client.get(f"{API}/exports/items.xlsx", params=params).content),
        read_only=True,
    )
    xlsx_rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    unknown = ("办件类型", "法定办结时限", "承诺办结时限", "是否网办", "到办事现场次数")
    unknown += ("是否收费", "受理条件", "办理流程", "办理窗口", "权力来源", "服务对象")
    for name, row in (
        ("csv", _row_of(list(csv.reader(io.StringIO(csv_text))), police)),
        ("xlsx", _row_of(xlsx_rows, police)),
    ):
        assert row["事项状态"] == "7 待完善", name
        present = [column for column in unknown if column in row]
        assert len(present) >= 6, (name, list(row))  # the others may have sheets of their own
        for column in present:
            assert row[column] in ("", None), (name, column, row[column])
        assert not any(str(v) in ("None", "否", "0") for v in row.values() if v is not None), name
    hsds = client.get(f"{API}/exports/hsds.json", params=params).json()
    (service,) = [s for s in hsds["service"] if s["alternate_name"] == police]
    assert not any(c["service_id"] == service["id"] for c in hsds["cost_option"])
    assert "不收费" not in json.dumps(service, ensure_ascii=False)
    cpsv = client.get(f"{API}/exports/cpsv-ap.jsonld", params=params).json()
    (node,) = [n for n in cpsv["@graph"] if n.get("dct:identifier") == police]
    assert node["cv:hasCost"] == [] and node["cv:hasChannel"] == []
    assert not re.search(r"None|不收费", json.dumps(node, ensure_ascii=False))
