"""A reviewer reads a change request as people read the guide: each row of its diff names
the field by its label and the thing by its name (材料「居民户口簿」 原件份数), a window
added is one row, a phone changed is one row, and once approved the request and the item's
version diff show the same rows. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.catalogue.models import Implementation
from tests.conftest import Keys
from tests.helpers import API, writable

NEW_WINDOW = {
    "name": "南岗区户政服务大厅",
    "address": "哈尔滨市南岗区长江路368号",
    "hours": "周一至周五 9:00-17:00",
    "phone": "0451-82304067",
}


def _item(client: TestClient, session: Session) -> tuple[str, dict[str, Any]]:
    """A 哈尔滨 item in use with no fee, windows, two steps or more, materials."""
    for code in session.execute(
        select(Implementation.code)
        .where(Implementation.status == "1", Implementation.region_code == "230100")
        .order_by(Implementation.code)
    ).scalars():
        doc = writable(client, code)
        g = doc["guide"]
        if not doc["fees"] and g["windows"] and len(g["process"]) > 1 and doc["materials"]:
            return code, doc
    raise AssertionError("the seed has no such item in 哈尔滨")


def _shown(value: Any) -> str:
    """A value, a thing by its name (its other fields as the write completed them)."""
    return value["name"] if isinstance(value, dict) else str(value)


def _rows(diff: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        (c["label"], c["op"], _shown(c.get("from")), _shown(c.get("to")), c.get("to_text"))
        for c in diff
    }


def test_a_change_request_reads_field_by_label_and_thing_by_name(
    client: TestClient, session: Session, keys: Keys
) -> None:
    code, doc = _item(client, session)
    item = session.get(Implementation, code)
    editor = keys.editor(item.department_code)
    reviewer = keys.make("reviewer", region="230100")
    material, window, step = (
        doc["materials"][0],
        doc["guide"]["windows"][0],
        doc["guide"]["process"][-1],
    )
    old_phone, n = window["phone"], material["originals"]

    material["originals"] += 1
    window["phone"] = "0451-82304068"
    doc["guide"]["windows"].append(NEW_WINDOW)
    doc["guide"]["process"].pop()
    doc["fees"].append(
        {"name": "工本费", "standard": "每证10元", "legal_basis": "黑价联〔2026〕1号", "amount": 10}
    )
    doc["guide"]["charges_fee"] = True
    proposed = client.put(f"{API}/items/{code}", json=doc, headers=editor)
    assert proposed.status_code == 202, proposed.text
    url = f"{API}/change-requests/{proposed.json()['id']}"
    diff = client.get(url, headers=reviewer).json()["diff"]

    # one row each, nothing else (no whole list, no null against a field left out)
    expected = {
        ("是否收费", "changed", "False", "True", "是"),
        (f"步骤「{step['name']}」", "removed", step["name"], "None", None),
        (f"窗口「{window['name']}」 电话", "changed", old_phone, "0451-82304068", None),
        ("窗口「南岗区户政服务大厅」", "added", "None", NEW_WINDOW["name"], None),
        (f"材料「{material['name']}」 原件份数", "changed", str(n), str(n + 1), None),
        ("收费「工本费」", "added", "None", "工本费", None),
    }
    assert _rows(diff) == expected
    paths = {c["label"]: c["path"] for c in diff}
    assert paths[f"材料「{material['name']}」 原件份数"] == [
        "materials",
        material["code"],
        "originals",
    ]
    assert paths[f"窗口「{window['name']}」 电话"] == ["guide", "windows", 0, "phone"]
    assert paths["收费「工本费」"][0] == "fees" and paths["收费「工本费」"][1].startswith("new-")

    # the same rows in the reader's language; a language the labels are not written in: 422
    labels = {
        lang: {
            c["label"]
            for c in client.get(url, params={"lang": lang}, headers=reviewer).json()["diff"]
        }
        for lang in ("zh-Hant", "en")
    }
    assert f"Material “{material['name']}” › Originals" in labels["en"]
    assert "Charges a fee" in labels["en"] and "是否收費" in labels["zh-Hant"]
    assert client.get(url, params={"lang": "fr"}, headers=reviewer).status_code == 422

    approved = client.post(f"{url}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.text
    version = approved.json()["published"]["version"]
    assert _rows(approved.json()["diff"]) == expected  # what it published, still shown
    published = client.get(
        f"{API}/items/{code}/diff", params={"from": version - 1, "to": version}
    ).json()["changes"]
    assert _rows(published) == expected
    fee_path = {c["label"]: c["path"] for c in published}["收费「工本费」"]
    assert fee_path[1].startswith(code)  # the fee has its code now
