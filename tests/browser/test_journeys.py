"""What a citizen, an editor and a reviewer do, in headless Chromium against uvicorn."""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.browser.conftest import HARBIN, Pages, Site

A4_HEIGHT_IN = 11.69
A4_WIDTH_IN = 8.27


def _by(kind: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def find(driver: Any, css: str) -> Any:
    return driver.find_element(_by("CSS_SELECTOR"), css)


def find_all(driver: Any, css: str) -> list[Any]:
    return driver.find_elements(_by("CSS_SELECTOR"), css)


def wait_for(driver: Any, css: str, timeout: float = 10) -> Any:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((_by("CSS_SELECTOR"), css))
    )


def click_and_wait(driver: Any, button: str, css: str, timeout: float = 10) -> Any:
    """Click ``button`` (a form's submit) and wait for ``css`` on the page it leads to: the
    page clicked on is gone first, so an element of the same kind there does not count."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    old = find(driver, "html")

    def gone(_: Any) -> bool:
        try:
            old.is_enabled()
        except WebDriverException:  # stale, or (Chromium) "does not belong to the document"
            return True
        return False

    find(driver, button).click()
    WebDriverWait(driver, timeout).until(gone)
    return wait_for(driver, css, timeout)


def pdf_pages(driver: Any) -> int:
    """Print the page as Chromium prints it (print media, A4) and count the PDF's pages."""
    pdf = driver.execute_cdp_cmd(
        "Page.printToPDF",
        {"paperWidth": A4_WIDTH_IN, "paperHeight": A4_HEIGHT_IN, "preferCSSPageSize": True},
    )
    data = base64.b64decode(pdf["data"])
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def answer_every_question(driver: Any) -> None:
    """Choose the first option of each question shown, follow-ups as they appear."""
    for _ in range(10):
        open_questions = [
            fs
            for fs in find_all(driver, ".situations fieldset.question")
            if fs.is_displayed()
            and not any(i.is_selected() for i in fs.find_elements(_by("TAG_NAME"), "input"))
        ]
        if not open_questions:
            return
        open_questions[0].find_element(_by("CSS_SELECTOR"), "label.choice").click()
    raise AssertionError("the questions never ended")


def test_citizen_searches_answers_prints_and_reports(driver: Any, site: Site, pages: Pages) -> None:
    driver.get(site.base + "/")
    pages.check("home")
    from selenium.webdriver.support.ui import Select

    find(driver, "#q").send_keys("护照")
    Select(find(driver, "#region")).select_by_value(HARBIN)
    find(driver, "form.search-form button").click()
    wait_for(driver, "ol.hits")
    hits = find_all(driver, "ol.hits h2 a")
    codes = [h.get_attribute("href").rsplit("/", 1)[1] for h in hits]
    assert site.passport in codes  # the Harbin implementation of 普通护照签发
    assert len({c[-12:] for c in codes}) == len(codes)  # one result per item for the region
    assert find_all(driver, "ol.hits em"), "the highlight"
    pages.check("search")
    hits[codes.index(site.passport)].click()
    wait_for(driver, "article.item")
    assert driver.current_url.endswith(f"/items/{site.passport}")
    assert "申请材料" in driver.page_source and "政府部门核发" in driver.page_source
    pages.check("item")

    answer_every_question(driver)
    find(driver, ".situations form button[type=submit]").click()
    wait_for(driver, "article.checklist")
    assert "一次告知清单" in driver.title
    assert find_all(driver, "ol.bring li"), "the materials to bring"
    pages.check("checklist")
    assert pdf_pages(driver) == 1, "the checklist prints on one A4 page"

    driver.get(f"{site.base}/items/{site.passport}#correction")
    find(driver, "#f-text").send_keys("窗口电话打不通")
    find(driver, "#f-contact").send_keys("13900000000")
    find(driver, "form.correction button[type=submit]").click()
    wait_for(driver, "dl.facts code")
    assert "/corrections/" in driver.current_url
    ticket = find(driver, "dl.facts code").text
    assert "待处理" in driver.page_source and "13900000000" not in driver.page_source
    pages.check("ticket")
    assert site.get_json(f"/api/v1/corrections/{ticket}")["status"] == "new"

    driver.get(site.base + "/adjustments")
    pages.check("adjustments")
    driver.get(site.base + "/docs")
    wait_for(driver, ".swagger-ui .opblock", timeout=20)  # rendered from local assets only
    pages.check("docs", axe=False)  # Swagger UI's own markup is not ours to judge


def sign_in(driver: Any, site: Site, key: str) -> None:
    driver.get(site.base + "/editor")
    if find_all(driver, "form[action='/editor/logout']"):
        find(driver, "form[action='/editor/logout'] button").click()
        wait_for(driver, "#key")
    find(driver, "#key").send_keys(key)
    find(driver, "form[action='/editor/login'] button").click()
    wait_for(driver, "form[action='/editor/logout']")
    assert key not in driver.page_source


def test_editor_edits_reviewer_approves_citizen_sees_it(
    driver: Any, site: Site, pages: Pages
) -> None:
    driver.get(site.base + "/editor")
    pages.check("editor-login")
    sign_in(driver, site, site.keys["editor"])
    assert site.passport in driver.page_source
    pages.check("editor-home")

    driver.get(f"{site.base}/editor/items/{site.passport}/edit")
    originals = find(driver, "#f-materials-0-originals")
    originals.clear()
    originals.send_keys("很多")
    find(driver, "#save-draft").click()
    error = wait_for(driver, "#err-materials-0-originals")
    assert error.is_displayed() and error.text
    assert find(driver, "#f-materials-0-originals").get_attribute("aria-invalid") == "true"
    pages.check("editor-edit-error")
    originals = find(driver, "#f-materials-0-originals")
    originals.clear()
    originals.send_keys("3")
    find(driver, "#f-note").send_keys("身份证原件需3份")
    find(driver, "#save-draft").click()
    wait_for(driver, "table.diff")
    assert "originals" in driver.page_source
    pages.check("editor-request")
    click_and_wait(driver, "#submit-request", ".request-status")
    assert "待审核" in find(driver, ".request-status").text
    request_path = driver.current_url.split(site.base, 1)[1]
    before = site.get_json(f"/api/v1/items/{site.passport}")
    assert before["materials"][0]["originals"] != 3  # nothing public changed yet

    sign_in(driver, site, site.keys["reviewer"])
    driver.get(site.base + "/editor/queue")
    pages.check("reviewer-queue")
    find(driver, f"a[href='{request_path}']").click()
    wait_for(driver, "#approve")
    click_and_wait(driver, "#approve", ".request-status")
    assert "已通过" in find(driver, ".request-status").text

    driver.get(f"{site.base}/items/{site.passport}")
    first_row = find(driver, "table.materials tbody tr")
    assert "原件 3 份" in first_row.text  # the citizen page shows the change
    assert site.get_json(f"/api/v1/items/{site.passport}")["materials"][0]["originals"] == 3

    sign_in(driver, site, site.keys["editor"])
    driver.get(site.base + "/editor/corrections")
    assert "窗口电话打不通" in driver.page_source or "纠错收件箱" in driver.page_source
    pages.check("editor-corrections")
    driver.get(site.base + "/editor/gaps")
    pages.check("editor-gaps")
    driver.get(f"{site.base}/editor/items/{site.passport}/lifecycle")
    pages.check("editor-lifecycle")


DAOLI_POLICE = "11230102MBNXPN263U"  # 哈尔滨市公安局道里分局: a county body in Harbin


def test_editor_proposes_a_delegation_reviewer_approves(
    driver: Any, site: Site, pages: Pages
) -> None:
    from selenium.webdriver.support.ui import Select

    sign_in(driver, site, site.keys["editor"])
    driver.get(f"{site.base}/editor/items/{site.passport}/lifecycle")
    find(driver, "a[href$='?kind=delegate']").click()
    wait_for(driver, "#decision-form")
    assert find(driver, "input[name=mode][value=delegate]").is_selected()
    pages.check("editor-lifecycle-delegate")
    find(driver, "#f-decision-number").send_keys("哈政规〔2031〕7号")
    find(driver, "#f-decision-title").send_keys("关于下放普通护照签发的决定")
    find(driver, "#f-reason").send_keys("方便群众就近办理")
    Select(find(driver, "#f-to-0-department")).select_by_value(DAOLI_POLICE)
    Select(find(driver, "#f-to-0-region")).select_by_value("230103")  # not the body's region
    find(driver, "#propose").click()
    error = wait_for(driver, "#err-to-0-region")
    # says the body's region by name, in Chinese (the department is in 道里区 230102)
    assert error.is_displayed() and "道里区" in error.text
    assert find(driver, "#f-to-0-region").get_attribute("aria-invalid") == "true"
    pages.check("editor-lifecycle-error")
    Select(find(driver, "#f-to-0-region")).select_by_value("230102")
    click_and_wait(driver, "#propose", ".request-status")
    assert "待审核" in find(driver, ".request-status").text  # submitted with the proposal
    assert DAOLI_POLICE in driver.page_source  # the proposed body
    request_path = driver.current_url.split(site.base, 1)[1]
    assert site.get_json(f"/api/v1/items/{site.passport}")["lifecycle"] is None

    sign_in(driver, site, site.keys["reviewer"])
    driver.get(site.base + request_path)
    wait_for(driver, "#approve")
    click_and_wait(driver, "#approve", ".request-status")
    assert "已通过" in find(driver, ".request-status").text
    published = site.get_json(f"/api/v1/items/{site.passport}")
    assert published["lifecycle"]["event"] == "delegate"
    assert published["lifecycle"]["details"]["to"] == [f"{DAOLI_POLICE}4{site.passport[-12:]}"]
    driver.get(f"{site.base}/items/{site.passport}")
    assert "下放" in find(driver, "p.notice").text  # the citizen page says so at once
