"""The maintained lists the query side reads: abbreviations (data/abbreviations.txt) lead to
words of the catalogue's own names, and expand in a query at the weight of words typed; a
same-shape typo (data/pycorrector_same_stroke.txt) is read as the catalogue word it
misspells, a word the catalogue holds is never "corrected"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.search.analysis import ABBREVIATION_WEIGHT, FRAGMENT_SHARE, Synonyms, corpus_analyzer
from app.search.text import normalise
from app.search.thesaurus import same_shape
from app.search.vocabulary import abbreviation_meanings, abbreviation_words

SEED_ENTRIES = Path(__file__).resolve().parent.parent.parent / "seed" / "catalogue_entries.json"
GUANGAN = SEED_ENTRIES.parent.parent.parent / "shared" / "data" / "items_guangan.json"


def _names() -> list[str]:
    names = [normalise(e["name"]) for e in json.loads(SEED_ENTRIES.read_text(encoding="utf-8"))]
    if GUANGAN.exists():
        names += [normalise(i["name"]) for i in json.loads(GUANGAN.read_text(encoding="utf-8"))]
    return names


def test_every_abbreviation_leads_to_words_of_a_name() -> None:
    if not GUANGAN.exists():
        pytest.skip(f"{GUANGAN} is absent (real data lives outside the repository)")
    names = _names()
    table = abbreviation_words()
    assert len(table) >= 30
    dead = {m for _, meant in table for m in meant if not any(normalise(m) in n for n in names)}
    assert not dead, dead


def test_an_abbreviation_expands_once_longest_first() -> None:
    assert abbreviation_meanings("城乡居保补缴") == ["城乡居民基本养老保险"]
    both = set(abbreviation_meanings("企保和城居保"))
    assert both == {"企业职工基本养老保险", "城乡居民基本养老保险"}
    assert abbreviation_meanings("护照") == []


def test_an_abbreviation_weighs_as_the_words_typed() -> None:
    analyzer = corpus_analyzer(["城乡居民基本养老保险注销登记", "户口注销"])
    terms = analyzer.query_terms("居保注销", Synonyms([]))
    weights = {(f, t): w for f, t, w in terms.weighted(True)}
    assert ("name_t", "养老保险") in weights or ("name_t", "城乡居民") in weights
    typed = weights[("name_t", "注销")]
    full = max(
        w for (f, t), w in weights.items() if f == "name_t" and t in ("城乡居民", "养老保险")
    )
    assert full == pytest.approx(typed * ABBREVIATION_WEIGHT)


def test_a_fragment_of_the_full_words_weighs_a_share() -> None:
    """城乡 and 居民 of 城乡居民 are recall, not two more words: together they outweighed
    the action typed after the abbreviation."""
    analyzer = corpus_analyzer(["城乡居民基本养老保险注销登记", "户口注销"])
    terms = analyzer.query_terms("居保注销", Synonyms([]))
    weights = {(f, t): w for f, t, w in terms.weighted(True)}
    whole, typed = weights[("name_t", "城乡居民")], weights[("name_t", "注销")]
    assert whole == pytest.approx(typed * ABBREVIATION_WEIGHT)
    assert weights[("name_t", "城乡")] == pytest.approx(whole * FRAGMENT_SHARE)


def test_a_same_shape_typo_reads_as_the_word_it_misspells() -> None:
    alike = same_shape()
    assert "代" in alike["伐"] and "伐" in alike["代"]
    analyzer = corpus_analyzer(["林木采伐许可证核发", "代开增值税普通发票"])
    words = analyzer.query_terms("林木采代许可证", Synonyms([])).words
    assert "采伐" in words
    # a word the catalogue holds is what was meant: 代开 stays 代开
    assert "伐开" not in analyzer.query_terms("代开发票", Synonyms([])).words
