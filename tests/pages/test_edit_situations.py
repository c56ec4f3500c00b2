"""The editor's item form and situations (情形): which options require a material (ticked
per material) and the ``when`` conditions of materials and fees (one line of text), with
the write path's ``situation.*`` refusals shown next to the field they concern."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.pages.conditions import parse, text_of
from app.review.models import ChangeRequest
from tests.conftest import Keys
from tests.helpers import API, writable
from tests.pages.test_pages import _html, sign_in, situated


def form_of(page: str) -> list[tuple[str, str]]:
    """What the browser sends of the edit form: inputs, ticked boxes, selects, textareas."""
    pairs: list[tuple[str, str]] = []
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name:
            continue
        if 'type="checkbox"' in tag or 'type="radio"' in tag:
            if " checked" in tag:
                pairs.append((name.group(1), value.group(1) if value else "on"))
        else:
            pairs.append((name.group(1), value.group(1) if value else ""))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options) or re.search(
            r'<option value="([^"]*)"', options
        )
        pairs.append((name, chosen.group(1) if chosen else ""))
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S
    ):
        pairs.append((name, value))
    return [(k, html_lib.unescape(v)) for k, v in pairs]


def changed(pairs: list[tuple[str, str]], replace: dict[str, list[str]]) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in pairs if k not in replace]
    return kept + [(k, v) for k, values in replace.items() for v in values]


def _post(client: TestClient, code: str, pairs: list[tuple[str, str]]) -> Any:
    from urllib.parse import urlencode

    return client.post(
        f"/editor/items/{code}/edit",
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _requests(session: Session) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(ChangeRequest)).scalar_one()


def test_conditions_read_back_as_they_are_written() -> None:
    for text in ("lost", "lost and damaged", "first or reissue and lost", "not (a or b) and c"):
        assert text_of(parse(text)) == text
    assert parse("a and not b") == {"all": ["a", {"not": "b"}]}
    assert parse('{"any": ["a", "b"]}') == {"any": ["a", "b"]}
    assert parse("") is None


def test_material_options_and_conditions_edited_in_the_form(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    situated(client, keys, passport)
    sign_in(client, keys.editor(passport[:18]))
    page = _html(client.get(f"/editor/items/{passport}/edit"))
    # the item's options, labelled by question, ticked where they require the material
    assert re.search(r'name="materials.1.options" value="lost" checked', page)
    assert re.search(r'name="materials.1.options" value="damaged"(?! checked)', page)
    assert "补发原因：遗失" in page
    pairs = form_of(page)
    assert ("materials.1.options", "lost") in pairs and ("materials.2.options", "damaged") in pairs

    before = _requests(session)
    # a condition that does not parse: at its field, nothing written
    bad = _post(client, passport, changed(pairs, {"fees.0.when": ["reissue and"]}))
    html = _html(bad, 422)
    assert 'id="err-fees-0-when"' in html and "不完整：缺少选项编号" in html
    assert re.search(r'id="f-fees-0-when"[^>]*aria-invalid="true"', html)
    assert 'value="reissue and"' in html  # shown again as typed
    # the write path's situation rules, at the field: an option the item does not have
    unknown = _post(client, passport, changed(pairs, {"materials.2.when": ["damaged and stolen"]}))
    html = _html(unknown, 422)
    assert 'id="err-materials-2-when"' in html and "选项“stolen”不在本事项的情形中" in html
    ticked = _post(client, passport, changed(pairs, {"materials.1.options": ["lost", "ghost"]}))
    html = _html(ticked, 422)
    assert 'id="err-materials-1-options"' in html and "ghost" in html
    assert _requests(session) == before

    good = changed(
        pairs,
        {
            "materials.1.options": ["lost", "damaged"],
            "materials.2.options": [],
            "materials.2.when": ["damaged and not lost"],
            "fees.0.when": ["reissue"],
            "note": ["补发才收费"],
        },
    )
    saved = _post(client, passport, good)
    assert saved.status_code == 303, saved.text[:3000]
    cr = session.get(ChangeRequest, int(saved.headers["location"].rsplit("/", 1)[1]))
    assert cr is not None and cr.patch is not None
    materials, fees = cr.patch["materials"], cr.patch["fees"]
    assert materials[1]["options"] == ["lost", "damaged"]
    assert "options" not in materials[2]
    assert materials[2]["when"] == {"all": ["damaged", {"not": "lost"}]}
    assert fees[0]["when"] == "reissue"
    # the draft's form shows them again as the editor wrote them
    draft = _html(client.get(f"/editor/items/{passport}/edit", params={"request": cr.id}))
    assert 'value="damaged and not lost"' in draft and 'value="reissue"' in draft


def test_an_unchanged_form_proposes_no_condition_change(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    situated(client, keys, passport)
    body = writable(client, passport)
    body["materials"][1]["when"] = {"all": [{"all": ["reissue", "lost"]}]}  # written flatter
    body["materials"][1].pop("options")
    assert client.put(f"{API}/items/{passport}", json=body, headers=keys.admin()).status_code == 200
    sign_in(client, keys.editor(passport[:18]))
    pairs = form_of(_html(client.get(f"/editor/items/{passport}/edit")))
    assert ("materials.1.when", "reissue and lost") in pairs
    saved = _post(client, passport, changed(pairs, {"note": ["只改说明"]}))
    assert saved.status_code == 303, saved.text[:3000]
    cr = session.get(ChangeRequest, int(saved.headers["location"].rsplit("/", 1)[1]))
    assert cr is not None and "materials" not in (cr.patch or {})


def test_questions_and_options_edited_as_rows_with_the_materials_they_require(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    situated(client, keys, passport)
    editor = keys.editor(passport[:18])
    sign_in(client, editor)
    page = _html(client.get(f"/editor/items/{passport}/edit"))
    # no JSON for the questions: rows, and each option ticks the materials it requires
    assert 'name="guide.situations.1.question" type="text" value="补发原因"' in page
    assert re.search(r'name="guide.situations.1.options.0.materials" value="1" checked', page)
    assert re.search(r'name="guide.situations.1.options.0.materials" value="2"(?! checked)', page)
    assert '"situations"' not in page  # the advanced JSON holds no questions
    before = _requests(session)

    # 添加一个选项, then 添加一个问题: the form again as typed, nothing saved
    typed = changed(form_of(page), {"note": ["补发原因加上被盗"]})
    more = _html(_post(client, passport, [*typed, ("add", "guide.situations.1.options")]))
    assert 'name="guide.situations.1.options.2.id" type="text" value=""' in more
    assert "补发原因加上被盗" in more
    more = _html(_post(client, passport, [*form_of(more), ("add", "guide.situations")]))
    assert 'name="guide.situations.2.options.1.label"' in more
    assert _requests(session) == before

    filled = {
        "guide.situations.1.options.2.id": ["stolen"],
        "guide.situations.1.options.2.label": ["被盗"],
        "guide.situations.1.options.2.materials": ["1"],  # 报失声明
        "guide.situations.1.options.1.materials": [],  # 损毁 no longer asks for 损毁的护照
        "guide.situations.2.id": ["urgent"],
        "guide.situations.2.question": ["是否加急"],
        "guide.situations.2.required": [],
        "guide.situations.2.options.0.id": ["yes"],
        "guide.situations.2.options.0.label": ["加急"],
        "guide.situations.2.options.0.materials": ["0"],  # 加急 asks for the first material
        "guide.situations.2.options.1.id": ["no"],
        "guide.situations.2.options.1.label": ["不加急"],
    }
    # an option id used twice: refused, at the form, everything typed kept
    twice = changed(form_of(more), {**filled, "guide.situations.2.options.1.id": ["lost"]})
    html = _html(_post(client, passport, twice), 422)
    assert 'value="被盗"' in html and 'value="是否加急"' in html and "补发原因加上被盗" in html
    assert 'id="sec-situations" open' in html
    assert _requests(session) == before

    saved = _post(client, passport, changed(form_of(more), filled))
    assert saved.status_code == 303, saved.text[:3000]
    cr = session.get(ChangeRequest, int(saved.headers["location"].rsplit("/", 1)[1]))
    assert cr is not None and cr.patch is not None
    questions = cr.patch["guide"]["situations"]
    assert [q["id"] for q in questions] == ["kind", "why", "urgent"]
    assert [o["id"] for o in questions[1]["options"]] == ["lost", "damaged", "stolen"]
    assert questions[2]["required"] is False and questions[2]["options"][1]["label"] == "不加急"
    materials = cr.patch["materials"]
    assert materials[1]["options"] == ["lost", "stolen"] and "options" not in materials[2]
    assert materials[0]["options"] == ["yes"]

    # reviewed and published: the citizen's checklist asks the new question
    assert client.post(f"{API}/change-requests/{cr.id}/submit", headers=editor).is_success
    approved = client.post(
        f"{API}/change-requests/{cr.id}/approve",
        json={},
        headers=keys.make("reviewer", region="230100"),
    )
    assert approved.status_code == 200, approved.text
    item = _html(client.get(f"/items/{passport}"))
    assert 'name="a.why" value="stolen"' in item and "是否加急" in item
