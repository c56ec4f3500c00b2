"""Scores read back from the embedded engine (tantivy) to rank without a second pass: the
preference clause's constant score and the page of a window once flagged documents gained
it, each what the engine itself computes, to the bit."""

from __future__ import annotations

import json
from array import array
from bisect import bisect_right
from itertools import repeat
from operator import add, mul, neg
from typing import Any

import tantivy

from app.search.backends.base import PREFER_TERM


def prefer_bonus(
    searcher: Any, schema: tantivy.Schema, boost: float, addrs: Any, flagged: list[Any]
) -> float:
    """The preference clause's score, the same for every flagged document (one term in a
    one-word field), read from the explanation of one of them: of the window's, else of any
    in the index (a flagged match beyond the window gains it too); 0 when none is flagged."""
    clause = tantivy.Query.boost_query(tantivy.Query.term_query(schema, *PREFER_TERM), boost)
    first = next((i for i, f in enumerate(flagged) if f), None)
    if first is not None:
        addr = addrs[first]
    else:
        anywhere = searcher.search(clause, limit=1, count=False).hits
        if not anywhere:
            return 0.0
        addr = anywhere[0][1]
    value = json.loads(clause.explain(searcher, addr).to_json())["value"]
    return array("f", [value])[0]  # the engine's 32-bit value, not its decimal print


def flagged_page(
    searcher: Any,
    scores: Any,
    addrs: Any,
    flagged: list[Any],
    bonus: float,
    want: int,
    complete: bool,
) -> tuple[list[float], list[Any]] | None:
    """The first ``want`` of a window in the words' order, in (score, code) order once the
    flagged documents have gained ``bonus``; None when a document beyond the window (unless
    it is ``complete``) could reach them."""
    # as the engine sums them: in 32-bit floats
    adjusted = array("f", map(add, scores, map(mul, flagged, repeat(bonus))))
    # only the window's head can reach the page (the window is in the words' order): a hit
    # whose words score below the lowest of the first ``want``, less the flag, cannot
    head = len(adjusted)
    if head > want:
        lowest = min(adjusted[:want])
        margin = 1e-4 * max(1.0, abs(lowest))  # 32-bit sums: keep a few hits too many
        head = max(want, bisect_right(list(map(neg, scores)), bonus - lowest + margin))
    keys = searcher.fast_field_values("code_key", list(addrs[:head]))
    negated = list(map(neg, adjusted[:head]))
    order = sorted(range(head), key=keys.__getitem__)
    order.sort(key=negated.__getitem__)
    reach = array("f", [scores[-1] + bonus])[0]  # beyond the window, with the flag: 32-bit
    if not complete and adjusted[order[want - 1]] <= reach:
        return None
    del order[want:]
    return [adjusted[i] for i in order], [addrs[i] for i in order]
