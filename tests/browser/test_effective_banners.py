"""The effective day as a citizen sees it in Chromium: a scheduled cancellation announced at
the top of its item, a scheduled delegation's links to the office that takes over, that
office's item marked as not accepted yet (待承接), and ``?as_of`` under its notice; axe
finds nothing serious on each, screenshots at 1280 and 375 px.

The server runs in its own process, where a test's frozen clock does not reach: the
events are scheduled a few days after the real today (of the province) instead."""

from __future__ import annotations

import json
import urllib.request
from datetime import date, timedelta
from typing import Any

from app import clock
from tests.browser.conftest import HARBIN, Pages, Site
from tests.browser.test_journeys import find, find_all, wait_for

DAOLI_POLICE = "11230102MBNXPN263U"  # 哈尔滨市公安局道里分局: a county body in Harbin
DAOLI = "230102"
DECISION = {
    "number": "哈政规〔2031〕12号",
    "title": "关于调整一批政务服务事项的决定",
    "url": "https://www.harbin.gov.cn/decisions/12",
}


def zh_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _post(site: Site, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        site.base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {site.keys['admin']}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.load(resp)


def _two_other_items(site: Site) -> list[str]:
    """Two Harbin items of the passport's department, not the passport (the journeys
    delegate that one)."""
    listed = site.get_json(f"/api/v1/items?region={HARBIN}&department={site.passport[:18]}")
    codes = [i["code"] for i in listed["items"] if i["code"] != site.passport]
    assert len(codes) >= 2, codes
    return codes[:2]


def test_citizen_sees_what_is_coming_who_takes_over_and_the_day_viewed(
    driver: Any, site: Site, pages: Pages
) -> None:
    cancelled, delegated = _two_other_items(site)
    cancel_day = clock.today() + timedelta(days=3)
    handover = clock.today() + timedelta(days=5)
    decision = {"decision": DECISION, "reason": "机构改革"}
    _post(
        site,
        f"/api/v1/items/{cancelled}/cancel",
        {**decision, "effective_date": cancel_day.isoformat()},
    )
    [receiving] = _post(
        site,
        f"/api/v1/items/{delegated}/delegate",
        {
            **decision,
            "effective_date": handover.isoformat(),
            "handover_date": handover.isoformat(),
            "mode": "delegate",
            "to": [{"department": DAOLI_POLICE, "region": DAOLI}],
        },
    )["created"]

    # a scheduled cancellation, at the top of the item
    driver.get(f"{site.base}/items/{cancelled}")
    banner = wait_for(driver, "#effective .upcoming")
    assert banner.is_displayed()
    assert f"本事项将于 {zh_day(cancel_day)} 取消" in banner.text
    assert DECISION["number"] in banner.text and DECISION["title"] in banner.text
    assert banner.location["y"] < find(driver, "nav.toc").location["y"]  # before the guide
    pages.check("item-scheduled-cancellation")

    # a scheduled delegation: the office that takes over, linked
    driver.get(f"{site.base}/items/{delegated}")
    link = wait_for(driver, f"#effective .upcoming a[href='/items/{receiving}']")
    assert link.is_displayed() and link.text == "哈尔滨市公安局道里分局"
    assert f"将于 {zh_day(handover)} 起由" in find(driver, "#effective .upcoming").text
    pages.check("item-scheduled-delegation")

    # its receiving item: not accepted yet, not offered as a working guide
    link.click()
    title = wait_for(driver, "#effective.blocked .banner-title")
    assert driver.current_url.endswith(f"/items/{receiving}")
    assert title.is_displayed() and title.text == "尚未承接，暂不可办理"
    assert find(driver, f"#effective a[href='/items/{delegated}']").is_displayed()
    assert not [a for a in find_all(driver, "a") if a.text == "去网上办理"]
    pages.check("item-pending-acceptance")

    # the item as it will stand on the day of its cancellation
    driver.get(f"{site.base}/items/{cancelled}?as_of={cancel_day.isoformat()}")
    notice = wait_for(driver, "#as-of")
    assert notice.is_displayed()
    assert f"以下为 {zh_day(cancel_day)} 有效的办事指南" in notice.text
    assert "已取消，不再办理" in find(driver, "#effective .banner-title").text
    pages.check("item-as-of")
    find(driver, "#as-of a").click()
    wait_for(driver, "#effective .upcoming")
    assert driver.current_url.endswith(f"/items/{cancelled}")  # the current version again
    assert not find_all(driver, "#as-of")
