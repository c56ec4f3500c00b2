"""The item form with every section unfolded (办理结果, 特别程序, 救济途径, 中介服务, 联办机构
and 前置事项, the situations' question and option rows after 添加一个问题, pressed without
JavaScript) and a lifecycle draft opened from its page, changed and saved: axe finds
nothing serious on either; screenshots at 1280 and 375 px. Chromium, Chinese UI.

It works on an item of its own, with a draft that is never submitted (the journeys in
test_editor_journeys.py and test_journeys.py publish changes of theirs)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from app import clock
from tests.browser.conftest import HARBIN, Pages, Site
from tests.browser.test_editor_journeys import (
    HK_MACAO,
    ID_RENEWAL,
    LICENCE_LOST,
    _type,
    _unfold,
)
from tests.browser.test_journeys import click_and_wait, find, find_all, sign_in, wait_for


def _own_item(site: Site) -> str:
    """A Harbin item of the passport's department no other browser test changes."""
    listed = site.get_json(
        f"/api/v1/items?region={HARBIN}&department={site.passport[:18]}&limit=100"
    )
    taken = {HK_MACAO, LICENCE_LOST, ID_RENEWAL, "000115001000"}  # and the passport
    codes = [
        i["code"]
        for i in listed["items"]
        if i["region"] == HARBIN and i["code"] != site.passport and i["code"][-12:] not in taken
    ]
    assert codes, "the seed has no other item of the passport's department in Harbin"
    return codes[-1]


def _draft(site: Site, code: str) -> int:
    body = {
        "item": code,
        "kind": "suspend",
        "body": {
            "decision": {"number": "哈政〔2031〕30号", "title": "关于暂停受理的决定"},
            "reason": "系统升级",
            "effective_date": clock.today().isoformat(),
        },
    }
    request = urllib.request.Request(
        site.base + "/api/v1/change-requests",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {site.keys['editor']}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.load(resp)["id"]


def test_every_form_section_and_a_lifecycle_draft_read_well(
    driver: Any, site: Site, pages: Pages
) -> None:
    code = _own_item(site)
    number = _draft(site, code)
    sign_in(driver, site, site.keys["editor"])

    driver.get(f"{site.base}/editor/items/{code}/edit")
    wait_for(driver, "#item-form")
    _unfold(driver, "situations")
    click_and_wait(driver, "button[name='add'][value='guide.situations']", "#sec-situations[open]")
    rows = find_all(driver, "#sec-situations fieldset.form-row")
    assert rows, "添加一个问题 shows a question row"
    assert find_all(driver, "input[name$='.options.1.label']")  # with two option rows
    titles = [e.text for e in find_all(driver, ".form-section .section-title")]
    for title in ("办理结果", "特别程序", "救济途径", "中介服务", "联办机构和前置事项", "情形"):
        assert title in titles, title
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    pages.check("editor-form-every-section")

    driver.get(f"{site.base}/editor/requests/{number}")
    click_and_wait(driver, "#edit-lifecycle", "#decision-form")
    assert find(driver, "#f-reason").get_attribute("value") == "系统升级"
    assert "您正在修改变更申请" in find(driver, ".draft-notice").text
    pages.check("editor-lifecycle-draft")
    _type(driver, "#f-reason", "系统迁移")
    click_and_wait(driver, "#save-draft", ".request-status")
    assert "草稿" in find(driver, ".request-status").text
    assert "系统迁移" in find(driver, "dl.proposal").text
