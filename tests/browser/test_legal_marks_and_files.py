"""An item whose cited document was repealed, with a blank form and a sample, as a citizen
sees it in Chromium: the mark 已废止 with the day in the 设定依据 section, the links 下载空白表格
and 查看样表 on the item page and the checklist, the file served as uploaded; axe finds
nothing serious, screenshots at 1280 and 375 px."""

from __future__ import annotations

import hashlib
import urllib.request
from typing import Any

import httpx

from tests.browser.conftest import HARBIN, Pages, Site

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def _item(site: Site) -> str:
    """A Harbin item of another department than the passport's (other tests change it)."""
    listed = site.get_json(f"/api/v1/items?region={HARBIN}&limit=50")
    codes = [i["code"] for i in listed["items"] if i["code"][:18] != site.passport[:18]]
    assert codes, listed
    return codes[0]


def test_a_repealed_citation_is_marked_and_the_files_are_linked(
    site: Site, driver: Any, pages: Pages
) -> None:
    admin = {"Authorization": f"Bearer {site.keys['admin']}"}
    code = _item(site)
    with httpx.Client(base_url=site.base, headers=admin, timeout=30) as api:
        basis = api.post(
            "/api/v1/legal-bases",
            json={"title": "哈尔滨市政务服务办法（浏览器测试）", "number": "哈政规〔2018〕3号"},
        ).json()
        patch = {"guide": {"legal_basis": [{"id": basis["id"], "articles": "第七条"}]}}
        assert api.patch(f"/api/v1/items/{code}", json=patch).status_code == 200
        repeal = {**{k: basis[k] for k in ("title", "number")}, "status": "已废止",
                  "repealed_on": "2026-11-30"}  # fmt: skip
        assert api.put(f"/api/v1/legal-bases/{basis['id']}", json=repeal).status_code == 200
        material = api.get(f"/api/v1/items/{code}").json()["materials"][0]["code"]
        url = f"/api/v1/items/{code}/materials/{material}/files"
        for kind, name, data in (("blank_form", "申请表.pdf", PDF), ("sample", "样表.png", PNG)):
            resp = api.post(url, data={"kind": kind}, files={"file": (name, data)})
            assert resp.status_code == 201, resp.text

    driver.get(f"{site.base}/items/{code}")
    body = driver.find_element("tag name", "body").text
    assert "已废止 2026-11-30：哈尔滨市政务服务办法（浏览器测试）（哈政规〔2018〕3号）" in body
    assert "下载空白表格" in body and "查看样表" in body
    pages.check("item-legal-mark-and-files")
    link = driver.find_element("partial link text", "下载空白表格").get_attribute("href")
    assert link.endswith(hashlib.sha256(PDF).hexdigest())
    with urllib.request.urlopen(link, timeout=10) as resp:
        assert resp.read() == PDF
        assert resp.headers["Content-Type"] == "application/pdf"

    driver.get(f"{site.base}/items/{code}/checklist")
    body = driver.find_element("tag name", "body").text
    assert "下载空白表格" in body and "查看样表" in body
    pages.check("checklist-files")
