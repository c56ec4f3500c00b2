"""The editor's and reviewer's pages end to end (TestClient): the worklist at /editor, the
item form in sections with rows added and removed, an open draft continued, a correction
turned into a change request and its ticket's resolution, the request's labelled diff also
once approved, the public history page, times in the province's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app import clock
from app.pages import history as history_pages
from app.review.models import ChangeRequest, RequestStatus
from tests.conftest import Keys
from tests.helpers import API
from tests.pages.test_edit_situations import changed, form_of
from tests.pages.test_pages import HARBIN, _html, csrf_of, sign_in

NANGANG_POLICE = "11230103MBUYEQ7D4B"  # 哈尔滨市公安局南岗分局
NANGANG = "230103"
DECISION = {"number": "哈政规〔2031〕7号", "title": "关于下放普通护照签发的决定", "url": None}
#: 2026-12-06 11:23 UTC is 19:23 in Harbin
AT = datetime(2026, 12, 6, 11, 23, tzinfo=UTC)


def _text(html: str) -> str:
    """The page as read: tags gone, whitespace folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _section(html: str, heading_id: str) -> str:
    """The worklist section under the heading ``heading_id``."""
    found = re.search(rf'<h2 id="{heading_id}">(.*?)</section>', html, re.S)
    assert found, heading_id
    return _text(found.group(1))


def _post_form(client: TestClient, path: str, pairs: list[tuple[str, str]]) -> Any:
    return client.post(
        path,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _requests(session: Session) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(ChangeRequest)).scalar_one()


def _reviewer(client: TestClient, keys: Keys) -> None:
    client.cookies.clear()
    sign_in(client, keys.make("reviewer", region=HARBIN))


def _act(client: TestClient, request_path: str, action: str, **fields: str) -> str:
    page = _html(client.get(request_path))
    resp = client.post(
        f"{request_path}/{action}",
        data={"csrf": csrf_of(page), **fields},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:3000]
    return _html(client.get(request_path))


# --- the worklist ------------------------------------------------------------------------


def test_home_lists_drafts_returned_requests_and_new_corrections_by_name(
    client: TestClient, keys: Keys, passport: str
) -> None:
    editor = keys.editor(passport[:18])
    reported = client.post(
        f"{API}/items/{passport}/corrections",
        json={"field": "guide.windows.0.phone", "suggested": "0451-86766479", "text": "电话已改"},
    )
    assert reported.status_code == 201, reported.text
    draft = client.post(
        f"{API}/change-requests",
        json={"item": passport, "kind": "edit", "patch": {"guide": {"visits": 0}}},
        headers=editor,
    ).json()
    returned = client.post(
        f"{API}/change-requests",
        json={"item": passport, "kind": "edit", "patch": {"guide": {"visits": 2}}},
        headers=editor,
    ).json()
    assert client.post(f"{API}/change-requests/{returned['id']}/submit", headers=editor).is_success
    reviewer = keys.make("reviewer", region=HARBIN)
    rejected = client.post(
        f"{API}/change-requests/{returned['id']}/reject",
        json={"reason": "到现场次数应为 1 次"},
        headers=reviewer,
    )
    assert rejected.status_code == 200, rejected.text

    sign_in(client, editor)
    home = _html(client.get("/editor"))
    drafts = _section(home, "drafts-h")
    assert f"#{draft['id']}" in drafts and "普通护照签发" in drafts
    assert "哈尔滨市 · 哈尔滨市公安局" in drafts  # region and department by name
    back = _section(home, "returned-h")
    assert f"#{returned['id']}" in back and "到现场次数应为 1 次" in back
    assert f"/editor/items/{passport}/edit?request={returned['id']}" in home
    news = _section(home, "corrections-h")
    assert "普通护照签发" in news and "办理窗口第1项 电话" in news and "电话已改" in news
    assert "guide.windows.0.phone" not in news  # the field by its label, not its path
    opened = _section(home, "open-h")
    assert f"#{draft['id']}" in opened and "草稿" in opened and "已退回" in opened

    client.cookies.clear()
    sign_in(client, reviewer)
    queue_before = _html(client.get("/editor/queue"))
    assert "普通护照签发" not in queue_before  # nothing submitted now
    assert client.post(f"{API}/change-requests/{draft['id']}/submit", headers=editor).is_success
    queue = _text(_html(client.get("/editor/queue")))
    assert "普通护照签发" in queue and "哈尔滨市 · 哈尔滨市公安局" in queue
    assert "待我审核" in _html(client.get("/editor"))


def test_receiving_editor_finds_the_delegated_item_and_accepts_it(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    today = clock.today().isoformat()
    delegated = client.post(
        f"{API}/items/{passport}/delegate",
        json={
            "decision": DECISION,
            "reason": "方便群众就近办理",
            "effective_date": today,
            "mode": "delegate",
            "handover_date": today,
            "to": [{"department": NANGANG_POLICE, "region": NANGANG}],
        },
        headers=keys.admin(),
    )
    assert delegated.status_code == 200, delegated.text
    received = f"{NANGANG_POLICE}4{passport[-12:]}"
    sign_in(client, keys.editor(NANGANG_POLICE))
    home = _html(client.get("/editor"))
    pending = _section(home, "pending-h")
    assert "普通护照签发" in pending and "南岗区" in pending and received in pending
    assert "哈尔滨市公安局南岗分局" in pending
    assert "哈尔滨市公安局" in pending  # who delegated it: the delegating item's department
    accept = f"/editor/items/{received}/lifecycle?kind=accept"
    assert f'href="{accept}"' in home
    form = _html(client.get(accept))
    assert 'name="kind" value="accept"' in form and "南岗区" in form

    fields = dict(re.findall(r'name="(guide\.windows\.\d+\.\w+)"[^>]*value="([^"]*)"', form))
    fields.update(
        {
            "guide.windows.0.name": "南岗区出入境受理大厅",
            "guide.windows.0.address": "哈尔滨市南岗区学府路1号",
            "guide.windows.0.phone": "0451-82304067",
        }
    )
    sent = client.post(
        f"/editor/items/{received}/lifecycle",
        data={
            "csrf": csrf_of(form),
            "kind": "accept",
            "decision.number": "南政〔2031〕1号",
            "decision.title": "关于承接普通护照签发的决定",
            "reason": "承接下放事项",
            "effective_date": today,
            **fields,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text[:3000]
    request_page = _html(client.get(sent.headers["location"]))
    assert "承接" in request_page and "南政〔2031〕1号" in request_page
    assert "南岗区出入境受理大厅" in request_page  # the local window, by its labels
    # waiting for review now: still pending, and listed with its open request
    assert "#" in _section(_html(client.get("/editor")), "open-h")


# --- the item form -----------------------------------------------------------------------


def test_form_reads_like_the_guide_with_chinese_labels(
    client: TestClient, keys: Keys, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    page = _html(client.get(f"/editor/items/{passport}/edit"))
    titles = re.findall(r'<span class="section-title">([^<]+)</span>', page)
    assert titles == [
        "基本信息",
        "设定依据",
        "受理条件",
        "申请材料",
        "办理流程",
        "特别程序",
        "办理结果",
        "办理时限",
        "收费",
        "办理地点和时间（窗口）",
        "咨询方式",
        "监督投诉方式",
        "救济途径",
        "网上办理",
        "中介服务",
        "联办机构和前置事项",
        "情形",
        "常见问题",
    ]
    assert re.search(r'<details class="form-section" id="sec-materials" open>', page)
    assert re.search(r'<details class="form-section" id="sec-faq">', page)  # folded
    doc = client.get(f"{API}/items/{passport}").json()
    consultation = doc["guide"]["consultation"][0]["phone"]
    assert f'name="guide.consultation.0.phone" type="text" value="{consultation}"' in page
    question = doc["guide"]["faq"][0]["question"]
    assert f'name="guide.faq.0.question" type="text" value="{question}"' in page
    assert 'name="guide.process.0.name"' in page and 'name="guide.complaint.1.phone"' in page
    labels = set(re.findall(r"<label for=\"[^\"]+\">([^<]+)</label>", page))
    for chinese in ("原件份数", "复印件份数", "纸张规格", "金额（元）", "时长", "单位", "说明"):
        assert chinese in labels, chinese
    for english in ("value", "unit", "note", "paper size", "amount (元)", "URL"):
        assert english not in labels, english
    assert "设定依据属于基本目录事项" in page  # read-only, and why


def test_rows_added_and_removed_without_javascript_and_kept_on_error(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    pairs = form_of(_html(client.get(f"/editor/items/{passport}/edit")))
    materials = len({k.split(".")[1] for k, _ in pairs if k.startswith("materials.")})
    before = _requests(session)
    typed = changed(pairs, {"guide.faq.0.answer": ["可以，全国通办。"], "note": ["加材料"]})
    added = _post_form(client, f"/editor/items/{passport}/edit", [*typed, ("add", "materials")])
    page = _html(added)
    assert f'name="materials.{materials}.name"' in page  # one more, empty, row
    assert re.search(
        rf'name="materials.{materials}.name" type="text" value=""[^>]* autofocus', page
    )
    assert "可以，全国通办。" in page and "加材料" in page  # what was typed is kept
    assert _requests(session) == before  # adding a row saves nothing
    pairs = form_of(page)
    with_fee = _post_form(client, f"/editor/items/{passport}/edit", [*pairs, ("add", "fees")])
    pairs = form_of(_html(with_fee))
    assert ("fees.1.name", "") in pairs and (f"materials.{materials}.name", "") in pairs

    # an error: shown at its field, in its unfolded section, with everything typed
    bad = changed(
        pairs,
        {
            f"materials.{materials}.name": ["户口簿"],
            f"materials.{materials}.originals": ["很多"],
            "fees.1.name": ["加急费"],
            "fees.1.standard": ["每本20元"],
            "fees.1.legal_basis": ["黑价费〔2031〕1号"],
            "fees.1.amount": ["20"],
        },
    )
    refused = _post_form(client, f"/editor/items/{passport}/edit", bad)
    html = _html(refused, 422)
    assert f'id="err-materials-{materials}-originals"' in html
    assert re.search(rf'name="materials.{materials}.originals"[^>]*aria-invalid="true"', html)
    assert 'value="户口簿"' in html and 'value="加急费"' in html and "可以，全国通办。" in html
    assert _requests(session) == before

    fixed = changed(
        form_of(html),
        {f"materials.{materials}.originals": ["1"], "guide.windows.0.remove": ["on"]},
    )
    saved = _post_form(client, f"/editor/items/{passport}/edit", fixed)
    assert saved.status_code == 303, saved.text[:3000]
    cr = session.get(ChangeRequest, int(saved.headers["location"].rsplit("/", 1)[1]))
    assert cr is not None and cr.patch is not None
    assert [m["name"] for m in cr.patch["materials"]][-1] == "户口簿"
    assert cr.patch["guide"]["windows"] == []
    assert cr.patch["guide"]["faq"][0]["answer"] == "可以，全国通办。"
    # the codes of the materials kept (a row is filled from the published one it shows)
    published = client.get(f"{API}/items/{passport}").json()
    assert [m.get("code") for m in cr.patch["materials"][:materials]] == [
        m["code"] for m in published["materials"]
    ]


def test_an_open_draft_is_continued_not_doubled(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    pairs = form_of(_html(client.get(f"/editor/items/{passport}/edit")))
    first = _post_form(
        client, f"/editor/items/{passport}/edit", changed(pairs, {"guide.visits": ["0"]})
    )
    assert first.status_code == 303
    number = int(first.headers["location"].rsplit("/", 1)[1])
    count = _requests(session)
    # the form again: it says so, shows the draft, and saving updates that draft
    page = _html(client.get(f"/editor/items/{passport}/edit"))
    assert "您有一份未提交的草稿" in page and f'href="/editor/requests/{number}"' in page
    assert 'name="guide.visits" type="number" value="0"' in page
    again = _post_form(
        client,
        f"/editor/items/{passport}/edit",
        changed(form_of(page), {"note": ["全程网办"]}),
    )
    assert again.headers["location"] == f"/editor/requests/{number}"
    assert _requests(session) == count
    # a form filled from the published version saves into the draft too
    stale = _post_form(client, f"/editor/items/{passport}/edit", pairs)
    assert stale.headers["location"] == f"/editor/requests/{number}"
    assert _requests(session) == count

    submitted = _act(client, f"/editor/requests/{number}", "submit")
    assert "待审核" in submitted
    waiting = _html(client.get(f"/editor/items/{passport}/edit"))
    assert "正在等待审核" in waiting and 'id="item-form"' not in waiting
    revised = client.post(
        f"/editor/requests/{number}/revise",
        data={"csrf": csrf_of(waiting)},
        follow_redirects=False,
    )
    assert revised.status_code == 303
    assert re.fullmatch(rf"/editor/items/{passport}/edit\?request=\d+", revised.headers["location"])
    session.expire_all()
    assert session.get(ChangeRequest, number).status == RequestStatus.WITHDRAWN  # type: ignore[union-attr]
    draft = _html(client.get(revised.headers["location"]))
    assert "您有一份未提交的草稿" in draft and 'value="0"' in draft


# --- review: the labelled diff, also once approved ----------------------------------------


def test_reviewer_reads_labels_and_an_approved_request_keeps_its_diff(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    pairs = form_of(_html(client.get(f"/editor/items/{passport}/edit")))
    saved = _post_form(
        client,
        f"/editor/items/{passport}/edit",
        changed(
            pairs,
            {
                "materials.0.originals": ["2"],
                "guide.windows.0.phone": ["0451-86766479"],
                "note": ["身份证原件两份，窗口电话更新"],
            },
        ),
    )
    path = saved.headers["location"]
    draft = _html(client.get(path))
    rows = re.findall(r'<tr class="changed" data-path="[^"]+"><th scope="row">([^<]+)</th>', draft)
    assert "材料「居民身份证」 原件份数" in rows
    assert any(r.startswith("窗口「") and r.endswith("电话") for r in rows), rows
    assert "0451-86766478" in draft and "0451-86766479" in draft
    english = _html(client.get(path, params={"lang": "en"}))
    assert "Originals" in english and "原件份数" not in english  # labels in the page's language
    _act(client, path, "submit")
    _reviewer(client, keys)
    approved = _act(client, path, "approve")
    assert "已通过" in approved and "没有变更" not in approved
    assert "材料「居民身份证」 原件份数" in approved  # what the published version changed
    assert "已发布为第" in approved
    assert "审核通过并发布" in approved  # what was done, in words
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", approved)


def test_times_in_the_province_zone(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    editor = keys.editor(passport[:18])
    with clock.frozen(AT):
        made = client.post(
            f"{API}/change-requests",
            json={"item": passport, "kind": "edit", "patch": {"guide": {"visits": 0}}},
            headers=editor,
        ).json()
    sign_in(client, editor)
    page = _html(client.get(f"/editor/requests/{made['id']}"))
    assert "2026-12-06 19:23" in page and "11:23" not in page
    assert "2026-12-06 19:23" in _section(_html(client.get("/editor")), "drafts-h")


# --- corrections: one step to a change request, and the ticket's resolution ------------------


def test_correction_becomes_a_draft_and_its_ticket_shows_the_fix(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    with clock.frozen(AT) as move:
        page = _html(client.get(f"/items/{passport}/correction"))
        reported = client.post(
            f"/items/{passport}/correction",
            data={
                "csrf": csrf_of(page),
                "field": "guide.windows.0.phone",
                "suggested": "0451-86766479",
                "text": "窗口电话已更换",
            },
            follow_redirects=False,
        )
        assert reported.status_code == 303, reported.text[:2000]
        ticket_path = reported.headers["location"]
        token = ticket_path.rsplit("/", 1)[1]
        ticket = _html(client.get(ticket_path))
        assert "办理窗口第1项 电话" in ticket and "guide.windows" not in ticket
        assert "2026-12-06 19:23" in ticket  # 更新时间: reported

        sign_in(client, keys.editor(passport[:18]))
        fix = f"/editor/items/{passport}/edit?correction={token}"
        assert f'href="{fix}"' in _html(client.get("/editor/corrections"))
        assert f'href="{fix}"' in _html(client.get("/editor"))
        form = _html(client.get(fix))
        assert "按纠错修改" in form and "窗口电话已更换" in form
        assert 'name="guide.windows.0.phone" type="text" value="0451-86766479"' in form
        assert re.search(r'<details class="form-section" id="sec-windows" open>', form)
        assert ">纠错：办理窗口第1项 电话</textarea>" in form  # the change note

        before = _requests(session)
        unanswered = _post_form(
            client,
            f"/editor/items/{passport}/edit",
            changed(form_of(form), {"correction_reply": [""]}),
        )
        assert 'id="err-correction_reply"' in _html(unanswered, 422)
        assert _requests(session) == before  # neither the draft nor the answer kept
        move(datetime(2026, 12, 6, 12, 5, tzinfo=UTC))
        made = _post_form(client, f"/editor/items/{passport}/edit", form_of(form))
        assert made.status_code == 303, made.text[:3000]
        request_path = made.headers["location"]
        draft = _html(client.get(request_path))
        assert "草稿" in draft and "0451-86766479" in draft
        ticket = _text(_html(client.get(ticket_path)))
        assert "已采纳" in ticket and "已采纳，将按您的建议更正。" in ticket
        assert "已采纳，更正正在审核" in ticket
        assert "更新时间 2026-12-06 20:05" in ticket  # the answer
        inbox = _html(client.get("/editor/corrections"))
        assert f'href="{fix}"' not in inbox and f'href="{request_path}"' in inbox

        _act(client, request_path, "submit")
        move(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
        _reviewer(client, keys)
        _act(client, request_path, "approve")
        version = client.get(f"{API}/items/{passport}").json()["version"]
        ticket = _text(_html(client.get(ticket_path)))
        assert f"已更正（第 {version} 版，2026-12-07 09:00 发布）" in ticket
        assert "更新时间 2026-12-07 09:00" in ticket
    assert client.get(f"{API}/corrections/{token}").json()["fixed_version"] == version


def test_a_correction_of_a_whole_part_opens_that_part_with_the_suggestion(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    reported = client.post(
        f"{API}/items/{passport}/corrections",
        json={"field": "guide.windows", "suggested": "电话改为 0451-86766479", "text": "电话不对"},
    ).json()
    sign_in(client, keys.editor(passport[:18]))
    form = _html(client.get(f"/editor/items/{passport}/edit?correction={reported['ticket']}"))
    assert "电话改为 0451-86766479" in form and "请按上面的纠错修改对应部分" in form
    assert re.search(r'<details class="form-section" id="sec-windows" open>', form)
    assert 'value="0451-86766478"' in form  # not filled in: the editor applies it
    saved = _post_form(
        client,
        f"/editor/items/{passport}/edit",
        changed(form_of(form), {"guide.windows.0.phone": ["0451-86766479"]}),
    )
    assert saved.status_code == 303, saved.text[:3000]
    number = int(saved.headers["location"].rsplit("/", 1)[1])
    linked = client.get(f"{API}/corrections/{reported['ticket']}").json()
    assert linked["status"] == "accepted" and linked["change_request"] == number
    other = client.get(f"/editor/items/{passport[:-1]}9/edit?correction={reported['ticket']}")
    assert other.status_code == 404  # no such item
    assert client.get(f"/editor/items/{passport}/edit?correction=x.y").status_code == 404


# --- the public history -------------------------------------------------------------------


def test_history_page_lists_versions_with_decision_and_note(
    client: TestClient, keys: Keys, passport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = keys.admin()
    body = client.get(f"{API}/items/{passport}").json()
    patch = {"guide": {"visits": 0}, "change_note": "改为全程网办"}
    assert client.patch(f"{API}/items/{passport}", json=patch, headers=admin).is_success
    suspend = {
        "decision": {"number": "哈政〔2031〕2号", "title": "关于暂停受理的决定", "url": None},
        "reason": "系统升级",
        "effective_date": clock.today().isoformat(),
    }
    assert client.post(f"{API}/items/{passport}/suspend", json=suspend, headers=admin).is_success

    item = _html(client.get(f"/items/{passport}"))
    assert f'href="/items/{passport}/history"' in item
    page = _html(client.get(f"/items/{passport}/history"))
    text = _text(page)
    events = re.findall(r'<span class="event">([^<]+)</span>', page)
    assert events[:2] == ["暂停", "修改"] and events[-1] == "新增"  # newest first, in words
    assert "关于暂停受理的决定（哈政〔2031〕2号）" in text and "系统升级" in text
    assert "改为全程网办" in text and "到办事现场次数" in text  # the note, the field changed
    assert "create" not in events and "revise" not in events
    assert f"版本 {body['version'] + 2}" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", text)
    # only the newest versions: each still says what it changed against the one before
    monkeypatch.setattr(history_pages, "SHOWN", 2)
    newest = _html(client.get(f"/items/{passport}/history"))
    assert re.findall(r'<span class="event">([^<]+)</span>', newest) == ["暂停", "修改"]
    assert "到办事现场次数" in _text(newest)
    assert f"仅显示最近 2 个版本（共 {body['version'] + 2} 个）" in _text(newest)
    monkeypatch.undo()
    hant = _html(client.get(f"/items/{passport}/history", params={"lang": "zh-Hant"}))
    assert "歷史版本" in hant and "暫停" in hant
    assert client.get("/items/NOSUCHITEM/history").status_code == 404
    assert client.get(f"/items/{passport[:-1]}9/history").status_code == 404


def test_resume_and_reinstate_read_as_different_choices(
    client: TestClient, keys: Keys, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    page = _text(_html(client.get(f"/editor/items/{passport}/lifecycle")))
    assert "恢复受理（暂停之后）" in page and "重新启用（已取消的事项）" in page
    assert "事项曾被暂停受理" in page and "事项已被取消" in page


def test_a_merge_request_names_the_item_it_merges_into(
    client: TestClient, keys: Keys, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    form = _html(client.get(f"/editor/items/{passport}/lifecycle", params={"kind": "merge"}))
    survivor = passport[:19] + "000115002000"  # 往来港澳通行证及签注签发, the same body
    sent = client.post(
        f"/editor/items/{passport}/lifecycle",
        data={
            "csrf": csrf_of(form),
            "kind": "merge",
            "decision.number": "哈政〔2031〕5号",
            "decision.title": "关于合并出入境证件事项的决定",
            "reason": "合并办理",
            "effective_date": clock.today().isoformat(),
            "into": survivor,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text[:3000]
    page = _text(_html(client.get(sent.headers["location"])))
    assert "往来港澳通行证及签注签发（哈尔滨市 · 哈尔滨市公安局）" in page
    assert "关于合并出入境证件事项的决定" in page and "合并办理" in page
