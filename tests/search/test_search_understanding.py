"""Issue 17's behaviours: ranking hygiene (a merged item never above the item it points to),
clicks as a ranking signal (counts only), English names and the glossary, department
shortcuts, the item's action word, the thesaurus, and the Elasticsearch mapping check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app import clock
from app.catalogue.models import CatalogueEntry, Implementation
from app.config import get_settings
from app.http.rate_limits import RateLimiter
from app.search.analysis import EVERYDAY_WEIGHT, SYNONYM_WEIGHT, Analyzer, ItemContext, Synonyms
from app.search.backends.elastic import ElasticsearchBackend
from app.search.clicks import CLICK_MIN, click_key
from app.search.english import en_stem, read_english
from app.search.indexer import Indexer
from app.search.models import SearchClick
from app.search.text import add_user_words, normalise
from app.search.thesaurus import EMPTY, Thesaurus, catalogue_thesaurus
from app.search.vocabulary import DEFAULT_SYNONYMS, everyday_meanings, everyday_words
from tests.helpers import API
from tests.search_support import fresh_es

pytest_plugins = ["tests.search_support"]

TODAY = clock.today()


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    resp = client.get(f"{API}/search", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _impl_of(session: Session, name: str, region: str | None = None) -> Implementation:
    stmt = (
        select(Implementation)
        .join(CatalogueEntry, col(CatalogueEntry.basic_code) == Implementation.basic_code)
        .where(CatalogueEntry.name == name, Implementation.status == "1")
        .order_by(Implementation.code)
    )
    if region:
        stmt = stmt.where(Implementation.region_code == region)
    found = session.exec(stmt).first()
    assert found is not None, name
    return found


# --- ranking hygiene ------------------------------------------------------------------


def test_a_merged_item_never_ranks_above_the_item_it_points_to(
    client: TestClient, session: Session, embedded: Indexer, keys: Any
) -> None:
    """居民身份证补领 is what 身份证补领 names best; merged into 居民身份证换领 of the same
    region, it is shown below it (and below every live match), no longer first."""
    lost = _impl_of(session, "居民身份证补领")
    survivor = _impl_of(session, "居民身份证换领", lost.region_code)
    region = lost.region_code
    before = search(client, q="身份证补领", region=region)["hits"]
    assert before[0]["code"] == lost.code
    resp = client.post(
        f"{API}/items/{lost.code}/merge",
        json={
            "decision": {"number": "黑政规〔2026〕9号", "title": "关于调整省级行政权力事项的决定"},
            "reason": "两项合并办理",
            "effective_date": TODAY.isoformat(),
            "into": survivor.code,
        },
        headers=keys.admin(),
    )
    assert resp.status_code == 200, resp.text
    embedded.run_once(session)
    hits = search(client, q="身份证补领", region=region, limit=50)["hits"]
    codes = [h["code"] for h in hits]
    assert lost.code in codes  # still found: a citizen may hold its old code
    merged_at = codes.index(lost.code)
    assert codes.index(survivor.code) < merged_at
    assert all(h["status"] == "6" for h in hits[merged_at:])
    # without a region, one hit per entry: a live implementation stands for each, the
    # merged one is not shown (it points to the survivor, whose entry is found)
    hits = search(client, q="身份证补领", limit=100)["hits"]
    assert survivor.basic_code in [h["basic_code"] for h in hits]
    assert lost.code not in [h["code"] for h in hits]
    assert all(h["status"] != "6" for h in hits)
    # a second page keeps the order: live matches first, then the retired ones
    page1 = search(client, q="身份证", limit=3)
    seen = [h["code"] for h in page1["hits"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = search(client, q="身份证", limit=3, cursor=cursor)
        seen += [h["code"] for h in page["hits"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == page1["total"]
    assert lost.code not in seen  # grouped: the entry is shown by a live implementation
    # with a region, a second page keeps the order: live matches first, then the retired
    page1 = search(client, q="身份证", region=region, limit=2)
    seen = [h["code"] for h in page1["hits"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = search(client, q="身份证", region=region, limit=2, cursor=cursor)
        seen += [h["code"] for h in page["hits"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == page1["total"]
    assert lost.code in seen
    statuses = [
        "6" if c == lost.code else "1" for c in seen
    ]  # the only retired item of the seed is the one merged here
    assert statuses == sorted(statuses)


# --- clicks --------------------------------------------------------------------------


def test_clicks_are_counts_only_and_raise_what_many_opened(
    client: TestClient, session: Session, embedded: Indexer
) -> None:
    q = "身份证"
    hits = search(client, q=q, limit=3)["hits"]  # one per entry (no region)
    names = list(dict.fromkeys(h["name"] for h in hits))
    target = next(h for h in hits if h["name"] == names[-1])  # the lowest of them
    assert hits[0]["basic_code"] != target["basic_code"]
    for _ in range(int(CLICK_MIN) + 3):
        resp = client.post(
            f"{API}/search/clicks",
            json={"q": " 身份證 ", "code": target["code"]},  # the same normalised query
            headers={"X-Forwarded-For": "203.0.113.9", "User-Agent": "test"},
        )
        assert resp.status_code == 204, resp.text
    rows = session.exec(select(SearchClick)).all()
    assert [(r.query, r.basic_code) for r in rows] == [(click_key(q), target["basic_code"])]
    assert set(SearchClick.model_fields) == {"query", "basic_code", "weight", "updated_at"}
    assert rows[0].weight > CLICK_MIN
    client.app.state.search.clicks.forget()  # type: ignore[attr-defined]
    after = search(client, q=q, limit=10)["hits"]
    assert after[0]["basic_code"] == target["basic_code"]
    bad = client.post(f"{API}/search/clicks", json={"q": q, "code": "nope"})
    assert bad.status_code == 422


def test_clicks_are_rate_limited_per_address(client: TestClient, embedded: Indexer) -> None:
    """The corrections' limiter, per client address: beyond the rate a 429 that says when
    to come back (``Retry-After``), before the body is read; other addresses go on."""
    client.app.state.click_limiter = RateLimiter([(2, 60.0)])  # type: ignore[attr-defined]
    code = search(client, q="护照")["hits"][0]["code"]
    for _ in range(2):
        assert (
            client.post(f"{API}/search/clicks", json={"q": "护照", "code": code}).status_code == 204
        )
    refused = client.post(f"{API}/search/clicks", json={"q": "护照", "code": code})
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["type"].endswith("rate-limited")
    bad = client.post(f"{API}/search/clicks", json={"q": "护照", "code": "nope"})
    assert bad.status_code == 429  # refused before the body is looked at
    limiter: RateLimiter = client.app.state.click_limiter  # type: ignore[attr-defined]
    assert limiter.hit("203.0.113.7") is None  # another address is not held back


# --- English --------------------------------------------------------------------------


def test_name_en_is_kept_on_the_entry_and_found_by_english_queries(
    client: TestClient, session: Session, embedded: Indexer, keys: Any
) -> None:
    entry = client.get(f"{API}/catalogue-entries/000115001000").json()
    assert entry["name_en"] == "Ordinary passport issuance"  # from the seed source
    body = {k: v for k, v in entry.items() if k not in ("created_at", "updated_at")}
    body["name_en"] = "Ordinary passport (travel document) issuance"
    resp = client.put(
        f"{API}/catalogue-entries/000115001000",
        json=body,
        headers={**keys.admin(), "If-Match": f'"{entry["version"]}"'},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["name_en"].startswith("Ordinary passport (travel")
    embedded.run_once(session)
    hits = search(client, q="travel document")["hits"]  # in no glossary: name_en only
    assert hits and hits[0]["name"] == "普通护照签发"
    assert search(client, q="Passport")["hits"][0]["name"] == "普通护照签发"


def test_the_glossary_reads_phrases_before_words() -> None:
    reading = read_english(["lost", "driving", "licence"])
    assert reading.chinese == ["补领", "驾驶证"]
    assert {"lost", "driving", "licence"} == reading.consumed
    assert en_stem("licences") == en_stem("license") == "license"
    assert read_english(["huzhao"]).chinese == []  # pinyin stays pinyin


# --- the analyzer's new fields -----------------------------------------------------------


def test_department_shortcuts_actions_and_context_fields() -> None:
    analyzer = Analyzer()
    fields = analyzer.document_fields(
        "食品经营许可",
        text=["哈尔滨市市场监督管理局"],
        context=ItemContext(
            departments=["哈尔滨市市场监督管理局", "哈市市场监管局"],
            groups=["食品经营许可"],
            guide=["食品经营许可证", "营业执照"],
            more=["已取得营业执照的市场主体"],
            actions=["新办", "变更", "延续", "注销"],
            name_en="Food business licence",
        ),
    )
    assert fields["dept_t"] == "市监"
    assert "经营" in fields["group_t"].split()  # the main item: its own group
    assert "营业执照" in fields["guide_t"].split() and "市场主体" in fields["more_t"].split()
    assert fields["action"].split() == ["新办", "变更", "延续", "注销"]
    assert fields["en_t"].split() == ["food", "business", "license"]
    q = analyzer.query_terms("市监局 食品经营许可延续")
    assert q.terms[("dept_t", "市监")] == 1.0 and q.terms[("action", "延续")] == 1.0
    assert ("flags", "primary", 1.0) not in q.prefer  # a qualifier: not the item itself


def test_the_thesaurus_only_reaches_the_catalogues_words() -> None:
    thesaurus = Thesaurus([["宾馆", "旅馆", "酒店", "客栈"], ["香港", "东京", "伦敦"]],
                          ["旅馆业", "旅馆", "特种行业"])  # fmt: skip
    assert thesaurus.expand("宾馆") == ("旅馆",)
    assert thesaurus.expand("香港") == ()  # none of its group is a catalogue word
    q = Analyzer(thesaurus=thesaurus).query_terms("开家小宾馆")
    assert q.terms[("name_t", "旅馆")] < q.terms[("name_t", "宾馆")]


def test_an_elasticsearch_index_without_the_new_fields_is_rebuilt(osmem_base_url: str) -> None:
    backend: ElasticsearchBackend = fresh_es(osmem_base_url)
    assert not backend.needs_rebuild()  # no index yet
    backend.ensure()
    assert not backend.needs_rebuild()
    old = fresh_es(osmem_base_url)
    name = f"{old.alias}-1"
    mapping: dict[str, Any] = {"properties": {"code": {"type": "keyword"}}}
    old.es.indices.create(index=name, mappings=mapping)
    old.es.indices.update_aliases(actions=[{"add": {"index": name, "alias": old.alias}}])
    assert old.needs_rebuild()


# --- everyday words, taught names' parts, the thesaurus setting ------------------------------

SEED_ENTRIES = Path(__file__).resolve().parent.parent.parent / "seed" / "catalogue_entries.json"
GUANGAN = SEED_ENTRIES.parent.parent.parent / "shared" / "data" / "items_guangan.json"


def test_every_everyday_word_leads_to_words_of_the_catalogue() -> None:
    """Each catalogue phrase of data/everyday.txt is in a name (of the seed, or of 广安区's
    items and main items): no line can lead nowhere. The table covers 广安区's list too, so
    the check needs that listing."""
    if not GUANGAN.exists():
        pytest.skip(f"{GUANGAN} is absent (real data lives outside the repository)")
    names = [normalise(e["name"]) for e in json.loads(SEED_ENTRIES.read_text(encoding="utf-8"))]
    for it in json.loads(GUANGAN.read_text(encoding="utf-8")):
        names += [normalise(it["name"]), normalise(it["group"] or "")]
    table = everyday_words()
    assert len(table) > 100
    dead = {p for _, meant in table for p in meant if not any(normalise(p) in n for n in names)}
    assert not dead, dead


def test_an_everyday_word_adds_the_catalogues_words_below_the_typed_ones() -> None:
    """The words an everyday word stands for are words of names: they match the name, not
    again the main item's name and the guide (a group named 建设用地、临时建设用地规划许可
    doubled the generic words of 宅基地's meaning over the one item it names)."""
    q = Analyzer().query_terms("开个汽修店")
    assert q.terms[("name_t", "维修")] == EVERYDAY_WEIGHT < q.terms[("name_t", "汽修")]
    assert q.terms[("text_t", "机动车")] == EVERYDAY_WEIGHT
    assert not {("group_t", "机动车"), ("guide_t", "维修"), ("more_t", "维修")} & set(q.terms)
    assert q.terms[("group_t", "汽修")] == 1.0  # a typed word still looks there
    assert ("name_t", "维修") not in Analyzer().query_terms("机动车").terms


def test_a_taught_name_keeps_the_parts_the_dictionary_does_not_know() -> None:
    """A whole name taught to the segmenter hides its unknown parts (犬类准养证核发 gave 核发
    and the name only); the general segmenter's words of what no word covers are kept."""
    add_user_words(["犬类准养证核发"])  # as corpus_analyzer teaches every name
    analyzer = Analyzer()
    words = analyzer.document_fields("犬类准养证核发")["name_t"].split()
    assert {"犬类", "准养证", "核发"} <= set(words)
    assert analyzer.document_fields("居民身份证补领")["name_t"].split().count("身份证") == 1


def test_the_thesaurus_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOGUE_SEARCH_THESAURUS", "none")
    get_settings.cache_clear()
    try:
        assert get_settings().search_thesaurus == "none"
        assert catalogue_thesaurus(["收养"]) is EMPTY
    finally:
        monkeypatch.delenv("CATALOGUE_SEARCH_THESAURUS")
        get_settings.cache_clear()
    assert catalogue_thesaurus(["收养"]).expand("领养") == ("收养",)


# --- round 3: typos next to a qualifier, composed everyday words, English inflections ------


def test_a_homophone_typo_is_read_as_the_catalogue_word_it_misspells() -> None:
    """农要 (for 农药) is in no name: its pinyin alone is a recall term, never asked when the
    rest of the query (经营许可证丢了) finds plenty, so the typo lost the item. The catalogue
    word of the same sound that differs in one character is now a word of the query."""
    thesaurus = Thesaurus([], ["农药", "经营", "许可证", "遗失", "纪念"])
    assert thesaurus.corrected("农要") == ("农药",)
    assert thesaurus.corrected("遗矢") == ("遗失",)
    assert thesaurus.corrected("几年") == ()  # sounds like 纪念, shares no character
    assert thesaurus.corrected("农药") == ()  # a catalogue word is no typo
    q = Analyzer(thesaurus=thesaurus).query_terms("农要经营许可证丢了")
    assert ("name_t", "农药") in q.terms and ("name_t", "农药") not in q.fuzzy
    assert q.terms[("action", "补办")] == 1.0  # the qualifier still chooses the variant


def test_a_typo_next_to_a_qualifier_finds_the_item(client: TestClient, embedded: Indexer) -> None:
    hits = search(client, q="农要经营许可证")["hits"]
    assert hits and hits[0]["name"] == "农药经营许可"


def test_everyday_forms_compose_words_put_apart() -> None:
    """个人*营业执照: the citizen's words with a few characters between them (个人办营业执照)
    mean 个体工商户; a longer stretch (个人独资企业营业执照) is something else."""
    assert "个体工商户" in everyday_meanings("个人办营业执照")
    assert "个体工商户" in everyday_meanings("个人想申请营业执照")
    assert "个体工商户" not in everyday_meanings("个人独资企业营业执照")
    q = Analyzer().query_terms("个人办营业执照")
    assert q.terms[("name_t", "工商户")] == EVERYDAY_WEIGHT  # its words, as if typed
    assert "转移" in everyday_meanings("拖拉机卖了")  # sold: the transfer, not the item


def test_transfers_and_extensions_are_follow_ups_and_opening_is_new() -> None:
    """过户 and 延期 variants are not the item itself (a query without a qualifier prefers the
    item); 开个, 开家 say 新办."""
    analyzer = Analyzer()
    assert analyzer.document_fields("货物运输车辆道路运输证办理（过户）")["flags"] == ""
    assert analyzer.document_fields("货物运输车辆道路运输证办理（延期）")["flags"] == ""
    assert analyzer.document_fields("道路货物运输经营许可")["flags"] == "primary"
    assert analyzer.query_terms("开个诊所").terms[("action", "新办")] == 1.0


def test_english_phrases_match_in_any_inflection_and_spelling() -> None:
    assert read_english(["job", "fairs"]).chinese == ["招聘会"]
    assert read_english(["job", "fair"]).chinese == ["招聘会"]
    assert read_english(["notarisation"]).chinese == read_english(["notarization"]).chinese
    assert read_english(["internet", "cafes"]).chinese == ["互联网上网服务营业场所"]
    assert read_english(["tax", "clearance", "certificate"]).chinese == ["无欠税证明"]
    assert en_stem("subsidies") == en_stem("subsidy") == "subsidy"
    assert en_stem("labour") == en_stem("labor") and en_stem("centre") == en_stem("center")
    assert en_stem("bus") == "bus" and en_stem("business") == "business"


# --- round 4: qualifiers in everyday words, typos before the everyday table, English ------


def test_everyday_qualifiers_choose_the_variant() -> None:
    """到期 / 过期 of a licence is its renewal (延续) or its exchange (换领), whichever the
    item has; 续一下 renews, 改名字 and 换地址 change; a 核发 / 配发 item is the new one."""
    analyzer = Analyzer()

    def actions(q: str) -> set[str]:
        return {t for (f, t) in analyzer.query_terms(q).terms if f == "action"}

    assert actions("烟草许可证到期了") == actions("驾驶证过期了") == {"延续", "换领"}
    assert actions("许可证续一下") == {"延续"}
    assert actions("公司改名字") == actions("公司换地址") == {"变更"}
    assert analyzer.document_fields("食品经营许可核发")["action"] == "新办"
    assert analyzer.document_fields("道路运输证配发")["action"] == "新办"


def test_the_everyday_table_reads_the_query_with_its_typos_corrected() -> None:
    """公斯改名 (公司 misspelled) is read as 公司改名, a company's change of name, not as
    改名, a person's; a fragment of a longer query word (保户 of 五保户) and two characters
    of which one is a filler (住要 of 家里住要报备) are not typos to correct."""
    thesaurus = Thesaurus([], ["公司", "变更", "登记", "名称", "保护", "主要"])
    q = Analyzer(thesaurus=thesaurus).query_terms("公斯改名字")
    assert q.terms[("name_t", "名称")] == EVERYDAY_WEIGHT  # 公司改名 = 变更登记, 名称
    assert ("name_t", "户口") not in q.terms  # not 改名 = 户口变更
    add_user_words(["五保户"])  # as corpus_analyzer teaches the names: 五保, 保户, 五保户
    q = Analyzer(thesaurus=thesaurus).query_terms("村里的五保户")
    assert ("name_t", "保护") in q.terms  # still a reading of the query's word 保户
    assert q.terms[("name_t", "供养")] == EVERYDAY_WEIGHT  # 五保户 = 特困人员救助供养
    q = Analyzer(thesaurus=thesaurus).query_terms("老外来家里住要报备吗")
    assert ("name_t", "主要") not in q.terms and ("name_t", "外国人") in q.terms


def test_a_synonyms_fragments_weigh_less_than_the_synonym() -> None:
    """公司 → 市场主体 (the admins' table): 市场, 场主 and 主体, the segmenter's fragments of
    the synonym, are recall at half its weight, so together they do not outweigh it."""
    q = Analyzer().query_terms("公司", Synonyms(DEFAULT_SYNONYMS))
    assert q.terms[("name_t", "市场主体")] == SYNONYM_WEIGHT
    assert q.terms[("name_t", "市场")] == q.terms[("name_t", "主体")] == SYNONYM_WEIGHT / 2


def test_the_glossary_knows_common_service_words() -> None:
    assert read_english(["sole", "trader"]).chinese == ["个体工商户"]
    assert read_english(["foreigner", "accommodation"]).chinese == ["外国人", "住宿"]
    assert read_english(["hospitalisation", "expenses", "reimbursement"]).chinese == [
        "住院", "费用", "报销"
    ]  # fmt: skip
    assert "迁移" in read_english(["household", "registration", "transfer"]).chinese
    assert read_english(["tree", "felling", "permits"]).chinese == ["林木", "采伐", "许可"]
    assert "新办" in read_english(["register", "a", "new", "company"]).chinese
