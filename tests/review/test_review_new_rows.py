"""An editor's change that adds a material or a fee, or proposes a new item, goes through
review like any other: the request reads, its diff names the new row, and the approved result
equals what an admin's direct write gives."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.directory.models import Department
from tests.conftest import Keys
from tests.helpers import API, new_item_body, writable


def _item(session: Session) -> Implementation:
    return (
        session.execute(
            select(Implementation)
            .where(Implementation.status == "1", Implementation.region_code.startswith("2301"))
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )


def _with_new_rows(doc: dict[str, Any]) -> dict[str, Any]:
    material = {k: v for k, v in doc["materials"][0].items() if k != "code"}
    material["name"] = "房屋租赁合同"
    doc["materials"].append(material)
    doc["fees"].append(
        {"name": "工本费", "standard": "每证10元", "legal_basis": "黑价联〔2026〕1号", "amount": 10}
    )
    doc["guide"]["charges_fee"] = True
    return doc


def test_an_editor_adds_a_material_and_a_fee_through_review(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    editor = keys.editor(item.department_code)
    reviewer = keys.make("reviewer", region=item.region_code[:4] + "00")
    body = _with_new_rows(writable(client, item.code))

    proposed = client.put(f"{API}/items/{item.code}", json=body, headers=editor)
    assert proposed.status_code == 202, proposed.text
    url = f"{API}/change-requests/{proposed.json()['id']}"
    for headers in (editor, reviewer):
        read = client.get(url, headers=headers)
        assert read.status_code == 200, read.text
    added = [c for c in read.json()["diff"] if c["op"] == "added"]
    assert any(c["path"][0] == "materials" and c["to"]["name"] == "房屋租赁合同" for c in added)
    assert any(c["path"][0] == "fees" and c["to"]["name"] == "工本费" for c in added)

    approved = client.post(f"{url}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.text
    after = client.get(f"{API}/items/{item.code}").json()
    assert [m["name"] for m in after["materials"]][-1] == "房屋租赁合同"
    fee = after["fees"][-1]
    assert fee["name"] == "工本费" and fee["code"].startswith(item.code)


def test_an_editor_proposes_a_new_item_and_the_approval_creates_it(
    client: TestClient, session: Session, keys: Keys
) -> None:
    department = session.get(Department, _item(session).department_code)
    editor = keys.editor(department.credit_code)
    reviewer = keys.make("reviewer", region=department.region_code[:4] + "00")
    body = new_item_body(session, client, department)

    proposed = client.post(f"{API}/items", json=body, headers=editor)
    assert proposed.status_code == 202, proposed.text
    url = f"{API}/change-requests/{proposed.json()['id']}"
    read = client.get(url, headers=reviewer)
    assert read.status_code == 200, read.text
    approved = client.post(f"{url}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.text
    code = approved.json()["published"]["code"]
    created = client.get(f"{API}/items/{code}").json()
    assert created["basic_code"] == body["basic_code"]
    assert [m["name"] for m in created["materials"]] == [m["name"] for m in body["materials"]]
    assert all(m["code"].startswith(code) for m in created["materials"])


def test_an_editors_stale_if_match_is_a_412_not_a_request(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    editor = keys.editor(item.department_code)
    current = client.get(f"{API}/items/{item.code}").json()["version"]
    before = client.get(f"{API}/change-requests", headers=editor).json()["items"]
    for tag in (f'"{current - 1}"', '"not-a-version"'):
        stale = client.patch(
            f"{API}/items/{item.code}",
            json={"guide": {"visits": 2}},
            headers={**editor, "If-Match": tag},
        )
        assert stale.status_code == 412, stale.text
        assert stale.json()["current_version"] == current
        put = client.put(
            f"{API}/items/{item.code}",
            json=writable(client, item.code),
            headers={**editor, "If-Match": tag},
        )
        assert put.status_code == 412, put.text
    assert client.get(f"{API}/change-requests", headers=editor).json()["items"] == before
    fresh = client.patch(
        f"{API}/items/{item.code}",
        json={"guide": {"visits": 2}},
        headers={**editor, "If-Match": f'"{current}"'},
    )
    assert fresh.status_code == 202, fresh.text
