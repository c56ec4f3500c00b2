"""Review before publishing, walked through the API on SQLite and PostgreSQL: nothing
public changes until a reviewer of the region approves, and then the change arrives once,
attributed to its author and its approver."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app import clock
from app.catalogue.models import Implementation
from app.config import get_settings
from app.search.indexer import Indexer
from tests.conftest import Keys, department_at
from tests.helpers import API, counts, error_at, problem, writable

pytest_plugins = ["tests.search_support"]
TODAY = clock.today()
PROBLEMS = "https://service-catalogue.example/problems/"


def _item(session: Session, prefix: str = "2301") -> Implementation:
    return (
        session.execute(
            select(Implementation)
            .where(Implementation.status == "1", Implementation.region_code.startswith(prefix))
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )


def _public(client: TestClient, code: str, region: str, query: str) -> dict[str, Any]:
    """Everything public that a change of the item could alter."""
    return {
        "item": client.get(f"{API}/items/{code}").json(),
        "changes": client.get(f"{API}/changes", params={"after": 0, "limit": 1000}).json()[
            "head_seq"
        ],
        "search": [
            (h["code"], h["online"])
            for h in client.get(f"{API}/search", params={"q": query, "region": region}).json()[
                "hits"
            ]
        ],
        "digest": client.get(f"{API}/sync/digest", params={"region": region}).json(),
    }


def _decision() -> dict[str, str]:
    return {"number": "黑政规〔2026〕12号", "title": "关于调整市级行政权力事项的决定"}


def test_draft_reject_edit_approve_publishes_once(
    client: TestClient, session: Session, keys: Keys, embedded: Indexer
) -> None:
    item = _item(session)
    code = item.code
    editor = keys.editor(item.department_code)
    reviewer = keys.make("reviewer", region=item.region_code[:4] + "00")
    doc = writable(client, code)
    online = not doc["guide"]["online"]["available"]
    query = client.get(f"{API}/items/{code}").json()["name"]
    before = _public(client, code, item.region_code, query)

    # an editor's direct PATCH becomes a submitted request: 202, nothing public changes
    direct = client.patch(f"{API}/items/{code}", json={"guide": {"visits": 2}}, headers=editor)
    assert direct.status_code == 202, direct.text
    assert direct.json()["status"] == "submitted" and direct.headers["location"]
    assert (
        client.post(f"{API}/change-requests/{direct.json()['id']}/withdraw", headers=editor).json()[
            "status"
        ]
        == "withdrawn"
    )

    created = client.post(
        f"{API}/change-requests",
        json={
            "item": code,
            "kind": "edit",
            "patch": {"guide": {"online": {"available": online}}},
            "note": "开通网上办理",
        },
        headers=editor,
    )
    assert created.status_code == 201, created.text
    cr = created.json()
    assert cr["status"] == "draft" and cr["base_version"] == doc_version(client, code)
    assert [c["path"] for c in cr["diff"]] == [["guide", "online", "available"]]
    url = f"{API}/change-requests/{cr['id']}"
    assert client.post(f"{url}/submit", headers=editor).json()["status"] == "submitted"
    rejected = client.post(f"{url}/reject", json={"reason": "请附上依据文件"}, headers=reviewer)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    edited = client.patch(url, json={"note": "依据：黑政办〔2026〕3号"}, headers=editor)
    assert edited.json()["status"] == "draft"
    assert client.post(f"{url}/submit", headers=editor).json()["status"] == "submitted"
    embedded.run_once(session)
    assert _public(client, code, item.region_code, query) == before  # until approval

    approved = client.post(f"{url}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["published"]["code"] == code
    assert [a["action"] for a in body["actions"]] == [
        "create", "submit", "reject", "edit", "submit", "approve"
    ]  # fmt: skip
    after = client.get(f"{API}/items/{code}").json()
    assert after["guide"]["online"]["available"] is online
    assert after["version"] == before["item"]["version"] + 1
    changes = client.get(
        f"{API}/changes", params={"after": before["changes"], "limit": 1000}
    ).json()["changes"]
    assert [(c["code"], c["version"]) for c in changes] == [(code, after["version"])]
    assert body["decided_by"].startswith("reviewer-")
    assert changes[0]["approved_by"] == body["decided_by"]
    assert changes[0]["channel"] == "review" and changes[0]["key"] == cr["author"]
    assert (
        client.get(f"{API}/sync/digest", params={"region": item.region_code}).json()
        != before["digest"]
    )
    versions = client.get(f"{API}/items/{code}/versions").json()["items"]
    assert versions[-1]["reason"] == "依据：黑政办〔2026〕3号"
    assert (
        versions[-1]["approved_by"] == body["decided_by"]
        and versions[-1]["change_request"] == cr["id"]
    )
    assert (code, not online) in before["search"]
    embedded.run_once(session)
    hits = _public(client, code, item.region_code, query)["search"]
    assert (code, online) in hits and (code, not online) not in hits


def doc_version(client: TestClient, code: str) -> int:
    return client.get(f"{API}/items/{code}").json()["version"]


def test_who_may_approve(client: TestClient, session: Session, keys: Keys) -> None:
    item = _item(session)
    editor = keys.editor(item.department_code)
    cr = client.post(
        f"{API}/change-requests",
        json={"item": item.code, "kind": "edit", "patch": {"guide": {"visits": 1}}},
        headers=editor,
    ).json()
    url = f"{API}/change-requests/{cr['id']}"
    client.post(f"{url}/submit", headers=editor)
    before = counts(session)
    own = problem(client.post(f"{url}/approve", headers=editor), 403)
    assert own["type"] == PROBLEMS + "out-of-scope"
    elsewhere = keys.make("reviewer", region="230600")
    problem(client.post(f"{url}/approve", headers=elsewhere), 403)
    problem(client.post(f"{url}/approve", headers=keys.sync(item.region_code)), 403)
    assert counts(session) == before
    assert client.post(f"{url}/approve", headers=keys.admin()).status_code == 200


def test_a_stale_request_is_rebased_then_published_merged(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    code = item.code
    editor = keys.editor(item.department_code)
    admin = keys.admin()
    reviewer = keys.make("reviewer", region="230100")
    doc = writable(client, code)
    mine = (doc["guide"]["visits"] + 1) % 3
    cr = client.post(
        f"{API}/change-requests",
        json={
            "item": code,
            "kind": "edit",
            "body": {**doc, "guide": {**doc["guide"], "visits": mine}},
        },
        headers=editor,
    ).json()
    url = f"{API}/change-requests/{cr['id']}"
    client.post(f"{url}/submit", headers=editor)
    # the item moves on meanwhile (another field)
    online = not doc["guide"]["online"]["available"]
    moved = client.patch(
        f"{API}/items/{code}", json={"guide": {"online": {"available": online}}}, headers=admin
    )
    assert moved.status_code == 200
    stale = problem(client.post(f"{url}/approve", headers=reviewer), 409)
    assert stale["type"] == PROBLEMS + "change-request-stale"
    assert (stale["base_version"], stale["current_version"]) == (
        cr["base_version"],
        moved.json()["version"],
    )

    rebased = client.post(f"{url}/rebase", headers=editor)
    assert rebased.status_code == 200, rebased.text
    assert rebased.json()["base_version"] == moved.json()["version"]
    assert client.post(f"{url}/approve", headers=reviewer).status_code == 200
    now = client.get(f"{API}/items/{code}").json()["guide"]
    assert now["visits"] == mine and now["online"]["available"] == online  # both kept

    # the same field changed on both sides is a conflict, by its path
    second = client.post(
        f"{API}/change-requests",
        json={"item": code, "kind": "edit", "patch": {"guide": {"visits": (mine + 1) % 3}}},
        headers=editor,
    ).json()
    client.patch(f"{API}/items/{code}", json={"guide": {"visits": (mine + 2) % 3}}, headers=admin)
    conflict = problem(
        client.post(f"{API}/change-requests/{second['id']}/rebase", headers=editor), 409
    )
    assert conflict["type"] == PROBLEMS + "rebase-conflict"
    assert error_at(conflict, ["body", "guide", "visits"])["type"] == "conflict"


def test_cancellation_and_delegation_through_review_keep_their_dates(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    editor = keys.editor(item.department_code)
    reviewer = keys.make("reviewer", region="230100")
    later = TODAY + timedelta(days=30)
    cancel = {"decision": _decision(), "reason": "事项取消", "effective_date": later.isoformat()}
    direct = client.post(f"{API}/items/{item.code}/cancel", json=cancel, headers=editor)
    assert direct.status_code == 202 and direct.json()["kind"] == "cancel"
    assert client.get(f"{API}/items/{item.code}").json()["scheduled"] == []
    approved = client.post(f"{API}/change-requests/{direct.json()['id']}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.text
    scheduled = client.get(f"{API}/items/{item.code}").json()["scheduled"]
    assert [(e["event"], e["effective_date"]) for e in scheduled] == [("cancel", later.isoformat())]

    city = _item(session, "2301")
    other = (
        session.execute(
            select(Implementation).where(
                Implementation.status == "1",
                Implementation.level == "3",
                Implementation.code != item.code,
                Implementation.region_code.startswith("2301"),
            )
        )
        .scalars()
        .first()
    )
    county = department_at(session, "4", "2301")
    handover = TODAY + timedelta(days=10)
    body = {
        "decision": _decision(),
        "reason": "下放至区县",
        "effective_date": TODAY.isoformat(),
        "mode": "delegate",
        "handover_date": handover.isoformat(),
        "to": [{"department": county.credit_code, "region": county.region_code}],
    }
    assert city is not None and other is not None
    own_editor = keys.editor(other.department_code)
    cr = client.post(
        f"{API}/change-requests",
        json={"item": other.code, "kind": "delegate", "body": body},
        headers=own_editor,
    )
    assert cr.status_code == 201, cr.text
    client.post(f"{API}/change-requests/{cr.json()['id']}/submit", headers=own_editor)
    done = client.post(f"{API}/change-requests/{cr.json()['id']}/approve", headers=reviewer)
    assert done.status_code == 200, done.text
    versions = client.get(f"{API}/items/{other.code}/versions").json()["items"]
    assert (
        versions[-1]["event"] == "delegate"
        and versions[-1]["effective_date"] == handover.isoformat()
    )
    assert versions[-1]["channel"] == "review"


def test_admins_and_sync_keys_publish_directly_marked(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    visits = writable(client, item.code)["guide"]["visits"]
    sync = client.patch(
        f"{API}/items/{item.code}",
        json={"guide": {"visits": (visits + 1) % 3}, "change_note": "市平台同步"},
        headers=keys.sync(item.region_code),
    )
    assert sync.status_code == 200, sync.text
    meta = client.get(f"{API}/items/{item.code}/versions").json()["items"][-1]
    assert meta["channel"] == "sync" and meta["reason"] == "市平台同步"
    admin = client.patch(
        f"{API}/items/{item.code}",
        json={"guide": {"visits": (visits + 2) % 3}},
        headers=keys.admin(),
    )
    assert admin.status_code == 200
    assert (
        client.get(f"{API}/items/{item.code}/versions").json()["items"][-1]["channel"] == "direct"
    )


def test_per_region_override(
    client: TestClient, session: Session, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = _item(session)
    monkeypatch.setenv("CATALOGUE_REVIEW_REGIONS", f'{{"{item.region_code[:4]}": false}}')
    get_settings.cache_clear()
    resp = client.patch(
        f"{API}/items/{item.code}",
        json={"guide": {"visits": 1}},
        headers=keys.editor(item.department_code),
    )
    assert resp.status_code == 200, resp.text


def test_requests_are_listed_for_their_department_and_region(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    editor = keys.editor(item.department_code)
    made = client.post(
        f"{API}/change-requests",
        json={"item": item.code, "kind": "edit", "patch": {"guide": {"visits": 1}}},
        headers=editor,
    ).json()
    mine = client.get(f"{API}/change-requests", params={"status": "draft"}, headers=editor).json()
    assert made["id"] in [r["id"] for r in mine["items"]]
    region = keys.make("reviewer", region="230100")
    assert made["id"] in [
        r["id"] for r in client.get(f"{API}/change-requests", headers=region).json()["items"]
    ]
    other = keys.make("reviewer", region="230600")
    assert made["id"] not in [
        r["id"] for r in client.get(f"{API}/change-requests", headers=other).json()["items"]
    ]
    problem(client.get(f"{API}/change-requests/{made['id']}", headers=other), 403)
    problem(client.get(f"{API}/change-requests", headers=keys.sync("230100")), 403)


def test_a_bulk_write_keeps_each_items_change_note(
    client: TestClient, session: Session, keys: Keys
) -> None:
    from tests.helpers import new_item_body

    dept = department_at(session, "4", "2301")
    fresh = new_item_body(session, client, dept)
    known = writable(client, _item(session).code)
    known["guide"]["visits"] = (known["guide"]["visits"] + 1) % 3
    sent = [{**fresh, "change_note": "市平台新增"}, {**known, "change_note": "市平台更新"}]
    result = client.post(f"{API}/sync/items", json=sent, headers=keys.sync("230100")).json()
    assert [i["result"] for i in result["items"]] == ["created", "updated"], result
    for item, note in zip(result["items"], ("市平台新增", "市平台更新"), strict=True):
        meta = client.get(f"{API}/items/{item['code']}/versions").json()["items"][-1]
        assert (meta["reason"], meta["channel"]) == (note, "sync")


def test_an_event_that_could_not_be_published_is_refused_when_proposed(
    client: TestClient, session: Session, keys: Keys
) -> None:
    """A merge into an item that does not exist would fail at approval: it is refused at
    once, at its path in the request, and leaves nothing behind (the rehearsal is undone)."""
    item = _item(session)
    editor = keys.editor(item.department_code)
    before = counts(session)
    missing = item.code[:18] + "9" * 13
    refused = client.post(
        f"{API}/change-requests",
        json={
            "item": item.code,
            "kind": "merge",
            "body": {
                "into": missing,
                "decision": _decision(),
                "reason": "职能整合",
                "effective_date": TODAY.isoformat(),
            },
        },  # fmt: skip
        headers=editor,
    )
    assert error_at(problem(refused, 422), ["body", "body", "into"])["type"] == "merge.into"
    assert counts(session) == before
    assert client.get(f"{API}/items/{item.code}").json()["status"] == "1"


@pytest.mark.parametrize("bad", ["\u0000", "not-a-code", "1" * 31 + "0"])
def test_a_request_for_an_item_code_that_is_no_code_is_a_422_at_item(
    client: TestClient, session: Session, keys: Keys, bad: str
) -> None:
    """The item's code has the code's shape before anything is looked up: a NUL byte, which
    PostgreSQL cannot even compare, is a 422 at ``item``, not a 500 (found by schemathesis)."""
    item = _item(session)
    before = counts(session)
    refused = client.post(
        f"{API}/change-requests",
        json={"item": bad, "kind": "alias", "body": {"aliases": ["办护照"]}},
        headers=keys.editor(item.department_code),
    )
    assert error_at(problem(refused, 422), ["body", "item"])
    assert counts(session) == before
