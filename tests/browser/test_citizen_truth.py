"""What a citizen reads in Chromium is true: an item 待完善 (a row of the real 广安区 listing,
imported as an operator does) reads 未公布 with the way to correct it, on its guide and its
checklist, and printed without the links; the guide of 普通护照签发 says when each situational
material is needed, and the checklist of one situation lists exactly those. axe finds
nothing serious; screenshots at 1280 and 375 px."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Pages, Site, _cli
from tests.browser.test_journeys import find, find_all, pdf_pages, wait_for

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "items_guangan_sample.json"
GUANGAN = "511602"


@pytest.fixture(scope="module")
def incomplete(site: Site, tmp_path_factory: pytest.TempPathFactory) -> str:
    """企业投资项目备案（技术改造）, the listing's first row, imported alone (区经信局)."""
    row = json.loads(SAMPLE.read_text(encoding="utf-8"))[0]
    path = tmp_path_factory.mktemp("listing") / "one-row.json"
    path.write_text(json.dumps([row], ensure_ascii=False), encoding="utf-8")
    assert "1 created" in _cli(site.url, "import", str(path))
    listed = site.get_json(f"/api/v1/items?region={GUANGAN}&status=7")["items"]
    (code,) = [i["code"] for i in listed if i["name"] == row["name"]]
    return code


#: the rendered text of an element without what only a screen reader hears (.visually-hidden)
SEEN = """
const copy = arguments[0].cloneNode(true);
copy.querySelectorAll('.visually-hidden').forEach(e => e.remove());
arguments[0].after(copy);
const seen = copy.innerText;
copy.remove();
return seen;
"""


def text(driver: Any, css: str) -> str:
    """What the reader sees of an element, as rendered (print styles too, when printing)."""
    seen = driver.execute_script(SEEN, find(driver, css))
    return "\n".join(line.strip() for line in seen.splitlines() if line.strip())


def test_an_incomplete_item_reads_unknown_not_none(
    driver: Any, site: Site, pages: Pages, incomplete: str
) -> None:
    driver.get(f"{site.base}/items/{incomplete}")
    wait_for(driver, "article.item")
    notice = text(driver, "#incomplete")
    assert "办事指南待完善" in notice and "四川省广安市广安区经信局" in notice
    how = text(driver, "#how")
    assert "办理流程\n未公布（我要纠错）" in how
    assert "网上办理\n未公布（我要纠错）" in how and "到现场次数：未公布（我要纠错）" in how
    assert text(driver, "#fees").splitlines()[1:] == ["未公布（我要纠错）"]
    article = text(driver, "article.item")
    for claim in ("None", "不收费", "不能网上办理", "最多跑", "0 元"):
        assert claim not in article, claim
    pages.check("citizen-incomplete-item")

    # the link beside an unknown leads to this item's correction form
    find(driver, "#fees .unknown + .no-print a").click()
    wait_for(driver, "form.correction")
    assert driver.current_url.endswith(f"/items/{incomplete}/correction")

    driver.get(f"{site.base}/items/{incomplete}/checklist")
    wait_for(driver, "article.checklist")
    checklist = text(driver, "article.checklist")
    assert "需要带的材料\n未公布（我要纠错）" in checklist
    assert "需要缴纳的费用\n未公布（我要纠错）" in checklist
    assert "不收费" not in checklist and "本事项不区分情形" not in checklist
    pages.check("citizen-incomplete-checklist")
    assert pdf_pages(driver) == 1
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        printed = text(driver, "article.checklist")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert "需要缴纳的费用\n未公布" in printed and "我要纠错" not in printed


def _necessity(driver: Any) -> dict[str, str]:
    rows = find_all(driver, "table.materials tbody tr")
    return {
        row.find_element("css selector", "th").text: row.find_element(
            "css selector", "td[data-label='是否必要']"
        ).text
        for row in rows
    }


def test_the_passport_guide_says_when_each_material_is_needed(
    driver: Any, site: Site, pages: Pages
) -> None:
    doc = site.get_json(f"/api/v1/items/{site.passport}")
    if not any(q["id"] == "pp_kind" for q in doc["guide"].get("situations") or ()):
        pytest.skip("the seed's passport questions are not in this catalogue")
    driver.get(f"{site.base}/items/{site.passport}")
    wait_for(driver, "table.materials")
    necessity = _necessity(driver)
    assert (
        "仅在「补发：遗失」或「补发：被盗」时需要"
        in necessity["护照遗失或者被盗情况说明（报失证明）"]
    )
    assert "仅在「年满十六周岁：现役军人」时需要" in necessity["军队主管部门出具的意见"]
    assert necessity["近期免冠照片"].startswith("非必要\n仅在「自带符合出入境证件相片标准的相片」")
    assert "仅在" not in necessity["居民身份证"]
    pages.check("citizen-conditional-materials")

    # 补发 because lost, an adult of no special status, photo taken at the window
    for option in ("pp_reissue", "pp_lost", "pp_16plus", "pp_ordinary", "photo_onsite"):
        find(driver, f"input[value='{option}']").click()
    find(driver, ".situations form button[type=submit]").click()
    wait_for(driver, "article.checklist")
    bring = [li.text.split("：")[0] for li in find_all(driver, "ol.bring li")]
    expected = [
        name
        for name, said in necessity.items()
        if "仅在" not in said or "「补发：遗失」" in said  # the conditions this answer meets
    ]
    assert bring == expected
