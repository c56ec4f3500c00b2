"""Search backends: the embedded tantivy index (default) and Elasticsearch.

Both receive documents already analyzed by :mod:`app.search.analysis` (whitespace-joined
tokens) and answer weighted term queries with BM25, keyword filters and term facets, so
they rank alike. Neither knows about the catalogue database.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import tantivy

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


class BackendUnavailable(RuntimeError):
    """The search engine cannot be reached; the caller retries later."""


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
    ) -> Result: ...

    def versions(self) -> dict[str, tuple[int, str]]: ...

    def rebuild(self, docs: Iterable[list[dict[str, Any]]]) -> None: ...

    def ping(self) -> bool: ...


def _sort_hits(hits: list[Hit]) -> list[Hit]:
    """Equal scores in code order, so that both backends break ties alike."""
    return sorted(hits, key=lambda h: (-round(h.score, 3), h.doc.get("code", "")))


# --- embedded: tantivy -------------------------------------------------------------


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    for name in KEYWORDS:
        b.add_text_field(name, stored=True, fast=True, tokenizer_name="raw")
    b.add_integer_field("version", stored=True, fast=True, indexed=True)
    for name in ANALYZED:
        b.add_text_field(name, stored=False, tokenizer_name="whitespace", index_option="freq")
    return b.build()


class TantivyBackend:
    """An index directory; ``CURRENT`` names the live generation, so ``rebuild`` builds
    the next one aside and swaps it in (readers and the writer follow the pointer)."""

    name = "embedded"

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self._lock = threading.RLock()
        self._generation: str | None = None
        self._index: tantivy.Index | None = None
        self._writer: Any = None
        self._reloaded = 0.0
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
            if gen == self._generation and self._index is not None:
                return
            self._writer = None
            self._index = tantivy.Index(self.schema, path=str(self.root / gen), reuse=True)
            self._generation = gen

    def _idx(self) -> tantivy.Index:
        now = time.monotonic()
        if now - self._reloaded > 0.5:  # follow commits and swaps of other writers
            self._open()
            assert self._index is not None
            self._index.reload()
            self._reloaded = now
        assert self._index is not None
        return self._index

    def _w(self) -> Any:
        self._open()
        if self._writer is None:
            assert self._index is not None
            self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        return self._writer

    def _document(self, doc: dict[str, Any]) -> tantivy.Document:
        d = tantivy.Document()
        for name in KEYWORDS:
            value = doc.get(name)
            for v in value if isinstance(value, list) else [value]:
                if v is not None and v != "":
                    d.add_text(name, str(v))
        d.add_integer("version", int(doc["version"]))
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

    def _query(self, terms: Terms, filters: Filters, prefer: Terms = ()) -> tantivy.Query:
        Q, Occur = tantivy.Query, tantivy.Occur
        clauses: list[tuple[Any, Any]] = []
        if terms:
            should = [
                (Occur.Should, Q.boost_query(Q.term_query(self.schema, f, t), b))
                for f, t, b in terms
            ]
            clauses.append((Occur.Must, Q.boolean_query(should)))
            for f, t, b in prefer:
                clauses.append((Occur.Should, Q.boost_query(Q.term_query(self.schema, f, t), b)))
        for f, values in filters.items():
            clauses.append(
                (Occur.Must, Q.const_score_query(Q.term_set_query(self.schema, f, values), 0.0))
            )
        if not clauses:
            return Q.all_query()
        if not terms:
            clauses.append((Occur.Must, Q.const_score_query(Q.all_query(), 1.0)))
        return Q.boolean_query(clauses)

    def search(
        self,
        terms: Terms,
        filters: Filters,
        *,
        offset: int,
        limit: int,
        facets: bool,
        prefer: Terms = (),
    ) -> Result:
        idx = self._idx()
        searcher = idx.searcher()
        query = self._query(terms, filters, prefer)
        found = searcher.search(query, limit=offset + limit, count=True)
        hits = []
        for score, addr in found.hits:
            d = searcher.doc(addr).to_dict()
            doc = {k: (v if k in MULTI else v[0]) for k, v in d.items()}
            hits.append(Hit(float(score), doc))
        hits = _sort_hits(hits)[offset:]
        result = Result(total=found.count or 0, hits=hits)
        if facets:
            aggs = {k: {"terms": {"field": f, "size": 100}} for k, f in FACET_FIELDS.items()}
            raw = searcher.aggregate(query, aggs)
            result.facets = {
                k: {b["key"]: b["doc_count"] for b in raw.get(k, {}).get("buckets", [])}
                for k in FACET_FIELDS
            }
        return result

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
        return True


# --- Elasticsearch -----------------------------------------------------------------


def es_mapping() -> dict[str, Any]:
    """The index mapping, as code: keywords for filters and facets, whitespace-analysed
    text for the tokens the Python analyzer produced."""
    props: dict[str, Any] = {k: {"type": "keyword"} for k in KEYWORDS}
    props["version"] = {"type": "long"}
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
            raise BackendUnavailable(str(exc)) from exc

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
            ops.append({k: doc.get(k) for k in (*KEYWORDS, "version", *ANALYZED)})
        self._bulk(ops)

    def delete(self, items: list[tuple[str, int]]) -> None:
        self.ensure()
        ops = [
            {"delete": {"_id": code, "version": int(v) + 1, "version_type": "external"}}
            for code, v in items
        ]
        self._bulk(ops)

    def _query(self, terms: Terms, filters: Filters, prefer: Terms = ()) -> dict[str, Any]:
        bool_q: dict[str, Any] = {
            "filter": [{"terms": {f: values}} for f, values in filters.items()]
        }
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
    ) -> Result:
        body: dict[str, Any] = {
            "query": self._query(terms, filters, prefer),
            "from": 0,
            "size": offset + limit,
            "track_total_hits": True,
            "_source": [*KEYWORDS, "version"],
        }
        if facets:
            body["aggs"] = {
                k: {"terms": {"field": f, "size": 100}} for k, f in FACET_FIELDS.items()
            }
        resp = self._call(self.es.search, index=self.alias, **body)
        hits = [
            Hit(float(h.get("_score") or 0.0), dict(h["_source"])) for h in resp["hits"]["hits"]
        ]
        total = resp["hits"]["total"]
        result = Result(
            total=total["value"] if isinstance(total, dict) else int(total),
            hits=_sort_hits(hits)[offset:],
        )
        if facets:
            aggs = resp.get("aggregations", {})
            result.facets = {
                k: {b["key"]: b["doc_count"] for b in aggs.get(k, {}).get("buckets", [])}
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
                ops.append({k: doc.get(k) for k in (*KEYWORDS, "version", *ANALYZED)})
            self._bulk(ops, index=name)
        actions: list[dict[str, Any]] = [{"add": {"index": name, "alias": self.alias}}]
        actions += [{"remove": {"index": i, "alias": self.alias}} for i in old]
        self._call(self.es.indices.update_aliases, actions=actions)
        for i in old:
            self._call(self.es.indices.delete, index=i)

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
