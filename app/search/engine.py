"""The search engine: analysis and a backend, no database. A request's terms, filters and
statuses in, a page of hits with facets out; merged and handed-down items below live ones."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from app.catalogue.statuses import (
    STATUS_CANCELLED,
    STATUS_INCOMPLETE,
    STATUS_LABELS,
    STATUS_MERGED,
    STATUS_PENDING,
)
from app.search.analysis import Analyzer, QueryTerms, Synonyms
from app.search.backends.base import Filters, Hit, Result, SearchBackend
from app.search.text import normalise

#: statuses a citizen sees unless ``status`` asks otherwise: cancelled (3) and pending
#: acceptance (4) are left out; incomplete imports (7 待完善, no guide yet) are found, after
#: complete items of equal relevance: the catalogue still knows who handles them
ALL_STATUSES = set(STATUS_LABELS)


DEFAULT_STATUSES = sorted(ALL_STATUSES - {STATUS_CANCELLED, STATUS_PENDING})


#: a query with at most this many results is recorded as a gap
LOW_RESULTS = 2


#: results from the words alone that make the recall terms unnecessary
ENOUGH = 30


#: statuses of items that point to another: merged (已合并, into the survivor) and handed
#: down (已下放, to the receiving item); they never rank above a live item
RETIRED = frozenset({str(STATUS_MERGED), "5"})  # 5: 已下放 (app.catalogue.statuses)


@dataclass
class SearchRequest:
    q: str = ""
    region_chain: list[str] | None = None  # the region and its ancestors, most specific first
    filters: Filters = field(default_factory=dict)
    statuses: list[str] = field(default_factory=lambda: list(DEFAULT_STATUSES))
    offset: int = 0
    limit: int = 20
    facets: bool = True
    #: without a region: one hit per catalogue entry, its best-ranked implementation
    group: bool = False


@dataclass
class SearchPage:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    terms: QueryTerms
    next_offset: int | None
    took_ms: float


def complete_first(hits: list[Hit]) -> list[Hit]:
    """Of hits of equal score, the complete ones before the incomplete imports (待完善): a
    stable sort that moves nothing else."""
    incomplete = str(STATUS_INCOMPLETE)
    if not any(h.doc.get("status") == incomplete for h in hits):
        return hits
    return sorted(hits, key=lambda h: (-h.score, h.doc.get("status") == incomplete))


class SearchEngine:
    def __init__(self, backend: SearchBackend, analyzer: Analyzer | None = None) -> None:
        self.backend = backend
        self.analyzer = analyzer or Analyzer()

    def search(self, req: SearchRequest, synonyms: Synonyms | None = None) -> SearchPage:
        started = time.perf_counter()
        terms = self.analyzer.query_terms(req.q, synonyms) if req.q.strip() else QueryTerms()
        if req.q.strip() and not terms:
            return SearchPage(0, [], {}, terms, None, (time.perf_counter() - started) * 1000)
        if req.group and not req.region_chain:
            # one hit per entry: a retired implementation points to a live one, which
            # stands for its entry (unless only retired ones are asked for)
            live = [s for s in req.statuses if s not in RETIRED]
            if live:
                req = replace(req, statuses=live)
        filters = dict(req.filters)
        filters["status"] = req.statuses

        def run(
            core_only: bool, statuses: list[str], offset: int, limit: int, facets: bool
        ) -> Result:
            return self.backend.search(
                terms.weighted(core_only),
                {**filters, "status": statuses},
                offset=offset,
                limit=limit,
                facets=facets,
                prefer=terms.prefer,
                collapse=req.region_chain or None,
                group=req.group and not req.region_chain,
            )

        # the words (and their pinyin and synonyms) first; the recall terms only when they
        # find little: a common word then costs one narrow query, a typo two cheap ones
        core = terms.has_fuzzy
        raw = run(core, req.statuses, req.offset, req.limit, req.facets)
        if terms.has_fuzzy and raw.total < ENOUGH and terms.weighted(True) != terms.weighted():
            core = False
            raw = run(core, req.statuses, req.offset, req.limit, req.facets)
        raw.hits = complete_first(self._live_first(raw, req, lambda *a: run(core, *a)))
        end = req.offset + len(raw.hits)
        return SearchPage(
            total=raw.total,
            hits=raw.hits,
            facets=raw.facets,
            terms=terms,
            next_offset=end if end < raw.total and raw.hits else None,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    @staticmethod
    def _live_first(raw: Result, req: SearchRequest, run: Any) -> list[Hit]:
        """Ranking hygiene: a retired item (merged 已合并, or handed down 已下放: it points
        to the item that replaced it) never ranks above a live one, so never above the item
        it points to. A first page without a retired hit is already so; otherwise the page
        is the live matches' ranking followed by the retired ones' (two narrower queries)."""
        live = [s for s in req.statuses if s not in RETIRED]
        retired = [s for s in req.statuses if s in RETIRED]
        if not live or not retired or not raw.hits:
            return raw.hits
        if req.offset == 0 and not any(h.doc.get("status") in RETIRED for h in raw.hits):
            return raw.hits
        first = run(live, req.offset, req.limit, False)
        hits = list(first.hits)
        if len(hits) < req.limit:
            rest = run(retired, max(0, req.offset - first.total), req.limit - len(hits), False)
            hits += rest.hits
        return hits

    def suggest(
        self, q: str, region_chain: list[str] | None, limit: int = 10
    ) -> list[dict[str, str]]:
        key = re.sub(r"\s+", "", normalise(q))
        if not key:
            return []
        raw = self.backend.search(
            [("prefix", key[:24], 1.0)],
            {"status": list(DEFAULT_STATUSES)},
            offset=0,
            limit=60,
            facets=False,
            collapse=region_chain or None,
        )
        best: dict[str, Hit] = {}
        for hit in raw.hits:  # one suggestion per name
            best.setdefault(hit.doc["name"], hit)
        ordered = sorted(best.values(), key=lambda h: (len(h.doc["name"]), h.doc["name"]))
        return [{"text": h.doc["name"], "code": h.doc["code"]} for h in ordered[:limit]]
