"""Highlighting: the words of a hit's name that the query matched, by text or by pinyin."""

from __future__ import annotations

import functools

from app.search.analysis import QueryTerms, pinyin
from app.search.text import has_han, normalise, user_dictionary_size, words


@functools.lru_cache(maxsize=20_000)
def _name_words(name: str, vocabulary: int) -> tuple[str, tuple[str, ...]]:
    """A stored name, normalised, and its words: a page of hits segments the same names
    again and again (``vocabulary``: the user dictionary's size, so that words added later
    segment it anew)."""
    name_n = normalise(name)
    return name_n, tuple(words(name_n))


def highlight(name: str, q: QueryTerms) -> list[str]:
    """The name with the words that matched wrapped in <em> (by text or by pinyin)."""
    name_n, name_words = _name_words(name, user_dictionary_size())
    spans: list[tuple[int, int]] = []
    targets = {w for w in q.words if len(w) >= 1}
    for w in name_words:
        if w in targets or (has_han(w) and len(w) >= 2 and pinyin(w) in q.pinyins):
            start = name_n.find(w)
            while start >= 0:
                spans.append((start, start + len(w)))
                start = name_n.find(w, start + 1)
    if not spans:
        return []
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:  # positions of the normalised name map 1:1 onto the stored one
        out.append(name[pos:s] + "<em>" + name[s:e] + "</em>")
        pos = e
    out.append(name[pos:])
    return ["".join(out)]
