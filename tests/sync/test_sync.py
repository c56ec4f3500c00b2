"""City platform sync through the API: the change feed, bulk upserts, digests."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from app.catalogue.documents import content_hash, input_content
from app.catalogue.models import CatalogueEntry, Implementation
from app.catalogue.reads import SessionSnapshots, get_item_json
from app.catalogue.schemas import ImplementationIn
from app.codes.rules import implementation_code
from app.directory.models import Department
from app.sync.digest import digest
from app.sync.feed import head_seq, read_changes
from app.sync.mirror import apply_changes
from tests.conftest import Keys, department_at
from tests.helpers import API, counts, new_item_body, problem, writable


def read_feed(
    client: TestClient, after: int = 0, limit: int = 97, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    changes: list[dict[str, Any]] = []
    while True:
        page = client.get(
            f"{API}/changes", params={"after": after, "limit": limit, **params}
        ).json()
        changes += page["changes"]
        if page["last_seq"] == after:
            return changes, after
        after = page["last_seq"]


def test_feed_pages_hold_every_item_once_with_its_state(
    client: TestClient, session: Session
) -> None:
    changes, last = read_feed(client)
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(set(seqs))  # strictly increasing, no repeats
    latest = {}
    for c in changes:
        if c["kind"] == "item":
            latest[c["code"]] = c
    codes = set(session.execute(select(Implementation.code)).scalars())
    assert set(latest) == codes
    some = next(iter(codes))
    assert latest[some]["item"] == client.get(f"{API}/items/{some}").json()
    assert {c["code"] for c in changes if c["kind"] == "entry"} == set(
        session.execute(select(CatalogueEntry.basic_code)).scalars()
    )
    # nothing new: the same last_seq comes back
    tail = client.get(f"{API}/changes", params={"after": last}).json()
    assert tail == {"changes": [], "last_seq": last, "head_seq": last, "epoch": tail["epoch"]}


def test_feed_carries_edits_cancellations_and_region_filter(
    client: TestClient, session: Session, keys: Keys
) -> None:
    _, last = read_feed(client)
    item = (
        session.execute(select(Implementation).where(Implementation.region_code == "230102"))
        .scalars()
        .first()
    )
    other = (
        session.execute(select(Implementation).where(Implementation.region_code == "230602"))
        .scalars()
        .first()
    )
    code, other_code = item.code, other.code
    headers = keys.admin()
    doc = client.get(f"{API}/items/{code}").json()
    materials = [{k: v for k, v in m.items() if k != "position"} for m in doc["materials"]]
    materials[0]["copies"] += 1
    assert (
        client.patch(
            f"{API}/items/{code}", json={"materials": materials}, headers=headers
        ).status_code
        == 200
    )
    cancel = {
        "decision": {"number": "哈政发〔2026〕1号", "title": "取消事项"},
        "reason": "法律修订",
        "effective_date": "2026-12-01",
    }
    assert (
        client.post(f"{API}/items/{other_code}/cancel", json=cancel, headers=headers).status_code
        == 200
    )
    changes, _ = read_feed(client, after=last)
    assert [(c["code"], c["event"]) for c in changes] == [(code, "revise"), (other_code, "cancel")]
    assert changes[0]["item"]["materials"][0]["copies"] == materials[0]["copies"]
    assert (
        changes[1]["decision"]["number"] == "哈政发〔2026〕1号"
        and changes[1]["effective_date"] == "2026-12-01"
    )
    harbin, _ = read_feed(client, after=last, region="230100")
    assert [c["code"] for c in harbin] == [code]


def _fresh_bodies(session: Session, client: TestClient, n: int) -> list[dict[str, Any]]:
    """n valid implementations that do not exist yet: a seeded item's guide and materials,
    given to (department, entry) pairs that have none."""
    template = writable(
        client,
        session.execute(select(Implementation.code).order_by(Implementation.code))
        .scalars()
        .first(),
    )
    taken = set(session.execute(select(Implementation.code)).scalars())
    entries = (
        session.execute(select(CatalogueEntry.basic_code).order_by(CatalogueEntry.basic_code))
        .scalars()
        .all()
    )
    depts = (
        session.execute(
            select(Department)
            .where(Department.region_code.startswith("23"))
            .order_by(Department.credit_code)
        )
        .scalars()
        .all()
    )  # type: ignore[attr-defined]
    bodies = []
    for dept in depts:
        for basic in entries:
            code = implementation_code(dept.credit_code, dept.level, basic)
            if code in taken:
                continue
            bodies.append(
                {
                    **copy.deepcopy(template),
                    "code": None,
                    "basic_code": basic,
                    "department": dept.credit_code,
                    "region": dept.region_code,
                    "level": dept.level,
                    "materials": [{**m, "code": None} for m in template["materials"]],
                    "fees": [{**f, "code": None} for f in template["fees"]],
                }
            )
            if len(bodies) == n:
                return bodies
    raise AssertionError("not enough free (department, entry) pairs")


def test_bulk_1000_with_3_bad_items(client: TestClient, session: Session, keys: Keys) -> None:
    bodies = _fresh_bodies(session, client, 1000)
    bodies[10]["region"] = "239999"  # unknown region
    bodies[500]["guide"]["visits"] = -1  # out of range
    bodies[999]["materials"][0]["necessity"] = "7"  # not in the code list
    before = counts(session)
    resp = client.post(f"{API}/sync/items", json=bodies, headers=keys.admin())
    assert resp.status_code == 200, resp.text[:500]
    result = resp.json()
    assert (result["created"], result["rejected"]) == (997, 3)
    rejected = {r["index"]: r["errors"] for r in result["items"] if r["result"] == "rejected"}
    assert (
        rejected[10][0]["loc"] == [10, "region"]
        and rejected[10][0]["type"] == "region_code.unknown"
    )
    assert rejected[500][0]["loc"] == [500, "guide", "visits"]
    assert rejected[999][0]["loc"] == [999, "materials", 0, "necessity"]
    after = counts(session)
    assert after["Implementation"] == before["Implementation"] + 997
    for i in (10, 500, 999):
        code = implementation_code(
            bodies[i]["department"], bodies[i]["level"], bodies[i]["basic_code"]
        )
        assert client.get(f"{API}/items/{code}").status_code == 404


def test_bulk_is_idempotent_and_unchanged_content_makes_no_version(
    client: TestClient, session: Session, keys: Keys
) -> None:
    bodies = _fresh_bodies(session, client, 20)
    headers = keys.sync("230000")
    ndjson = b"\n".join(orjson.dumps(b) for b in bodies)
    send = {**headers, "Content-Type": "application/x-ndjson", "Idempotency-Key": "batch-1"}
    first = client.post(f"{API}/sync/items", content=ndjson, headers=send)
    assert first.status_code == 200 and first.json()["created"] == 20
    after_first = counts(session)
    again = client.post(f"{API}/sync/items", content=ndjson, headers=send)
    assert again.json() == first.json() and counts(session) == after_first
    other_key = client.post(
        f"{API}/sync/items", content=ndjson, headers={**send, "Idempotency-Key": "batch-2"}
    )
    assert (
        other_key.json()["unchanged"] == 20
        and counts(session)["RecordVersion"] == after_first["RecordVersion"] + 0
    )
    reused = problem(
        client.post(
            f"{API}/sync/items", json=bodies[:1], headers={**headers, "Idempotency-Key": "batch-1"}
        ),
        409,
    )
    assert reused["type"].endswith("idempotency-key-reused")


def test_bulk_conflict_and_region_scope(client: TestClient, session: Session, keys: Keys) -> None:
    harbin = (
        session.execute(select(Implementation).where(Implementation.region_code.startswith("2301")))
        .scalars()
        .first()
    )
    daqing = (
        session.execute(select(Implementation).where(Implementation.region_code.startswith("2306")))
        .scalars()
        .first()
    )
    version = harbin.version
    body = writable(client, harbin.code)
    body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
    outside = writable(client, daqing.code)
    outside["guide"]["visits"] = (outside["guide"]["visits"] + 1) % 3
    headers = keys.sync("230100")
    resp = client.post(
        f"{API}/sync/items",
        json=[{**body, "version": version + 5}, outside, body],
        headers=headers,
    ).json()
    assert [r["result"] for r in resp["items"]] == ["conflict", "rejected", "updated"]
    assert resp["items"][0]["version"] == version
    assert resp["items"][1]["errors"][0]["type"] == "out-of-scope"
    problem(client.post(f"{API}/sync/items", json=[body]), 401)


def test_a_bad_expected_version_is_a_field_error(
    client: TestClient, session: Session, keys: Keys
) -> None:
    """``version`` is checked like any field: a body of one item, and the same item among
    good ones (the body then takes the item-by-item path), answer alike."""
    item = (
        session.execute(select(Implementation).where(Implementation.region_code.startswith("2301")))
        .scalars()
        .first()
    )
    code, version = item.code, item.version
    body = writable(client, code)
    body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
    headers = keys.sync("230100")
    for bad in ("three", 0):
        alone = client.post(
            f"{API}/sync/items", json=[{**body, "version": bad}], headers=headers
        ).json()
        assert alone["rejected"] == 1
        assert alone["items"][0]["errors"][0]["loc"] == [0, "version"]
        mixed = client.post(
            f"{API}/sync/items", json=[body, {**body, "version": bad}], headers=headers
        ).json()
        assert [r["result"] for r in mixed["items"]][1] == "rejected"
        assert mixed["items"][1]["errors"][0]["loc"] == [1, "version"]
    assert client.get(f"{API}/items/{code}").json()["version"] == version + 1


def test_a_mirror_applies_the_feed_in_bulk_and_skips_what_it_holds(
    client: TestClient, session: Session, keys: Keys, own_engine: Engine
) -> None:
    """``apply_changes`` (what ``catalogue sync pull`` does with each page) copies edits and
    new items, materials and all, so that both sides read and digest the same; a page
    applied again changes nothing."""
    codes = (
        session.execute(select(Implementation.code).order_by(Implementation.code).limit(3))
        .scalars()
        .all()
    )
    for code in codes:  # two versions of the first in one page
        body = writable(client, code)
        body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
        body["materials"] = body["materials"][:1]
        resp = client.put(f"{API}/items/{code}", json=body, headers=keys.admin())
        assert resp.status_code == 200, resp.text
    again = writable(client, codes[0])
    again["guide"]["visits"] = (again["guide"]["visits"] + 1) % 3
    assert client.put(f"{API}/items/{codes[0]}", json=again, headers=keys.admin()).is_success
    dept = department_at(session, "4")
    created = client.post(
        f"{API}/items", json=new_item_body(session, client, dept), headers=keys.admin()
    )
    assert created.status_code == 201, created.text
    new_code = created.json()["code"]

    with Session(own_engine) as mirror:
        start = head_seq(mirror)  # the same seed: the changes after it are the edits
    changes, _ = read_changes(session, after=0, limit=100_000)
    changes = orjson.loads(orjson.dumps({"changes": changes}))["changes"]  # as sent
    with Session(own_engine) as mirror:
        assert apply_changes(mirror, changes) == len([c for c in changes if c["seq"] > start])
        mirror.commit()
    with Session(own_engine) as mirror:
        assert apply_changes(mirror, changes) == 0
        for code in [*codes, new_code]:
            assert orjson.loads(get_item_json(SessionSnapshots(mirror), code)[1]) == (
                client.get(f"{API}/items/{code}").json()
            )
        # each side seeded its own catalogue (other timestamps): compare what was copied
        mine = {i["code"]: i for i in digest(mirror, items=True)["items"]}
        theirs = {i["code"]: i for i in digest(session, items=True)["items"]}
        assert all(mine[code] == theirs[code] for code in [*codes, new_code])
        assert counts(mirror) == counts(session)
        hashes = select(Implementation.code, Implementation.content_hash).where(
            Implementation.code.in_([*codes, new_code])  # type: ignore[attr-defined]
        )
        assert dict(mirror.execute(hashes).all()) == dict(session.execute(hashes).all())


def test_digest_drills_down_to_the_changed_item(
    client: TestClient, session: Session, keys: Keys
) -> None:
    whole = client.get(f"{API}/sync/digest", params={"region": "230100"}).json()
    by_dept = client.get(
        f"{API}/sync/digest", params={"region": "230100", "by": "department"}
    ).json()
    assert sum(p["count"] for p in by_dept["parts"]) == whole["count"] > 0
    item = (
        session.execute(select(Implementation).where(Implementation.region_code == "230102"))
        .scalars()
        .first()
    )
    code, dept = item.code, item.department_code
    client.patch(f"{API}/items/{code}", json={"guide": {"visits": 3}}, headers=keys.admin())
    changed = client.get(f"{API}/sync/digest", params={"region": "230100"}).json()
    assert changed["count"] == whole["count"] and changed["hash"] != whole["hash"]
    parts = client.get(
        f"{API}/sync/digest", params={"region": "230100", "by": "department"}
    ).json()["parts"]
    differing = [
        p["key"] for p, q in zip(parts, by_dept["parts"], strict=True) if p["hash"] != q["hash"]
    ]
    assert differing == [dept]
    listed = client.get(f"{API}/sync/digest", params={"department": dept, "items": True}).json()[
        "items"
    ]
    assert code in {i["code"] for i in listed}


def test_a_resent_item_is_known_by_its_content_and_an_edit_moves_it(
    client: TestClient, session: Session, keys: Keys
) -> None:
    """A city resends its whole list: items sent as stored answer ``unchanged`` and make no
    version, whatever the key order and whether material codes are given; once an editor has
    changed an item, resending the old content updates it again (never a silent no-op)."""
    bodies = _fresh_bodies(session, client, 3)
    headers = keys.admin()
    created = client.post(f"{API}/sync/items", json=bodies, headers=headers).json()
    assert created["created"] == 3
    codes = [r["code"] for r in created["items"]]
    as_stored = writable(client, codes[1])  # with the material codes the catalogue gave
    assert all(m["code"] for m in as_stored["materials"])
    reordered = dict(reversed(list(as_stored.items())))
    before = counts(session)
    again = client.post(
        f"{API}/sync/items",
        json=[bodies[0], reordered, {**bodies[2], "version": 1}],
        headers=headers,
    ).json()
    assert [r["result"] for r in again["items"]] == ["unchanged"] * 3
    assert counts(session) == before

    edited = writable(client, codes[0])
    edited["guide"]["visits"] = (edited["guide"]["visits"] + 1) % 3
    assert client.put(f"{API}/items/{codes[0]}", json=edited, headers=headers).status_code == 200
    resent = client.post(f"{API}/sync/items", json=[bodies[0]], headers=headers).json()
    assert resent["items"][0]["result"] == "updated" and resent["items"][0]["version"] == 3
    assert client.get(f"{API}/items/{codes[0]}").json()["guide"] == bodies[0]["guide"]

    # an item stored before content hashes were kept takes the full comparison
    session.execute(
        update(Implementation).where(Implementation.code == codes[2]).values(content_hash=None)
    )
    legacy = client.post(f"{API}/sync/items", json=[bodies[2]], headers=headers).json()
    assert legacy["items"][0]["result"] == "unchanged"
    assert counts(session)["RecordVersion"] == before["RecordVersion"] + 2


def test_stored_content_hash_equals_the_hash_of_the_item_as_input(
    client: TestClient, session: Session
) -> None:
    """The hash written with each version (from the representation) and the one the bulk
    path computes for a new item (from the validated input) are the same for every item."""
    items = session.execute(select(Implementation.code, Implementation.content_hash)).all()
    assert items and all(stored for _, stored in items)
    for code, stored in items:
        data = ImplementationIn.model_validate(writable(client, code))
        assert content_hash(input_content(data.model_dump(mode="json"))) == stored, code


def test_the_same_body_again_is_unchanged_only_while_its_items_stand(
    client: TestClient, session: Session, keys: Keys
) -> None:
    """A body sent before is answered from the versions it left while every item is still
    there; after an edit it is applied again, and another region's key never gets an
    answer for items outside its scope."""
    bodies = _fresh_bodies(session, client, 3)
    elsewhere = next(p for p in ("230900", "230600", "230100") if not any(
        b["region"].startswith(p[:4]) for b in bodies
    ))  # fmt: skip
    body = orjson.dumps(bodies)
    send = {**keys.admin(), "Content-Type": "application/json"}
    created = client.post(f"{API}/sync/items", content=body, headers=send).json()
    assert created["created"] == 3
    codes = [r["code"] for r in created["items"]]
    before = counts(session)
    again = client.post(f"{API}/sync/items", content=body, headers=send).json()
    assert [(r["code"], r["result"], r["version"]) for r in again["items"]] == [
        (c, "unchanged", 1) for c in codes
    ]
    assert counts(session) == before

    edited = writable(client, codes[0])
    edited["guide"]["visits"] = (edited["guide"]["visits"] + 1) % 3
    assert client.put(f"{API}/items/{codes[0]}", json=edited, headers=send).status_code == 200
    third = client.post(f"{API}/sync/items", content=body, headers=send).json()
    assert [r["result"] for r in third["items"]] == ["updated", "unchanged", "unchanged"]
    assert third["items"][0]["version"] == 3

    other_city = {**keys.sync(elsewhere), "Content-Type": "application/json"}
    outside = client.post(f"{API}/sync/items", content=body, headers=other_city).json()
    assert outside["rejected"] == 3
    assert {e["type"] for r in outside["items"] for e in r["errors"]} == {"out-of-scope"}


def test_a_body_with_expected_versions_sent_again_is_a_conflict(
    client: TestClient, session: Session, keys: Keys
) -> None:
    """An item that says which version it expects is applied once; the same body again
    finds the item moved on (by that very body) and says so, as a retry without an
    Idempotency-Key must."""
    item = session.execute(select(Implementation).order_by(Implementation.code)).scalars().first()
    code, version = item.code, item.version
    body = writable(client, code)
    body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
    payload = orjson.dumps([{**body, "version": version}])
    send = {**keys.admin(), "Content-Type": "application/json"}
    first = client.post(f"{API}/sync/items", content=payload, headers=send).json()
    assert first["items"][0]["result"] == "updated"
    again = client.post(f"{API}/sync/items", content=payload, headers=send).json()
    assert again["items"][0]["result"] == "conflict"
    assert again["items"][0]["version"] == version + 1


def test_the_bulk_body_is_documented_with_the_expected_version(client: TestClient) -> None:
    """An integrator generating a client from the OpenAPI document sees ``version`` on
    each item, and every schema an item refers to is in the document."""
    doc = client.get(f"{API}/openapi.json").json()
    body = doc["paths"][f"{API}/sync/items"]["post"]["requestBody"]["content"]
    item = body["application/json"]["schema"]["items"]
    assert "version" in item["properties"] and "guide" in item["properties"]
    refs = set()
    stack: list[Any] = [item]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                if name not in refs:
                    refs.add(name)
                    stack.append(doc["components"]["schemas"][name])
            stack += node.values()
        elif isinstance(node, list):
            stack += node
    # "-Input": the guide's optional conditions are left out of the output when unset
    assert {"Guide-Input", "MaterialIn", "FeeIn"} <= refs


def test_rows_written_by_the_fast_insert_read_back_as_core_writes_them(session: Session) -> None:
    """``insert_rows`` (new items, mirror pages) converts values itself on SQLite: a
    timestamp, a date, JSON (null, object, text with Chinese) and a NULL must read back as
    the same values as from SQLAlchemy Core's own insert."""
    from datetime import UTC, date, datetime

    from sqlalchemy import insert

    from app.db import insert_rows
    from app.versionlog import RecordVersion

    now = datetime(2026, 11, 28, 16, 1, 29, 123456, tzinfo=UTC)
    rows = [
        {
            "kind": "item",
            "code": f"TEST{n}",
            "version": 1,
            "event": "create",
            "snapshot": '{"name":"公司设立登记"}',
            "reason": None,
            "decision": {"文号": "国发〔2026〕1号", "n": n},
            "key_name": "editor",
            "recorded_at": now,  # the same object in every row: converted once
            "effective_date": date(2026, 12, 1),
            "status_after": "1",
            "details": None,
            "next_change": None if n else date(2027, 1, 1),
        }
        for n in range(3)
    ]
    conn = session.connection()
    conn.execute(insert(RecordVersion), [{**r, "kind": "core"} for r in rows])
    insert_rows(conn, RecordVersion.__table__, [{**r, "kind": "fast"} for r in rows])

    def read(kind: str) -> list[dict[str, Any]]:
        found = conn.execute(
            select(RecordVersion.__table__)
            .where(RecordVersion.kind == kind)
            .order_by(RecordVersion.code)
        ).mappings()
        return [{k: v for k, v in r.items() if k not in ("id", "kind")} for r in found]

    def stored(
        kind: str,
    ) -> list[tuple[Any, ...]]:  # as the database holds them: SQL compares these
        return [
            tuple(r)
            for r in conn.exec_driver_sql(
                "SELECT recorded_at, effective_date, next_change, decision, details "
                f"FROM record_version WHERE kind = '{kind}' ORDER BY code"
            )
        ]

    fast = read("fast")
    assert fast == read("core")
    assert stored("fast") == stored("core")
    assert [r["recorded_at"] for r in fast] == [now] * 3
    assert fast[0]["next_change"] == date(2027, 1, 1) and fast[1]["next_change"] is None
    assert fast[2]["decision"] == {"文号": "国发〔2026〕1号", "n": 2}
