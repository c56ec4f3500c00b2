"""Unit tests of what only the end-to-end tests covered: effective dating (the overlay),
the diff, composing a representation and its content hash, the situation rules, and the
department checks. No database: these are pure functions over documents."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from app.catalogue.documents import (
    child_rows,
    compose_item_document,
    content_hash,
    document_content,
    fee_document,
    material_document,
)
from app.catalogue.history import Event, diff, in_order, overlay
from app.catalogue.situations import Situations, check_item, checklist, holds
from app.catalogue.statuses import ItemStatus
from app.catalogue.validation import department_misfits

TODAY = date(2026, 12, 1)
CODE = "11230100MBJ3EF3D0E3000701001001"


def _event(version: int, name: str, status: str, days: int) -> Event:
    return Event(version, name, status, TODAY + timedelta(days=days), None, "why", None)


# --- effective dating ----------------------------------------------------------------


def test_overlay_applies_what_is_in_force_and_lists_what_is_scheduled() -> None:
    events = in_order(
        [
            _event(3, "cancel", ItemStatus.CANCELLED, 10),
            _event(2, "suspend", ItemStatus.SUSPENDED, -1),
            _event(1, "create", ItemStatus.ACTIVE, 0),  # recorded today, still first
        ]
    )
    assert [e.event for e in events] == ["create", "suspend", "cancel"]
    doc: dict[str, Any] = {}
    next_change = overlay(doc, events, TODAY)
    assert doc["status"] == "2" and doc["lifecycle"]["event"] == "suspend"
    assert [s["event"] for s in doc["scheduled"]] == ["cancel"]
    assert next_change == TODAY + timedelta(days=10)
    later: dict[str, Any] = {}
    assert overlay(later, events, TODAY + timedelta(days=10)) is None
    assert later["status"] == "3" and later["scheduled"] == []


def test_overlay_of_a_new_item_shows_no_lifecycle_event() -> None:
    doc: dict[str, Any] = {}
    assert overlay(doc, [_event(1, "create", ItemStatus.ACTIVE, 0)], TODAY) is None
    assert doc == {"status": "1", "lifecycle": None, "scheduled": [], "upcoming": []}


# --- diff ----------------------------------------------------------------------------


def test_diff_matches_materials_by_code_not_by_place() -> None:
    a = {
        "name": "x",
        "materials": [
            {"code": "M1", "position": 1, "name": "身份证"},
            {"code": "M2", "position": 2, "name": "户口簿"},
        ],
        "fees": [],
    }
    b = copy.deepcopy(a)
    b["materials"].reverse()  # reordered: no change
    assert diff(a, b) == []
    b["materials"][0]["name"] = "居民户口簿"
    b["materials"].append({"code": "M3", "position": 3, "name": "照片"})
    changes = diff(a, b)
    assert {
        "path": ["materials", "M2", "name"],
        "label": "材料「居民户口簿」 材料名称",
        "op": "changed",
        "from": "户口簿",
        "to": "居民户口簿",
    } in changes
    assert {
        "path": ["materials", "M3"],
        "label": "材料「照片」",
        "op": "added",
        "to": {"name": "照片"},
    } in changes


# --- composing a representation ------------------------------------------------------


def _parts() -> tuple[Any, Any, Any, Any]:
    entry = SimpleNamespace(
        basic_code=CODE[19:],
        name="居民身份证首次申领",
        item_type="07",
        domain="01",
        legal_basis=[{"law": "《居民身份证法》"}],
    )
    department = SimpleNamespace(credit_code=CODE[:18], name="哈尔滨市公安局")
    region = SimpleNamespace(code="230100", name="哈尔滨市")
    item = SimpleNamespace(
        code=CODE,
        version=1,
        status="1",
        level="3",
        power_source="1",
        body_nature="1",
        entrusting_department=None,
        audience=["1"],
        themes=[],
        case_type="2",
        guide={"visits": 1},
        local_code=None,
        source_system=None,
        delegated_from=None,
        handover_date=None,
        created_at=SimpleNamespace(isoformat=lambda: "2026-12-01T00:00:00+00:00"),
        updated_at=SimpleNamespace(isoformat=lambda: "2026-12-01T00:00:00+00:00"),
        updated_by="editor",
    )
    return item, entry, department, region


MATERIAL = {
    "code": None,
    "name": "居民户口簿",
    "shared_material": None,
    "material_type": "1",
    "form": "1",
    "originals": 1,
    "copies": 0,
    "necessity": "1",
    "source": "10",
}


def test_child_rows_keep_codes_and_issue_the_next_never_issued() -> None:
    content = {"materials": [dict(MATERIAL), {**MATERIAL, "name": "照片"}], "fees": []}
    old = {"materials": {"照片": CODE + "004"}}
    materials, fees, fresh = child_rows(CODE, content, old, [CODE + "004", CODE + "007"])
    assert [m["code"] for m in materials] == [CODE + "008", CODE + "004"]  # 005-007 issued
    assert fresh == [CODE + "008"] and fees == []
    assert [m["position"] for m in materials] == [1, 2]
    assert materials[0]["options"] is None and materials[0]["when"] is None  # every column


def test_a_representation_shows_situation_columns_only_when_set() -> None:
    row = {**MATERIAL, "code": CODE + "001", "position": 1, "options": None, "when": None}
    assert "options" not in material_document(row) and "when" not in material_document(row)
    tied = material_document({**row, "options": ["age_u16"], "when": {"not": "lost"}})
    assert tied["options"] == ["age_u16"] and tied["when"] == {"not": "lost"}
    fee = {
        "code": "F1",
        "position": 1,
        "name": "工本费",
        "standard": "20元",
        "legal_basis": "x",
        "waivable": False,
        "waiver_basis": None,
        "amount": 0.0,
        "when": None,
    }
    assert fee_document(fee)["amount"] == 0.0  # free is an amount, not an absence


def test_the_content_hash_ignores_what_the_catalogue_assigns() -> None:
    item, entry, department, region = _parts()
    mats = [material_document({**MATERIAL, "code": CODE + "001", "position": 1})]
    doc = compose_item_document(item, entry, department, region, mats, [])
    assert doc["name"] == entry.name and doc["department"] == {
        "code": CODE[:18],
        "name": "哈尔滨市公安局",
    }
    moved = copy.deepcopy(doc)
    moved.update(version=7, updated_by="someone else", updated_at="2027-01-01T00:00:00+00:00")
    moved["materials"][0]["code"] = CODE + "009"  # codes are assigned, not sent
    assert content_hash(document_content(doc)) == content_hash(document_content(moved))
    moved["materials"][0]["copies"] = 2
    assert content_hash(document_content(doc)) != content_hash(document_content(moved))


# --- situations ------------------------------------------------------------------------


QUESTIONS = [
    {
        "id": "kind",
        "question": "类型",
        "options": [
            {"id": "new", "label": "首次"},
            {"id": "again", "label": "补领", "reveals": ["why"]},
        ],
    },
    {
        "id": "why",
        "question": "原因",
        "options": [{"id": "lost", "label": "遗失"}, {"id": "broken", "label": "损毁"}],
    },
]


def test_conditions_and_the_questions_a_citizen_meets() -> None:
    assert holds({"all": ["a", {"not": "b"}]}, {"a"}) and not holds({"any": ["b"]}, {"a"})
    s = Situations(QUESTIONS)
    assert s.asked({"kind": ["new"]}) == ["kind"]
    assert s.asked({"kind": ["again"]}) == ["kind", "why"]
    assert sorted(map(str, s.combinations())) == sorted(
        map(
            str,
            [
                {"kind": ("new",)},
                {"kind": ("again",), "why": ("lost",)},
                {"kind": ("again",), "why": ("broken",)},
            ],
        )
    )


def test_check_item_names_the_path_of_each_broken_rule() -> None:
    content = {
        "guide": {"situations": copy.deepcopy(QUESTIONS)},
        "materials": [{"name": "申请表"}, {"name": "报失声明", "options": ["lost", "gone"]}],
        "fees": [],
    }
    errors = {(tuple(e["loc"]), e["type"]) for e in check_item(content, ["body"])}
    assert (("body", "materials", 1, "options", 1), "situation.unknown_option") in errors
    content["materials"][1]["options"] = ["lost"]
    content["materials"][0]["options"] = ["broken"]  # 首次 then needs nothing
    errors = {e["type"] for e in check_item(content, ["body"])}
    assert errors == {"situation.empty_checklist"}


def test_checklist_of_a_document_without_a_database() -> None:
    doc = {
        "code": CODE,
        "version": 3,
        "name": "补领",
        "department": {"code": "x", "name": "y"},
        "guide": {
            "situations": QUESTIONS,
            "process": [{"name": "受理"}, {"name": "核查", "when": "lost"}],
        },
        "materials": [
            {"code": "M1", "name": "表"},
            {"code": "M2", "name": "声明", "options": ["lost"]},
        ],
        "fees": [{"code": "F1", "name": "工本费", "amount": 40, "when": "again"}],
    }
    out = checklist(doc, {"kind": ["again"], "why": ["lost"]})
    assert [m["code"] for m in out["materials"]] == ["M1", "M2"]
    assert [s["name"] for s in out["process"]] == ["受理", "核查"] and out["fee_total"] == 40
    assert checklist(doc, {"kind": ["new"]})["fee_total"] == 0


# --- the department an implementation belongs to ---------------------------------------


def test_department_misfits_name_level_and_region() -> None:
    assert department_misfits("X", ("230100", "3"), "230100", "3") == []
    rules = [r for _, r, _ in department_misfits("X", ("230100", "3"), "230102", "4")]
    assert rules == ["implementation_code.level", "implementation.region"]
