"""Text primitives of the search analysis: normalisation (NFKC, simplified, lower case),
segmentation with rjieba and the catalogue's user dictionary, toneless pinyin and initials,
pinyin read back into syllables, and character n-grams. :mod:`.analysis` builds the index
fields and query terms from them."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import opencc
    import rjieba

HAN = re.compile(r"[\u3400-\u9fff]+")
LATIN = re.compile(r"[a-z]+")
WORD = re.compile(r"[\w\u3400-\u9fff]")

# rjieba's dictionary is process-wide: guard additions
_DICT_LOCK = threading.Lock()
_DICT_WORDS: set[str] = set()


# rjieba reads its dictionary and pypinyin its phrase tables on import (about half a
# second together): a process that never segments or reads pinyin does not pay for them
@functools.cache
def _jieba() -> ModuleType:
    import rjieba

    return rjieba


@functools.cache
def _pypinyin() -> ModuleType:
    import pypinyin

    return pypinyin


@functools.cache
def _t2s() -> opencc.OpenCC:
    import opencc

    return opencc.OpenCC("t2s")


#: segmentations by text, each with the user dictionary's generation it was cut with (the
#: dictionary only grows: an addition makes every older entry stale). A build analyses the
#: same names, departments and guide phrases again and again (performance only: the
#: output is that of rjieba)
_WORDS_CACHE: dict[str, tuple[int, tuple[str, ...]]] = {}
_dict_generation = 0


@functools.lru_cache(maxsize=32_768)
def normalise(text: str) -> str:
    """NFKC (full-width → half-width), traditional → simplified, lower case."""
    return _t2s().convert(unicodedata.normalize("NFKC", text)).lower().strip()


def add_user_words(words: Iterable[str]) -> int:
    """Teach the segmenter the catalogue's own names (and aliases)."""
    added = 0
    with _DICT_LOCK:
        for w in words:
            w = normalise(w)
            if 2 <= len(w) <= 30 and w not in _DICT_WORDS and not re.search(r"[\s()（）“”]", w):
                _jieba().add_word(w, None, None)
                _DICT_WORDS.add(w)
                added += 1
        if added:
            global _dict_generation
            _dict_generation += 1
    return added


def words(text: str) -> list[str]:
    """Segment normalised text in search mode; punctuation and spaces dropped."""
    generation = _dict_generation  # read before cutting: a later addition makes it stale
    hit = _WORDS_CACHE.get(text)
    if hit is not None and hit[0] == generation:
        return list(hit[1])
    out = [w for w in _jieba().cut_for_search(text) if WORD.search(w) and w.strip()]
    if len(_WORDS_CACHE) >= 65_536:
        _WORDS_CACHE.clear()
    _WORDS_CACHE[text] = (generation, tuple(out))
    return out


@functools.cache
def _general_segmenter() -> rjieba.Jieba:
    """A segmenter without the catalogue's words (its own instance, never taught)."""
    return _jieba().Jieba()


def name_words_of(text: str) -> list[str]:
    """:func:`words` of a name, and where a taught whole name hides parts the dictionary
    does not know (犬类准养证核发 → 核发 and the whole name only), the general segmenter's
    words of those stretches (犬类, 准养证)."""
    found, size = words(text), len(text)
    covered = bytearray(size)
    for w in found:
        if 1 < len(w) < size:
            at = text.find(w)
            while at >= 0:
                covered[at : at + len(w)] = b"\x01" * len(w)
                at = text.find(w, at + 1)
    if 0 not in covered:
        return found
    at, seen = 0, set(found)
    for w in _general_segmenter().cut(text):
        at += len(w)
        if len(w) > 1 and 0 in covered[at - len(w) : at] and w not in seen and WORD.search(w):
            seen.add(w)
            found.append(w)
    return found


@functools.lru_cache(maxsize=200_000)
def pinyin(word: str) -> str:
    p = _pypinyin()
    return "".join(p.lazy_pinyin(word, style=p.Style.NORMAL, errors="ignore"))


@functools.lru_cache(maxsize=200_000)
def initials(word: str) -> str:
    p = _pypinyin()
    return "".join(p.lazy_pinyin(word, style=p.Style.FIRST_LETTER, errors="ignore"))


def has_han(word: str) -> bool:
    return HAN.search(word) is not None


def user_dictionary_size() -> int:
    """Words taught to the segmenter so far (a cache key of segmented names)."""
    return len(_DICT_WORDS)


def dictionary_generation() -> int:
    """How many times the user dictionary grew: a cache key of what was segmented."""
    return _dict_generation


@functools.cache
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (from pypinyin's readings of the CJK block)."""
    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for r in readings.split(","):
            decomposed = unicodedata.normalize("NFKD", r).replace("u\u0308", "v")
            out.add("".join(c for c in decomposed if not unicodedata.combining(c)))
    return frozenset(s for s in out if s.isascii() and s.isalpha())


def split_pinyin(text: str) -> list[str] | None:
    """``wufanzuijilu`` → ``[wu, fan, zui, ji, lu]`` (fewest syllables); None if it is not
    pinyin."""
    valid = _syllables()
    n = len(text)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            if text[i:j] in valid:
                cand = [*best[i], text[i:j]]  # type: ignore[misc]
                if best[j] is None or len(cand) < len(best[j]):  # type: ignore[arg-type]
                    best[j] = cand
    return best[n]


def grams(run: str, sizes: tuple[int, ...] = (2, 3, 4)) -> list[str]:
    return [run[i : i + n] for n in sizes for i in range(len(run) - n + 1)]
