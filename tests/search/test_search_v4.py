"""Issue 17's third round: the tuning set DEV v4 (tests/search_dev_v4.py, 广安区 and the seed)
and the held-out set v3 that judges it (tests/search_heldout_v3.py, 广安区), scored on the
embedded index and on Elasticsearch (osmem-server over HTTP): per-class hit@3 and MRR are
printed for each corpus and backend; the dev set's misses too, the held-out set's never
(whoever tunes must not see them: its figures alone judge).

Floors (below the figures after the tuning, against regressions): dev v4 广安区 0.90,
seed 0.94; dev v5 0.95; held-out v3 0.90 (0.75 / 0.80 before round 3, 0.82 / 0.88 after it,
0.95 / 0.95 after round 4). Also asserted: the sets' own
integrity: their sizes and classes, that they share no query with the older suites nor
with each other, and that every expected item exists in its corpus (so a typo in a
judgment fails here instead of counting as a miss). ``-k "not scores"`` runs only these.

Round 4's tuning set, DEV v5 (tests/search_dev_v5.py, 广安区), is scored here too
(``test_dev_v5_guangan_scores``, no floor yet), with the same integrity checks: its size and
classes, no query shared with any older suite nor with v4 / v3, every expected item in 广安区.

Issue 28's DEV v6 (tests/search_dev_v6.py, 广安区: an abbreviation followed by an action) is
scored here too (``test_dev_v6_guangan_scores``, floor 0.75: 0.86 embedded, 0.76 osmem after
its round), and shares no query with an older suite, held-out v4 included.

The indexes are built as tests/search/test_search_relevance.py builds them, by its own fixtures.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session

from app.search.engine import SearchEngine
from app.search.service import SearchService
from tests.search.test_search_relevance import (  # noqa: F401  (fixtures, found by pytest by name)
    GUANGAN_QUERIES,
    SEED_QUERIES,
    guangan_analyzer,
    guangan_engine,
    guangan_items,
    guangan_ranked,
    report,
    seed_ranked,
    seed_service,
)
from tests.search_dev_v3 import DEV_V3_GUANGAN, DEV_V3_SEED
from tests.search_dev_v4 import CLASSES as DEV_V4_CLASSES
from tests.search_dev_v4 import DEV_V4_GUANGAN, DEV_V4_SEED
from tests.search_dev_v5 import CLASSES as DEV_V5_CLASSES
from tests.search_dev_v5 import DEV_V5_GUANGAN
from tests.search_dev_v6 import DEV_V6_GUANGAN
from tests.search_dev_v6 import KINDS as DEV_V6_KINDS
from tests.search_heldout import HELDOUT_GUANGAN, HELDOUT_SEED
from tests.search_heldout_v2 import HELDOUT_V2_GUANGAN, HELDOUT_V2_SEED
from tests.search_heldout_v3 import CLASSES, HELDOUT_V3_GUANGAN
from tests.search_heldout_v4 import HELDOUT_V4_GUANGAN, PROVINCE_NEEDS

pytest_plugins = ["tests.search_support"]

SEED_DIR = Path(__file__).resolve().parent.parent.parent / "seed"

#: held-out v3: exactly this many queries per class, over 广安区 only
HELDOUT_PER_CLASS = 8
#: dev v4 over 广安区: in all, in ``everyday``, and in every other class
DEV_MIN_GUANGAN = 80
DEV_MIN_EVERYDAY = 35
DEV_MIN_PER_CLASS = 10
#: dev v4 over the seed catalogue
DEV_MIN_SEED = 20
#: dev v5 over 广安区: in all, in ``everyday``, in ``qualifier``, and in every other class
DEV_V5_MIN = 100
DEV_V5_MIN_EVERYDAY = 40
DEV_V5_MIN_QUALIFIER = 20
DEV_V5_MIN_PER_CLASS = 12
#: dev v6 over 广安区
DEV_V6_MIN = 80


def _norm(query: str) -> str:
    """A query as the overlap checks compare it: case and whitespace do not make it new."""
    return "".join(query.split()).casefold()


#: hit@3 floors (see the module's docstring)
DEV_GUANGAN_FLOOR = 0.90
DEV_SEED_FLOOR = 0.94
HELDOUT_FLOOR = 0.90
DEV_V5_FLOOR = 0.95
DEV_V6_FLOOR = 0.75


# --- the figures ------------------------------------------------------------------------


def test_dev_v4_guangan_scores(
    guangan_engine: tuple[str, SearchEngine],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, engine = guangan_engine
    ranked = [[d["name"] for d in ds] for ds in guangan_ranked(engine, 10, DEV_V4_GUANGAN)]
    assert len(ranked) == len(DEV_V4_GUANGAN)
    with capsys.disabled():
        hit, _ = report(f"DEV v4 (issue 17, round 3) 广安区 1,135 real items on {name}",
                        DEV_V4_GUANGAN, ranked)  # fmt: skip
    assert hit >= DEV_GUANGAN_FLOOR


def test_dev_v4_seed_scores(
    seed_service: tuple[str, SearchService, Session],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, svc, session = seed_service
    ranked = [[h["name"] for h in hits] for hits in seed_ranked(svc, session, 30, DEV_V4_SEED)]
    assert len(ranked) == len(DEV_V4_SEED)
    with capsys.disabled():
        hit, _ = report(f"DEV v4 (issue 17, round 3) seed catalogue on {name}", DEV_V4_SEED,
                        ranked)  # fmt: skip
    assert hit >= DEV_SEED_FLOOR


def test_dev_v5_guangan_scores(
    guangan_engine: tuple[str, SearchEngine],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Round 4's tuning set: printed with its misses."""
    name, engine = guangan_engine
    ranked = [[d["name"] for d in ds] for ds in guangan_ranked(engine, 10, DEV_V5_GUANGAN)]
    assert len(ranked) == len(DEV_V5_GUANGAN)
    with capsys.disabled():
        hit, _ = report(f"DEV v5 (issue 17, round 4) 广安区 1,135 real items on {name}",
                        DEV_V5_GUANGAN, ranked)  # fmt: skip
    assert hit >= DEV_V5_FLOOR


def test_dev_v6_guangan_scores(
    guangan_engine: tuple[str, SearchEngine],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 28's tuning set (an abbreviation and an action): printed with its misses."""
    name, engine = guangan_engine
    ranked = [[d["name"] for d in ds] for ds in guangan_ranked(engine, 10, DEV_V6_GUANGAN)]
    assert len(ranked) == len(DEV_V6_GUANGAN)
    with capsys.disabled():
        hit, _ = report(f"DEV v6 (issue 28) 广安区 1,135 real items on {name}", DEV_V6_GUANGAN,
                        ranked)  # fmt: skip
    assert hit >= DEV_V6_FLOOR


def test_heldout_v3_guangan_scores(
    guangan_engine: tuple[str, SearchEngine],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, engine = guangan_engine
    ranked = [[d["name"] for d in ds] for ds in guangan_ranked(engine, 10, HELDOUT_V3_GUANGAN)]
    assert len(ranked) == len(HELDOUT_V3_GUANGAN)
    with capsys.disabled():
        hit, _ = report(f"HELD-OUT v3 (issue 17, round 3) 广安区 1,135 real items on {name}",
                        HELDOUT_V3_GUANGAN, ranked, misses=False)  # fmt: skip
    assert hit >= HELDOUT_FLOOR


# --- the sets' integrity ------------------------------------------------------------------


def test_heldout_v3_size_and_classes() -> None:
    styles = Counter(s for s, *_ in HELDOUT_V3_GUANGAN)
    assert styles == dict.fromkeys(CLASSES, HELDOUT_PER_CLASS), styles
    assert len(HELDOUT_V3_GUANGAN) == HELDOUT_PER_CLASS * len(CLASSES)
    queries = [_norm(q) for _, q, _ in HELDOUT_V3_GUANGAN]
    assert len(queries) == len(set(queries)), "a query is in the set twice"
    assert all(want for *_, want in HELDOUT_V3_GUANGAN), "a query without an expected item"


def test_dev_v4_size_and_classes() -> None:
    assert DEV_V4_CLASSES == CLASSES
    styles = Counter(s for s, *_ in DEV_V4_GUANGAN)
    assert set(styles) == set(CLASSES), styles
    assert len(DEV_V4_GUANGAN) >= DEV_MIN_GUANGAN
    assert styles["everyday"] >= DEV_MIN_EVERYDAY, styles
    assert all(styles[c] >= DEV_MIN_PER_CLASS for c in CLASSES if c != "everyday"), styles
    assert len(DEV_V4_SEED) >= DEV_MIN_SEED
    assert {s for s, *_ in DEV_V4_SEED} == set(CLASSES)
    assert all(region is None for _, _, region, _ in DEV_V4_SEED)
    for suite in (DEV_V4_GUANGAN, DEV_V4_SEED):
        queries = [_norm(case[1]) for case in suite]
        assert len(queries) == len(set(queries)), "a query is in the set twice"
        assert all(case[-1] for case in suite), "a query without an expected item"


def test_v4_and_v3_are_new() -> None:
    """No query of dev v4 or held-out v3 is one the earlier suites were tuned on or held out
    with, and the two share none: case and spaces aside, over both corpora."""
    older = (SEED_QUERIES, GUANGAN_QUERIES, HELDOUT_SEED, HELDOUT_GUANGAN, HELDOUT_V2_SEED,
             HELDOUT_V2_GUANGAN, DEV_V3_SEED, DEV_V3_GUANGAN)  # fmt: skip
    old = {_norm(case[1]) for suite in older for case in suite}
    dev = [case[1] for case in DEV_V4_GUANGAN + DEV_V4_SEED]
    heldout = [q for _, q, _ in HELDOUT_V3_GUANGAN]
    assert not [q for q in dev if _norm(q) in old]
    assert not [q for q in heldout if _norm(q) in old]
    assert not {_norm(q) for q in dev} & {_norm(q) for q in heldout}


def test_v4_and_v3_guangan_items_exist() -> None:
    names = {it["name"] for it in guangan_items()}  # skips when the listing is absent
    for suite in (DEV_V4_GUANGAN, HELDOUT_V3_GUANGAN):
        missing = [(q, n) for _, q, want in suite for n in want if n not in names]
        assert not missing, missing


def test_dev_v4_seed_items_exist() -> None:
    """Every expected seed item is an entry with at least one implementation (an entry
    without one, such as 住房公积金提取, is never a hit)."""
    entries = json.loads((SEED_DIR / "catalogue_entries.json").read_text(encoding="utf-8"))
    names = {e["basic_code"]: e["name"] for e in entries}
    impls = json.loads((SEED_DIR / "implementations.json").read_text(encoding="utf-8"))
    findable = {names[i["basic_code"]] for i in impls}
    missing = [(q, n) for _, q, _, want in DEV_V4_SEED for n in want if n not in findable]
    assert not missing, missing


def test_dev_v5_size_and_classes() -> None:
    assert DEV_V5_CLASSES == CLASSES
    styles = Counter(s for s, *_ in DEV_V5_GUANGAN)
    assert set(styles) == set(CLASSES), styles
    assert len(DEV_V5_GUANGAN) >= DEV_V5_MIN
    assert styles["everyday"] >= DEV_V5_MIN_EVERYDAY, styles
    assert styles["qualifier"] >= DEV_V5_MIN_QUALIFIER, styles
    assert all(styles[c] >= DEV_V5_MIN_PER_CLASS for c in CLASSES), styles
    queries = [_norm(q) for _, q, _ in DEV_V5_GUANGAN]
    assert len(queries) == len(set(queries)), "a query is in the set twice"
    assert all(want for *_, want in DEV_V5_GUANGAN), "a query without an expected item"


def test_dev_v5_is_new() -> None:
    """No query of dev v5 is one an earlier suite has (tuned on or held out with, dev v4 and
    held-out v3 included), case and spaces aside."""
    older = (SEED_QUERIES, GUANGAN_QUERIES, HELDOUT_SEED, HELDOUT_GUANGAN, HELDOUT_V2_SEED,
             HELDOUT_V2_GUANGAN, DEV_V3_SEED, DEV_V3_GUANGAN, DEV_V4_SEED, DEV_V4_GUANGAN,
             HELDOUT_V3_GUANGAN)  # fmt: skip
    old = {_norm(case[1]) for suite in older for case in suite}
    assert not [q for _, q, _ in DEV_V5_GUANGAN if _norm(q) in old]


def test_dev_v5_guangan_items_exist() -> None:
    names = {it["name"] for it in guangan_items()}  # skips when the listing is absent
    missing = [(q, n) for _, q, want in DEV_V5_GUANGAN for n in want if n not in names]
    assert not missing, missing


def test_dev_v6_size_kinds_and_items() -> None:
    kinds = Counter(k for k, *_ in DEV_V6_GUANGAN)
    assert set(kinds) == set(DEV_V6_KINDS), kinds
    assert len(DEV_V6_GUANGAN) >= DEV_V6_MIN
    queries = [_norm(q) for _, q, _ in DEV_V6_GUANGAN]
    assert len(queries) == len(set(queries)), "a query is in the set twice"
    names = {it["name"] for it in guangan_items()}  # skips when the listing is absent
    missing = [(q, n) for _, q, want in DEV_V6_GUANGAN for n in want if n not in names]
    assert not missing, missing


def test_dev_v6_is_new() -> None:
    """No query of dev v6 is one an older suite has, the held-out sets included; only a
    count is shown (a held-out query must not be read)."""
    older = (SEED_QUERIES, GUANGAN_QUERIES, HELDOUT_SEED, HELDOUT_GUANGAN, HELDOUT_V2_SEED,
             HELDOUT_V2_GUANGAN, DEV_V3_SEED, DEV_V3_GUANGAN, DEV_V4_SEED, DEV_V4_GUANGAN,
             HELDOUT_V3_GUANGAN, DEV_V5_GUANGAN, HELDOUT_V4_GUANGAN)  # fmt: skip
    old = {_norm(case[1]) for suite in older for case in suite}
    old |= {_norm(q) for q, _ in PROVINCE_NEEDS}
    shared = sum(_norm(q) in old for _, q, _ in DEV_V6_GUANGAN)
    assert shared == 0, f"{shared} queries of dev v6 are in an older suite"
