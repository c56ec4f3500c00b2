"""A bulk update (POST /sync/items of stored items with a field changed): each changed item
gets one new version and one feed entry, its materials keep their codes, a new material
gets the next code, and the item reads back as it was sent; an item with a scheduled event
keeps it; the same item twice in one body is applied in order."""

from __future__ import annotations

from datetime import timedelta

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app import clock
from app.catalogue.models import Implementation
from app.versionlog import RecordVersion
from tests.conftest import Keys, department_at
from tests.helpers import API, counts, new_item_body, writable


def test_bulk_update_writes_one_version_per_changed_item(
    client: TestClient, session: Session, keys: Keys
) -> None:
    dept = department_at(session, "4")
    headers = keys.admin()
    bodies = [new_item_body(session, client, dept, nth) for nth in range(4)]
    created = client.post(f"{API}/sync/items", json=bodies, headers=headers).json()
    assert created["created"] == 4, created
    codes = [r["code"] for r in created["items"]]
    cancel_on = clock.today() + timedelta(days=30)
    cancel = {
        "decision": {"number": "黑政规〔2026〕9号", "title": "关于调整省级行政权力事项的决定"},
        "reason": "优化营商环境",
        "effective_date": cancel_on.isoformat(),
    }
    resp = client.post(f"{API}/items/{codes[3]}/cancel", json=cancel, headers=headers)
    assert resp.status_code == 200, resp.text
    stored = [writable(client, c) for c in codes]
    material_codes = [m["code"] for m in stored[0]["materials"]]
    assert material_codes and all(material_codes)

    changed = [dict(b) for b in bodies]  # sent as first sent: material codes left out
    changed[0]["local_code"] = "BULK-0"
    changed[0]["materials"] = [*bodies[0]["materials"], {**bodies[0]["materials"][0]}]
    changed[0]["materials"][-1].update(code=None, name="补充材料")
    changed[2] = {**bodies[2], "local_code": "BULK-2"}
    changed[3] = {**bodies[3], "local_code": "BULK-3"}
    again = {**changed[2], "local_code": "BULK-2b"}
    before = counts(session)
    head = client.get(f"{API}/changes", params={"limit": 1}).json()["head_seq"]
    result = client.post(f"{API}/sync/items", json=[*changed, again], headers=headers).json()

    assert [(r["result"], r["version"]) for r in result["items"]] == [
        ("updated", 2),
        ("unchanged", 1),
        ("updated", 2),
        ("updated", 3),  # after its cancellation was scheduled (version 2)
        ("updated", 3),  # the same item again, after the first
    ], result
    after = counts(session)
    assert after["RecordVersion"] == before["RecordVersion"] + 4
    assert after["ChangeLog"] == before["ChangeLog"] + 4
    assert after["IssuedCode"] == before["IssuedCode"] + 1  # the new material's code

    first = client.get(f"{API}/items/{codes[0]}").json()
    assert first["local_code"] == "BULK-0" and first["version"] == 2
    assert [m["code"] for m in first["materials"]][: len(material_codes)] == material_codes
    new_code = first["materials"][-1]["code"]
    assert new_code.startswith(codes[0]) and new_code not in material_codes
    assert client.get(f"{API}/items/{codes[2]}").json()["local_code"] == "BULK-2b"
    scheduled = client.get(f"{API}/items/{codes[3]}").json()
    assert scheduled["local_code"] == "BULK-3"
    assert [(s["event"], s["effective_date"]) for s in scheduled["scheduled"]] == [
        ("cancel", cancel_on.isoformat())
    ]

    # the version recorded is what GET answers, and the row's hash knows the content again
    snapshot = session.execute(
        select(RecordVersion.snapshot).where(
            RecordVersion.kind == "item", RecordVersion.code == codes[0], RecordVersion.version == 2
        )
    ).scalar_one()
    assert orjson.loads(snapshot) == first
    row = session.get(Implementation, codes[0])
    assert row is not None and row.version == 2 and row.local_code == "BULK-0"
    feed = client.get(f"{API}/changes", params={"after": head}).json()["changes"]
    assert sorted(c["code"] for c in feed) == sorted([codes[0], codes[2], codes[3], codes[2]])
    resent = client.post(f"{API}/sync/items", json=changed[:2], headers=headers).json()
    assert [r["result"] for r in resent["items"]] == ["unchanged", "unchanged"], resent
    assert counts(session) == after
