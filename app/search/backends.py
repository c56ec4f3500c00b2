"""Search backends: the embedded tantivy index (default) and Elasticsearch.

Both receive documents already analyzed by :mod:`app.search.analysis` (whitespace-joined
tokens) and answer weighted term queries with BM25, keyword filters and term facets, so
they rank alike. Neither knows about the catalogue database.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import neg
from pathlib import Path
from typing import Any, Protocol

import tantivy

from app.catalogue.service import STATUS_LABELS
from app.errors import PROBLEM_BASE, DomainError
from app.search.analysis import FIELD_BOOSTS, PREFIX_FIELD

#: exact-match fields: filters, facets and what a hit shows
KEYWORDS = (
    "code",
    "basic_code",
    "name",
    "department_code",
    "department_name",
    "region_code",
    "region_name",
    "level",
    "item_type",
    "audience",
    "themes",
    "online",
    "status",
)
MULTI = ("audience", "themes")
ANALYZED = (*FIELD_BOOSTS, PREFIX_FIELD)
FACET_FIELDS = {"type": "item_type", "department": "department_code", "region": "region_code",
                "theme": "themes"}  # fmt: skip
#: per facet field, an integer fast field: the key64 of its value (of its sorted values joined
#: by ``VALUES_SEP`` when it has several), so that the facets of collapsed hits are counted
#: from columns (the engine reads integer columns only) instead of a second query
FACET_KEYS = {f: f"{f}_key" for f in FACET_FIELDS.values()}
VALUES_SEP = "\x1f"
#: the layout of the embedded index: a generation built with another one is not opened (its
#: fields differ) until ``catalogue reindex`` (or the indexer thread) builds a new one
SCHEMA_VERSION = 2


#: with a region, the best matches collapsed to one per catalogue entry (a county, its city
#: and the province hold a few thousand implementations at most)
COLLAPSE_WINDOW = 5000
#: matches read in one ranking pass: the ties of the last hit of a page are read too (one
#: item's implementations in every county score alike), and one pass of a few thousand
#: costs little more than one of a few hundred, while a second pass costs a whole query
RANK_WINDOW = 2000
#: a search without a region first ranks the matches of its rarest terms only, together in
#: at most this share of the documents (see ``TantivyBackend._ranked_rare_first``)
RARE_SHARE = 0.05
#: tantivy's BM25 k1: a term clause scores below boost × idf × (k1 + 1)
BM25_K1 = 1.2

#: the facet aggregation and the ranking pass run side by side (the engine releases the GIL)
_FACET_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-facets")


#: every item status: a status filter is sent as the statuses left out when that is shorter
#: (cancelled and pending items are few; "in use" matches nearly every document)
STATUSES = tuple(sorted(STATUS_LABELS))


def split_filters(filters: Filters) -> tuple[Filters, Filters]:
    """(must, must_not): the status filter as exclusions when those are fewer."""
    must, must_not = dict(filters), {}
    allowed = must.get("status")
    if allowed is not None:
        excluded = [x for x in STATUSES if x not in allowed]
        if len(excluded) < len(allowed):
            del must["status"]
            if excluded:
                must_not["status"] = excluded
    return must, must_not


class BackendUnavailable(DomainError):
    """The search engine cannot be reached: 503 to a searcher; the indexer retries later."""

    status = 503
    title = "Search is unavailable"
    type = PROBLEM_BASE + "search-unavailable"


@dataclass
class Hit:
    score: float
    doc: dict[str, Any]


@dataclass
class Result:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


Terms = Sequence[tuple[str, str, float]]
Filters = dict[str, list[str]]


class SearchBackend(Protocol):
    name: str

    def upsert(self, docs: list[dict[str, Any]]) -> None: ...

    def delete(self, items: list[tuple[str, int]]) -> None: ...

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
    ) -> Result: ...

    def versions(self) -> dict[str, tuple[int, str]]: ...

    def rebuild(self, docs: Iterable[list[dict[str, Any]]]) -> None: ...

    def needs_rebuild(self) -> bool: ...

    def ping(self) -> bool: ...


def key64(value: str) -> int:
    """A stable 56-bit number for a code: numeric fast fields for ties and collapsing."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=7).digest(), "big")


def facet_key(values: Sequence[str]) -> int:
    """The key of a document's values of one facet field (none, one or several)."""
    return key64(VALUES_SEP.join(sorted(set(values))))


def collapse_pick(
    rows: Iterable[tuple[Any, float, str, Any]], chain: Sequence[str]
) -> list[tuple[Any, float, str, Any]]:
    """``rows`` are (ref, score, region, entry) in rank order: keep, per entry, the row of the
    most specific region of ``chain`` (then the better score), in rank order."""
    rank = {r: i for i, r in enumerate(chain)}
    best: dict[Any, tuple[Any, float, str, Any]] = {}
    for row in rows:
        seen = best.get(row[3])
        if seen is None or rank[row[2]] < rank[seen[2]]:
            best[row[3]] = row
    chosen = {id(r) for r in best.values()}
    return [r for r in rows if id(r) in chosen]  # type: ignore[union-attr]


# --- embedded: tantivy -------------------------------------------------------------


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    for name in KEYWORDS:
        b.add_text_field(name, stored=True, fast=True, tokenizer_name="raw")
    b.add_integer_field("version", stored=True, fast=True, indexed=True)
    for name in ("code_key", "entry_key", "region_num"):  # ties and collapsing, no stored read
        b.add_integer_field(name, stored=False, fast=True, indexed=True)
    for name in FACET_KEYS.values():  # facets of collapsed hits: read, never searched
        b.add_integer_field(name, stored=False, fast=True, indexed=False)
    for name in ANALYZED:
        b.add_text_field(name, stored=False, tokenizer_name="whitespace", index_option="freq")
    return b.build()


def _layout(path: Path) -> int:
    """The schema version a generation was built with: its ``SCHEMA`` file; a generation of
    the versions before that file is 1; an empty folder takes this version's."""
    marker = path / "SCHEMA"
    if marker.exists():
        return int(marker.read_text().strip() or 1)
    return 1 if (path / "meta.json").exists() else SCHEMA_VERSION


class TantivyBackend:
    """An index directory; ``CURRENT`` names the live generation, so ``rebuild`` builds
    the next one aside and swaps it in (readers and the writer follow the pointer).
    A generation of another schema version is not opened: searches and writes answer
    503 until a rebuild (``catalogue reindex``, or the indexer thread) replaces it."""

    name = "embedded"

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self._lock = threading.RLock()
        self._generation: str | None = None
        self._index: tantivy.Index | None = None
        self._stale: int | None = None  # the schema version of a generation not opened
        self._writer: Any = None
        self._reloaded = 0.0
        #: key64 → the facet values it stands for: a function of the key, so never stale
        self._facet_values: dict[int, tuple[str, ...]] = {}
        self._open()

    def _current(self) -> str:
        pointer = self.root / "CURRENT"
        if pointer.exists():
            return pointer.read_text().strip()
        gen = "g1"
        (self.root / gen).mkdir(exist_ok=True)
        pointer.write_text(gen)
        return gen

    def _open(self) -> None:
        with self._lock:
            gen = self._current()
            if gen == self._generation and (self._index is not None or self._stale):
                return
            self._writer = None
            self._index = None
            self._generation = gen
            path = self.root / gen
            layout = _layout(path)
            self._stale = layout if layout != SCHEMA_VERSION else None
            if self._stale is None:
                self._index = tantivy.Index(self.schema, path=str(path), reuse=True)
                if not (path / "SCHEMA").exists():
                    (path / "SCHEMA").write_text(str(SCHEMA_VERSION))

    def _live(self) -> tantivy.Index:
        if self._index is None:
            raise BackendUnavailable(
                f"the search index {self.root / str(self._generation)} has schema version "
                f"{self._stale}, this version needs {SCHEMA_VERSION}: run `catalogue reindex`"
            )
        return self._index

    def needs_rebuild(self) -> bool:
        self._open()
        return self._stale is not None

    def _idx(self) -> tantivy.Index:
        now = time.monotonic()
        if now - self._reloaded > 0.5:  # follow commits and swaps of other writers
            self._open()
            if self._index is not None:
                self._index.reload()
            self._reloaded = now
        return self._live()

    def _w(self) -> Any:
        self._open()
        if self._writer is None:
            self._writer = self._live().writer(heap_size=64_000_000, num_threads=1)
        return self._writer

    def _document(self, doc: dict[str, Any]) -> tantivy.Document:
        d = tantivy.Document()
        for name in KEYWORDS:
            value = doc.get(name)
            for v in value if isinstance(value, list) else [value]:
                if v is not None and v != "":
                    d.add_text(name, str(v))
        d.add_integer("version", int(doc["version"]))
        d.add_integer("code_key", key64(doc["code"]))
        d.add_integer("entry_key", key64(doc["basic_code"]))
        d.add_integer("region_num", int(doc["region_code"]) if doc["region_code"].isdigit() else 0)
        for name, key in FACET_KEYS.items():
            value = doc.get(name)
            values = value if isinstance(value, list) else [value]
            d.add_integer(key, facet_key([str(v) for v in values if v is not None and v != ""]))
        for name in ANALYZED:
            if doc.get(name):
                d.add_text(name, doc[name])
        return d

    def _indexed_versions(self, codes: list[str]) -> dict[str, int]:
        idx = self._idx()
        idx.reload()
        searcher = idx.searcher()
        query = tantivy.Query.term_set_query(self.schema, "code", codes)
        found = searcher.search(query, limit=max(len(codes), 1) * 2, count=False)
        out: dict[str, int] = {}
        for _, addr in found.hits:
            d = searcher.doc(addr)
            out[d["code"][0]] = d["version"][0]
        return out

    def upsert(self, docs: list[dict[str, Any]]) -> None:
        if not docs:
            return
        with self._lock:
            current = self._indexed_versions([d["code"] for d in docs])
            w = self._w()
            for doc in docs:
                if current.get(doc["code"], -1) > int(doc["version"]):
                    continue  # an older update never overwrites a newer one
                w.delete_documents_by_term("code", doc["code"])
                w.add_document(self._document(doc))
            w.commit()
            self._reloaded = 0.0

    def delete(self, items: list[tuple[str, int]]) -> None:
        if not items:
            return
        with self._lock:
            current = self._indexed_versions([c for c, _ in items])
            w = self._w()
            for code, version in items:
                if current.get(code, -1) <= version:
                    w.delete_documents_by_term("code", code)
            w.commit()
            self._reloaded = 0.0

    def _query(
        self, terms: Terms, filters: Filters, prefer: Terms = (), among: Terms = ()
    ) -> tantivy.Query:
        """``among``: only the matches of one of these terms (a filter: scores unchanged)."""
        Q, Occur = tantivy.Query, tantivy.Occur
        clauses: list[tuple[Any, Any]] = []
        if terms:
            should = [
                (Occur.Should, Q.boost_query(Q.term_query(self.schema, f, t), b))
                for f, t, b in terms
            ]
            clauses.append((Occur.Must, Q.boolean_query(should)))
            if among:
                any_term = [(Occur.Should, Q.term_query(self.schema, f, t)) for f, t, _ in among]
                clauses.append((Occur.Must, Q.const_score_query(Q.boolean_query(any_term), 0.0)))
            for f, t, b in prefer:
                clauses.append((Occur.Should, Q.boost_query(Q.term_query(self.schema, f, t), b)))
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

    def _ranked_rare_first(
        self, searcher: Any, terms: Terms, filters: Filters, prefer: Terms, want: int
    ) -> tuple[list[float], list[Any]] | None:
        """``_ranked`` of the query from the matches of its rarest terms only (together in
        at most ``RARE_SHARE`` of the documents), or None when that is not provably the same
        page. A match of none of them scores at most the BM25 bounds of the other terms and
        the preferences (a clause scores below boost × idf × (k1 + 1)); when the ``want``-th
        score of the rare matches is above that, every match that scores as much, ties
        included, is among them. The engine scores every match (no block skipping here), so
        a common word (登记, 许可: 110–160 k of a million names) next to rarer ones no longer
        costs a pass over its whole posting list."""
        freqs = [searcher.doc_freq(f, t) for f, t, _ in terms]
        order = sorted((i for i, df in enumerate(freqs) if df > 0), key=freqs.__getitem__)
        cumulative = list(accumulate(freqs[i] for i in order))
        rare = bisect_right(cumulative, searcher.num_docs * RARE_SHARE)
        if not 0 < rare < len(order) or cumulative[rare - 1] * 2 > cumulative[-1]:
            return None  # no rare term, no other one, or about the cost of the full pass
        query = self._query(terms, filters, prefer, among=[terms[i] for i in order[:rare]])
        scores, addrs, _ = self._ranked(searcher, query, want, count=False)
        if len(scores) < want:
            return None
        n = self._bm25_docs(searcher, query, addrs[0])
        if n is None:
            return None
        others = [(terms[i][2], freqs[i]) for i in order[rare:]]
        others += [(b, searcher.doc_freq(f, t)) for f, t, b in prefer]
        idf = sum(b * math.log(1 + (n - df + 0.5) / (df + 0.5)) for b, df in others)
        if scores[want - 1] <= idf * (1 + BM25_K1) * 1.001 + 1e-6:  # f32 sums: a margin
            return None
        return scores, addrs

    @staticmethod
    def _bm25_docs(searcher: Any, query: Any, addr: Any) -> float | None:
        """The document count BM25 uses (deleted documents not yet merged away included),
        read from the explanation of a match: the bounds need it exactly."""
        nodes = [json.loads(query.explain(searcher, addr).to_json())]
        while nodes:
            node = nodes.pop()
            if str(node.get("description", "")).startswith("N, total number of docs"):
                return float(node["value"])
            nodes += node.get("details") or []
        return None

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
    ) -> Result:
        idx = self._idx()
        searcher = idx.searcher()
        if collapse:
            filters = {**filters, "region_code": list(collapse)}
        query = self._query(terms, filters, prefer)
        if not collapse:
            # one pass for the facets (which also give the total: one type per item), one for
            # the ranking, side by side; the page's stored documents only
            pending = _FACET_POOL.submit(self._aggregate, searcher, query) if facets else None
            want = offset + limit
            ranked = None
            if facets and terms:  # (the total comes from the facets)
                ranked = self._ranked_rare_first(searcher, terms, filters, prefer, want)
            if ranked is not None:
                (scores, addrs), total = ranked, 0
            else:
                scores, addrs, total = self._ranked(searcher, query, want, count=not facets)
            agg = pending.result() if pending else {}
            if facets:
                total = sum(agg.get("type", {}).values())
            page = zip(scores[offset : offset + limit], addrs[offset : offset + limit], strict=True)
            return Result(total, [Hit(sc, self._stored(searcher, a)) for sc, a in page], agg)
        # collapse: every match in the region chain, ranked, from fast fields only
        scores, addrs, _ = self._ranked(searcher, query, COLLAPSE_WINDOW, count=False)
        regions = searcher.fast_field_values("region_num", addrs) if addrs else []
        entries = searcher.fast_field_values("entry_key", addrs) if addrs else []
        rank = {int(c): i for i, c in enumerate(collapse) if c.isdigit()}
        ranks = list(map(rank.get, regions, repeat(len(rank), len(regions))))
        # per entry, its first row of the most specific region: rows by (region, rank order)
        # read backwards into a dict, where the last write wins
        by_region = sorted(range(len(addrs)), key=ranks.__getitem__)
        by_region.reverse()
        best = dict(zip(map(entries.__getitem__, by_region), by_region, strict=True))
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

    def versions(self) -> dict[str, tuple[int, str]]:
        """code → (version, status) of every indexed item."""
        idx = self._idx()
        idx.reload()
        searcher = idx.searcher()
        n = searcher.num_docs
        out: dict[str, tuple[int, str]] = {}
        if n:
            found = searcher.search(tantivy.Query.all_query(), limit=n, count=False)
            for _, addr in found.hits:
                d = searcher.doc(addr)
                out[d["code"][0]] = (d["version"][0], d["status"][0])
        return out

    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> None:
        """Build the next generation aside, then point CURRENT at it."""
        with self._lock:
            old = self._current()
            gen = f"g{int(old[1:]) + 1 if old[1:].isdigit() else 1}"
            path = self.root / gen
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir()
            index = tantivy.Index(self.schema, path=str(path))
            (path / "SCHEMA").write_text(str(SCHEMA_VERSION))
            writer = index.writer(heap_size=256_000_000, num_threads=2)
            for batch in batches:
                for doc in batch:
                    writer.add_document(self._document(doc))
            writer.commit()
            writer.wait_merging_threads()
            tmp = self.root / "CURRENT.tmp"
            tmp.write_text(gen)
            os.replace(tmp, self.root / "CURRENT")
            self._writer = None
            self._generation = None
            self._reloaded = 0.0
            self._open()
            shutil.rmtree(self.root / old, ignore_errors=True)

    def ping(self) -> bool:
        self._idx()  # a generation of another schema version: the reason, for /readyz
        return True


# --- Elasticsearch -----------------------------------------------------------------


def es_mapping() -> dict[str, Any]:
    """The index mapping, as code: keywords for filters and facets, whitespace-analysed
    text for the tokens the Python analyzer produced."""
    props: dict[str, Any] = {k: {"type": "keyword"} for k in KEYWORDS}
    props["version"] = {"type": "long"}
    props["code_key"] = {"type": "long"}
    for name in ANALYZED:
        props[name] = {"type": "text", "analyzer": "whitespace"}
    props[PREFIX_FIELD]["index_options"] = "docs"
    return {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"dynamic": "strict", "properties": props},
    }


def _plain_json_node() -> type:
    """A transport node that sends plain ``application/json`` (and ``x-ndjson``) instead of
    the client's ``application/vnd.elasticsearch+json; compatible-with=N``, which
    OpenSearch-compatible servers answer with 406."""
    import re as _re

    from elastic_transport import Urllib3HttpNode

    vendor = _re.compile(r"application/vnd\.elasticsearch\+([\w-]+);\s*compatible-with=\d+")

    class PlainJsonNode(Urllib3HttpNode):
        def perform_request(self, method, target, body=None, headers=None, **kw):  # type: ignore[no-untyped-def]
            if headers:
                headers = headers.copy()
                for name in ("accept", "content-type"):
                    if name in headers:
                        headers[name] = vendor.sub(r"application/\1", headers[name])
            return super().perform_request(method, target, body, headers, **kw)

    return PlainJsonNode


def _es_source(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: doc.get(k) for k in (*KEYWORDS, "version", *ANALYZED)}
    out["code_key"] = key64(doc["code"])
    return out


class ElasticsearchBackend:
    """Versioned indices (``<alias>-<n>``) behind an alias; external versioning; bulk."""

    name = "elasticsearch"

    def __init__(self, url: str, *, alias: str = "catalogue-items", compat_json: bool = True):
        from elasticsearch import Elasticsearch

        self.alias = alias
        options: dict[str, Any] = {"node_class": _plain_json_node()} if compat_json else {}
        self.es = Elasticsearch(url, request_timeout=10, max_retries=0, **options)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout

        try:
            return fn(*args, **kwargs)
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise BackendUnavailable(
                f"the search engine cannot be reached: {type(exc).__name__}"
            ) from exc

    def _indices(self) -> list[str]:
        try:
            found = self._call(self.es.indices.get_alias, name=self.alias)
        except BackendUnavailable:
            raise
        except Exception:
            return []
        return list(dict(found).keys())

    def ensure(self) -> None:
        if not self._indices():
            name = f"{self.alias}-1"
            self._call(self.es.indices.create, index=name, **es_mapping())
            self._call(
                self.es.indices.update_aliases,
                actions=[{"add": {"index": name, "alias": self.alias}}],
            )

    def _bulk(self, ops: list[dict[str, Any]], index: str | None = None) -> None:
        if not ops:
            return
        resp = self._call(self.es.bulk, operations=ops, index=index or self.alias, refresh=True)
        if resp.get("errors"):
            for item in resp["items"]:
                r = next(iter(item.values()))
                status = r.get("status", 200)
                # 409: the index holds a newer version (external versioning); 404: gone
                if status >= 300 and status not in (404, 409):
                    raise RuntimeError(f"bulk failed: {r}")

    def upsert(self, docs: list[dict[str, Any]]) -> None:
        self.ensure()
        ops: list[dict[str, Any]] = []
        for doc in docs:
            ops.append(
                {
                    "index": {
                        "_id": doc["code"],
                        "version": int(doc["version"]),
                        "version_type": "external_gte",
                    }
                }  # fmt: skip
            )
            ops.append(_es_source(doc))
        self._bulk(ops)

    def delete(self, items: list[tuple[str, int]]) -> None:
        self.ensure()
        ops = [
            {"delete": {"_id": code, "version": int(v) + 1, "version_type": "external"}}
            for code, v in items
        ]
        self._bulk(ops)

    def _query(self, terms: Terms, filters: Filters, prefer: Terms = ()) -> dict[str, Any]:
        must, must_not = split_filters(filters)
        bool_q: dict[str, Any] = {"filter": [{"terms": {f: v}} for f, v in must.items()]}
        if must_not:
            bool_q["must_not"] = [{"terms": {f: v}} for f, v in must_not.items()]
        if terms:
            bool_q["must"] = [
                {"bool": {"should": [{"term": {f: {"value": t, "boost": b}}} for f, t, b in terms]}}
            ]
            if prefer:
                bool_q["should"] = [{"term": {f: {"value": t, "boost": b}}} for f, t, b in prefer]
        else:
            bool_q["must"] = [{"match_all": {}}]
        return {"bool": bool_q}

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
    ) -> Result:
        aggs = {k: {"terms": {"field": f, "size": 100}} for k, f in FACET_FIELDS.items()}
        sort = [{"_score": "desc"}, {"code_key": "asc"}]
        if not collapse:
            body: dict[str, Any] = {
                "query": self._query(terms, filters, prefer),
                "from": offset,
                "size": limit,
                "sort": sort,
                "track_total_hits": True,
                "track_scores": True,
                "_source": [*KEYWORDS, "version"],
            }
            if facets:
                body["aggs"] = aggs
            resp = self._call(self.es.search, index=self.alias, **body)
            return self._result(resp, facets)
        # collapse: rank every match in the region chain (keys only), pick in Python
        query = self._query(terms, {**filters, "region_code": list(collapse)}, prefer)
        rows: list[tuple[Any, float, str, Any]] = []
        after: list[Any] | None = None
        while True:
            body = {
                "query": query,
                "size": 1000,
                "sort": sort,
                "track_scores": True,
                "_source": ["code", "region_code", "basic_code"],
            }
            if after:
                body["search_after"] = after
            page = self._call(self.es.search, index=self.alias, **body)["hits"]["hits"]
            rows += [
                (
                    h["_source"]["code"],
                    float(h["_score"]),
                    h["_source"]["region_code"],
                    h["_source"]["basic_code"],
                )  # fmt: skip
                for h in page
            ]
            if len(page) < 1000 or len(rows) >= COLLAPSE_WINDOW:
                break
            after = page[-1]["sort"]
        chosen = collapse_pick(rows, collapse)
        codes = [c for c, _, _, _ in chosen]
        wanted = codes[offset : offset + limit]
        scores = {c: sc for c, sc, _, _ in chosen}
        result = Result(len(chosen), [])
        if not codes:
            return result
        body = {
            "query": {"bool": {"filter": [{"terms": {"code": codes}}]}},
            "size": 0,
        }
        if facets:
            body["aggs"] = aggs
            result.facets = self._result(
                self._call(self.es.search, index=self.alias, **body), True
            ).facets
        if wanted:
            docs = self._call(
                self.es.search,
                index=self.alias,
                query={"bool": {"filter": [{"terms": {"code": wanted}}]}},
                size=len(wanted),
                _source=[*KEYWORDS, "version"],
            )
            by_code = {h["_source"]["code"]: h["_source"] for h in docs["hits"]["hits"]}
            result.hits = [Hit(scores[c], dict(by_code[c])) for c in wanted if c in by_code]
        return result

    def _result(self, resp: Any, facets: bool) -> Result:
        hits = [
            Hit(float(h.get("_score") or 0.0), dict(h["_source"])) for h in resp["hits"]["hits"]
        ]
        total = resp["hits"]["total"]
        result = Result(total["value"] if isinstance(total, dict) else int(total), hits)
        if facets:
            got = resp.get("aggregations", {})
            result.facets = {
                k: {b["key"]: b["doc_count"] for b in got.get(k, {}).get("buckets", [])}
                for k in FACET_FIELDS
            }
        return result

    def versions(self) -> dict[str, tuple[int, str]]:
        """code → (version, status) of every indexed item."""
        out: dict[str, tuple[int, str]] = {}
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"match_all": {}},
                "size": 1000,
                "sort": [{"code": "asc"}],
                "_source": ["code", "version", "status"],
            }
            if after:
                body["search_after"] = after
            resp = self._call(self.es.search, index=self.alias, **body)
            hits = resp["hits"]["hits"]
            for h in hits:
                src = h["_source"]
                out[src["code"]] = (int(src["version"]), src.get("status") or "")
            if len(hits) < 1000:
                return out
            after = hits[-1]["sort"]

    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> None:
        """Build ``<alias>-<n+1>``, bulk-load it, then swap the alias atomically."""
        old = self._indices()
        numbers = [int(i.rsplit("-", 1)[1]) for i in old if i.rsplit("-", 1)[1].isdigit()]
        name = f"{self.alias}-{max(numbers, default=0) + 1}"
        self._call(self.es.indices.create, index=name, **es_mapping())
        for batch in batches:
            ops: list[dict[str, Any]] = []
            for doc in batch:
                ops.append({"index": {"_id": doc["code"], "version": int(doc["version"]),
                                      "version_type": "external_gte"}})  # fmt: skip
                ops.append(_es_source(doc))
            self._bulk(ops, index=name)
        actions: list[dict[str, Any]] = [{"add": {"index": name, "alias": self.alias}}]
        actions += [{"remove": {"index": i, "alias": self.alias}} for i in old]
        self._call(self.es.indices.update_aliases, actions=actions)
        for i in old:
            self._call(self.es.indices.delete, index=i)

    def needs_rebuild(self) -> bool:
        return False  # the mapping is the same in every version so far

    def ping(self) -> bool:
        try:
            return bool(self.es.ping())
        except Exception:
            return False


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for x in items:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
