"""The lifecycle decision forms (/editor/items/{code}/lifecycle?kind=…): one per event the
API has. A valid proposal is a submitted change request holding the body the API's event
takes; a refused field is shown next to itself (422) and nothing is written."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app import clock
from app.catalogue.models import CatalogueEntry, Implementation
from app.review.models import ChangeRequest, RequestStatus
from app.versionlog import RecordVersion
from tests.conftest import Keys
from tests.helpers import API
from tests.pages.test_pages import HARBIN, PASSPORT, _code, _html, csrf_of, sign_in

TODAY = clock.today().isoformat()
DAOLI_POLICE = "11230102MBNXPN263U"  # 哈尔滨市公安局道里分局, county level, in Harbin
DAOLI = "230102"
DECISION = {
    "decision.number": "哈政〔2031〕1号",
    "decision.title": "关于调整政务服务事项的决定",
    "reason": "机构改革",
    "effective_date": TODAY,
}
BODY_DECISION = {
    "decision": {"number": "哈政〔2031〕1号", "title": "关于调整政务服务事项的决定", "url": None},
    "reason": "机构改革",
    "effective_date": TODAY,
}


def _written(session: Session) -> tuple[int, int]:
    session.expire_all()
    return (
        session.execute(select(func.count()).select_from(ChangeRequest)).scalar_one(),
        session.execute(select(func.count()).select_from(RecordVersion)).scalar_one(),
    )


def propose(client: TestClient, code: str, kind: str, fields: dict[str, str]) -> Any:
    page = _html(client.get(f"/editor/items/{code}/lifecycle", params={"kind": kind}))
    assert 'name="kind" value="' + kind + '"' in page
    data = {"csrf": csrf_of(page), "kind": kind, **DECISION, **fields}
    return client.post(f"/editor/items/{code}/lifecycle", data=data, follow_redirects=False)


def proposed(session: Session, resp: Any) -> ChangeRequest:
    assert resp.status_code == 303, resp.text[:3000]
    number = int(resp.headers["location"].rsplit("/", 1)[1])
    session.expire_all()
    cr = session.get(ChangeRequest, number)
    assert cr is not None and cr.status == RequestStatus.SUBMITTED
    return cr


def refused(session: Session, resp: Any, field: str, before: tuple[int, int]) -> str:
    html = _html(resp, 422)
    key = field.replace(".", "-")
    assert f'id="err-{key}"' in html, html[:3000]
    assert re.search(rf'id="f-{key}"[^>]*aria-invalid="true"', html), key
    assert _written(session) == before  # nothing of the refused proposal is kept
    return html


def _event(client: TestClient, keys: Keys, code: str, event: str, **extra: Any) -> None:
    """An admin's event, published at once (today), to bring the item where a form applies."""
    body = {**BODY_DECISION, **extra}
    resp = client.post(f"{API}/items/{code}/{event}", json=body, headers=keys.admin())
    assert resp.status_code == 200, resp.text


def test_every_event_has_a_form(client: TestClient, keys: Keys, passport: str) -> None:
    sign_in(client, keys.editor(passport[:18]))
    page = _html(client.get(f"/editor/items/{passport}/lifecycle"))
    for kind in (
        "cancel",
        "suspend",
        "resume",
        "delegate",
        "accept",
        "reclaim",
        "merge",
        "split",
        "reinstate",
    ):
        assert f"?kind={kind}" in page, kind
    delegate = _html(client.get(f"/editor/items/{passport}/lifecycle?kind=delegate"))
    assert 'name="to.0.department"' in delegate and DAOLI_POLICE in delegate
    assert 'name="handover_date"' in delegate and 'value="entrust"' in delegate


@pytest.mark.parametrize("kind", ["suspend", "cancel"])
def test_simple_decision_proposed(
    client: TestClient, keys: Keys, session: Session, passport: str, kind: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    published = client.get(f"{API}/items/{passport}").json()
    cr = proposed(session, propose(client, passport, kind, {}))
    assert cr.kind == kind and cr.item_code == passport and cr.body == BODY_DECISION
    assert client.get(f"{API}/items/{passport}").json() == published  # not until approved


def test_missing_decision_number_is_shown_at_the_field(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    before = _written(session)
    refused(
        session,
        propose(client, passport, "suspend", {"decision.number": ""}),
        "decision.number",
        before,
    )


def test_resume_and_reinstate_follow_their_events(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    before = _written(session)
    early = propose(client, passport, "resume", {})
    assert early.status_code == 409 and "lifecycle-order" not in early.text[:0]  # an HTML page
    said = "只有暂停的事项可以恢复受理（本事项现为“在用”）"  # in the page's language
    assert said in early.text and _written(session) == before
    _event(client, keys, passport, "suspend")
    cr = proposed(session, propose(client, passport, "resume", {}))
    assert cr.kind == "resume" and cr.body == BODY_DECISION

    other = _code(session, "000115002000", HARBIN)
    _event(client, keys, other, "cancel")
    cr = proposed(session, propose(client, other, "reinstate", {}))
    assert cr.kind == "reinstate" and cr.item_code == other


def test_delegate_proposed_with_its_receiving_bodies(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    target = {"to.0.department": DAOLI_POLICE, "to.0.region": DAOLI}
    cr = proposed(
        session,
        propose(
            client, passport, "delegate", {"mode": "delegate", "handover_date": TODAY, **target}
        ),
    )
    assert cr.kind == "delegate"
    assert cr.body == {
        **BODY_DECISION,
        "mode": "delegate",
        "handover_date": TODAY,
        "to": [{"department": DAOLI_POLICE, "region": DAOLI}],
    }
    assert client.get(f"{API}/items/{passport}").json()["lifecycle"] is None  # not yet


def test_delegate_errors_next_to_the_rows_they_belong_to(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    before = _written(session)
    # the second row filled, the first left empty: the error is the second row's
    wrong_region = {"to.1.department": DAOLI_POLICE, "to.1.region": "230103"}
    html = refused(
        session,
        propose(
            client,
            passport,
            "delegate",
            {"mode": "delegate", "handover_date": TODAY, **wrong_region},
        ),
        "to.1.region",
        before,
    )
    assert "部门「哈尔滨市公安局道里分局」属于道里区，与所选区划不符" in html
    late = {"mode": "entrust", "handover_date": "2000-01-01", **wrong_region}
    refused(session, propose(client, passport, "delegate", late), "handover_date", before)


def test_reclaim_and_accept_after_a_delegation(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    _event(
        client,
        keys,
        passport,
        "delegate",
        mode="delegate",
        handover_date=TODAY,
        to=[{"department": DAOLI_POLICE, "region": DAOLI}],
    )
    receiving = session.execute(
        select(Implementation.code).where(Implementation.delegated_from == passport)
    ).scalar_one()
    sign_in(client, keys.editor(passport[:18]))
    cr = proposed(session, propose(client, passport, "reclaim", {}))
    assert cr.kind == "reclaim" and cr.body == BODY_DECISION

    client.cookies.clear()
    sign_in(client, keys.editor(DAOLI_POLICE))
    page = _html(client.get(f"/editor/items/{receiving}/lifecycle", params={"kind": "accept"}))
    assert 'name="guide.windows.0.address"' in page  # the copied windows, to be made local
    window = {
        "guide.windows.0.name": "道里区政务服务中心公安窗口",
        "guide.windows.0.address": "哈尔滨市道里区友谊路1号",
        "guide.windows.0.hours": "周一至周五 9:00-17:00",
        "guide.windows.0.phone": "0451-12345678",
    }
    before = _written(session)
    no_phone = {**window, "guide.windows.0.phone": ""}
    refused(
        session, propose(client, receiving, "accept", no_phone), "guide.windows.0.phone", before
    )
    cr = proposed(session, propose(client, receiving, "accept", window))
    assert cr.kind == "accept" and cr.item_code == receiving
    assert cr.body["guide"] == {"windows": [{k.rsplit(".", 1)[1]: v for k, v in window.items()}]}


def test_merge_into_an_item_or_refused_at_the_field(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    before = _written(session)
    unknown = passport[:18] + "3" + "999999999999"
    html = refused(session, propose(client, passport, "merge", {"into": unknown}), "into", before)
    assert f"没有实施编码为 {unknown} 的事项" in html
    survivor = _code(session, "000115002000", HARBIN)
    page = _html(client.get(f"/editor/items/{passport}/lifecycle", params={"kind": "merge"}))
    assert f'<option value="{survivor}">' in page  # the department's items to pick from
    cr = proposed(session, propose(client, passport, "merge", {"into": survivor}))
    assert cr.kind == "merge" and cr.body == {**BODY_DECISION, "into": survivor}


def _free_entries(session: Session, department: str, n: int) -> list[str]:
    taken = select(Implementation.basic_code).where(Implementation.department_code == department)
    return list(
        session.execute(
            select(CatalogueEntry.basic_code)
            .where(CatalogueEntry.basic_code.not_in(taken))  # type: ignore[union-attr]
            .order_by(CatalogueEntry.basic_code)
            .limit(n)
        ).scalars()
    )


def test_split_into_new_items_or_refused_at_the_row(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    first, second = _free_entries(session, passport[:18], 2)
    before = _written(session)
    rows = {"into.0.basic_code": first, "into.2.basic_code": "999999999999"}
    html = refused(session, propose(client, passport, "split", rows), "into.2.basic_code", before)
    assert "999999999999" in html
    only_one = propose(client, passport, "split", {"into.0.basic_code": first})
    assert only_one.status_code == 422 and 'id="err-into"' in only_one.text
    taken = {"into.0.basic_code": first, "into.1.basic_code": PASSPORT}  # already implemented
    refused(session, propose(client, passport, "split", taken), "into.1.basic_code", before)

    rows = {"into.0.basic_code": first, "into.1.basic_code": second}
    cr = proposed(session, propose(client, passport, "split", rows))
    assert cr.kind == "split" and [n["basic_code"] for n in cr.body["into"]] == [first, second]
    new = cr.body["into"][0]
    assert new["department"] == passport[:18] and new["code"] is None
    assert all(m["code"] is None for m in new["materials"])  # the copied materials get codes


def test_reviewer_approves_a_proposed_delegation(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    target = {"mode": "delegate", "handover_date": TODAY, "to.0.department": DAOLI_POLICE}
    cr = proposed(session, propose(client, passport, "delegate", {**target, "to.0.region": DAOLI}))
    client.cookies.clear()
    sign_in(client, keys.make("reviewer", region=HARBIN))
    detail = _html(client.get(f"/editor/requests/{cr.id}"))
    approved = client.post(
        f"/editor/requests/{cr.id}/approve", data={"csrf": csrf_of(detail)}, follow_redirects=False
    )
    assert approved.status_code == 303
    assert "已通过" in _html(client.get(f"/editor/requests/{cr.id}"))
    published = client.get(f"{API}/items/{passport}").json()
    assert published["lifecycle"]["event"] == "delegate"
    assert published["lifecycle"]["details"]["to"] == [
        DAOLI_POLICE + "4" + PASSPORT
    ]  # county level
