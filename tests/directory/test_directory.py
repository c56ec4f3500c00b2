"""Regions, departments, materials and code lists."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from app.catalogue.models import ItemMaterial
from app.codes.rules import validate_credit_code
from app.directory.models import Department
from tests.helpers import API, problem


def test_region_with_parent_and_children(client: TestClient) -> None:
    harbin = client.get(f"{API}/regions/230100").json()
    assert harbin["name"] == "哈尔滨市" and harbin["parent"]["code"] == "230000"
    assert "230102" in {c["code"] for c in harbin["children"]}  # 道里区
    provinces = client.get(f"{API}/regions", params={"level": 1, "limit": 100}).json()["items"]
    assert len(provinces) >= 34 and {"110000", "230000", "650000"} <= {p["code"] for p in provinces}
    problem(client.get(f"{API}/regions/999999"), 404)


def test_departments_have_valid_credit_codes(client: TestClient, session: Session) -> None:
    depts = session.execute(select(Department)).scalars().all()
    assert len(depts) >= 40
    for d in depts:
        validate_credit_code(d.credit_code)
    in_harbin = client.get(f"{API}/departments", params={"region": "230100", "limit": 1000}).json()[
        "items"
    ]
    assert in_harbin and all(d["region_code"] == "230100" for d in in_harbin)
    one = client.get(f"{API}/departments/{depts[0].credit_code}")
    assert one.json()["name"] == depts[0].name and one.headers["etag"]


def test_shared_materials_are_referenced_by_many_items(
    client: TestClient, session: Session
) -> None:
    materials = client.get(f"{API}/materials", params={"q": "居民身份证"}).json()["items"]
    assert materials
    uses = session.execute(
        select(func.count(func.distinct(ItemMaterial.implementation_code))).where(
            ItemMaterial.shared_material_code == materials[0]["code"]
        )
    ).scalar_one()
    assert uses >= 10


def test_code_lists(client: TestClient) -> None:
    types = client.get(f"{API}/code-lists/item_types").json()
    assert {"code": "01", "label": "行政许可", "note": None} in types["codes"]
    assert "material_necessity" in client.get(f"{API}/code-lists").json()
    problem(client.get(f"{API}/code-lists/nope"), 404)
