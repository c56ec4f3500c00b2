"""A lifecycle request (suspend, delegate…) saved as a draft, or returned by the reviewer,
opens from its page in the decision form filled from its body; the author changes the
decision, reason, dates or receiving bodies and saves the draft (refused changes are shown
at their fields and write nothing), then submits it and the reviewer's approval schedules
what was saved."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app import clock
from app.review.models import ChangeRequest, RequestStatus
from tests.conftest import Keys
from tests.helpers import API
from tests.pages.test_decisions import DAOLI, DAOLI_POLICE, _written
from tests.pages.test_pages import HARBIN, _html, csrf_of, sign_in

LATER = (clock.today() + timedelta(days=20)).isoformat()
LATER_STILL = (clock.today() + timedelta(days=40)).isoformat()
DECISION = {"number": "哈政〔2031〕9号", "title": "关于暂停受理的决定", "url": None}


def _draft(client: TestClient, headers: dict[str, str], code: str, kind: str, **body: Any) -> int:
    made = client.post(
        f"{API}/change-requests",
        json={
            "item": code,
            "kind": kind,
            "body": {"decision": DECISION, "reason": "系统升级", "effective_date": LATER, **body},
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _form(page: str) -> dict[str, str]:
    """The decision form's fields as a browser sends them (values as shown)."""
    pairs = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and ('type="radio"' not in tag or " checked" in tag):
            pairs[name.group(1)] = html_lib.unescape(value.group(1)) if value else ""
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        pairs[name] = chosen.group(1) if chosen else ""
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S
    ):
        pairs[name] = html_lib.unescape(value)
    return pairs


def test_a_suspension_draft_is_changed_in_its_form_then_submitted_and_approved(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    editor = keys.editor(passport[:18])
    number = _draft(client, editor, passport, "suspend")
    sign_in(client, editor)
    request_page = _html(client.get(f"/editor/requests/{number}"))
    link = f"/editor/items/{passport}/lifecycle?request={number}"
    assert f'href="{link}"' in request_page

    page = _html(client.get(link))
    fields = _form(page)
    assert fields["kind"] == "suspend" and fields["request"] == str(number)
    assert fields["decision.number"] == "哈政〔2031〕9号" and fields["reason"] == "系统升级"
    assert fields["effective_date"] == LATER
    assert (
        "您正在修改变更申请" in page and f'href="/editor/requests/{number}">#{number}</a>' in page
    )
    assert 'id="save-draft"' in page and 'id="propose"' not in page

    # a date that is no date: at its field, as typed, nothing written
    before = _written(session)
    bad = {**fields, "reason": "系统迁移", "effective_date": "2031-02-30"}
    refused = client.post(f"/editor/items/{passport}/lifecycle", data=bad, follow_redirects=False)
    html = _html(refused, 422)
    assert 'id="err-effective_date"' in html and "系统迁移" in html
    assert f'name="request" value="{number}"' in html
    assert _written(session) == before

    good = {**fields, "reason": "系统迁移", "effective_date": LATER_STILL}
    saved = client.post(f"/editor/items/{passport}/lifecycle", data=good, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:3000]
    assert saved.headers["location"] == f"/editor/requests/{number}"
    assert _written(session)[0] == before[0]  # the same request, not a second one
    session.expire_all()
    cr = session.get(ChangeRequest, number)
    assert cr is not None and cr.status == RequestStatus.DRAFT
    assert cr.body["reason"] == "系统迁移" and cr.body["effective_date"] == LATER_STILL
    shown = _html(client.get(f"/editor/requests/{number}"))
    assert "系统迁移" in shown and LATER_STILL in shown

    submitted = client.post(
        f"/editor/requests/{number}/submit", data={"csrf": csrf_of(shown)}, follow_redirects=False
    )
    assert submitted.status_code == 303, submitted.text[:2000]
    approved = client.post(
        f"{API}/change-requests/{number}/approve", headers=keys.make("reviewer", region=HARBIN)
    )
    assert approved.status_code == 200, approved.text
    scheduled = client.get(f"{API}/items/{passport}").json()["scheduled"]
    assert [(e["event"], e["effective_date"]) for e in scheduled] == [("suspend", LATER_STILL)]


def test_a_returned_delegation_opens_with_its_receiving_bodies(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    editor = keys.editor(passport[:18])
    number = _draft(
        client,
        editor,
        passport,
        "delegate",
        mode="delegate",
        handover_date=LATER,
        to=[{"department": DAOLI_POLICE, "region": DAOLI}],
    )
    assert client.post(f"{API}/change-requests/{number}/submit", headers=editor).is_success
    returned = client.post(
        f"{API}/change-requests/{number}/reject",
        json={"reason": "交接日期应晚于生效日期二十天"},
        headers=keys.make("reviewer", region=HARBIN),
    )
    assert returned.status_code == 200, returned.text
    sign_in(client, editor)
    page = _html(client.get(f"/editor/items/{passport}/lifecycle?request={number}"))
    fields = _form(page)
    assert fields["to.0.department"] == DAOLI_POLICE and fields["to.0.region"] == DAOLI
    assert fields["mode"] == "delegate" and fields["handover_date"] == LATER
    saved = client.post(
        f"/editor/items/{passport}/lifecycle",
        data={**fields, "handover_date": LATER_STILL},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text[:3000]
    session.expire_all()
    cr = session.get(ChangeRequest, number)
    assert cr is not None and cr.status == RequestStatus.DRAFT  # to be submitted again
    assert cr.body["handover_date"] == LATER_STILL
    assert cr.body["to"] == [{"department": DAOLI_POLICE, "region": DAOLI}]


def test_only_the_author_opens_a_draft_and_only_of_its_item(
    client: TestClient, keys: Keys, passport: str
) -> None:
    number = _draft(client, keys.editor(passport[:18]), passport, "suspend")
    sign_in(client, keys.editor(passport[:18]))  # another key of the same department
    page = client.get(f"/editor/items/{passport}/lifecycle?request={number}")
    assert page.status_code == 403
