"""The pages for people (app/pages), through the app as a browser would call it: status,
labels instead of codes, escaping, the security headers, CSRF, the session cookie, zh-Hant,
the situation form and its checklist, the editor's form and review. Browser tests (real
Chromium) are in tests/browser/."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.catalogue.models import Implementation
from app.pages.web import highlighted
from tests.conftest import Keys
from tests.helpers import API, writable

pytest_plugins = ["tests.search_support"]

PASSPORT = "000115001000"  # 普通护照签发
HARBIN = "230100"
EVIL = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


def _code(session: Session, basic_code: str, region: str) -> str:
    return session.execute(
        select(Implementation.code).where(
            Implementation.basic_code == basic_code, Implementation.region_code == region
        )
    ).scalar_one()


@pytest.fixture
def passport(session: Session) -> str:
    return _code(session, PASSPORT, HARBIN)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def _html(resp: Any, status: int = 200) -> str:
    assert resp.status_code == status, resp.text[:2000]
    assert resp.headers["content-type"].startswith("text/html")
    return resp.text


def _no_markup_from(evil_html: str) -> None:
    assert "<script>alert" not in evil_html
    assert "<img src=x" not in evil_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evil_html


# --- citizens --------------------------------------------------------------------------


def test_search_with_region_one_hit_highlighted_and_remembered(
    client: TestClient, embedded: Any, passport: str
) -> None:
    html = _html(client.get("/search", params={"q": "护照", "region": HARBIN}))
    codes = re.findall(r'<h2><a href="/items/([0-9A-Z]{31})"', html)
    assert passport in codes  # the Harbin implementation of 普通护照签发
    basic_codes = [c[-12:] for c in codes]
    assert len(basic_codes) == len(set(basic_codes))  # one hit per item for the region
    assert "<em>" in html  # the highlight, as markup
    assert "行政许可" in html and "证件办理" in html  # facets by their labels
    assert client.cookies.get("sc_region") == HARBIN
    home = _html(client.get("/"))
    assert f'<option value="{HARBIN}" selected>' in home  # the region is remembered


def test_nothing_found_offers_what_the_citizen_may_mean(client: TestClient, embedded: Any) -> None:
    html = _html(client.get("/search", params={"q": "护"}))  # one character finds no item
    assert "没有找到相关事项" in html and "您是不是要找" in html
    assert re.search(r'<a href="/search\?q=[^"]+"[^>]*>普通护照签发</a>', html)


def test_highlights_let_only_em_through() -> None:
    assert str(highlighted("<em>护照</em><img onerror=x>")) == (
        "<em>护照</em>&lt;img onerror=x&gt;"
    )


def test_item_page_shows_labels_not_codes(client: TestClient, passport: str) -> None:
    html = _html(client.get(f"/items/{passport}"))
    assert '<html lang="zh-Hans">' in html
    for label in ("行政许可", "承诺件", "政府部门核发", "申请人自备", "必要", "原件 1 份"):
        assert label in html, label
    doc = client.get(f"{API}/items/{passport}").json()
    window = doc["guide"]["windows"][0]
    assert window["address"] in html and window["hours"] in html
    assert "查看地图" in html and "uri.amap.com" in html
    assert doc["fees"][0]["legal_basis"] in html  # fees with their basis
    assert "调整记录" in html and "我要纠错" in html


def test_security_headers_without_unsafe_inline(client: TestClient, passport: str) -> None:
    for path in ("/", f"/items/{passport}", "/adjustments", "/editor"):
        resp = client.get(path)
        csp = resp.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp, path
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in resp.text and " style=" not in resp.text, path


def test_escaping_of_item_names_and_corrections(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    admin = keys.admin()
    entry = client.get(f"{API}/catalogue-entries/{PASSPORT}").json()
    entry["name"] = "普通护照签发" + EVIL
    resp = client.put(f"{API}/catalogue-entries/{PASSPORT}", json=entry, headers=admin)
    assert resp.status_code == 200, resp.text
    _no_markup_from(_html(client.get(f"/items/{passport}")))
    page = _html(client.get(f"/items/{passport}"))
    posted = client.post(
        f"/items/{passport}/correction",
        data={"csrf": csrf_of(page), "field": "", "text": EVIL, "suggested": EVIL},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    ticket_page = _html(client.get(posted.headers["location"]))
    _no_markup_from(ticket_page)  # the item's name; the text is never shown there
    editor = sign_in(client, keys.editor(passport[:18]))
    _no_markup_from(_html(client.get("/editor/corrections")))
    assert editor


def test_zh_hant_by_opencc_and_english_chrome(client: TestClient, passport: str) -> None:
    hant = _html(client.get(f"/items/{passport}", params={"lang": "zh-Hant"}))
    assert '<html lang="zh-Hant">' in hant and "護照" in hant and "申請材料" in hant
    assert client.cookies.get("sc_lang") == "zh-Hant"  # remembered
    en = _html(client.get(f"/items/{passport}", params={"lang": "en"}))
    assert '<html lang="en">' in en and "Materials" in en
    assert 'lang="zh-Hans"' in en and "普通护照签发" in en  # catalogue text stays Chinese


def _with_situations(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["guide"]["situations"] = [
        {
            "id": "kind",
            "question": "申请类型",
            "options": [
                {"id": "first", "label": "首次申请"},
                {"id": "reissue", "label": "补发", "reveals": ["why"]},
            ],
        },
        {
            "id": "why",
            "question": "补发原因",
            "options": [{"id": "lost", "label": "遗失"}, {"id": "damaged", "label": "损毁"}],
        },
    ]
    body["guide"].pop("common_situations", None)
    body["guide"].pop("time_limits", None)
    for step in body["guide"]["process"]:
        step.pop("when", None)
    first = {k: v for k, v in body["materials"][0].items() if k not in ("options", "when")}
    body["materials"] = [
        first,
        {**first, "code": None, "name": "报失声明", "options": ["lost"]},
        {**first, "code": None, "name": "损毁的护照", "options": ["damaged"]},
    ]
    fee = {k: v for k, v in body["fees"][0].items() if k != "when"}
    body["fees"] = [{**fee, "amount": 120}]
    return body


def situated(client: TestClient, keys: Keys, passport: str) -> None:
    """Give the passport item the situations of :func:`_with_situations` (an admin's PUT)."""
    resp = client.put(
        f"{API}/items/{passport}",
        json=_with_situations(writable(client, passport)),
        headers=keys.admin(),
    )
    assert resp.status_code == 200, resp.text


def test_situation_form_and_checklist(client: TestClient, keys: Keys, passport: str) -> None:
    situated(client, keys, passport)
    html = _html(client.get(f"/items/{passport}"))
    assert 'name="a.kind" value="reissue"' in html and "补发原因" in html
    missing = client.get(f"/items/{passport}/checklist", params={"a.kind": "reissue"})
    html = _html(missing, 422)
    assert 'id="err-why"' in html and 'aria-invalid="true"' in html
    done = _html(
        client.get(f"/items/{passport}/checklist", params={"a.kind": "reissue", "a.why": "lost"})
    )
    assert "一次告知清单" in done and "报失声明" in done and "损毁的护照" not in done
    assert "合计 120 元" in done and "因为：遗失" in done
    # a follow-up answered without what reveals it is not asked
    first_time = _html(
        client.get(f"/items/{passport}/checklist", params={"a.kind": "first", "a.why": "lost"})
    )
    assert "报失声明" not in first_time


def test_correction_needs_its_token_and_the_body_limit(client: TestClient, passport: str) -> None:
    page = _html(client.get(f"/items/{passport}/correction"))
    token = csrf_of(page)
    refused = client.post(f"/items/{passport}/correction", data={"text": "电话错了"})
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    too_big = client.post(
        f"/items/{passport}/correction", data={"csrf": token, "text": "错" * 30000}
    )
    assert too_big.status_code == 413
    not_a_form = client.post(f"/items/{passport}/correction", json={"text": "x"})
    assert not_a_form.status_code == 415
    empty = client.post(f"/items/{passport}/correction", data={"csrf": token, "text": ""})
    assert empty.status_code == 422 and 'id="err-text"' in empty.text
    sent = client.post(
        f"/items/{passport}/correction",
        data={
            "csrf": token,
            "field": "guide.windows",
            "text": "电话错了",
            "contact": "13900000000",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    ticket = _html(client.get(sent.headers["location"]))
    assert "待处理" in ticket and "13900000000" not in ticket and "电话错了" not in ticket
    assert client.get(sent.headers["location"]).headers["referrer-policy"] == "no-referrer"


def test_adjustments_page_filters(client: TestClient) -> None:
    assert "动态调整公示" in _html(client.get("/adjustments", params={"type": "cancel"}))
    assert client.get("/adjustments", params={"type": "nonsense"}).status_code == 422
    assert client.get("/adjustments", params={"since": "yesterday"}).status_code == 422


def test_unknown_item_is_an_html_404(client: TestClient) -> None:
    resp = client.get("/items/nothing-like-this")
    assert resp.status_code == 404 and "text/html" in resp.headers["content-type"]


def test_docs_need_no_network(client: TestClient) -> None:
    resp = client.get("/docs")
    html = _html(resp)
    assert "unsafe-inline" not in resp.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for s in sources:
        assert client.get(s).status_code == 200, s
    assert client.get("/redoc").status_code == 404


# --- editors and reviewers ---------------------------------------------------------------


def sign_in(client: TestClient, headers: dict[str, str]) -> str:
    key = headers["Authorization"].removeprefix("Bearer ")
    login = _html(client.get("/editor"))
    resp = client.post(
        "/editor/login", data={"csrf": csrf_of(login), "key": key}, follow_redirects=False
    )
    assert resp.status_code == 303, resp.text
    assert key not in resp.text and key not in str(resp.headers.get("set-cookie"))
    return key


def test_sign_in_cookie_flags_csrf_and_sign_out(
    session: Session, keys: Keys, passport: str
) -> None:
    from tests.conftest import app_on

    key_headers = keys.editor(passport[:18])
    key = key_headers["Authorization"].removeprefix("Bearer ")
    with TestClient(app_on(session), base_url="https://testserver") as client:
        login = _html(client.get("/editor"))
        bad = client.post("/editor/login", data={"csrf": csrf_of(login), "key": key + "x"})
        assert bad.status_code == 401 and key not in bad.text
        no_token = client.post("/editor/login", data={"key": key})
        assert no_token.status_code == 403
        resp = client.post(
            "/editor/login", data={"csrf": csrf_of(login), "key": key}, follow_redirects=False
        )
        cookie = resp.headers["set-cookie"]
        for flag in ("HttpOnly", "Secure", "SameSite=strict", "Max-Age=28800", "Path=/editor"):
            assert flag.lower() in cookie.lower(), (flag, cookie)
        home = _html(client.get("/editor"))
        assert "本部门事项" in home and passport in home and key not in home
        assert client.get("/editor").headers["cache-control"] == "no-store"
        stolen = client.cookies.get("sc_session")
        # a form of the session without the session's token is refused
        assert client.post("/editor/logout", data={"csrf": "x" * 30}).status_code == 403
        out = client.post("/editor/logout", data={"csrf": csrf_of(home)}, follow_redirects=False)
        assert out.status_code == 303 and 'sc_session=""' in out.headers["set-cookie"]
        client.cookies.set("sc_session", stolen, domain="testserver", path="/editor")
        assert "editor/login" in client.get("/editor").text  # signed out means signed out


def test_editor_edits_sees_the_field_error_submits_and_reviewer_approves(
    client: TestClient, keys: Keys, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    form_page = _html(client.get(f"/editor/items/{passport}/edit"))
    fields = dict(re.findall(r'name="([^"]+)"[^>]*? value="([^"]*)"', form_page))
    assert fields["materials.0.name"] == "居民身份证"
    data = {**_form_fields(form_page), "materials.0.originals": "很多"}
    refused = client.post(f"/editor/items/{passport}/edit", data=data)
    html = _html(refused, 422)
    assert 'id="err-materials-0-originals"' in html
    assert re.search(r'name="materials.0.originals"[^>]*aria-invalid="true"', html)
    data["materials.0.originals"] = "2"
    data["note"] = "身份证原件需2份"
    saved = client.post(f"/editor/items/{passport}/edit", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:2000]
    request_path = saved.headers["location"]
    draft = _html(client.get(request_path))
    assert "materials" in draft and "originals" in draft and "草稿" in draft
    submitted = client.post(
        request_path + "/submit", data={"csrf": csrf_of(draft)}, follow_redirects=False
    )
    assert submitted.status_code == 303
    assert "待审核" in _html(client.get(request_path))
    # nothing public changed yet
    assert client.get(f"{API}/items/{passport}").json()["materials"][0]["originals"] == 1

    client.cookies.clear()
    sign_in(client, keys.make("reviewer", region=HARBIN))
    queue = _html(client.get("/editor/queue"))
    assert request_path.rsplit("/", 1)[1] in queue
    detail = _html(client.get(request_path))
    approved = client.post(
        request_path + "/approve", data={"csrf": csrf_of(detail)}, follow_redirects=False
    )
    assert approved.status_code == 303
    assert "已通过" in _html(client.get(request_path))
    assert "原件 2 份" in _html(client.get(f"/items/{passport}"))


def _form_fields(html: str) -> dict[str, Any]:
    """What the browser would send of the edit form (text inputs, selects, textareas, the
    ticked boxes: several of one name as a list)."""
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="checkbox"' not in tag:
            data[name.group(1)] = value.group(1) if value else ""
        elif name and " checked" in tag:
            data.setdefault(name.group(1), []).append(value.group(1) if value else "on")
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options) or re.search(
            r'<option value="([^"]*)"', options
        )
        data[name] = chosen.group(1) if chosen else ""
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S
    ):
        data[name] = value
    import html as html_lib

    return {
        k: [html_lib.unescape(x) for x in v] if isinstance(v, list) else html_lib.unescape(v)
        for k, v in data.items()
    }


def test_lifecycle_decision_form_shows_errors_then_proposes(
    client: TestClient, keys: Keys, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    page = _html(client.get(f"/editor/items/{passport}/lifecycle"))
    base = {
        "csrf": csrf_of(page),
        "kind": "suspend",
        "decision.title": "关于暂停的决定",
        "reason": "系统升级",
        "effective_date": "2031-01-01",
    }
    refused = client.post(
        f"/editor/items/{passport}/lifecycle", data={**base, "decision.number": ""}
    )
    assert refused.status_code == 422 and 'id="err-decision-number"' in refused.text
    sent = client.post(
        f"/editor/items/{passport}/lifecycle",
        data={**base, "decision.number": "哈政〔2031〕1号"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert "待审核" in _html(client.get(sent.headers["location"]))


def test_inbox_reply_and_search_gaps_alias(
    client: TestClient, keys: Keys, passport: str, embedded: Any
) -> None:
    page = _html(client.get(f"/items/{passport}/correction"))
    client.post(
        f"/items/{passport}/correction",
        data={"csrf": csrf_of(page), "text": "窗口电话打不通", "contact": "13900000000"},
    )
    assert client.get("/search", params={"q": "喵喵喵喵"}).status_code == 200
    sign_in(client, keys.editor(passport[:18]))
    inbox = _html(client.get("/editor/corrections"))
    assert "窗口电话打不通" in inbox and "13900000000" in inbox  # the department's own
    ticket = re.search(r"/editor/corrections/([A-Za-z0-9_-]+)/reply", inbox).group(1)
    replied = client.post(
        f"/editor/corrections/{ticket}/reply",
        data={"csrf": csrf_of(inbox), "status": "accepted", "reply": "已更正"},
        follow_redirects=False,
    )
    assert replied.status_code == 303
    assert "已采纳" in _html(client.get(f"/corrections/{ticket}"))
    gaps = _html(client.get("/editor/gaps"))
    assert "喵喵喵喵" in gaps
    proposed = client.post(
        "/editor/gaps/alias",
        data={"csrf": csrf_of(gaps), "query": "喵喵喵喵", "alias": "出国证件", "code": passport},
        follow_redirects=False,
    )
    assert proposed.status_code == 303  # an alias change request, submitted for review
    request_page = _html(client.get(proposed.headers["location"]))
    assert "增加别名" in request_page and "出国证件" in request_page and "待审核" in request_page
    refused = client.post(
        "/editor/gaps/alias",
        data={"csrf": csrf_of(gaps), "query": "喵喵喵喵", "alias": "出国证件", "code": "9" * 31},
    )
    assert refused.status_code == 404 and 'id="err-code"' in refused.text
