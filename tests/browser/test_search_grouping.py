"""Province-wide search in Chromium: with the default 全省, a common need lists each
catalogue entry once, the one a citizen means first, with how many regions handle it and the
next step (choose a region, see all); following "see all" lists that entry's implementations;
a region outside the province's picker is kept, and one the catalogue holds nothing of is
said so. axe finds nothing serious; screenshots at 1280 and 375 px."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.browser.conftest import Pages, Site
from tests.browser.test_journeys import find, find_all, wait_for


def _hits(driver: Any) -> list[str]:
    return [h.text for h in find_all(driver, "ol.hits li h2")]


def test_province_wide_search_lists_each_entry_once_with_its_next_step(
    driver: Any, site: Site, pages: Pages
) -> None:
    driver.get(f"{site.base}/search?q={quote('孩子办身份证')}&region=")
    wait_for(driver, "ol.hits")
    names = _hits(driver)
    assert names[0] == "居民身份证首次申领", names
    assert len(names) == len(set(names)), names  # each entry once, not once per county
    first = find(driver, "ol.hits li")
    assert "个地区办理" in first.text
    assert "选择您所在的地区" in first.text
    assert find(driver, ".grouped-note").is_displayed()
    pages.check("search-grouped")

    see_all = [a for a in find_all(driver, "ol.hits li:first-child .next-step a")
               if "查看全部" in a.text]  # fmt: skip
    assert see_all, first.text
    regions = int("".join(c for c in see_all[0].text if c.isdigit()))
    see_all[0].click()
    wait_for(driver, "ol.hits")
    listed = _hits(driver)
    assert set(listed) == {"居民身份证首次申领"} and len(listed) == regions
    metas = [m.text for m in find_all(driver, "ol.hits li p.meta")]
    assert len(set(metas)) == regions  # one per region: its department and region named


def test_a_region_outside_the_catalogue_is_said_so(driver: Any, site: Site, pages: Pages) -> None:
    driver.get(f"{site.base}/search?q={quote('护照')}&region=510100")
    wait_for(driver, "main")
    notice = find(driver, "p.notice").text
    assert "成都市" in notice and "没有" in notice
    assert not find_all(driver, "ol.hits li")
    chosen = find(driver, "select#region option:checked").text
    assert chosen == "成都市"  # kept in the form, not silently the whole province
    pages.check("search-region-without-items")
