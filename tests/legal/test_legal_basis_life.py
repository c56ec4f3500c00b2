"""Legal bases as records: a document cited by three items is repealed; the three get
tasks for their departments, a new version each, and their pages the mark 已废止 with the
day; citing the replacement clears all three; the feed and a mirror carry the document.
On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.legal import citations
from app.legal.models import LegalBasis
from app.sync import mirror
from tests.conftest import Keys
from tests.helpers import API, error_at, problem
from tests.sync.test_effective_day_sync import through

DOC = {
    "number": "黑政规〔2019〕7号",
    "title": "黑龙江省政务服务事项办理规定（测试）",
    "issuer": "黑龙江省人民政府",
    "issued_on": "2019-03-01",
    "effective_on": "2019-05-01",
    "url": "https://www.hlj.gov.cn/zc/2019-7.html",
}


def three_items(session: Session) -> list[tuple[str, str]]:
    """Three items in use of three departments: (code, department)."""
    rows = session.execute(
        select(Implementation.code, Implementation.department_code)
        .where(Implementation.status == "1", Implementation.guide.is_not(None))  # type: ignore[union-attr]
        .order_by(Implementation.code)
    ).all()
    picked: dict[str, str] = {}
    for code, dept in rows:
        if dept not in picked.values():
            picked[code] = dept
        if len(picked) == 3:
            break
    assert len(picked) == 3, "the seed has items of three departments"
    return list(picked.items())


def cite(client: TestClient, admin: dict[str, str], code: str, basis: int) -> None:
    patch = {"guide": {"legal_basis": [{"id": basis, "articles": "第五条、第九条"}]}}
    resp = client.patch(f"{API}/items/{code}", json=patch, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["guide"]["legal_basis"] == patch["guide"]["legal_basis"]


def create(client: TestClient, admin: dict[str, str], **changes: Any) -> dict[str, Any]:
    resp = client.post(f"{API}/legal-bases", json={**DOC, **changes}, headers=admin)
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"] == f"{API}/legal-bases/{resp.json()['id']}"
    return resp.json()


def test_a_repealed_document_flags_its_three_citing_items_until_they_cite_the_new_one(
    client: TestClient, session: Session, keys: Keys, own_engine: Engine
) -> None:
    admin = keys.admin()
    old = create(client, admin)
    assert old["status"] == "现行有效" and old["version"] == 1
    items = three_items(session)
    for code, _ in items:
        cite(client, admin, code, old["id"])
    assert citations.citations_needing_action(session, legal_basis=old["id"]) == []
    versions = {code: client.get(f"{API}/items/{code}").json()["version"] for code, _ in items}

    repealed = client.put(
        f"{API}/legal-bases/{old['id']}",
        json={**DOC, "status": "已废止", "repealed_on": "2026-11-30"},
        headers={**admin, "If-Match": '"1"'},
    )
    assert repealed.status_code == 200, repealed.text
    assert repealed.json()["status"] == "已废止" and repealed.json()["version"] == 2

    # three tasks, one for each item's department
    tasks = client.get(f"{API}/legal-bases/tasks", params={"legal_basis": old["id"]}).json()
    assert sorted((t["item"], t["department"]) for t in tasks) == sorted(items)
    assert {t["reason"] for t in tasks} == {"repealed"}
    assert {t["since"] for t in tasks} == {"2026-11-30"}
    province = client.get(f"{API}/legal-bases/tasks", params={"region": "230000"}).json()
    assert {t["item"] for t in province} >= {code for code, _ in items}
    for code, dept in items:
        mine = client.get(f"{API}/legal-bases/tasks", params={"department": dept}).json()
        assert [t["item"] for t in mine if t["legal_basis"] == old["id"]] == [code]
        # each item has a new version (its readers and its page see the change)
        read = client.get(f"{API}/items/{code}").json()
        assert read["version"] == versions[code] + 1
        page = client.get(f"/items/{code}")
        assert page.status_code == 200
        assert "已废止" in page.text and "2026-11-30" in page.text
        assert DOC["title"] in page.text
        assert "所引依据已修订或废止" in client.get(f"/items/{code}/history").text

    # a second edit of the repealed document does not count the items twice
    again = client.put(
        f"{API}/legal-bases/{old['id']}",
        json={**DOC, "status": "已废止", "repealed_on": "2026-11-30", "url": None},
        headers=admin,
    )
    assert again.status_code == 200, again.text
    assert (
        len(client.get(f"{API}/legal-bases/tasks", params={"legal_basis": old["id"]}).json()) == 3
    )

    # the replacement is cited: every task ends and every page loses the mark
    new = create(client, admin, number="黑政规〔2026〕3号", title="黑龙江省政务服务事项办理规定")
    for code, _ in items:
        cite(client, admin, code, new["id"])
    assert client.get(f"{API}/legal-bases/tasks", params={"legal_basis": old["id"]}).json() == []
    assert citations.clear_replaced(session) == 3
    for code, _ in items:
        page = client.get(f"/items/{code}").text
        assert "已废止" not in page

    # the feed carries the document's versions as records
    feed = client.get(f"{API}/changes", params={"after": 0, "limit": 1000}).json()
    carried = [c for c in feed["changes"] if c["kind"] == "legal"]
    while feed["changes"]:
        feed = client.get(
            f"{API}/changes", params={"after": feed["last_seq"], "limit": 1000}
        ).json()
        carried += [c for c in feed["changes"] if c["kind"] == "legal"]
    mine = [c for c in carried if c["code"] == str(old["id"])]
    assert [c["version"] for c in mine] == [1, 2, 3]
    assert mine[1]["record"]["status"] == "已废止"
    assert mine[1]["record"]["repealed_on"] == "2026-11-30"

    # and a mirror holds it as the source does
    result = mirror.pull(lambda: Session(own_engine), "http://source", transport=through(client))
    assert result["equal"], result
    with Session(own_engine) as copy:
        held = copy.get(LegalBasis, old["id"])
        assert held is not None
        assert (held.status, str(held.repealed_on), held.number, held.version) == (
            "已废止",
            "2026-11-30",
            DOC["number"],
            3,
        )
        assert copy.get(LegalBasis, new["id"]) is not None


def test_a_legal_basis_is_refused_field_by_field_and_written_by_admins_only(
    client: TestClient, session: Session, keys: Keys
) -> None:
    admin = keys.admin()
    body = problem(
        client.post(f"{API}/legal-bases", json={**DOC, "status": "已废止"}, headers=admin), 422
    )
    assert error_at(body, ["body", "repealed_on"])["type"] == "legal_basis.repealed_on_required"
    body = problem(
        client.post(f"{API}/legal-bases", json={**DOC, "status": "失效"}, headers=admin), 422
    )
    assert error_at(body, ["body", "status"])
    body = problem(
        client.post(
            f"{API}/legal-bases", json={**DOC, "effective_on": "2018-01-01"}, headers=admin
        ),
        422,
    )
    assert error_at(body, ["body", "effective_on"])["type"] == "date.order"
    dept = session.execute(select(Implementation.department_code).limit(1)).scalar_one()
    problem(client.post(f"{API}/legal-bases", json=DOC, headers=keys.editor(dept)), 403)
    problem(client.post(f"{API}/legal-bases", json=DOC), 401)
    created = create(client, admin)
    stale = client.put(
        f"{API}/legal-bases/{created['id']}", json=DOC, headers={**admin, "If-Match": '"7"'}
    )
    assert problem(stale, 412)["current_version"] == 1
    problem(client.get(f"{API}/legal-bases/999999"), 404)
    # an item cannot cite a record that does not exist
    code, _ = three_items(session)[0]
    patch = {"guide": {"legal_basis": [{"id": created["id"]}, {"id": 999999}]}}
    body = problem(client.patch(f"{API}/items/{code}", json=patch, headers=admin), 422)
    assert error_at(body, ["body", "guide", "legal_basis", 1, "id"])["type"] == (
        "legal_basis.unknown"
    )
    problem(client.get(f"{API}/legal-bases/abc"), 422)
    # what GET shows is accepted back unchanged, and makes no version
    shown = client.get(f"{API}/legal-bases/{created['id']}").json()
    same = client.put(f"{API}/legal-bases/{created['id']}", json=shown, headers=admin)
    assert same.status_code == 200, same.text
    assert same.json()["version"] == 1
    listed = client.get(f"{API}/legal-bases", params={"q": "黑政规〔2019〕7号"}).json()
    assert [b["id"] for b in listed["items"]] == [created["id"]]
    assert client.get(f"{API}/legal-bases", params={"status": "已废止"}).json()["items"] == []


@pytest.mark.parametrize("status", ["已修订"])
def test_an_amended_document_marks_the_page_with_its_day(
    client: TestClient, session: Session, keys: Keys, status: str
) -> None:
    admin = keys.admin()
    doc = create(client, admin)
    code, dept = three_items(session)[0]
    cite(client, admin, code, doc["id"])
    resp = client.put(
        f"{API}/legal-bases/{doc['id']}",
        json={**DOC, "status": status, "amended_on": "2026-10-08"},
        headers=admin,
    )
    assert resp.status_code == 200, resp.text
    tasks = client.get(f"{API}/legal-bases/tasks", params={"item": code}).json()
    assert [(t["department"], t["reason"], t["since"]) for t in tasks] == [
        (dept, "amended", "2026-10-08")
    ]
    page = client.get(f"/items/{code}").text
    assert "已修订" in page and "2026-10-08" in page
    # in English too
    assert "Amended" in client.get(f"/items/{code}", params={"lang": "en"}).text


def test_an_entry_naming_the_document_flags_every_implementation_of_it(
    client: TestClient, session: Session, keys: Keys
) -> None:
    admin = keys.admin()
    doc = create(client, admin)
    basic, count = session.execute(
        select(Implementation.basic_code, func.count())
        .where(Implementation.status == "1")
        .group_by(Implementation.basic_code)
        .order_by(func.count().desc(), Implementation.basic_code)
        .limit(1)
    ).one()
    entry = client.get(f"{API}/catalogue-entries/{basic}").json()
    bad = {**entry, "legal_basis": [{**entry["legal_basis"][0], "id": 999999}]}
    body = problem(client.put(f"{API}/catalogue-entries/{basic}", json=bad, headers=admin), 422)
    assert error_at(body, ["body", "legal_basis", 0, "id"])["type"] == "legal_basis.unknown"
    cited = {**entry, "legal_basis": [{**entry["legal_basis"][0], "id": doc["id"]}]}
    resp = client.put(f"{API}/catalogue-entries/{basic}", json=cited, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["legal_basis"][0]["law"] == entry["legal_basis"][0]["law"]
    repeal = {**DOC, "status": "已废止", "repealed_on": "2026-12-01"}
    assert (
        client.put(f"{API}/legal-bases/{doc['id']}", json=repeal, headers=admin).status_code == 200
    )
    tasks = client.get(f"{API}/legal-bases/tasks", params={"legal_basis": doc["id"]}).json()
    assert len(tasks) == count
    assert {t["item"][19:] for t in tasks} == {basic}
