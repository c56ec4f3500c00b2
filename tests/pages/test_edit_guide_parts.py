"""The item form has every part of the guide the citizen page shows: 办理结果 (with its
sample), 特别程序 (with its time), 救济途径, 中介服务, 联办机构, 前置事项 and the themes; each
is read back as stored, rows added without JavaScript, what was typed kept on a refusal,
and what is saved published after review reads on the citizen page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.review.models import ChangeRequest
from tests.conftest import Keys
from tests.helpers import API, writable
from tests.pages.test_edit_situations import changed, form_of
from tests.pages.test_pages import HARBIN, _html, sign_in


def _post(client: TestClient, code: str, pairs: list[tuple[str, str]]) -> Any:
    return client.post(
        f"/editor/items/{code}/edit",
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _requests(session: Session) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(ChangeRequest)).scalar_one()


def test_every_guide_part_is_read_back_as_stored(
    client: TestClient, keys: Keys, passport: str
) -> None:
    body = writable(client, passport)
    g = body["guide"]
    g["results"] = [{"type": "证照", "name": "普通护照", "sample": {"name": "护照样本"}}]
    g["special_procedures"] = [
        {"name": "专家评审", "time_limit": {"value": 10, "unit": "working_days"}}
    ]
    g["remedies"] = {"administrative_review": "向哈尔滨市人民政府申请行政复议"}
    g["intermediary_services"] = [{"name": "照片采集", "basis": "自愿选择"}]
    g["joint_bodies"] = ["哈尔滨市公安局出入境管理支队", "哈尔滨市政务服务中心"]
    g["prerequisite_items"] = ["居民身份证签发"]
    body["themes"] = ["P010"]
    assert client.put(f"{API}/items/{passport}", json=body, headers=keys.admin()).is_success
    sign_in(client, keys.editor(passport[:18]))
    page = _html(client.get(f"/editor/items/{passport}/edit"))
    assert re.search(
        r'name="guide.results.0.type"[^>]*>.*?<option value="证照" selected', page, re.S
    )
    assert 'name="guide.results.0.sample.name" type="text" value="护照样本"' in page
    assert 'name="guide.special_procedures.0.time_limit.value" type="text" value="10"' in page
    assert "向哈尔滨市人民政府申请行政复议</textarea>" in page
    assert 'name="guide.intermediary_services.0.name" type="text" value="照片采集"' in page
    assert "哈尔滨市公安局出入境管理支队\n哈尔滨市政务服务中心</textarea>" in page
    assert re.search(r'name="themes" value="P010" checked', page)
    labels = set(re.findall(r"<label for=\"[^\"]+\">([^<]+)</label>", page))
    for chinese in (
        "结果名称",
        "行政复议",
        "行政诉讼",
        "联办机构（每行一项）",
        "前置事项（每行一项）",
    ):
        assert chinese in labels, chinese

    # saved unchanged, the form proposes nothing of these parts
    saved = _post(client, passport, changed(form_of(page), {"note": ["只看看"]}))
    assert saved.status_code == 303, saved.text[:3000]
    cr_id = int(saved.headers["location"].rsplit("/", 1)[1])
    patch = client.get(f"{API}/change-requests/{cr_id}", headers=keys.admin()).json()["patch"]
    assert patch in (None, {}) or not (
        set(patch.get("guide") or {})
        & {"results", "special_procedures", "remedies", "joint_bodies", "prerequisite_items"}
    )


def test_new_parts_added_kept_on_error_and_published(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    editor = keys.editor(passport[:18])
    sign_in(client, editor)
    page = _html(client.get(f"/editor/items/{passport}/edit"))
    before = _requests(session)
    for added in ("guide.results", "guide.special_procedures", "guide.intermediary_services"):
        page = _html(_post(client, passport, [*form_of(page), ("add", added)]))
        assert re.search(rf'name="{re.escape(added)}\.\d+\.name" type="text" value=""', page)
    assert _requests(session) == before
    n_results = len({k.split(".")[2] for k, _ in form_of(page) if k.startswith("guide.results.")})
    last = n_results - 1
    typed = {
        f"guide.results.{last}.type": ["证照"],
        f"guide.results.{last}.name": ["普通护照"],
        "guide.special_procedures.0.name": ["现场核查"],
        "guide.special_procedures.0.time_limit.value": ["五天"],  # not a number
        "guide.intermediary_services.0.name": ["证件照拍摄"],
        "guide.remedies.administrative_litigation": ["向南岗区人民法院提起行政诉讼"],
        "guide.joint_bodies": ["哈尔滨市政务服务中心\n"],
        "guide.prerequisite_items": ["居民身份证签发"],
        "themes": ["P010"],
        "note": ["补全指南"],
    }
    refused = _post(client, passport, changed(form_of(page), typed))
    html = _html(refused, 422)
    assert 'id="err-guide-special_procedures-0-time_limit-value"' in html
    assert 'id="sec-special" open' in html
    for kept in ('value="现场核查"', 'value="五天"', 'value="证件照拍摄"', "向南岗区人民法院"):
        assert kept in html, kept
    assert _requests(session) == before

    fixed = changed(form_of(html), {"guide.special_procedures.0.time_limit.value": ["5"]})
    saved = _post(client, passport, fixed)
    assert saved.status_code == 303, saved.text[:3000]
    cr = int(saved.headers["location"].rsplit("/", 1)[1])
    request_page = _html(client.get(f"/editor/requests/{cr}"))
    assert "特别程序" in request_page and "现场核查" in request_page
    assert client.post(f"{API}/change-requests/{cr}/submit", headers=editor).is_success
    approved = client.post(
        f"{API}/change-requests/{cr}/approve",
        json={},
        headers=keys.make("reviewer", region=HARBIN),
    )
    assert approved.status_code == 200, approved.text
    item = client.get(f"{API}/items/{passport}").json()
    g = item["guide"]
    assert (g["results"][-1]["type"], g["results"][-1]["name"]) == ("证照", "普通护照")
    assert not g["results"][-1].get("sample")
    assert g["special_procedures"][0]["time_limit"]["value"] == 5
    assert g["intermediary_services"][0]["name"] == "证件照拍摄"
    assert g["remedies"]["administrative_litigation"] == "向南岗区人民法院提起行政诉讼"
    assert g["joint_bodies"] == ["哈尔滨市政务服务中心"]
    assert g["prerequisite_items"] == ["居民身份证签发"]
    assert item["themes"] == ["P010"]
    citizen = _html(client.get(f"/items/{passport}"))
    assert "现场核查" in citizen and "向南岗区人民法院提起行政诉讼" in citizen
