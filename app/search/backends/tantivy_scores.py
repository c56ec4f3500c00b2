"""Scores read back from the embedded engine (tantivy) to rank without a second pass: the
preference clause's constant score and the page of a window once flagged documents gained
it, each what the engine itself computes, to the bit; and the field weights that make its
BM25 weigh a field few documents hold as Elasticsearch does."""

from __future__ import annotations

import json
from array import array
from bisect import bisect_right
from itertools import repeat
from operator import add, mul, neg
from typing import Any

import tantivy

from app.search.backends.base import PREFER_TERM, Terms

#: the engine's BM25 parameters (tantivy's, as Lucene's)
K1, B = 1.2, 0.75
#: the fields evened out: the item's actions (新办, 补办…), one or two words that some items
#: hold. Not the main item's name (``group_t``, several words): Elasticsearch weighs it less
#: than tantivy already (its lengths count more), and evened out it cost the old 广安区 suite
#: a query; nor the primary flag (the same: one query)
EVENED_FIELDS = ("action",)
#: the shares of the fields are measured again once the index grew or shrank by this much
SHARES_DRIFT = 0.05
#: index generation → (its documents when measured, field → weight)
_WEIGHTS: dict[str, tuple[int, dict[str, float]]] = {}


def field_weights(searcher: Any, schema: tantivy.Schema, generation: str) -> dict[str, float]:
    """Per field of ``EVENED_FIELDS`` that only some documents hold, the factor of its boost
    that evens out how the engine measures its length: tantivy averages a field's length
    over every document, Elasticsearch over those holding it, so the one-word action of a
    third of 广安区's items weighed 1.7 times less beside the name's words than on
    Elasticsearch (开个小作坊 found the 变更 of a shorter name before the 发放 asked for: the
    qualifier lost to a length). With ``s`` the share of documents holding
    the field, a holder of average length scores ``(1 + K1) / (1 + K1 (1 - B + B / s))`` of
    what a full field's would; the factor gives that back. Measured once per generation
    (a term lookup per field) and again when the index changed in size by ``SHARES_DRIFT``."""
    n = searcher.num_docs
    known = _WEIGHTS.get(generation)
    if known is not None and abs(known[0] - n) <= SHARES_DRIFT * max(n, 1):
        return known[1]
    weights: dict[str, float] = {}
    for f in EVENED_FIELDS if n else ():
        try:
            held = searcher.search(tantivy.Query.regex_query(schema, f, ".+"), 1).count or 0
        except ValueError:  # another schema's index, without this field
            continue
        if 0 < held < n:
            weights[f] = (1 + K1 * (1 - B + B * n / held)) / (1 + K1)
    if len(_WEIGHTS) > 64:  # generations come and go: keep the recent ones
        _WEIGHTS.clear()
    _WEIGHTS[generation] = (n, weights)
    return weights


def even_out(terms: Terms, weights: dict[str, float]) -> Terms:
    """``terms`` with the boosts of the fields of ``field_weights`` multiplied by theirs."""
    if not weights or not terms:
        return terms
    return [(f, t, b * weights.get(f, 1.0)) for f, t, b in terms]


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
