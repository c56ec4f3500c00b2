"""The API names a change request's item as people do: beside the 31-character code, the
item's name, its department's and its region's, in the list and in the request itself; a
proposed new item by its catalogue entry's name. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import Keys
from tests.helpers import API, writable
from tests.pages.test_pages import HARBIN, PASSPORT, _code


@pytest.fixture
def passport(session: Session) -> str:
    """The Harbin implementation of 普通护照签发."""
    return _code(session, PASSPORT, HARBIN)


def test_requests_name_the_item_its_department_and_region(
    client: TestClient, keys: Keys, passport: str
) -> None:
    editor = keys.editor(passport[:18])
    made = client.post(
        f"{API}/change-requests",
        json={"item": passport, "kind": "edit", "patch": {"guide": {"visits": 2}}},
        headers=editor,
    )
    assert made.status_code == 201, made.text
    item = client.get(f"{API}/items/{passport}").json()
    expected = {
        "item": passport,
        "item_name": item["name"],
        "department_name": item["department"]["name"],
        "region_name": item["region"]["name"],
    }
    assert item["name"] == "普通护照签发" and item["region"]["name"] == "哈尔滨市"
    detail = client.get(f"{API}/change-requests/{made.json()['id']}", headers=editor).json()
    assert {k: detail[k] for k in expected} == expected
    listed = client.get(f"{API}/change-requests", headers=editor).json()["items"]
    [row] = [r for r in listed if r["id"] == detail["id"]]
    assert {k: row[k] for k in expected} == expected


def test_a_proposed_new_item_is_named_by_its_catalogue_entry(
    client: TestClient, keys: Keys, passport: str
) -> None:
    body = writable(client, passport)
    body.pop("code", None)
    body.pop("version", None)
    body["region"] = "230103"  # 南岗区, which has no passport item of its own
    body["department"] = "11230103MBUYEQ7D4B"
    body["level"] = "4"  # 县级, as the district exercises it
    made = client.post(
        f"{API}/change-requests",
        json={"kind": "create", "body": body},
        headers=keys.editor("11230103MBUYEQ7D4B"),
    )
    assert made.status_code == 201, made.text
    doc = made.json()
    assert doc["item"] is None
    assert doc["item_name"] == "普通护照签发"
    assert doc["region_name"] == "南岗区"
    assert doc["department_name"] == "哈尔滨市公安局南岗分局"
