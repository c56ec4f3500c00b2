"""Implementations through the API: reads, writes, rules, and nothing half-written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from app.catalogue.models import CatalogueEntry, Implementation, ItemFee, ItemMaterial
from app.versionlog import ChangeLog, RecordVersion
from tests.conftest import Keys, department_at
from tests.helpers import API, counts, error_at, new_item_body, problem, writable


def county_item(session: Session) -> Implementation:
    """A seeded county implementation that charges a fee."""
    with_fees = select(ItemFee.implementation_code)
    item = (
        session.execute(
            select(Implementation)
            .where(Implementation.level == "4", Implementation.code.in_(with_fees))  # type: ignore[attr-defined]
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )
    assert item is not None, "the seed has no county implementation with fees"
    return item


def test_county_item_reads_with_guide_materials_and_fees(
    client: TestClient, session: Session
) -> None:
    item = county_item(session)
    resp = client.get(f"{API}/items/{item.code}")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["code"] == item.code and doc["level"] == "4"
    entry = session.get(CatalogueEntry, item.basic_code)
    assert doc["name"] == entry.name and doc["legal_basis"] == entry.legal_basis
    assert doc["guide"]["conditions"] and doc["guide"]["windows"] and doc["guide"]["process"]
    assert doc["materials"] and all(m["code"].startswith(item.code) for m in doc["materials"])
    assert doc["fees"] and doc["guide"]["charges_fee"] is True
    assert doc["department"]["name"] and doc["region"]["name"]
    etag = resp.headers["etag"]
    assert (
        client.get(f"{API}/items/{item.code}", headers={"If-None-Match": etag}).status_code == 304
    )


def test_unknown_item_is_404(client: TestClient) -> None:
    problem(client.get(f"{API}/items/" + "1" * 31), 404)


def test_editor_creates_an_item_with_a_built_code(
    client: TestClient, session: Session, keys: Keys
) -> None:
    dept = department_at(session, "3")
    body = new_item_body(session, client, dept)
    resp = client.post(f"{API}/items", json=body, headers=keys.editor(dept.credit_code))
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert doc["code"] == dept.credit_code + dept.level + body["basic_code"]
    assert doc["version"] == 1 and resp.headers["etag"].removeprefix("W/") == '"1"'
    assert [m["code"] for m in doc["materials"]] == [
        f"{doc['code']}{i:03d}" for i in range(1, len(body["materials"]) + 1)
    ]
    assert client.get(f"{API}/items/{doc['code']}").json() == doc
    # one item, one code: the same body again is refused
    again = problem(
        client.post(f"{API}/items", json=body, headers=keys.editor(dept.credit_code)), 409
    )
    assert again["type"].endswith("code-already-issued")


def test_bad_codes_get_422_naming_the_field_and_write_nothing(
    client: TestClient, session: Session, keys: Keys
) -> None:
    dept = department_at(session, "4")
    body = new_item_body(session, client, dept)
    headers = keys.admin()
    before = counts(session)

    tampered = dict(
        body, department=body["department"][:-1] + ("0" if body["department"][-1] != "0" else "1")
    )
    err = problem(client.post(f"{API}/items", json=tampered, headers=headers), 422)
    assert error_at(err, ["body", "department"])["type"].startswith("credit_code.")

    unknown_region = dict(body, region="239999")
    err = problem(client.post(f"{API}/items", json=unknown_region, headers=headers), 422)
    assert error_at(err, ["body", "region"])["type"] == "region_code.unknown"

    bad_level = dict(body, level="2" if dept.level != "2" else "3")
    err = problem(client.post(f"{API}/items", json=bad_level, headers=headers), 422)
    assert error_at(err, ["body", "level"])["type"] == "implementation_code.level"

    bad_material = {**body, "materials": [dict(body["materials"][0], necessity="7")]}
    err = problem(client.post(f"{API}/items", json=bad_material, headers=headers), 422)
    assert (
        error_at(err, ["body", "materials", 0, "necessity"])["type"]
        == "code_list.material_necessity"
    )

    missing = {k: v for k, v in body.items() if k != "guide"}
    err = problem(client.post(f"{API}/items", json=missing, headers=headers), 422)
    assert error_at(err, ["body", "guide"])
    assert counts(session) == before


def test_basic_code_whose_type_disagrees_is_422(
    client: TestClient, session: Session, keys: Keys
) -> None:
    before = counts(session)
    body = {
        "basic_code": "230110099000",  # embeds type 01
        "name": "测试事项",
        "item_type": "20",
        "domain": "10",
        "legal_basis": [{"law": "《中华人民共和国行政许可法》", "article": "第十二条"}],
    }
    err = problem(client.post(f"{API}/catalogue-entries", json=body, headers=keys.admin()), 422)
    assert error_at(err, ["body", "basic_code"])["type"] == "basic_code.item_type"
    assert counts(session) == before


def test_admin_issues_the_next_provincial_basic_code(
    client: TestClient, session: Session, keys: Keys
) -> None:
    body = {
        "name": "省级新增测试事项",
        "item_type": "20",
        "domain": "10",
        "legal_basis": [{"law": "《黑龙江省优化营商环境条例》", "article": "第十条"}],
    }
    headers = keys.admin()
    first = client.post(f"{API}/catalogue-entries", json=body, headers=headers)
    assert first.status_code == 201, first.text
    code = first.json()["basic_code"]
    assert code.startswith("232010") and code.endswith("000")
    sub = client.post(
        f"{API}/catalogue-entries",
        json={**body, "name": "省级新增测试事项（子项）", "parent_basic_code": code},
        headers=headers,
    )
    assert sub.status_code == 201, sub.text
    assert sub.json()["basic_code"] == code[:9] + "001"
    second = client.post(
        f"{API}/catalogue-entries", json={**body, "name": "另一个"}, headers=headers
    )
    assert int(second.json()["basic_code"][6:9]) == int(code[6:9]) + 1


def test_four_same_fields_are_read_only_on_an_item(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = county_item(session)
    body = writable(client, item.code)
    headers = keys.editor(item.department_code)
    before = counts(session)
    for field, value in (
        ("name", "改个名字"),
        ("item_type", "20"),
        ("legal_basis", [{"law": "某法"}]),
    ):
        err = problem(
            client.put(f"{API}/items/{item.code}", json={**body, field: value}, headers=headers),
            409,
        )
        assert err["type"].endswith("four-same") and field in err["detail"]
    # the same values as the entry are accepted (a round trip of the full representation)
    entry = session.get(CatalogueEntry, item.basic_code)
    ok = client.put(f"{API}/items/{item.code}", json={**body, "name": entry.name}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert counts(session) == before  # unchanged content: no new version either


def test_stale_if_match_is_412_and_writes_nothing(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = county_item(session)
    code, version = item.code, item.version
    headers = keys.editor(item.department_code)
    first = client.patch(
        f"{API}/items/{code}",
        json={"guide": {"visits": 0}},
        headers={**headers, "If-Match": f'"{version}"'},
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == version + 1
    before = counts(session)
    stale = problem(
        client.patch(
            f"{API}/items/{code}",
            json={"guide": {"visits": 2}},
            headers={**headers, "If-Match": f'"{version}"'},
        ),
        412,
    )
    assert stale["current_version"] == version + 1
    assert counts(session) == before
    assert client.get(f"{API}/items/{code}").json()["guide"]["visits"] == 0


def test_patch_keeps_material_codes_and_records_a_version(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = county_item(session)
    doc = client.get(f"{API}/items/{item.code}").json()
    materials = [{k: v for k, v in m.items() if k != "position"} for m in doc["materials"]]
    materials.reverse()
    materials[0]["copies"] = materials[0]["copies"] + 1
    resp = client.patch(
        f"{API}/items/{item.code}",
        json={"materials": materials},
        headers={
            **keys.editor(item.department_code),
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert resp.status_code == 200, resp.text
    after = resp.json()
    assert [m["code"] for m in after["materials"]] == [m["code"] for m in materials]
    assert after["version"] == doc["version"] + 1 and after["updated_by"].startswith("editor")
    versions = session.execute(
        select(RecordVersion.version, RecordVersion.key_name)
        .where(RecordVersion.kind == "item", RecordVersion.code == item.code)
        .order_by(RecordVersion.version)
    ).all()
    assert versions[-1] == (after["version"], after["updated_by"])


def test_patch_rewrites_only_the_children_that_changed(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = county_item(session)
    headers = {
        **keys.editor(item.department_code),
        "Content-Type": "application/merge-patch+json",
    }

    def rows() -> dict[str, list[Any]]:
        out = {}
        for name, model in (("materials", ItemMaterial), ("fees", ItemFee)):
            table = model.__table__  # type: ignore[attr-defined]
            owned = table.c.implementation_code == item.code
            out[name] = session.execute(select(table).where(owned).order_by(table.c.id)).all()
        return out

    def last_seq() -> int:
        return session.execute(select(func.max(ChangeLog.seq))).scalar_one()

    before, seq = rows(), last_seq()
    resp = client.patch(f"{API}/items/{item.code}", json={"local_code": "L-1"}, headers=headers)
    assert resp.status_code == 200, resp.text
    assert rows() == before  # the same rows, ids included: nothing deleted and inserted
    assert last_seq() == seq + 1  # the change log's next number, as before
    doc = resp.json()
    materials = [{k: v for k, v in m.items() if k != "position"} for m in doc["materials"]]
    materials[0]["copies"] += 1
    resp = client.patch(f"{API}/items/{item.code}", json={"materials": materials}, headers=headers)
    assert resp.status_code == 200, resp.text
    after = rows()
    assert after["fees"] == before["fees"] and after["materials"] != before["materials"]
    stored = {r.code: r.copies for r in session.execute(select(ItemMaterial)).scalars()}
    assert all(stored[m["code"]] == m["copies"] for m in resp.json()["materials"])
    assert last_seq() == seq + 2


def test_put_with_unchanged_content_makes_no_version(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = county_item(session)
    body = writable(client, item.code)
    before = counts(session)
    resp = client.put(
        f"{API}/items/{item.code}", json=body, headers=keys.editor(item.department_code)
    )
    assert resp.status_code == 200 and resp.json()["version"] == item.version
    assert counts(session) == before


def test_entry_change_shows_on_its_items(client: TestClient, session: Session, keys: Keys) -> None:
    item = county_item(session)
    version = item.version
    entry = client.get(f"{API}/catalogue-entries/{item.basic_code}").json()
    body = {
        k: entry[k]
        for k in (
            "name",
            "item_type",
            "domain",
            "parent_basic_code",
            "legal_basis",
            "handling_items",
        )
    }
    resp = client.put(
        f"{API}/catalogue-entries/{item.basic_code}",
        json={**body, "name": entry["name"] + "（更名）"},
        headers={**keys.admin(), "If-Match": f'"{entry["version"]}"'},
    )
    assert resp.status_code == 200, resp.text
    doc = client.get(f"{API}/items/{item.code}").json()
    assert doc["name"] == entry["name"] + "（更名）" and doc["version"] == version + 1


def test_a_put_of_an_entry_keeps_its_local_code_unless_named(
    client: TestClient, session: Session, keys: Keys
) -> None:
    """The local platform's code ties an entry to the listing it came from: a PUT that
    leaves it out keeps it; null clears it."""
    basic = county_item(session).basic_code
    path = f"{API}/catalogue-entries/{basic}"
    fields = ("name", "item_type", "domain", "parent_basic_code", "legal_basis", "handling_items")

    def put(**extra: Any) -> dict[str, Any]:
        entry = client.get(path).json()
        resp = client.put(
            path,
            json={**{k: entry[k] for k in fields}, **extra},
            headers={**keys.admin(), "If-Match": f'"{entry["version"]}"'},
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    assert put(local_basic_code="511A0138000000")["local_basic_code"] == "511A0138000000"
    assert put()["local_basic_code"] == "511A0138000000"
    assert put(local_basic_code=None)["local_basic_code"] is None


def test_items_list_pages_and_filters(client: TestClient, session: Session) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"region": "230100", "limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{API}/items", params=params).json()
        seen += [i["code"] for i in page["items"]]
        assert all(i["region"].startswith("2301") for i in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = (
        session.execute(
            select(Implementation.code)
            .where(Implementation.region_code.startswith("2301"))
            .order_by(Implementation.code)  # type: ignore[attr-defined]
        )
        .scalars()
        .all()
    )
    assert seen == list(expected) and len(seen) > 7
    typed = client.get(f"{API}/items", params={"type": "01", "level": "4", "limit": 1000}).json()[
        "items"
    ]
    assert typed and all(i["item_type"] == "01" and i["level"] == "4" for i in typed)
    assert all(i["updated_at"].endswith(("Z", "+00:00")) for i in typed)  # ISO 8601 with offset
    problem(client.get(f"{API}/items", params={"limit": 5000}), 422)


def test_pooled_read_path_returns_what_the_session_reads(engine, session: Session) -> None:  # type: ignore[no-untyped-def]
    from app.catalogue.reads import PooledSnapshots, SessionSnapshots

    codes = session.execute(select(Implementation.code).limit(20)).scalars().all()
    pooled, plain = PooledSnapshots(engine), SessionSnapshots(session)
    for code in codes:
        assert pooled.latest("item", code) == plain.latest("item", code)
    assert pooled.latest("item", "0" * 31) is None


def test_every_seeded_code_passes_the_validators(session: Session) -> None:
    from app.codes.rules import validate_basic_code, validate_implementation_code
    from app.directory.models import Department

    entries = {e.basic_code: e for e in session.execute(select(CatalogueEntry)).scalars()}
    assert len(entries) >= 40
    for e in entries.values():
        validate_basic_code(
            e.basic_code, item_type=e.item_type, domain=e.domain, parent=e.parent_basic_code
        )
    levels = dict(session.execute(select(Department.credit_code, Department.level)).all())
    items = session.execute(select(Implementation)).scalars().all()
    assert len(items) >= 150 and {i.level for i in items} >= {"2", "3", "4"}
    for i in items:
        validate_implementation_code(
            i.code,
            basic_code_exists=i.basic_code in entries,
            department_level=levels[i.department_code],
        )
