"""The embedded index's searches: queries, ranking, pages and facets (the index itself,
its versions and writes are :mod:`app.search.backends.embedded`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from operator import neg
from typing import Any

import tantivy

from app.search.backends.base import (
    COLLAPSE_WINDOW,
    FACET_FIELDS,
    FACET_KEYS,
    MULTI,
    PAGE_WINDOW_MAX,
    PREFER_COLUMN,
    PREFER_TERM,
    RANK_WINDOW,
    Filters,
    Hit,
    Result,
    Terms,
    on_the_index_read,
    split_filters,
)
from app.search.backends.tantivy_scores import even_out, field_weights, flagged_page, prefer_bonus

#: the facet aggregation and the ranking pass run side by side (the engine releases the GIL)
_FACET_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-facets")


class TantivySearch:
    """How the embedded index answers a search: the weighted query, the ranking (collapse,
    preferences), the page and its facets. Mixed into :class:`~app.search.backends.embedded.TantivyBackend`,
    whose index it reads."""

    def _query(self, terms: Terms, filters: Filters, prefer: Terms = ()) -> tantivy.Query:
        Q, Occur = tantivy.Query, tantivy.Occur
        clauses: list[tuple[Any, Any]] = []
        if terms:
            should = [
                (Occur.Should, Q.boost_query(Q.term_query(self.schema, f, t), b))
                for f, t, b in terms
            ]
            clauses.append((Occur.Must, Q.boolean_query(should)))
        must, must_not = split_filters(filters)
        for f, values in must.items():
            clauses.append((Occur.Must, Q.const_score_query(self._any_of(f, values), 0.0)))
        for f, values in must_not.items():
            clauses.append((Occur.MustNot, self._any_of(f, values)))
        if not clauses:
            return Q.all_query()
        if not terms:
            clauses.append((Occur.Must, Q.const_score_query(Q.all_query(), 1.0)))
            return Q.boolean_query(clauses)
        query = Q.boolean_query(clauses)
        if not prefer:
            return query
        # the preferences around the query of the words: the engine adds their score to the
        # words' in one 32-bit sum, as _page does (the same scores to the bit)
        return Q.boolean_query(
            [(Occur.Must, query)]
            + [
                (Occur.Should, Q.boost_query(Q.term_query(self.schema, f, t), b))
                for f, t, b in prefer
            ]
        )

    def _any_of(self, f: str, values: Sequence[str]) -> tantivy.Query:
        """The documents with one of ``values`` in ``f``, by term lookups: a term set query
        first gathers every posting of its terms into a bitset, 1–2 ms a pass more over a
        million documents when a value is common (a type, online, the status)."""
        Q, Occur = tantivy.Query, tantivy.Occur
        if not values:
            return Q.empty_query()
        if len(values) == 1:
            return Q.term_query(self.schema, f, values[0])
        return Q.boolean_query([(Occur.Should, Q.term_query(self.schema, f, v)) for v in values])

    def _ranked(
        self, searcher: Any, query: Any, want: int, count: bool = True
    ) -> tuple[list[float], list[Any], int]:
        """Scores and addresses of the first ``want`` matches in (score, code) order, and
        the total when counted. The engine returns matches by score; the matches tied with
        the ``want``-th are all kept (a larger window is asked for only if the ties fill
        this one) and ordered by their code key (a fast field, not a stored document)."""
        n = max(want, RANK_WINDOW)
        while True:
            found = searcher.search(query, limit=n, count=count)
            hits = found.hits
            total = found.count or 0
            if len(hits) <= want:
                last = len(hits)
            else:
                floor = hits[want - 1][0]
                last = want
                while last < len(hits) and hits[last][0] >= floor:
                    last += 1
                if last == len(hits) == n:  # the ties may go on beyond the window
                    n *= 4
                    continue
            if not hits:
                return [], [], total
            scores, addrs = zip(*hits[:last], strict=True)  # columns, without a Python loop
            keys = searcher.fast_field_values("code_key", list(addrs))
            # (score desc, key asc) by two stable sorts on plain numbers, not one on tuples:
            # a few thousand rows of a collapse in a third of the time
            negated = list(map(neg, scores))
            order = sorted(range(len(keys)), key=keys.__getitem__)
            order.sort(key=negated.__getitem__)
            del order[want:]
            return list(map(scores.__getitem__, order)), list(map(addrs.__getitem__, order)), total

    def _page(
        self,
        searcher: Any,
        terms: Terms,
        filters: Filters,
        prefer: Terms,
        want: int,
    ) -> tuple[list[float], list[Any]] | None:
        """``_ranked`` of the query with its preference (the "primary" flag, on two thirds of
        the documents: its clause cost more than the words' own) added after the engine has
        ranked the words alone: a flagged document of the window gains the clause's score,
        which is the same for each (one term in a one-word field), read from the explanation
        of one of them. None when that is not provably the same page: a document beyond the
        window (scoring at most the window's last) could reach the page with the flag, also
        in a window widened twice (the ties of one score can fill the first). Another
        preference goes to the engine with the words."""
        if [(f, t) for f, t, _ in prefer] != [PREFER_TERM]:
            query = self._query(terms, filters, prefer)
            return self._ranked(searcher, query, want, count=False)[:2]
        query = self._query(terms, filters)
        bonus: float | None = None
        n = max(want, RANK_WINDOW)
        while True:
            found = searcher.search(query, limit=n, count=False)
            if not found.hits:
                return [], []
            scores, addrs = zip(*found.hits, strict=True)
            flagged = searcher.fast_field_values(PREFER_COLUMN, list(addrs))
            if bonus is None:
                bonus = prefer_bonus(searcher, self.schema, prefer[0][2], addrs, flagged)
            complete = len(addrs) < n  # every match is in the window
            page = flagged_page(searcher, scores, addrs, flagged, bonus, want, complete)
            if page is not None:
                return page
            if n >= PAGE_WINDOW_MAX:  # the ranking with the preference costs less now
                return None
            n *= 2  # the ties of the page's last score went on beyond the window

    def _stored(self, searcher: Any, addr: Any) -> dict[str, Any]:
        d = searcher.doc(addr).to_dict()
        return {k: (v if k in MULTI else v[0]) for k, v in d.items()}

    def _aggregate(self, searcher: Any, query: Any, size: int = 100) -> dict[str, dict[str, int]]:
        aggs = {k: {"terms": {"field": f, "size": size}} for k, f in FACET_FIELDS.items()}
        raw = searcher.aggregate(query, aggs)
        return {
            k: {b["key"]: b["doc_count"] for b in raw.get(k, {}).get("buckets", [])}
            for k in FACET_FIELDS
        }

    @on_the_index_read
    def search(
        self,
        terms: Terms,
        filters: Filters,
        *,
        offset: int,
        limit: int,
        facets: bool,
        prefer: Terms = (),
        collapse: Sequence[str] | None = None,
        group: bool = False,
    ) -> Result:
        idx = self._idx()
        searcher = idx.searcher()
        # a field few documents hold weighs as on Elasticsearch (tantivy_scores.field_weights)
        weights = field_weights(searcher, self.schema, f"{self.root}/{self._generation}")
        terms, prefer = even_out(terms, weights), even_out(prefer, weights)
        if collapse:
            filters = {**filters, "region_code": list(collapse)}
        query = self._query(terms, filters, prefer)
        if not collapse and not group:
            # one pass for the facets (which also give the total: one type per item), one for
            # the ranking, side by side; the page's stored documents only
            counted = self._query(terms, filters)  # the preference scores, it never matches
            pending = _FACET_POOL.submit(self._aggregate, searcher, counted) if facets else None
            want = offset + limit
            ranked = None
            if facets and terms and prefer:  # (the total comes from the facets)
                ranked = self._page(searcher, terms, filters, prefer, want)
            if ranked is not None:
                (scores, addrs), total = ranked, 0
            else:
                scores, addrs, total = self._ranked(searcher, query, want, count=not facets)
            agg = pending.result() if pending else {}
            if facets:
                total = sum(agg.get("type", {}).values())
            page = zip(scores[offset : offset + limit], addrs[offset : offset + limit], strict=True)
            return Result(total, [Hit(sc, self._stored(searcher, a)) for sc, a in page], agg)
        # collapse (group): every match in the region chain (everywhere), ranked, from fast
        # fields only
        scores, addrs, _ = self._ranked(searcher, query, COLLAPSE_WINDOW, count=False)
        entries = searcher.fast_field_values("entry_key", addrs) if addrs else []
        if collapse:
            regions = searcher.fast_field_values("region_num", addrs) if addrs else []
            rank = {int(c): i for i, c in enumerate(collapse) if c.isdigit()}
            ranks = list(map(rank.get, regions, repeat(len(rank), len(regions))))
            # per entry, its first row of the most specific region: rows by (region, rank
            # order) read backwards into a dict, where the last write wins
            by_region = sorted(range(len(addrs)), key=ranks.__getitem__)
            by_region.reverse()
            best = dict(zip(map(entries.__getitem__, by_region), by_region, strict=True))
        else:  # group: per entry, its best-ranked row
            rows = range(len(addrs) - 1, -1, -1)
            best = dict(zip(map(entries.__getitem__, rows), rows, strict=True))
        chosen = sorted(best.values())  # in rank order
        page = chosen[offset : offset + limit]
        hits = [Hit(scores[i], self._stored(searcher, addrs[i])) for i in page]
        result = Result(len(chosen), hits)
        if facets and chosen:
            result.facets = self._column_facets(searcher, list(map(addrs.__getitem__, chosen)))
        return result

    def _column_facets(self, searcher: Any, addrs: list[Any]) -> dict[str, dict[str, int]]:
        """The facets of exactly these documents, from their facet key columns: no second
        query (a boolean query of a few thousand code lookups plus its aggregation cost
        more than the collapse itself). As the terms aggregation: the 100 most frequent
        values, ties by value."""
        columns = {f: searcher.fast_field_values(FACET_KEYS[f], addrs) for f in FACET_KEYS}
        known = self._facet_values
        for column in columns.values():
            if known.keys() >= set(column):
                continue
            for i, key in enumerate(column):  # a key first seen: its values from one document
                if key not in known:
                    stored = searcher.doc(addrs[i]).to_dict()
                    for f, col in columns.items():
                        known[col[i]] = tuple(sorted({str(v) for v in stored.get(f, [])}))
        out: dict[str, dict[str, int]] = {}
        for name, f in FACET_FIELDS.items():
            counts: Counter[str] = Counter()
            for key, n in Counter(columns[f]).items():
                for value in known[key]:
                    counts[value] += n
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
            out[name] = dict(top)
        return out
