"""Every write endpoint × no key (401), a key outside its scope (403), the right key (2xx);
every write is attributed to its key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.codes.rules import make_credit_code
from app.directory.models import Department
from app.security import ApiKey, create_key, revoke_key
from tests.conftest import Keys, department_at
from tests.helpers import API, counts, new_item_body, problem, writable


def _other_department(session: Session, dept: Department) -> Department:
    other = (
        session.execute(
            select(Department)
            .where(Department.credit_code != dept.credit_code)
            .order_by(Department.credit_code)
        )
        .scalars()
        .first()
    )
    assert other is not None
    return other


def _item(session: Session) -> Implementation:
    return session.execute(select(Implementation).order_by(Implementation.code)).scalars().first()


def _entry_body(client: TestClient, basic_code: str) -> dict[str, Any]:
    entry = client.get(f"{API}/catalogue-entries/{basic_code}").json()
    keep = ("name", "item_type", "domain", "parent_basic_code", "legal_basis", "handling_items")
    return {k: entry[k] for k in keep}


def _department_body(dept: Department) -> dict[str, Any]:
    return {
        "credit_code": dept.credit_code,
        "name": dept.name,
        "short_name": dept.short_name,
        "region_code": dept.region_code,
        "level": dept.level,
        "parent_credit_code": dept.parent_credit_code,
    }


Case = Callable[
    [TestClient, Session, Keys], tuple[str, str, dict[str, Any], dict[str, str], dict[str, str]]
]


def post_item(client: TestClient, session: Session, keys: Keys):  # type: ignore[no-untyped-def]
    dept = department_at(session, "4")
    body = new_item_body(session, client, dept)
    wrong = keys.editor(_other_department(session, dept).credit_code)
    return "POST", f"{API}/items", body, wrong, keys.editor(dept.credit_code)


def put_item(client: TestClient, session: Session, keys: Keys):  # type: ignore[no-untyped-def]
    item = _item(session)
    body = writable(client, item.code)
    body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
    dept = session.get(Department, item.department_code)
    wrong = keys.editor(_other_department(session, dept).credit_code)
    return "PUT", f"{API}/items/{item.code}", body, wrong, keys.editor(item.department_code)


def patch_item(client: TestClient, session: Session, keys: Keys):  # type: ignore[no-untyped-def]
    item = _item(session)
    outside = "230900" if not item.region_code.startswith("2309") else "230100"
    body = {"guide": {"visits": 3}}
    return (
        "PATCH",
        f"{API}/items/{item.code}",
        body,
        keys.sync(outside),
        keys.sync(item.region_code),
    )


def post_entry(client: TestClient, session: Session, keys: Keys):  # type: ignore[no-untyped-def]
    body = {
        "name": "矩阵测试事项",
        "item_type": "20",
        "domain": "06",
        "legal_basis": [{"law": "《中华人民共和国社会保险法》"}],
    }
    dept = department_at(session, "2")
    return "POST", f"{API}/catalogue-entries", body, keys.editor(dept.credit_code), keys.admin()


def put_entry(client: TestClient, session: Session, keys: Keys):  # type: ignore[no-untyped-def]
    item = _item(session)
    body = _entry_body(client, item.basic_code)
    body["handling_items"] = [{"code": "01", "name": "新设", "kind": "新设"}]
    return (
        "PUT",
        f"{API}/catalogue-entries/{item.basic_code}",
        body,
        keys.editor(item.department_code),
        keys.admin(),
    )


def post_department(client: TestClient, session: Session, keys: Keys):  # type: ignore[no-untyped-def]
    body = {
        "credit_code": make_credit_code("1", "1", "230100", "TEAM0001"),
        "name": "哈尔滨市矩阵测试局",
        "region_code": "230100",
        "level": "3",
    }
    dept = department_at(session, "3")
    return "POST", f"{API}/departments", body, keys.editor(dept.credit_code), keys.admin()


def put_department(client: TestClient, session: Session, keys: Keys):  # type: ignore[no-untyped-def]
    dept = department_at(session, "3")
    body = dict(_department_body(dept), name=dept.name + "（新）")
    return (
        "PUT",
        f"{API}/departments/{dept.credit_code}",
        body,
        keys.editor(dept.credit_code),
        keys.admin(),
    )


CASES = [post_item, put_item, patch_item, post_entry, put_entry, post_department, put_department]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_write_endpoint_key_matrix(
    case: Case, client: TestClient, session: Session, keys: Keys
) -> None:
    method, url, body, wrong, right = case(client, session, keys)
    before = counts(session)
    problem(client.request(method, url, json=body), 401)
    problem(
        client.request(method, url, json=body, headers={"Authorization": "Bearer sc_nope_nope"}),
        401,
    )
    problem(client.request(method, url, json=body, headers=wrong), 403)
    assert counts(session) == before
    resp = client.request(method, url, json=body, headers=right)
    assert 200 <= resp.status_code < 300, resp.text
    assert counts(session) != before  # the write happened (a version at the least)


def test_secrets_are_stored_hashed_and_revocable(client: TestClient, session: Session) -> None:
    dept = department_at(session, "4")
    secret = create_key(session, name="hashed", role="editor", departments=[dept.credit_code])
    session.commit()
    stored = session.execute(select(ApiKey).where(ApiKey.name == "hashed")).scalar_one()
    assert secret not in (stored.secret_hash, stored.prefix) and len(stored.secret_hash) == 64
    item = (
        session.execute(
            select(Implementation).where(Implementation.department_code == dept.credit_code)
        )
        .scalars()
        .first()
    )
    headers = {"Authorization": f"Bearer {secret}"}
    resp = client.patch(f"{API}/items/{item.code}", json={"guide": {"visits": 3}}, headers=headers)
    assert resp.status_code == 200 and resp.json()["updated_by"] == "hashed"
    revoke_key(session, "hashed")
    session.commit()
    problem(
        client.patch(f"{API}/items/{item.code}", json={"guide": {"visits": 1}}, headers=headers),
        401,
    )


def test_reads_need_no_key(client: TestClient, session: Session) -> None:
    item = _item(session)
    for url in (
        f"/items/{item.code}",
        "/items",
        "/catalogue-entries",
        "/departments",
        "/regions",
        "/materials",
        "/code-lists/item_types",
    ):
        assert client.get(API + url).status_code == 200, url
