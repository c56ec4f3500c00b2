"""A qualifier (开个, 成立…) chooses the variant that does it on both backends alike: the
item's action is a field only some items hold, and the embedded index weighs it as
Elasticsearch does (``tantivy_scores.field_weights``), so a name a word longer does not
outweigh it. Over 广安区's real items (skipped without them)."""

from __future__ import annotations

import pytest

from app.search.analysis import Synonyms
from app.search.engine import SearchEngine, SearchRequest
from app.search.vocabulary import DEFAULT_SYNONYMS, actions_in
from tests.search.test_search_relevance import (  # noqa: F401  (fixtures, found by pytest by name)
    guangan_analyzer,
    guangan_engine,
)

pytest_plugins = ["tests.search_support"]


def _names(engine: SearchEngine, q: str) -> list[str]:
    hits = engine.search(SearchRequest(q=q, limit=3), Synonyms(DEFAULT_SYNONYMS)).hits
    return [str(h.doc["name"]) for h in hits]


def test_opening_a_workshop_finds_its_first_record_first(
    guangan_engine: tuple[str, SearchEngine],  # noqa: F811
) -> None:
    # 食品小作坊备案发放 is segmented a word longer than its 变更, 注销 and 续期: on the
    # embedded index the length outweighed the action 新办 that 开个 asks for
    _, engine = guangan_engine
    assert _names(engine, "开个小作坊做豆腐")[0] == "食品小作坊备案发放"


def test_founding_a_cooperative_finds_its_founding_registration(
    guangan_engine: tuple[str, SearchEngine],  # noqa: F811
) -> None:
    _, engine = guangan_engine
    assert "农民专业合作社（联合社）设立登记" in _names(engine, "合作社成立")


def test_the_catalogue_words_for_a_first_issue_name_the_new_action() -> None:
    assert actions_in("食品小作坊备案发放") == ["新办"]
    assert actions_in("社会团体成立登记") == ["新办"]
    assert actions_in("中等及以下其他教育机构筹设审批") == ["新办"]
    assert "新办" not in actions_in("法律援助补贴发放")  # a payment, not a first issue


@pytest.mark.parametrize("q", ["计生奖扶", "个独设立", "道运证补办"])
def test_official_short_forms_reach_their_items(
    guangan_engine: tuple[str, SearchEngine],  # noqa: F811
    q: str,
) -> None:
    want = {"计生奖扶": "农村部分计划生育家庭奖励扶助金", "个独设立": "个人独资企业设立登记",
            "道运证补办": "货物运输车辆道路运输证办理（补办）"}  # fmt: skip
    _, engine = guangan_engine
    assert want[q] in _names(engine, q)
