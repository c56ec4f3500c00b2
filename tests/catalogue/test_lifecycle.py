"""Version history and lifecycle, walked end to end through the API (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app import clock
from app.catalogue.models import Implementation
from app.codes.rules import implementation_code, make_credit_code
from app.directory.models import Department
from tests.conftest import Keys
from tests.helpers import API, counts, error_at, new_item_body, problem

TODAY = clock.today()


def decision(n: int = 9) -> dict[str, str]:
    return {"number": f"黑政规〔2026〕{n}号", "title": "关于调整省级行政权力事项的决定"}


def event(effective: date, **extra: Any) -> dict[str, Any]:
    return {
        "decision": decision(),
        "reason": "优化营商环境，方便群众就近办理",
        "effective_date": effective.isoformat(),
        **extra,
    }


def provincial_item(session: Session) -> Implementation:
    item = (
        session.execute(
            select(Implementation)
            .where(Implementation.level == "2", Implementation.status == "1")
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )
    assert item is not None
    return item


def city_departments(session: Session, basic_code: str) -> list[Department]:
    """One city department in each of 哈尔滨, 大庆, 七台河 that does not implement the item yet."""
    chosen = []
    for city in ("230100", "230600", "230900"):
        for dept in session.execute(
            select(Department)
            .where(Department.region_code == city, Department.level == "3")
            .order_by(Department.credit_code)
        ).scalars():
            if (
                session.get(Implementation, implementation_code(dept.credit_code, "3", basic_code))
                is None
            ):
                chosen.append(dept)
                break
    assert len(chosen) == 3
    return chosen


def listed(client: TestClient, basic_code: str, **params: Any) -> dict[str, str]:
    items = client.get(
        f"{API}/items", params={"basic_code": basic_code, "limit": 1000, **params}
    ).json()["items"]
    return {i["code"]: i["status"] for i in items}


def test_delegation_to_three_cities_two_accept(
    client: TestClient, session: Session, keys: Keys
) -> None:
    province = provincial_item(session)
    code, basic = province.code, province.basic_code
    cities = city_departments(session, basic)
    handover = TODAY + timedelta(days=10)
    resp = client.post(
        f"{API}/items/{code}/delegate",
        json=event(
            TODAY,
            mode="delegate",
            handover_date=handover.isoformat(),
            to=[{"department": d.credit_code, "region": d.region_code} for d in cities],
        ),
        headers=keys.editor(province.department_code),
    )
    assert resp.status_code == 200, resp.text
    created = resp.json()["created"]
    assert created == [implementation_code(d.credit_code, "3", basic) for d in cities]

    for dept, new_code in list(zip(cities, created, strict=True))[:2]:
        window = {
            "name": f"{dept.name}窗口",
            "address": "市政务服务中心二楼",
            "hours": "工作日 9:00-17:00",
            "phone": "0451-12345678",
        }
        accepted = client.post(
            f"{API}/items/{new_code}/accept",
            json=event(TODAY, guide={"windows": [window]}),
            headers=keys.editor(dept.credit_code),
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["effective_date"] == handover.isoformat()
        windows = client.get(f"{API}/items/{new_code}").json()["guide"]["windows"]
        assert [{k: w[k] for k in window} for w in windows] == [window]

    # before the handover date: only the province handles it
    for day in (TODAY, handover - timedelta(days=1)):
        assert listed(client, basic, as_of=day.isoformat()) == {code: "1"}
    now = client.get(f"{API}/items/{code}").json()
    assert now["status"] == "1" and [e["event"] for e in now["scheduled"]] == ["delegate"]

    # from the handover date: the two accepted cities, the province marked delegated
    after = listed(client, basic, as_of=handover.isoformat())
    assert after == {code: "5", created[0]: "1", created[1]: "1"}
    third = client.get(f"{API}/items/{created[2]}", params={"as_of": handover.isoformat()}).json()
    assert third["status"] == "4" and third["delegated_from"] == code
    assert listed(client, basic, as_of=handover.isoformat(), status="4") == {created[2]: "4"}
    city = client.get(f"{API}/items/{created[0]}", params={"as_of": handover.isoformat()}).json()
    assert city["power_source"] == "2" and city["lifecycle"]["event"] == "accept"
    assert city["name"] == now["name"] and city["basic_code"] == basic  # 四级四同
    old = client.get(f"{API}/items/{code}", params={"as_of": handover.isoformat()}).json()
    assert old["status"] == "5" and old["lifecycle"]["decision"]["number"] == decision()["number"]
    assert sorted(old["lifecycle"]["details"]["to"]) == sorted(created)


def test_future_cancellation(client: TestClient, session: Session, keys: Keys) -> None:
    dept = (
        session.execute(
            select(Department).where(Department.level == "4").order_by(Department.credit_code)
        )
        .scalars()
        .first()
    )
    body = new_item_body(session, client, dept)
    headers = keys.editor(dept.credit_code)
    code = client.post(f"{API}/items", json=body, headers=headers).json()["code"]
    cancel_on = TODAY + timedelta(days=30)
    resp = client.post(f"{API}/items/{code}/cancel", json=event(cancel_on), headers=headers)
    assert resp.status_code == 200, resp.text

    now = client.get(f"{API}/items/{code}").json()
    assert now["status"] == "1"
    assert (
        now["scheduled"][0]["event"] == "cancel"
        and now["scheduled"][0]["effective_date"] == cancel_on.isoformat()
    )
    before = client.get(
        f"{API}/items/{code}", params={"as_of": (cancel_on - timedelta(days=1)).isoformat()}
    ).json()
    assert before["status"] == "1"
    after = client.get(f"{API}/items/{code}", params={"as_of": cancel_on.isoformat()}).json()
    assert after["status"] == "3" and after["lifecycle"]["decision"] == decision()
    problem(client.get(f"{API}/items/{code}", params={"as_of": "2000-01-01"}), 404)

    # the code is retired: never issued again
    again = problem(client.post(f"{API}/items", json=body, headers=headers), 409)
    assert again["type"].endswith("code-already-issued")

    adjustments = client.get(
        f"{API}/adjustments", params={"type": "cancel", "region": dept.region_code}
    ).json()["items"]
    published = [a for a in adjustments if a["code"] == code]
    assert published and published[0]["decision"] == decision()
    assert published[0]["effective_date"] == cancel_on.isoformat() and published[0]["reason"]


def test_cancelled_item_answers_reads_and_refuses_edits(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = (
        session.execute(
            select(Implementation).where(Implementation.level == "3").order_by(Implementation.code)
        )
        .scalars()
        .first()
    )
    code = item.code
    headers = keys.editor(item.department_code)
    assert (
        client.post(f"{API}/items/{code}/cancel", json=event(TODAY), headers=headers).status_code
        == 200
    )
    doc = client.get(f"{API}/items/{code}").json()
    assert doc["status"] == "3" and doc["lifecycle"]["event"] == "cancel"
    before = counts(session)
    refused = problem(
        client.patch(f"{API}/items/{code}", json={"guide": {"visits": 0}}, headers=headers), 409
    )
    assert refused["type"].endswith("item-cancelled")
    problem(client.post(f"{API}/items/{code}/suspend", json=event(TODAY), headers=headers), 409)
    assert counts(session) == before
    assert code not in listed(client, item.basic_code, status="1")


def test_merged_code_points_to_the_survivor(
    client: TestClient, session: Session, keys: Keys
) -> None:
    a, b = (
        session.execute(
            select(Implementation)
            .where(Implementation.level == "4", Implementation.status == "1")
            .order_by(Implementation.code)
            .limit(2)
        )
        .scalars()
        .all()
    )
    headers = keys.admin()
    resp = client.post(
        f"{API}/items/{a.code}/merge", json=event(TODAY, into=b.code), headers=headers
    )
    assert resp.status_code == 200, resp.text
    merged = client.get(f"{API}/items/{a.code}").json()
    assert merged["status"] == "6" and merged["lifecycle"]["details"]["into"] == b.code
    assert client.get(f"{API}/items/{b.code}").json()["status"] == "1"
    problem(
        client.post(f"{API}/items/{b.code}/merge", json=event(TODAY, into=a.code), headers=headers),
        409,
    )


def test_suspend_and_resume(client: TestClient, session: Session, keys: Keys) -> None:
    item = provincial_item(session)
    code = item.code
    headers = keys.editor(item.department_code)
    problem(client.post(f"{API}/items/{code}/resume", json=event(TODAY), headers=headers), 409)
    assert (
        client.post(f"{API}/items/{code}/suspend", json=event(TODAY), headers=headers).json()[
            "status_after"
        ]
        == "2"
    )
    assert client.get(f"{API}/items/{code}").json()["status"] == "2"
    assert (
        client.post(f"{API}/items/{code}/resume", json=event(TODAY), headers=headers).json()[
            "status_after"
        ]
        == "1"
    )
    events = [v["event"] for v in client.get(f"{API}/items/{code}/versions").json()["items"]]
    assert events == ["create", "suspend", "resume"]


def test_split_into_new_items(client: TestClient, session: Session, keys: Keys) -> None:
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
    code = item.code
    headers = keys.editor(dept.credit_code)
    parts = [new_item_body(session, client, dept, nth) for nth in (0, 1)]
    before = counts(session)
    # the same new item twice: refused as a whole, nothing written
    problem(
        client.post(
            f"{API}/items/{code}/split",
            json=event(TODAY, into=[parts[0], parts[0]]),
            headers=headers,
        ),
        409,
    )
    assert counts(session) == before
    resp = client.post(f"{API}/items/{code}/split", json=event(TODAY, into=parts), headers=headers)
    assert resp.status_code == 200, resp.text
    created = resp.json()["created"]
    assert created == [
        implementation_code(dept.credit_code, dept.level, p["basic_code"]) for p in parts
    ]
    old = client.get(f"{API}/items/{code}").json()
    assert old["status"] == "3" and old["lifecycle"]["details"]["into"] == created
    assert all(client.get(f"{API}/items/{c}").json()["status"] == "1" for c in created)


def test_versions_and_diff_name_exactly_the_changed_field(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = (
        session.execute(
            select(Implementation).where(Implementation.level == "4").order_by(Implementation.code)
        )
        .scalars()
        .first()
    )
    code = item.code
    doc = client.get(f"{API}/items/{code}").json()
    materials = [{k: v for k, v in m.items() if k != "position"} for m in doc["materials"]]
    target = materials[0]
    target["copies"] = 1
    headers = keys.editor(item.department_code)
    v1 = client.patch(f"{API}/items/{code}", json={"materials": materials}, headers=headers).json()[
        "version"
    ]
    target["copies"] = 2
    materials.reverse()  # reordering is not a change
    v2 = client.patch(f"{API}/items/{code}", json={"materials": materials}, headers=headers).json()[
        "version"
    ]
    diff = client.get(f"{API}/items/{code}/diff", params={"from": v1, "to": v2}).json()
    assert diff["changes"] == [
        {
            "path": ["materials", target["code"], "copies"],
            "label": f"材料「{target['name']}」 复印件份数",
            "op": "changed",
            "from": 1,
            "to": 2,
        }
    ]
    assert diff["to"]["key"].startswith("editor")

    versions = client.get(f"{API}/items/{code}/versions").json()["items"]
    assert [v["version"] for v in versions] == list(range(1, v2 + 1))
    one = client.get(f"{API}/items/{code}/versions/{v1}").json()
    assert one["meta"]["version"] == v1 and one["item"]["materials"][0]["copies"] == 1
    problem(client.get(f"{API}/items/{code}/versions/999"), 404)


def test_refused_events_write_nothing(client: TestClient, session: Session, keys: Keys) -> None:
    province = provincial_item(session)
    admin = keys.admin()
    outside = {
        "credit_code": make_credit_code("1", "1", "110000", "BJTE0001"),
        "name": "北京市某局",
        "region_code": "110000",
        "level": "3",
    }
    assert client.post(f"{API}/departments", json=outside, headers=admin).status_code == 201
    cities = city_departments(session, province.basic_code)
    before = counts(session)
    body = event(
        TODAY,
        mode="entrust",
        handover_date=TODAY.isoformat(),
        to=[
            {"department": cities[0].credit_code, "region": cities[0].region_code},
            {"department": outside["credit_code"], "region": "110000"},
        ],
    )
    err = problem(
        client.post(f"{API}/items/{province.code}/delegate", json=body, headers=admin), 422
    )
    assert error_at(err, ["body", "to", 1, "department"])["type"] == "delegation.outside_province"
    assert counts(session) == before
    assert (
        client.get(
            f"{API}/items/{implementation_code(cities[0].credit_code, '3', province.basic_code)}"
        ).status_code
        == 404
    )

    ok = client.post(
        f"{API}/items/{province.code}/delegate", json={**body, "to": body["to"][:1]}, headers=admin
    )
    assert ok.status_code == 200, ok.text
    new_code = ok.json()["created"][0]
    assert client.get(f"{API}/items/{new_code}").json()["power_source"] == "5"  # 上级委托
    before = counts(session)
    wrong = keys.editor(cities[1].credit_code)
    problem(client.post(f"{API}/items/{new_code}/accept", json=event(TODAY), headers=wrong), 403)
    assert counts(session) == before
    assert client.get(f"{API}/items/{new_code}").json()["status"] == "4"


# --- a real race: two editors save the same version at once --------------------------


@pytest.fixture
def live_client(
    db_url: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Keys]]:
    """The app on its own committed database (no test transaction around it)."""
    from app import config, db
    from app.main import create_app
    from tests.conftest import _postgres_database, build_database

    databases: Iterator[str] = (
        iter([f"sqlite:///{tmp_path_factory.mktemp('race') / 'race.db'}"])
        if db_url.startswith("sqlite")
        else _postgres_database()
    )
    url = next(databases)
    engine = build_database(url)
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", url)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        with Session(engine) as session, TestClient(create_app()) as client:
            yield client, Keys(session)
    finally:
        db.get_engine().dispose()
        engine.dispose()
        config.get_settings.cache_clear()
        db.get_engine.cache_clear()
        for _ in databases:
            pass


def _save_at_once(
    client: TestClient, code: str, headers: dict[str, str], version: int, visits: list[int]
) -> list[int]:
    """Two editors PATCH the same version at the same moment; returns their statuses."""
    barrier = threading.Barrier(len(visits))
    statuses: list[int] = []

    def save(value: int) -> None:
        barrier.wait()
        resp = client.patch(
            f"{API}/items/{code}",
            json={"guide": {"visits": value}},
            headers={**headers, "If-Match": f'"{version}"'},
        )
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=save, args=(v,)) for v in visits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_concurrent_edits_exactly_one_412(live_client: tuple[TestClient, Keys]) -> None:
    client, keys = live_client
    items = client.get(f"{API}/items", params={"level": "4", "limit": 5}).json()["items"]
    for round_, item in enumerate(items):
        code = item["code"]
        current = client.get(f"{API}/items/{code}").json()
        version, now = current["version"], current["guide"]["visits"]
        # both change the content (an unchanged save makes no version and no conflict)
        statuses = _save_at_once(
            client,
            code,
            keys.make("editor", [item["department"]]),
            version,
            [(now + 1) % 5, (now + 2) % 5],
        )
        assert sorted(statuses) == [200, 412], f"round {round_}: {statuses}"
        versions = client.get(f"{API}/items/{code}/versions").json()["items"]
        # no lost update, no gap
        assert [v["version"] for v in versions] == list(range(1, version + 2))


def test_a_decision_that_took_effect_before_it_was_recorded_applies(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = provincial_item(session)
    code, basic = item.code, item.basic_code
    past = date(2020, 1, 1)
    resp = client.post(
        f"{API}/items/{code}/cancel", json=event(past), headers=keys.editor(item.department_code)
    )
    assert resp.status_code == 200, resp.text
    doc = client.get(f"{API}/items/{code}").json()
    assert doc["status"] == "3" and doc["lifecycle"]["effective_date"] == past.isoformat()
    assert code not in listed(client, basic, status="1")
    assert listed(client, basic, status="3") == {code: "3"}
