"""The fourth held-out set (tests/search_heldout_v4.py): 广安区's real items on the embedded
index and on Elasticsearch (osmem-server over HTTP), hit@3 and MRR per kind printed, misses
never shown (whoever tunes must not see them: its figures alone judge); and the integrity of
the sets: sizes and kinds, no query shared with an older suite, every expected item real.

``-s`` prints the figures; ``-k "not scores"`` runs only the integrity checks.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from app.search.engine import SearchEngine
from tests.search.test_search_relevance import (  # noqa: F401  (fixtures, found by pytest by name)
    GUANGAN_QUERIES,
    SEED_QUERIES,
    guangan_analyzer,
    guangan_engine,
    guangan_items,
    guangan_ranked,
    report,
)
from tests.search_dev_v3 import DEV_V3_GUANGAN, DEV_V3_SEED
from tests.search_dev_v4 import DEV_V4_GUANGAN, DEV_V4_SEED
from tests.search_dev_v5 import DEV_V5_GUANGAN
from tests.search_heldout import HELDOUT_GUANGAN, HELDOUT_SEED
from tests.search_heldout_v2 import HELDOUT_V2_GUANGAN, HELDOUT_V2_SEED
from tests.search_heldout_v3 import HELDOUT_V3_GUANGAN
from tests.search_heldout_v4 import HELDOUT_V4_GUANGAN, KINDS, PROVINCE_NEEDS

pytest_plugins = ["tests.search_support"]

SEED_DIR = Path(__file__).resolve().parent.parent.parent / "seed"

#: at least this many queries in all, and in each kind
HELDOUT_V4_MIN = 100
HELDOUT_V4_MIN_PER_KIND = 20
#: at least this many province-wide needs
NEEDS_MIN = 20
#: hit@3 floor against regressions, below the figures after issue 28's abbreviation round
#: (0.90 embedded, 0.92 osmem: the goal of 0.90 met on both; docs/changelog.md)
HELDOUT_V4_FLOOR = 0.89


def _norm(query: str) -> str:
    return "".join(query.split()).casefold()


def test_heldout_v4_guangan_scores(
    guangan_engine: tuple[str, SearchEngine],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, engine = guangan_engine
    ranked = [[d["name"] for d in ds] for ds in guangan_ranked(engine, 10, HELDOUT_V4_GUANGAN)]
    assert len(ranked) == len(HELDOUT_V4_GUANGAN)
    with capsys.disabled():
        hit, _ = report(f"HELD-OUT v4 广安区 1,135 real items on {name}", HELDOUT_V4_GUANGAN,
                        ranked, misses=False)  # fmt: skip
    assert hit >= HELDOUT_V4_FLOOR


def test_heldout_v4_size_and_kinds() -> None:
    kinds = Counter(k for k, *_ in HELDOUT_V4_GUANGAN)
    assert set(kinds) == set(KINDS), kinds
    assert len(HELDOUT_V4_GUANGAN) >= HELDOUT_V4_MIN
    assert all(kinds[k] >= HELDOUT_V4_MIN_PER_KIND for k in KINDS), kinds
    assert all(want for *_, want in HELDOUT_V4_GUANGAN), "a query without an expected item"
    assert len(PROVINCE_NEEDS) >= NEEDS_MIN


def test_heldout_v4_is_new() -> None:
    """No query of held-out v4 or of the needs is one an older suite has, and none twice."""
    older = (SEED_QUERIES, GUANGAN_QUERIES, HELDOUT_SEED, HELDOUT_GUANGAN, HELDOUT_V2_SEED,
             HELDOUT_V2_GUANGAN, DEV_V3_SEED, DEV_V3_GUANGAN, DEV_V4_SEED, DEV_V4_GUANGAN,
             HELDOUT_V3_GUANGAN, DEV_V5_GUANGAN)  # fmt: skip
    old = {_norm(case[1]) for suite in older for case in suite}
    queries = [q for _, q, _ in HELDOUT_V4_GUANGAN] + [q for q, _ in PROVINCE_NEEDS]
    assert not [q for q in queries if _norm(q) in old]
    assert len({_norm(q) for q in queries}) == len(queries), "a query is in the sets twice"


def test_heldout_v4_items_exist() -> None:
    names = {it["name"] for it in guangan_items()}  # skips when the listing is absent
    missing = [(q, n) for _, q, want in HELDOUT_V4_GUANGAN for n in want if n not in names]
    assert not missing, missing


def test_province_needs_entries_exist() -> None:
    """Every meant entry of the needs is a seed entry with at least one implementation."""
    entries = json.loads((SEED_DIR / "catalogue_entries.json").read_text(encoding="utf-8"))
    names = {e["basic_code"]: e["name"] for e in entries}
    impls = json.loads((SEED_DIR / "implementations.json").read_text(encoding="utf-8"))
    findable = {names[i["basic_code"]] for i in impls}
    missing = [(q, n) for q, n in PROVINCE_NEEDS if n not in findable]
    assert not missing, missing
