"""标准管理 in Chromium: the province board, a city's and a department's, the findings
behind a bar, the department's own board and an editor's findings in the edit form. The
charts are SVG drawn on the server: with JavaScript off they are there and their bars are
links; no CSP report, axe clean, screenshots kept (conftest.py)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.browser.conftest import Pages, Site
from tests.browser.test_journeys import find, find_all, sign_in


def _break_consultation(site: Site) -> str:
    """One of the editor's items in force loses its consultation channels (a finding on the
    write); its code. Not the passport item itself: the journeys delegate it (an ended
    item has no findings)."""
    from app.catalogue.documents import item_input

    department = site.get_json(f"/api/v1/items/{site.passport}")["department"]["code"]
    listed = site.get_json(f"/api/v1/items?department={department}&status=1&limit=1")
    code = listed["items"][0]["code"]
    doc = site.get_json(f"/api/v1/items/{code}")
    body = item_input(doc)
    body["guide"]["consultation"] = []
    request = urllib.request.Request(
        f"{site.base}/api/v1/items/{code}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {site.keys['admin']}",
        },
    )
    urllib.request.urlopen(request, timeout=30).read()
    return code


def test_province_city_and_department_boards(driver: Any, site: Site, pages: Pages) -> None:
    driver.get(site.base + "/quality")
    assert find(driver, "h1").text == "标准管理：全省"
    bars = find_all(driver, "#chart-rules a")
    assert bars, "the chart by rule has no linked bars"
    pages.check("quality-province")
    driver.get(site.base + "/quality?region=230100")
    assert "哈尔滨" in find(driver, "h1").text
    pages.check("quality-city")
    department = find(driver, "#departments-h ~ .table-wrap tbody th a")
    name = department.text
    department.click()
    assert name in find(driver, "h1").text
    pages.check("quality-department")
    # the list behind a bar
    driver.get(site.base + "/quality")
    bar = find(driver, "#chart-rules a")
    href = driver.execute_script("return arguments[0].getAttribute('xlink:href')", bar)
    assert href.startswith("/quality/findings?rule=")
    driver.get(site.base + href)
    assert find_all(driver, "tbody tr"), "the list behind the bar is empty"
    pages.check("quality-findings")


def test_the_charts_read_without_javascript(site: Site, pages: Pages) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.browser.conftest import CHROMEDRIVER, CHROMIUM

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    plain = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        plain.get(site.base + "/quality")
        svg = find(plain, "#chart-rules")
        assert svg.size["height"] > 50 and svg.size["width"] > 300
        labels = [t.text for t in find_all(plain, "#chart-rules text") if t.text]
        assert any("M-" in label for label in labels), labels
        plain.save_screenshot(str(pages.folder / "quality-province-nojs-1280.png"))
    finally:
        plain.quit()


def test_an_editor_sees_findings_in_the_form_and_on_the_department_board(
    driver: Any, site: Site, pages: Pages
) -> None:
    code = _break_consultation(site)
    sign_in(driver, site, site.keys["editor"])
    driver.get(site.base + f"/editor/items/{code}/edit")
    box = find(driver, ".quality-findings")
    assert "咨询方式" in box.text and "未公布咨询电话、网址或邮箱" in box.text
    pages.check("quality-editor-form")
    driver.get(site.base + "/editor/quality")
    assert "咨询方式" in find(driver, "#list-h ~ .table-wrap").text
    assert find_all(driver, "#chart-rules a")
    pages.check("quality-editor-board")
    driver.get(site.base + "/editor")
    assert (
        "未公布咨询电话、网址或邮箱" in find(driver, "#quality-h").find_element("xpath", "..").text
    )
