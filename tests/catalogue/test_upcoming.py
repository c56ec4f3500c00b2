"""``upcoming`` in an item's representation: what a decided change will do on which day and
which items take over (a merge's survivor, a delegation's receiving implementations, a
split's new items), with their names and regions; empty when nothing is scheduled. Stored
with the version, so GET, the feed and the digest carry it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app import clock
from app.catalogue.models import CatalogueEntry, Implementation
from app.directory.models import Department
from tests.catalogue.test_lifecycle import city_departments, decision, event, provincial_item
from tests.conftest import Keys
from tests.helpers import API, new_item_body


def _item(client: TestClient, code: str) -> dict[str, Any]:
    resp = client.get(f"{API}/items/{code}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _name(session: Session, code: str) -> str:
    return session.execute(
        select(CatalogueEntry.name)
        .join(Implementation, Implementation.basic_code == CatalogueEntry.basic_code)
        .where(Implementation.code == code)
    ).scalar_one()


def test_an_item_with_nothing_scheduled_has_nothing_upcoming(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = provincial_item(session)
    headers = keys.admin()
    body = _item(client, item.code)
    body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
    resp = client.put(f"{API}/items/{item.code}", json=body, headers=headers)
    assert resp.status_code == 200, resp.text  # GET's body, upcoming included, written back
    assert _item(client, item.code)["upcoming"] == []


def test_a_delegation_names_the_receiving_items_and_the_handover_day(
    client: TestClient, session: Session, keys: Keys
) -> None:
    province = provincial_item(session)
    cities = city_departments(session, province.basic_code)[:2]
    today = clock.today()
    handover = today + timedelta(days=20)
    resp = client.post(
        f"{API}/items/{province.code}/delegate",
        json=event(
            today + timedelta(days=5),
            mode="delegate",
            handover_date=handover.isoformat(),
            to=[{"department": d.credit_code, "region": d.region_code} for d in cities],
        ),
        headers=keys.editor(province.department_code),
    )
    assert resp.status_code == 200, resp.text
    created = resp.json()["created"]
    name = _name(session, province.code)
    assert _item(client, province.code)["upcoming"] == [
        {
            "event": "delegate",
            "effective_date": handover.isoformat(),
            "decision": decision(),
            "successors": [
                {"code": code, "name": name, "region": dept.region_code}
                for code, dept in zip(created, cities, strict=True)
            ],
        }
    ]
    # the receiving item: nothing until it accepts, then its acceptance on the handover day
    receiving = created[0]
    assert _item(client, receiving)["upcoming"] == []
    accepted = client.post(
        f"{API}/items/{receiving}/accept",
        json=event(today),
        headers=keys.editor(cities[0].credit_code),
    )
    assert accepted.status_code == 200, accepted.text
    assert _item(client, receiving)["upcoming"] == [
        {
            "event": "accept",
            "effective_date": handover.isoformat(),
            "decision": decision(),
            "successors": [],
        }
    ]
    # the day after the handover, as_of says what will be: nothing upcoming any more
    later = client.get(
        f"{API}/items/{province.code}", params={"as_of": handover.isoformat()}
    ).json()
    assert later["status"] == "5" and later["upcoming"] == []


def test_a_merge_names_the_survivor_and_a_cancellation_no_one(
    client: TestClient, session: Session, keys: Keys
) -> None:
    a, b, c = (
        session.execute(
            select(Implementation)
            .where(Implementation.level == "4", Implementation.status == "1")
            .order_by(Implementation.code)
            .limit(3)
        )
        .scalars()
        .all()
    )
    headers = keys.admin()
    on = clock.today() + timedelta(days=9)
    assert client.post(
        f"{API}/items/{a.code}/merge", json=event(on, into=b.code), headers=headers
    ).is_success
    assert client.post(f"{API}/items/{c.code}/cancel", json=event(on), headers=headers).is_success
    merged = _item(client, a.code)
    assert merged["status"] == "1"
    assert merged["upcoming"] == [
        {
            "event": "merge",
            "effective_date": on.isoformat(),
            "decision": decision(),
            "successors": [
                {"code": b.code, "name": _name(session, b.code), "region": b.region_code}
            ],
        }
    ]
    assert _item(client, c.code)["upcoming"] == [
        {
            "event": "cancel",
            "effective_date": on.isoformat(),
            "decision": decision(),
            "successors": [],
        }
    ]
    # the representation is the one stored: the feed carries it as GET shows it
    feed = client.get(f"{API}/changes", params={"after": 0, "limit": 1000}).json()
    last = [ch for ch in feed["changes"] if ch["code"] == a.code][-1]
    assert last["item"] == merged


def test_a_split_names_the_new_items(client: TestClient, session: Session, keys: Keys) -> None:
    dept = (
        session.execute(
            select(Department)
            .where(Department.level == "4")
            .order_by(Department.credit_code.desc())
        )
        .scalars()
        .first()
    )
    item = (
        session.execute(
            select(Implementation).where(Implementation.department_code == dept.credit_code)
        )
        .scalars()
        .first()
    )
    parts = [new_item_body(session, client, dept, nth) for nth in (0, 1)]
    on = clock.today() + timedelta(days=3)
    resp = client.post(
        f"{API}/items/{item.code}/split",
        json=event(on, into=parts),
        headers=keys.editor(dept.credit_code),
    )
    assert resp.status_code == 200, resp.text
    created = resp.json()["created"]
    upcoming = _item(client, item.code)["upcoming"]
    assert [(u["event"], u["effective_date"]) for u in upcoming] == [("split", on.isoformat())]
    assert upcoming[0]["successors"] == [
        {"code": code, "name": _name(session, code), "region": dept.region_code} for code in created
    ]
