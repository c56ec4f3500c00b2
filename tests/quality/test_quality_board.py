"""The board, the findings list and the export over the seed (SQLite and PostgreSQL): the
counts are those of the stored findings, bad filters are 422s naming the parameter, the
pages carry the charts as SVG (no script) with each bar a link to its list, and the edit
form and the worklist show an editor the item's findings."""

from __future__ import annotations

import copy
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from typer.testing import CliRunner

from app.quality.models import QualityFinding

CLEAN = "11230000MB0C73040R2000104001000"
DEPARTMENT = CLEAN[:18]


def count(session: Session, *where: Any) -> int:
    return session.execute(
        select(func.count()).select_from(QualityFinding).where(*where)
    ).scalar_one()


def test_the_board_counts_what_the_findings_store_holds(
    client: TestClient, session: Session
) -> None:
    board = client.get("/api/v1/quality").json()
    total = sum(board["by_severity"].values())
    assert total == count(session) > 0
    assert sum(r["count"] for r in board["by_rule"]) == total
    assert sum(d["items"] for d in board["departments"]) == board["items"]
    assert 0 <= board["score"] <= 100
    city = client.get("/api/v1/quality", params={"region": "230100"}).json()
    assert 0 < city["items"] < board["items"]
    assert {d["region"][:4] for d in city["departments"]} == {"2301"}
    rules = client.get("/api/v1/quality/rules").json()
    assert {"id", "standard", "severity", "title", "description", "fix"} <= set(rules[0])


@pytest.mark.parametrize(
    ("params", "loc", "rule"),
    [
        ({"rule": "X-NOPE"}, ["query", "rule"], "rule.unknown"),
        ({"severity": "fatal"}, ["query", "severity"], "severity.enum"),
        ({"region": "999999"}, ["query", "region"], "region_code.unknown"),
        ({"department": "nope"}, ["query", "department"], "department.unknown"),
        ({"cursor": "made-up"}, ["query", "cursor"], "cursor"),
    ],
)
def test_a_bad_filter_is_a_422_naming_it(
    client: TestClient, params: dict[str, str], loc: list[str], rule: str
) -> None:
    answer = client.get("/api/v1/quality/findings", params=params)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert {(tuple(e["loc"]), e["type"]) for e in answer.json()["errors"]} == {(tuple(loc), rule)}


def test_findings_page_on_without_repeating(client: TestClient, session: Session) -> None:
    seen: list[tuple[str, str, str]] = []
    cursor = None
    while True:
        page = client.get(
            "/api/v1/quality/findings",
            params={"limit": 50, **({"cursor": cursor} if cursor else {})},
        ).json()
        seen += [(f["item"], f["rule"], f["field"]) for f in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == count(session)


def test_the_export_has_a_row_per_finding_with_label_message_and_link(
    client: TestClient, session: Session
) -> None:
    answer = client.get("/api/v1/exports/quality.xlsx", params={"region": "230100"})
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("实施编码", "事项名称", "实施主体")
    assert len(rows) - 1 == count(session, QualityFinding.region_code.startswith("2301"))
    assert all(r[5] and r[6] and r[9].startswith("/editor/items/") for r in rows[1:])


def test_the_board_page_draws_svg_without_script_and_links_each_bar(client: TestClient) -> None:
    page = client.get("/quality")
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html and "<script" not in html.split("<main", 1)[1]
    assert 'style="' not in html  # nothing the CSP would refuse
    links = re.findall(r'xlink:href="([^"]+)"', html)
    assert links and all(link.startswith("/quality/findings?") for link in links)
    listed = client.get(links[0].replace("&amp;", "&"))
    assert listed.status_code == 200 and "/editor/items/" in listed.text
    assert client.get("/quality", params={"region": "230100"}).status_code == 200
    assert client.get("/quality", params={"department": DEPARTMENT}).status_code == 200
    assert client.get("/quality", params={"region": "999999"}).status_code == 422


def sign_in(client: TestClient, headers: dict[str, str]) -> None:
    secret = headers["Authorization"].removeprefix("Bearer ")
    login = client.get("/editor").text
    token = re.search(r'name="csrf" value="([^"]+)"', login)
    assert token
    answer = client.post(
        "/editor/login", data={"key": secret, "csrf": token.group(1)}, follow_redirects=False
    )
    assert answer.status_code in (302, 303), answer.text


def test_an_editor_sees_the_items_findings_in_the_form_and_the_worklist(
    client: TestClient, session: Session, keys: Any
) -> None:
    doc = client.get(f"/api/v1/items/{CLEAN}").json()
    for key in ("version", "upcoming", "scheduled", "lifecycle", "updated_at", "updated_by"):
        doc.pop(key, None)
    for row in doc["materials"] + doc["fees"]:
        row.pop("position", None)
    broken = copy.deepcopy(doc)
    broken["guide"]["consultation"] = []
    assert (
        client.put(f"/api/v1/items/{CLEAN}", json=broken, headers=keys.admin()).status_code == 200
    )
    sign_in(client, keys.editor(DEPARTMENT))
    form = client.get(f"/editor/items/{CLEAN}/edit").text
    assert "质量问题" in form and "未公布咨询电话、网址或邮箱" in form
    work = client.get("/editor").text
    assert "未公布咨询电话、网址或邮箱" in work
    board = client.get("/editor/quality")
    assert board.status_code == 200 and "<svg" in board.text
    assert "咨询方式" in board.text


def test_the_command_prints_the_board_and_gates_on_the_threshold(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed has warnings and no errors: ``--fail-on error`` passes, ``--fail-on
    warning`` exits 3; a region no one knows is refused."""
    from app.cli import app as cli
    from app.config import get_settings
    from app.db import get_engine

    monkeypatch.setenv(
        "CATALOGUE_DATABASE_URL", own_engine.url.render_as_string(hide_password=False)
    )
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        runner = CliRunner()
        ok = runner.invoke(cli, ["quality", "--fail-on", "error"])
        assert ok.exit_code == 0, ok.output
        assert "M-SHARED-NAME" in ok.output and "score" in ok.output
        gated = runner.invoke(cli, ["quality", "--region", "230100", "--fail-on", "warning"])
        assert gated.exit_code == 3, gated.output
        assert runner.invoke(cli, ["quality", "--region", "999999"]).exit_code == 2
    finally:
        get_engine().dispose()
        monkeypatch.undo()
        get_settings.cache_clear()
        get_engine.cache_clear()
