"""The full guide says when each situational material (情形材料) is needed, in the options' own
words, and lists exactly what the checklists can ask for: the page and the checklist read
one rule (app.catalogue.situations.requirement)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from app.catalogue.material_conditions import full_materials
from app.catalogue.situations import Situations, checklist
from tests.helpers import API
from tests.pages.test_unknown_fields import text_of


def necessity_by_material(html: str) -> dict[str, str]:
    """Each row of the materials table: the material's name → its 是否必要 cell, as read."""
    rows = re.findall(r'<tr>\s*<th scope="row">(.*?)</th>(.*?)</tr>', html, re.S)
    out = {}
    for name, cells in rows:
        cell = re.search(r'<td data-label="是否必要">(.*?)</td>', cells, re.S)
        assert cell, name
        necessity = re.sub(r'<span class="muted">.*?</span>', "", cell.group(1), flags=re.S)
        out[text_of(name)] = " ".join(text_of(necessity).split("\n"))  # without the source
    return out


def every_checklist(client: TestClient, doc: dict[str, Any]) -> list[set[str]]:
    """The materials of the checklist of every reachable set of answers, through the API."""
    out = []
    for answers in Situations(doc["guide"]["situations"]).combinations():
        body = {"answers": {q: list(options) for q, options in answers.items()}}
        resp = client.post(f"{API}/items/{doc['code']}/checklist", json=body)
        assert resp.status_code == 200, resp.text
        out.append({m["name"] for m in resp.json()["materials"]})
    return out


def test_the_passport_guide_marks_every_situational_material(
    client: TestClient, passport: str
) -> None:
    doc = client.get(f"{API}/items/{passport}").json()
    page = necessity_by_material(client.get(f"/items/{passport}").text)
    # as the seed's questions put it: a follow-up's option after the option that asks it
    assert (
        page["护照遗失或者被盗情况说明（报失证明）"]
        == "必要 仅在「补发：遗失」或「补发：被盗」时需要"
    )
    assert page["军队主管部门出具的意见"] == "必要 仅在「年满十六周岁：现役军人」时需要"
    assert page["原普通护照"] == (
        "必要 仅在「换发（有效期即将届满、签证页即将用完等）」或「补发：损毁不能使用」时需要"
    )
    assert page["监护人委托书"] == "必要 仅在「未满十六周岁」且未选「监护人陪同」时需要"
    # optional: the page says what the data gives (the guide states no other reason)
    assert page["近期免冠照片"] == "非必要 仅在「自带符合出入境证件相片标准的相片」时需要"
    assert page["居民身份证"] == "必要" and page["出入境证件申请表"] == "必要"
    situational = [m["name"] for m in doc["materials"] if m.get("options") or m.get("when")]
    assert len(situational) == 9
    for name, said in page.items():
        assert ("仅在" in said) == (name in situational), name
    labels = {o["id"]: o["label"] for q in doc["guide"]["situations"] for o in q["options"]}
    for m in doc["materials"]:
        for option in m.get("options") or ():  # every option that requires it is named
            assert f"{labels[option]}」" in page[m["name"]], (m["name"], option)


def test_the_full_list_is_the_union_of_every_checklist(client: TestClient, passport: str) -> None:
    doc = client.get(f"{API}/items/{passport}").json()
    page = necessity_by_material(client.get(f"/items/{passport}").text)
    lists = every_checklist(client, doc)
    assert len(lists) == 50  # (首次, 换发, 补发 × 3) × (未满16 × 2, 满16 × 3) × 相片 2
    assert set(page) == set().union(*lists)
    # marked with a condition exactly when some checklist leaves it out
    for name, said in page.items():
        assert ("仅在" in said) == any(name not in found for found in lists), name


def test_a_material_no_answer_reaches_is_not_listed() -> None:
    """Not the guide's data error to show a citizen: a material whose condition no set of
    answers meets is in no checklist, so not in the full list either."""
    doc = {
        "code": "X",
        "version": 1,
        "name": "X",
        "department": {"code": "D", "name": "D"},
        "guide": {
            "situations": [
                {
                    "id": "kind",
                    "question": "申请类型",
                    "options": [
                        {"id": "new", "label": "首次", "reveals": ["why"]},
                        {"id": "again", "label": "补办"},
                    ],
                },
                {
                    "id": "why",
                    "question": "原因",
                    "multiple": True,
                    "options": [{"id": "study", "label": "上学"}, {"id": "work", "label": "工作"}],
                },
            ]
        },
        "materials": [
            {"name": "身份证"},
            {"name": "录取通知书", "options": ["study"]},
            {"name": "劳动合同", "when": {"all": ["work", {"not": "study"}]}},
            {"name": "说明", "when": {"all": [{"any": ["study", "work"]}, {"not": "new"}]}},
            {"name": "旧证", "options": ["again"], "when": {"any": ["study", "work"]}},
        ],
        "fees": [],
    }
    shown = {m["name"]: m["required_when"] for m in full_materials(doc)}
    assert shown == {
        "身份证": None,
        "录取通知书": "「首次：上学」",
        "劳动合同": "「首次：工作」且未选「首次：上学」",
    }
    lists = [
        {m["name"] for m in checklist(doc, {q: list(v) for q, v in answers.items()})["materials"]}
        for answers in Situations(doc["guide"]["situations"]).combinations()
    ]
    assert set(shown) == set().union(*lists)


def test_or_inside_and_keeps_its_meaning() -> None:
    doc = {
        "guide": {
            "situations": [
                {
                    "id": "who",
                    "question": "申请人",
                    "options": [
                        {"id": "minor", "label": "未成年人"},
                        {"id": "adult", "label": "成年人"},
                    ],
                },
                {
                    "id": "how",
                    "question": "方式",
                    "options": [
                        {"id": "post", "label": "邮寄"},
                        {"id": "agent", "label": "代办"},
                        {"id": "self", "label": "本人"},
                    ],
                },
            ]
        },
        "materials": [{"name": "委托书", "when": {"all": ["minor", {"any": ["post", "agent"]}]}}],
    }
    (material,) = full_materials(doc)
    assert material["required_when"] == "「未成年人」且（「邮寄」或「代办」）"
