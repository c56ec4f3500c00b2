"""The relevance suite: what citizens type (search.md's styles), with the items a citizen
would want in the top 3, on the embedded index and on Elasticsearch (osmem-server over
HTTP), and the parity of the two.

Two corpora: the seed catalogue (through the search service, with regions) and the 1,135
real items of 广安区 in ../shared/data/items_guangan.json (v-luobo/zwfw, Apache-2.0),
indexed straight into each backend.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.search.analysis import Analyzer, ItemContext, Synonyms, corpus_analyzer
from app.search.backends.base import SearchBackend, chunks
from app.search.backends.embedded import TantivyBackend
from app.search.engine import SearchEngine, SearchRequest
from app.search.indexer import Indexer
from app.search.service import SearchService
from app.search.vocabulary import DEFAULT_SYNONYMS
from tests.search_dev_v3 import CLASSES as DEV_V3_CLASSES
from tests.search_dev_v3 import DEV_V3_GUANGAN, DEV_V3_SEED
from tests.search_heldout import HELDOUT_GUANGAN, HELDOUT_SEED
from tests.search_support import fresh_es

pytest_plugins = ["tests.search_support"]

GUANGAN = (
    Path(__file__).resolve().parent.parent.parent.parent / "shared" / "data" / "items_guangan.json"
)

#: 住房公积金提取 (the main item) has no implementation in the seed: its sub-items answer
TIQU = {"购买自住住房提取住房公积金", "租赁住房提取住房公积金", "离退休提取住房公积金"}

# (style, query, region or None, names a citizen wants among the top 3)
SEED_QUERIES: list[tuple[str, str, str | None, set[str]]] = [
    ("colloquial", "身份证丢了怎么补办", None, {"居民身份证补领"}),
    ("colloquial", "生孩子要办什么", None, {"出生登记", "出生医学证明签发", "生育津贴支付",
                                            "生育医疗费用支付", "生育保险待遇核准与支付"}),
    ("colloquial", "开个小饭馆要什么手续", None, {"食品经营许可"}),
    ("colloquial", "想开个公司", None, {"市场主体设立登记", "市场主体登记"}),
    ("colloquial", "买房提取公积金", None, {"购买自住住房提取住房公积金"}),
    ("colloquial", "租房子取公积金", None, {"租赁住房提取住房公积金"}),
    ("colloquial", "老人补贴", None, {"黑龙江省高龄老人津贴发放"}),
    ("colloquial", "失业了领钱", None, {"失业保险金申领"}),
    ("colloquial", "去外地看病报销", None, {"异地就医备案"}),
    ("colloquial", "孩子上学报名", None, {"义务教育阶段新生入学"}),
    ("colloquial", "驾照到期了换证", None, {"机动车驾驶证期满换证"}),
    ("colloquial", "退伍军人优待证", None, {"退役军人优待证申领"}),
    ("abbreviation", "社保卡", None, {"社会保障卡申领"}),
    ("abbreviation", "医保参保", None, {"城乡居民基本医疗保险参保登记"}),
    ("abbreviation", "公积金", None, {"住房公积金提取", "购买自住住房提取住房公积金",
                                      "租赁住房提取住房公积金", "离退休提取住房公积金",
                                      "住房公积金个人住房贷款"}),
    ("abbreviation", "低保", None, {"最低生活保障金给付"}),
    ("abbreviation", "个税", None, {"个人所得税综合所得年度汇算"}),
    ("abbreviation", "驾照", None, {"机动车驾驶证核发、审验", "机动车驾驶证初次申领",
                                    "机动车驾驶证期满换证", "机动车驾驶证遗失补证"}),
    ("abbreviation", "户口", None, {"户口登记", "户口迁入登记", "户口迁出登记"}),
    ("abbreviation", "房产证", None, {"不动产登记", "不动产首次登记", "不动产转移登记"}),
    ("abbreviation", "营业执照", None, {"市场主体登记", "市场主体设立登记"}),
    ("abbreviation", "残疾证", None, {"残疾人证核发"}),
    ("homophone", "身分证", None, {"居民身份证申领、换领、补领", "居民身份证首次申领",
                                   "居民身份证换领", "居民身份证补领"}),
    ("homophone", "户照", None, {"普通护照签发"}),
    ("homophone", "结昏证", None, {"内地居民结婚登记", "内地居民婚姻登记", "补领婚姻登记证"}),
    ("homophone", "驾使证", None, {"机动车驾驶证核发、审验", "机动车驾驶证初次申领",
                                   "机动车驾驶证期满换证", "机动车驾驶证遗失补证"}),
    ("homophone", "公积今提取", None, TIQU),
    ("homophone", "社宝卡", None, {"社会保障卡申领"}),
    ("pinyin", "huzhao", None, {"普通护照签发"}),
    ("pinyin", "shebaoka", None, {"社会保障卡申领"}),
    ("pinyin", "shenfenzheng buling", None, {"居民身份证补领"}),
    ("pinyin", "jiehundengji", None, {"内地居民结婚登记"}),
    ("pinyin", "gongjijin tiqu", None, TIQU),
    ("pinyin", "dibao", None, {"最低生活保障金给付"}),
    ("initials", "sbk", None, {"社会保障卡申领"}),
    ("initials", "pthzqf", None, {"普通护照签发"}),
    ("initials", "sydj", None, {"收养登记"}),
    ("initials", "jsz", None, {"机动车驾驶证核发、审验", "机动车驾驶证初次申领",
                               "机动车驾驶证期满换证", "机动车驾驶证遗失补证"}),
    ("traditional", "護照", None, {"普通护照签发"}),
    ("traditional", "戶口遷移", None, {"户口迁入登记", "户口迁出登记",
                                       "黑龙江省内户口迁移“一站式”办理"}),
    ("traditional", "身份證補領", None, {"居民身份证补领"}),
    ("traditional", "結婚登記", None, {"内地居民结婚登记"}),
    ("traditional", "駕駛證期滿換證", None, {"机动车驾驶证期满换证"}),
    ("traditional", "社會保障卡", None, {"社会保障卡申领"}),
    ("region+item", "哈尔滨 护照", None, {"普通护照签发"}),
    ("region+item", "道里区 社保卡", None, {"社会保障卡申领"}),
    ("region+item", "大庆 驾照", None, {"机动车驾驶证核发、审验", "机动车驾驶证初次申领",
                                        "机动车驾驶证期满换证", "机动车驾驶证遗失补证"}),
    ("region+item", "身份证", "230103", {"居民身份证申领、换领、补领", "居民身份证首次申领",
                                         "居民身份证换领", "居民身份证补领"}),
    ("region+item", "七台河 结婚", None, {"内地居民结婚登记"}),
    ("region+item", "公积金提取", "230602", TIQU),
]  # fmt: skip

GUANGAN_QUERIES: list[tuple[str, str, set[str]]] = [
    ("colloquial", "开个小饭馆要什么手续", {"食品(含保健食品)经营许可核发", "食品小经营店备案发放"}),
    ("colloquial", "开无犯罪证明", {"无犯罪记录证明"}),
    ("colloquial", "想开个小卖部卖烟", {"烟草专卖零售许可证新办"}),
    ("colloquial", "身份证丢了", {"居民身份证挂失申报、丢失招领", "居民身份证办理（包括临时）"}),
    ("colloquial", "结婚证丢了", {"补领结婚证"}),
    ("colloquial", "生孩子办出生证", {"《出生医学证明》首次签发"}),
    ("colloquial", "失业了怎么领钱", {"失业保险金申领"}),
    ("colloquial", "社保卡密码忘了", {"社会保障卡密码重置"}),
    ("colloquial", "孩子上小学报名", {"学前教育、义务教育阶段入学办理"}),
    ("colloquial", "开公司", {"公司设立登记"}),
    ("abbreviation", "社保卡挂失", {"社会保障卡挂失"}),
    ("abbreviation", "个税记录", {"开具个人所得税纳税记录（县级行使）"}),
    ("abbreviation", "网约车运输证", {"网络预约出租汽车运输证发放（新增）"}),
    ("abbreviation", "低保", {"最低生活保障"}),
    ("abbreviation", "医保异地备案", {"异地长期居住人员备案", "异地安置退休人员备案",
                                      "常驻异地工作人员备案", "异地转诊人员备案"}),
    ("abbreviation", "残疾证补办", {"残疾人证挂失补办"}),
    ("abbreviation", "个体户执照", {"个体工商户设立登记"}),
    ("homophone", "无犯醉记录证明", {"无犯罪记录证明"}),
    ("homophone", "结婚登计预约", {"结婚登记预约"}),
    ("homophone", "社保卡密马重置", {"社会保障卡密码重置"}),
    ("homophone", "户口变梗", {"户口变更"}),
    ("homophone", "出生医学证名", {"《出生医学证明》首次签发"}),
    ("homophone", "残疾人证新半", {"残疾人证新办"}),
    ("pinyin", "wufanzuijilu", {"无犯罪记录证明"}),
    ("pinyin", "shebaoka mima", {"社会保障卡密码重置", "社会保障卡密码修改"}),
    ("pinyin", "hukoubiangeng", {"户口变更"}),
    ("pinyin", "jiehundengji", {"结婚登记预约", "中国内地公民婚姻登记"}),
    ("pinyin", "gongsishelidengji", {"公司设立登记"}),
    ("initials", "wfzjlzm", {"无犯罪记录证明"}),
    ("initials", "gssldj", {"公司设立登记"}),
    ("initials", "hkbg", {"户口变更"}),
    ("traditional", "無犯罪記錄證明", {"无犯罪记录证明"}),
    ("traditional", "結婚登記預約", {"结婚登记预约"}),
    ("traditional", "戶口變更", {"户口变更"}),
    ("traditional", "社會保障卡密碼重置", {"社会保障卡密码重置"}),
    ("traditional", "個體工商戶設立登記", {"个体工商户设立登记"}),
    ("traditional", "殘疾人證換領", {"残疾人证换领"}),
]  # fmt: skip

TYPE_CODES = {"行政许可": "01", "行政给付": "05", "行政确认": "07", "行政奖励": "08",
              "行政裁决": "09", "其他行政权力": "10", "公共服务": "20"}  # fmt: skip

#: the floor each backend must reach (the figures are printed; see the README)
MIN_HIT3 = 0.85
MIN_MRR = 0.75


def _score(ranked: list[list[str]], wanted: list[set[str]]) -> tuple[float, float]:
    """hit@3 and MRR over distinct items: without a region, one item's implementations in
    several regions are one answer."""
    hits, rr = 0, 0.0
    for names, want in zip(ranked, wanted, strict=True):
        names = list(dict.fromkeys(names))
        pos = next((i for i, n in enumerate(names) if n in want), None)
        hits += pos is not None and pos < 3
        rr += 1.0 / (pos + 1) if pos is not None else 0.0
    return hits / len(wanted), rr / len(wanted)


def report(label: str, suite: Sequence[tuple[Any, ...]], ranked: list[list[str]],
           misses: bool = True) -> tuple[float, float]:  # fmt: skip
    """Print hit@3 and MRR per style and (unless ``misses`` is false: a set nobody may
    tune to) the misses of a suite of (style, query, [region,] wanted names) against the
    ranked names of each query."""
    styles = [case[0] for case in suite]
    wanted = [case[-1] for case in suite]
    queries = [f"{case[1]} @{case[2]}" if len(case) == 4 and case[2] else case[1]
               for case in suite]  # fmt: skip
    by_style: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(styles):
        by_style[s].append(i)
    lines = [f"\n{label}: {len(queries)} queries"]
    for style, idx in by_style.items():
        h, m = _score([ranked[i] for i in idx], [wanted[i] for i in idx])
        lines.append(f"  {style:<13} n={len(idx):<3} hit@3={h:.2f}  MRR={m:.2f}")
    h, m = _score(ranked, wanted)
    lines.append(f"  {'all':<13} n={len(queries):<3} hit@3={h:.2f}  MRR={m:.2f}")
    distinct = [list(dict.fromkeys(r)) for r in ranked]
    missed = [f"    {q} → {r[:3]}" for q, r, w in zip(queries, distinct, wanted, strict=True)
              if not set(r[:3]) & w]  # fmt: skip
    if missed and misses:
        lines += ["  misses:", *missed]
    elif missed:
        lines.append(f"  ({len(missed)} misses, not shown)")
    print("\n".join(lines))
    return h, m


# --- the seed catalogue, through the search service ---------------------------------


@pytest.fixture(scope="module", params=["embedded", "osmem"])
def seed_service(
    request: pytest.FixtureRequest,
    engine: Engine,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, SearchService, Session]]:
    if request.param == "embedded":
        backend: SearchBackend = TantivyBackend(tmp_path_factory.mktemp("rel-index"))
    else:
        backend = fresh_es(request.getfixturevalue("osmem_base_url"))
    svc = SearchService(backend)
    with Session(engine) as session:
        Indexer(svc).build(session)
        yield request.param, svc, session
        session.rollback()


def seed_ranked(
    svc: SearchService,
    session: Session,
    top: int = 3,
    queries: list[tuple[str, str, str | None, set[str]]] = SEED_QUERIES,
) -> list[list[dict[str, Any]]]:
    out = []
    for _, q, region, _ in queries:
        body = svc.search(session, q=q, region=region, department=None, item_type=None,
                          audience=None, theme=None, online=None, status=None, cursor=None,
                          limit=top)  # fmt: skip
        session.rollback()  # drop the recorded gaps: this session is shared by the module
        out.append(body["hits"])
    return out


def test_seed_relevance(
    seed_service: tuple[str, SearchService, Session], capsys: pytest.CaptureFixture[str]
) -> None:
    name, svc, session = seed_service
    ranked = [[h["name"] for h in hits] for hits in seed_ranked(svc, session, 30)]
    with capsys.disabled():
        h, m = report(f"seed catalogue on {name}", SEED_QUERIES, ranked)
    assert h >= MIN_HIT3 and m >= MIN_MRR, (h, m)


# --- 广安区's real items, straight into the backends ------------------------------------


def guangan_items() -> list[dict[str, Any]]:
    if not GUANGAN.exists():
        pytest.skip(f"{GUANGAN} is absent (real data lives outside the repository)")
    return json.loads(GUANGAN.read_text(encoding="utf-8"))


def guangan_documents(analyzer: Analyzer) -> list[dict[str, Any]]:
    docs = []
    for it in guangan_items():
        doc = {
            "code": it["id"],
            "basic_code": it["id"],
            "name": it["name"],
            "department_code": it["dept_code"] or "",
            "department_name": it["department"],
            "region_code": it["region_code"],
            "region_name": "广安区",
            "level": "4",
            "item_type": TYPE_CODES.get(it["type"], "10"),
            "audience": [],
            "themes": [],
            "online": "false",
            "status": "1",
            "version": 1,
        }
        context = ItemContext(departments=[it["department"]], groups=[it["group"] or ""])
        doc.update(analyzer.document_fields(it["name"], [], [it["department"]], context))
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def guangan_analyzer() -> Analyzer:
    items = guangan_items()
    return corpus_analyzer([it["name"] for it in items], [it["group"] or "" for it in items])


@pytest.fixture(scope="module", params=["embedded", "osmem"])
def guangan_engine(
    request: pytest.FixtureRequest,
    guangan_analyzer: Analyzer,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, SearchEngine]:
    if request.param == "embedded":
        backend: SearchBackend = TantivyBackend(tmp_path_factory.mktemp("guangan-index"))
    else:
        backend = fresh_es(request.getfixturevalue("osmem_base_url"))
    backend.rebuild(chunks(guangan_documents(guangan_analyzer), 500))
    return request.param, SearchEngine(backend, guangan_analyzer)


def guangan_ranked(
    engine: SearchEngine, top: int, queries: list[tuple[str, str, set[str]]] = GUANGAN_QUERIES
) -> list[list[dict[str, Any]]]:
    synonyms = Synonyms(DEFAULT_SYNONYMS)
    return [
        [h.doc for h in engine.search(SearchRequest(q=q, limit=top), synonyms).hits]
        for _, q, _ in queries
    ]


def test_guangan_relevance(
    guangan_engine: tuple[str, SearchEngine], capsys: pytest.CaptureFixture[str]
) -> None:
    name, engine = guangan_engine
    ranked = [[d["name"] for d in docs] for docs in guangan_ranked(engine, 10)]
    with capsys.disabled():
        h, m = report(f"广安区 1,135 real items on {name}", GUANGAN_QUERIES, ranked)
    assert h >= MIN_HIT3 and m >= MIN_MRR, (h, m)


# --- the held-out set: written before it was run, answers never edited after ------------

#: the floor of the held-out set's hit@3 (per corpus and backend); misses are printed
HELDOUT_MIN_HIT3 = 0.7


def test_heldout_seed(
    seed_service: tuple[str, SearchService, Session], capsys: pytest.CaptureFixture[str]
) -> None:
    name, svc, session = seed_service
    ranked = [[h["name"] for h in hits] for hits in seed_ranked(svc, session, 30, HELDOUT_SEED)]
    with capsys.disabled():
        h, _ = report(f"HELD-OUT seed catalogue on {name}", HELDOUT_SEED, ranked)
    assert h >= HELDOUT_MIN_HIT3, h


def test_heldout_guangan(
    guangan_engine: tuple[str, SearchEngine], capsys: pytest.CaptureFixture[str]
) -> None:
    name, engine = guangan_engine
    ranked = [[d["name"] for d in ds] for ds in guangan_ranked(engine, 10, HELDOUT_GUANGAN)]
    with capsys.disabled():
        h, _ = report(f"HELD-OUT 广安区 1,135 real items on {name}", HELDOUT_GUANGAN, ranked)
    assert h >= HELDOUT_MIN_HIT3, h


# --- the dev set of issue 17's second round (tuned against; held-out v2 judges) ----------

#: the dev set's floor (hit@3 per backend); the figures per class are printed
DEV_MIN_HIT3 = 0.85


def test_dev_v3_guangan(
    guangan_engine: tuple[str, SearchEngine], capsys: pytest.CaptureFixture[str]
) -> None:
    name, engine = guangan_engine
    ranked = [[d["name"] for d in ds] for ds in guangan_ranked(engine, 10, DEV_V3_GUANGAN)]
    with capsys.disabled():
        h, _ = report(f"DEV v3 广安区 1,135 real items on {name}", DEV_V3_GUANGAN, ranked)
    assert h >= DEV_MIN_HIT3, h


def test_dev_v3_seed(
    seed_service: tuple[str, SearchService, Session], capsys: pytest.CaptureFixture[str]
) -> None:
    name, svc, session = seed_service
    ranked = [[h["name"] for h in hits] for hits in seed_ranked(svc, session, 30, DEV_V3_SEED)]
    with capsys.disabled():
        h, _ = report(f"DEV v3 seed catalogue on {name}", DEV_V3_SEED, ranked)
    assert h >= DEV_MIN_HIT3, h


def test_dev_v3_set_is_whole() -> None:
    names = {it["name"] for it in guangan_items()}  # skips when the listing is absent
    assert {s for s, *_ in DEV_V3_GUANGAN} == set(DEV_V3_CLASSES)
    assert len(DEV_V3_GUANGAN) >= 40
    queries = [q for _, q, _ in DEV_V3_GUANGAN]
    assert len(queries) == len(set(queries))
    assert not set(queries) & {q for _, q, _ in GUANGAN_QUERIES + HELDOUT_GUANGAN}
    assert not {q for _, q, *_ in DEV_V3_SEED} & {q for _, q, *_ in SEED_QUERIES + HELDOUT_SEED}
    assert not [(q, n) for _, q, want in DEV_V3_GUANGAN for n in want if n not in names]


def test_heldout_set_is_separate_and_covers_every_style() -> None:
    tuned = {q for _, q, *_ in SEED_QUERIES} | {q for _, q, _ in GUANGAN_QUERIES}
    held = [q for _, q, *_ in HELDOUT_SEED] + [q for _, q, _ in HELDOUT_GUANGAN]
    assert len(held) >= 20 and not set(held) & tuned
    assert {s for s, *_ in HELDOUT_SEED} == {"colloquial", "abbreviation", "homophone",
                                             "pinyin", "initials", "traditional",
                                             "region+item"}  # fmt: skip


def test_at_least_sixty_queries_in_every_style() -> None:
    styles = {s for s, *_ in SEED_QUERIES} | {s for s, *_ in GUANGAN_QUERIES}
    assert styles == {"colloquial", "abbreviation", "homophone", "pinyin", "initials",
                      "traditional", "region+item"}  # fmt: skip
    assert len(SEED_QUERIES) + len(GUANGAN_QUERIES) >= 60


# --- parity ------------------------------------------------------------------------------


def _overlap(a: list[str], b: list[str]) -> float:
    if not a and not b:
        return 1.0
    return len(set(a) & set(b)) / max(len(a), len(b))


def test_backends_agree_on_the_top_ten(
    engine: Engine,
    guangan_analyzer: Analyzer,
    osmem_base_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    overlaps: list[float] = []
    with Session(engine) as session:
        tops = []
        for backend in (TantivyBackend(tmp_path / "p"), fresh_es(osmem_base_url)):
            svc = SearchService(backend)
            Indexer(svc).build(session)
            tops.append([[h["code"] for h in hits] for hits in seed_ranked(svc, session, 10)])
        session.rollback()
    overlaps += [_overlap(a, b) for a, b in zip(*tops, strict=True)]
    if GUANGAN.exists():
        docs = guangan_documents(guangan_analyzer)
        gtops = []
        for backend in (TantivyBackend(tmp_path / "g"), fresh_es(osmem_base_url)):
            backend.rebuild(chunks(docs, 500))
            engine_ = SearchEngine(backend, guangan_analyzer)
            gtops.append([[d["code"] for d in ds] for ds in guangan_ranked(engine_, 10)])
        overlaps += [_overlap(a, b) for a, b in zip(*gtops, strict=True)]
    worst = sorted(
        zip(
            overlaps,
            [q for _, q, *_ in SEED_QUERIES] + [q for _, q, _ in GUANGAN_QUERIES],
            strict=False,
        )
    )[:3]
    mean = sum(overlaps) / len(overlaps)
    with capsys.disabled():
        print(f"\nparity embedded vs osmem: top-10 overlap mean={mean:.3f} "
              f"min={min(overlaps):.2f} over {len(overlaps)} queries; lowest: {worst}")  # fmt: skip
    assert mean >= 0.8
