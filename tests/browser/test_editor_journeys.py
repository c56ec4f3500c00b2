"""The editor's and reviewer's jobs end to end in Chromium, Chinese UI: an editor adds a
material and a fee and removes a window in the item form (rows added without JavaScript),
the reviewer reads the diff by labels and approves, the citizen page and the history show
it; a receiving editor finds the item delegated to them on their worklist and accepts it; a
correction becomes a change request and its ticket reads 已更正 with the version. axe finds
nothing serious on each new page; screenshots at 1280 and 375 px.

Each journey works on an item of its own (not the passport, which tests/browser/
test_journeys.py edits and delegates, nor the two test_effective_banners.py schedules)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from app import clock
from tests.browser.conftest import HARBIN, Pages, Site, _cli, _secret
from tests.browser.test_journeys import click_and_wait, find, find_all, sign_in, wait_for

HK_MACAO = "000115002000"  # 往来港澳通行证及签注签发
LICENCE_LOST = "000101003003"  # 机动车驾驶证遗失补证 (南岗 has none of its own)
ID_RENEWAL = "000701001002"  # 居民身份证换领
NANGANG_POLICE = "11230103MBUYEQ7D4B"  # 哈尔滨市公安局南岗分局
NANGANG = "230103"


def _item(site: Site, basic_code: str) -> str:
    """The Harbin implementation of ``basic_code`` by the passport's department."""
    listed = site.get_json(
        f"/api/v1/items?region={HARBIN}&department={site.passport[:18]}&basic_code={basic_code}"
    )
    [code] = [i["code"] for i in listed["items"] if i["region"] == HARBIN]
    return code


def _admin_post(site: Site, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        site.base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {site.keys['admin']}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{path}: {exc.code} {exc.read().decode()}") from None


def _type(driver: Any, css: str, text: str) -> None:
    field = find(driver, css)
    field.clear()
    field.send_keys(text)


def _unfold(driver: Any, section: str) -> None:
    details = find(driver, f"#sec-{section}")
    if details.get_attribute("open") is None:
        find(driver, f"#sec-{section} > summary").click()


def _diff_labels(driver: Any) -> list[str]:
    return [th.text for th in find_all(driver, "table.diff tbody th")]


def test_editor_adds_a_material_and_a_fee_removes_a_window_reviewer_approves(
    driver: Any, site: Site, pages: Pages
) -> None:
    code = _item(site, HK_MACAO)
    before = site.get_json(f"/api/v1/items/{code}")
    window = before["guide"]["windows"][0]["name"]
    materials, fees = len(before["materials"]), len(before["fees"])

    sign_in(driver, site, site.keys["editor"])
    driver.get(f"{site.base}/editor/items/{code}/edit")
    wait_for(driver, "#item-form")
    titles = [s.text for s in find_all(driver, "details.form-section > summary .section-title")]
    assert titles[:4] == ["基本信息", "设定依据", "受理条件", "申请材料"]
    assert titles[-1] == "常见问题" and "咨询方式" in titles
    assert find(driver, "#sec-materials").get_attribute("open") is not None
    assert find(driver, "#sec-faq").get_attribute("open") is None  # folded
    pages.check("editor-form")

    # 添加一行: the form again with one more material row, focused
    click_and_wait(driver, "button[name=add][value=materials]", f"#f-materials-{materials}-name")
    assert driver.switch_to.active_element.get_attribute("id") == f"f-materials-{materials}-name"
    _type(driver, f"#f-materials-{materials}-name", "居民户口簿")
    _unfold(driver, "fees")
    click_and_wait(driver, "button[name=add][value=fees]", f"#f-fees-{fees}-name")
    assert find(driver, f"#f-materials-{materials}-name").get_attribute("value") == "居民户口簿"
    _type(driver, f"#f-fees-{fees}-name", "加急费")
    _type(driver, f"#f-fees-{fees}-standard", "每件20元")
    _type(driver, f"#f-fees-{fees}-amount", "20")
    _type(driver, f"#f-fees-{fees}-legal_basis", "黑价费〔2031〕1号")
    _unfold(driver, "windows")
    find(driver, "#f-guide-windows-0-remove").click()
    _type(driver, "#f-note", "增加居民户口簿和加急费，窗口并入政务服务中心")
    click_and_wait(driver, "#save-draft", "table.diff")
    labels = _diff_labels(driver)
    assert any(label.startswith("材料「居民户口簿」") for label in labels), labels
    assert any(label.startswith("收费「加急费」") for label in labels), labels
    assert f"窗口「{window}」" in labels, labels
    assert not [label for label in labels if "." in label]  # labels, not paths
    pages.check("editor-request-labelled")
    click_and_wait(driver, "#submit-request", ".request-status")
    assert "待审核" in find(driver, ".request-status").text
    request_path = driver.current_url.split(site.base, 1)[1]

    sign_in(driver, site, site.keys["reviewer"])
    waiting = find(driver, "#to-review-h").find_element(*_parent()).text
    assert "往来港澳通行证及签注签发" in waiting and "哈尔滨市" in waiting
    pages.check("reviewer-worklist")
    find(driver, f"a[href='{request_path}']").click()
    wait_for(driver, "#approve")
    assert f"窗口「{window}」" in _diff_labels(driver)
    click_and_wait(driver, "#approve", ".request-status")
    assert "已通过" in find(driver, ".request-status").text
    assert any(label.startswith("材料「居民户口簿」") for label in _diff_labels(driver))
    pages.check("editor-request-approved")

    driver.get(f"{site.base}/items/{code}")
    wait_for(driver, "article.item")
    assert "居民户口簿" in find(driver, "table.materials").text
    assert "加急费" in driver.page_source and window not in find(driver, "#where").text
    find(driver, f"a[href='/items/{code}/history']").click()
    wait_for(driver, "ol.versions")
    newest = find(driver, "ol.versions > li")
    assert "修改" in newest.text and "增加居民户口簿和加急费" in newest.text
    pages.check("item-history")


def _parent() -> tuple[str, str]:
    from selenium.webdriver.common.by import By

    return (By.XPATH, "..")


def test_receiving_editor_finds_the_delegated_item_and_accepts_it(
    driver: Any, site: Site, pages: Pages
) -> None:
    code = _item(site, LICENCE_LOST)
    today = clock.today().isoformat()
    [received] = _admin_post(
        site,
        f"/api/v1/items/{code}/delegate",
        {
            "decision": {
                "number": "哈政规〔2031〕21号",
                "title": "关于下放机动车驾驶证遗失补证的决定",
            },
            "reason": "方便群众就近办理",
            "effective_date": today,
            "handover_date": today,
            "mode": "delegate",
            "to": [{"department": NANGANG_POLICE, "region": NANGANG}],
        },
    )["created"]
    key = _secret(
        _cli(
            site.url,
            *("keys", "create", "--role", "editor", "--name", "nangang-psb"),
            *("--department", NANGANG_POLICE),
        )
    )
    sign_in(driver, site, key)
    pending = find(driver, "#pending-h").find_element(*_parent()).text
    assert "机动车驾驶证遗失补证" in pending and "南岗区" in pending and received in pending
    pages.check("editor-home-pending")
    click_and_wait(
        driver, f"a.button[href='/editor/items/{received}/lifecycle?kind=accept']", "#decision-form"
    )
    _type(driver, "#f-decision-number", "南政〔2031〕3号")
    _type(driver, "#f-decision-title", "关于承接机动车驾驶证遗失补证的决定")
    _type(driver, "#f-reason", "承接下放事项")
    _type(driver, "#f-guide-windows-0-name", "南岗区政务服务中心公安窗口")
    _type(driver, "#f-guide-windows-0-address", "哈尔滨市南岗区中山路1号")
    _type(driver, "#f-guide-windows-0-phone", "0451-82304067")
    click_and_wait(driver, "#propose", ".request-status")
    assert "待审核" in find(driver, ".request-status").text
    assert "南岗区政务服务中心公安窗口" in find(driver, "dl.proposal").text
    pages.check("editor-request-accept")
    request_path = driver.current_url.split(site.base, 1)[1]

    sign_in(driver, site, site.keys["reviewer"])
    driver.get(site.base + request_path)
    click_and_wait(driver, "#approve", ".request-status")
    assert "已通过" in find(driver, ".request-status").text
    assert site.get_json(f"/api/v1/items/{received}")["status"] == "1"  # 在用: accepted


def test_correction_becomes_a_change_request_and_its_ticket_shows_the_fix(
    driver: Any, site: Site, pages: Pages
) -> None:
    from selenium.webdriver.support.ui import Select

    code = _item(site, ID_RENEWAL)
    driver.get(f"{site.base}/items/{code}#correction")
    Select(find(driver, "#f-field")).select_by_value("guide.windows")
    _type(driver, "#f-text", "窗口电话已更换")
    _type(driver, "#f-suggested", "0451-86766479")
    click_and_wait(driver, "form.correction button[type=submit]", "dl.facts code")
    ticket_url = driver.current_url
    assert "办理窗口" in driver.page_source and "guide.windows" not in driver.page_source

    sign_in(driver, site, site.keys["editor"])
    assert "窗口电话已更换" in find(driver, "#corrections-h").find_element(*_parent()).text
    driver.get(site.base + "/editor/corrections")
    click_and_wait(driver, f"a.button[href^='/editor/items/{code}/edit?correction=']", "#item-form")
    assert "按纠错修改" in find(driver, ".correction-fix").text
    assert find(driver, "#sec-windows").get_attribute("open") is not None
    pages.check("editor-form-correction")
    _type(driver, "#f-guide-windows-0-phone", "0451-86766479")
    click_and_wait(driver, "#save-draft", "table.diff")
    assert any(label.endswith("电话") for label in _diff_labels(driver))
    click_and_wait(driver, "#submit-request", ".request-status")
    request_path = driver.current_url.split(site.base, 1)[1]
    driver.get(ticket_url)
    assert "已采纳，更正正在审核" in find(driver, "dd.resolution").text

    sign_in(driver, site, site.keys["reviewer"])
    driver.get(site.base + request_path)
    click_and_wait(driver, "#approve", ".request-status")
    version = site.get_json(f"/api/v1/items/{code}")["version"]
    driver.get(ticket_url)
    assert "已更正" in find(driver, "dd.status-accepted").text
    assert f"已更正（第 {version} 版" in find(driver, "dd.resolution").text
    pages.check("ticket-fixed")
