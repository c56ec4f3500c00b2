"""Citizen search over the seed catalogue through the API, on the embedded index."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app import clock
from app.catalogue.models import Implementation
from app.search.indexer import Indexer
from tests.helpers import API, error_at, problem, writable

pytest_plugins = ["tests.search_support"]


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    resp = client.get(f"{API}/search", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def names(body: dict[str, Any]) -> list[str]:
    """Distinct item names in rank order (without a region, one item's implementations in
    several regions are one answer)."""
    return list(dict.fromkeys(h["name"] for h in body["hits"]))


def test_official_name_colloquial_and_typo_find_the_item(
    client: TestClient, embedded: Indexer
) -> None:
    assert names(search(client, q="护照"))[0] == "普通护照签发"
    assert "居民身份证补领" in names(search(client, q="身份证丢了怎么补办"))[:3]
    assert names(search(client, q="身分证"))[0].startswith("居民身份证")
    assert "普通护照签发" in names(search(client, q="户照"))[:3]
    assert "内地居民结婚登记" in names(search(client, q="结昏证"))[:3]
    assert "普通护照签发" in names(search(client, q="huzhao"))[:3]
    assert "普通护照签发" in names(search(client, q="護照"))[:3]


def test_answer_shape_highlight_facets_and_paging(client: TestClient, embedded: Indexer) -> None:
    body = search(client, q="登记", limit=5)
    assert body["total"] > 5 and len(body["hits"]) == 5 and body["took_ms"] >= 0
    hit = body["hits"][0]
    assert set(hit) >= {"code", "name", "department", "region", "type", "status", "score"}
    assert "<em>登记</em>" in hit["highlight"]["name"][0]
    facets = body["facets"]
    assert set(facets) == {"type", "department", "region", "theme"}
    assert all({"key", "label", "count"} <= set(f) for f in facets["type"])
    assert sum(f["count"] for f in facets["region"]) == body["total"]
    seen = set(h["code"] for h in body["hits"])
    cursor = body["next_cursor"]
    while cursor:
        page = search(client, q="登记", limit=5, cursor=cursor)
        codes = {h["code"] for h in page["hits"]}
        assert not codes & seen
        seen |= codes
        cursor = page["next_cursor"]
    assert len(seen) == body["total"]


def test_region_collapses_to_one_hit_per_entry(
    client: TestClient, session: Session, embedded: Indexer
) -> None:
    everywhere = search(client, q="护照", limit=100)
    assert len({h["region"]["code"] for h in everywhere["hits"]}) > 1
    body = search(client, q="护照", region="230102", limit=100)
    basics = [h["basic_code"] for h in body["hits"]]
    assert len(basics) == len(set(basics)) and body["total"] == len(basics)
    # per entry: the county's own implementation if it has one, else the city's, else the
    # province's
    chain = ("230102", "230100", "230000")
    everything = search(client, limit=100, region="230102", q="登记 证 许可 补贴 保险")
    assert everything["total"] > 10
    for h in everything["hits"]:
        regions = set(
            session.exec(
                select(Implementation.region_code).where(
                    Implementation.basic_code == h["basic_code"],
                    col(Implementation.region_code).in_(chain),
                    col(Implementation.status).not_in(["3", "4"]),
                )
            )
        )
        assert h["region"]["code"] == next(r for r in chain if r in regions), h


def test_region_named_in_the_query(client: TestClient, embedded: Indexer) -> None:
    body = search(client, q="哈尔滨 护照")
    assert body["region"] == "230100"
    assert body["hits"][0]["name"] == "普通护照签发"
    assert body["hits"][0]["region"]["code"] in ("230100", "230000")


def test_filters(client: TestClient, embedded: Indexer) -> None:
    body = search(client, type="01", limit=100)
    assert body["total"] > 0 and all(h["type"]["code"] == "01" for h in body["hits"])
    online = search(client, q="登记", online="true", limit=100)
    assert all(h["online"] for h in online["hits"])
    dept = body["hits"][0]["department"]["code"]
    by_dept = search(client, department=dept, limit=100)
    assert by_dept["total"] > 0
    assert all(h["department"]["code"] == dept for h in by_dept["hits"])
    themed = search(client, theme="P105", limit=100)
    assert themed["total"] > 0


def test_bad_parameters_are_422_with_the_field(client: TestClient, embedded: Indexer) -> None:
    for params, loc in (
        ({"status": "9"}, ["query", "status"]),
        ({"region": "999999"}, ["query", "region"]),
        ({"online": "maybe"}, ["query", "online"]),
        ({"cursor": "!!"}, ["query", "cursor"]),
        ({"limit": "0"}, ["query", "limit"]),
    ):
        body = problem(client.get(f"{API}/search", params=params), 422)
        error_at(body, loc)


def test_cancelled_items_leave_search_and_come_back_with_status(
    client: TestClient, session: Session, keys: Any, embedded: Indexer
) -> None:
    target = search(client, q="普通护照签发", limit=1)["hits"][0]
    code = target["code"]
    admin = keys.admin()
    resp = client.post(
        f"{API}/items/{code}/cancel",
        headers=admin,
        json={
            "decision": {"number": "黑政规〔2026〕9号", "title": "取消"},
            "reason": "测试",
            "effective_date": clock.today().isoformat(),
        },  # fmt: skip
    )
    assert resp.status_code in (200, 201), resp.text
    assert embedded.run_once(session) > 0
    assert code not in {h["code"] for h in search(client, q="普通护照签发", limit=100)["hits"]}
    back = search(client, q="普通护照签发", status="3", limit=100)
    assert code in {h["code"] for h in back["hits"]}


def test_edits_reach_the_index_through_the_change_log(
    client: TestClient, session: Session, keys: Any, embedded: Indexer
) -> None:
    code = search(client, q="普通护照签发", limit=1)["hits"][0]["code"]
    body = writable(client, code)
    body["guide"]["online"]["available"] = not body["guide"]["online"]["available"]
    editor = keys.editor(body["department"])
    assert client.put(f"{API}/items/{code}", json=body, headers=editor).status_code == 200
    before = {h["code"]: h["online"] for h in search(client, q="普通护照签发", limit=100)["hits"]}
    embedded.run_once(session)
    after = {h["code"]: h["online"] for h in search(client, q="普通护照签发", limit=100)["hits"]}
    assert after[code] == body["guide"]["online"]["available"] != before[code]


def test_aliases_on_the_entry_make_items_findable(
    client: TestClient, session: Session, keys: Any, embedded: Indexer
) -> None:
    assert search(client, q="蓝本本")["total"] == 0
    basic = search(client, q="机动车驾驶证初次申领", limit=1)["hits"][0]["basic_code"]
    entry = client.get(f"{API}/catalogue-entries/{basic}").json()
    put = {k: entry[k] for k in ("name", "item_type", "domain", "parent_basic_code",
                                 "legal_basis", "handling_items")}  # fmt: skip
    put["aliases"] = ["蓝本本", "考驾照"]
    resp = client.put(f"{API}/catalogue-entries/{basic}", json=put, headers=keys.admin())
    assert resp.status_code == 200, resp.text
    assert resp.json()["aliases"] == ["蓝本本", "考驾照"]
    embedded.run_once(session)
    hits = search(client, q="蓝本本")["hits"]
    assert hits and all(h["basic_code"] == basic for h in hits)


def test_synonyms_are_versioned_and_apply_without_reindex(
    client: TestClient, keys: Any, embedded: Indexer
) -> None:
    current = client.get(f"{API}/synonyms").json()
    assert current["version"] == 0 and ["驾照", "驾驶证", "机动车驾驶证"] in current["groups"]
    assert search(client, q="小本本")["total"] == 0
    admin = keys.admin()
    groups = [*current["groups"], ["小本本", "护照"]]
    resp = client.put(f"{API}/synonyms", json={"groups": groups}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 1
    assert search(client, q="小本本")["hits"][0]["name"] == "普通护照签发"
    stale = client.put(
        f"{API}/synonyms", json={"groups": groups}, headers={**admin, "If-Match": '"0"'}
    )
    problem(stale, 412)
    bad = client.put(f"{API}/synonyms", json={"groups": [["只有一个"]]}, headers=admin)
    error_at(problem(bad, 422), ["body", "groups", 0])
    editor = keys.editor(search(client, q="护照")["hits"][0]["department"]["code"])
    problem(client.put(f"{API}/synonyms", json={"groups": groups}, headers=editor), 403)


def test_zero_and_low_result_queries_are_listed_for_editors(
    client: TestClient, keys: Any, embedded: Indexer
) -> None:
    for _ in range(3):
        search(client, q="宠物狗办证", region="230102")
    search(client, q="护照")
    problem(client.get(f"{API}/search/gaps"), 401)
    problem(client.get(f"{API}/search/gaps", headers=keys.sync("23")), 403)
    editor = keys.editor(search(client, q="护照")["hits"][0]["department"]["code"])
    gaps = client.get(f"{API}/search/gaps", headers=editor).json()["gaps"]
    top = gaps[0]
    assert top["query"] == "宠物狗办证" and top["region"] == "230102" and top["count"] == 3
    assert "护照" not in {g["query"] for g in gaps}


def test_suggest_by_prefix_pinyin_and_initials(client: TestClient, embedded: Indexer) -> None:
    for typed in ("普通护", "huzh", "pthz"):
        resp = client.get(f"{API}/suggest", params={"q": typed, "region": "230102"})
        assert resp.status_code == 200, resp.text
        texts = [s["text"] for s in resp.json()["suggestions"]]
        assert "普通护照签发" in texts, (typed, texts)
    problem(client.get(f"{API}/suggest", params={"q": ""}), 422)


def test_a_plain_search_is_answered_before_the_router_as_the_route_answers_it(
    client: TestClient, embedded: Indexer
) -> None:
    """app/http/search_path.py answers a plain request by the route's own function; a
    parameter the route does not know sends the request to the route: same answer."""
    from app.http import search_path

    calls: list[dict[str, Any]] = []
    real = search_path.answer_search

    def counted(app: Any, svc: Any, args: dict[str, Any]) -> bytes:
        calls.append(args)
        return real(app, svc, args)

    search_path.answer_search = counted  # type: ignore[assignment]
    try:
        for params in ({"q": "护照"}, {"q": "结婚登记", "region": "230102", "limit": "3"},
                       {"q": "登记", "type": "01", "online": "true"}):  # fmt: skip
            calls.clear()
            fast = search(client, **params)
            assert len(calls) == 1  # the fast path answered it
            routed = search(client, **params, unknown="1")
            assert len(calls) == 1  # the route did
            for body in (fast, routed):
                body.pop("took_ms")
            assert fast == routed and fast["hits"]
        # what the route refuses, the fast path leaves to it: the same 422s
        for bad in ({"q": "护照", "limit": "0"}, {"q": "护照", "limit": "101"},
                    {"q": "护照", "limit": "x"}, {"q": "护照", "region": "99"}):  # fmt: skip
            resp = client.get(f"{API}/search", params=bad)
            assert resp.status_code == 422, (bad, resp.text)
        assert client.get(f"{API}/search?q=a&q=%E6%8A%A4%E7%85%A7").status_code == 200
        # counted by the route's template, as the route's answers are
        from prometheus_client import REGISTRY

        labels = {"method": "GET", "route": "/api/v1/search", "status": "200"}
        before = REGISTRY.get_sample_value("catalogue_http_requests_total", labels) or 0
        calls.clear()
        search(client, q="护照")
        assert len(calls) == 1
        assert REGISTRY.get_sample_value("catalogue_http_requests_total", labels) == before + 1
    finally:
        search_path.answer_search = real  # type: ignore[assignment]
