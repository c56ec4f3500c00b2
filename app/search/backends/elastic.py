"""The Elasticsearch / OpenSearch backend (the official client; osmem-server in tests)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence
from typing import Any

from app.search.backends.base import (
    ANALYZED,
    COLLAPSE_WINDOW,
    FACET_FIELDS,
    KEYWORDS,
    LEGACY_SCHEMA,
    PREFIX_FIELD,
    READABLE,
    SCHEMA_VERSION,
    SERVES_FROM,
    BackendUnavailable,
    Filters,
    Hit,
    OtherIndex,
    Result,
    Serving,
    Terms,
    collapse_pick,
    group_pick,
    key64,
    on_the_index_read,
    pick_readable,
    split_filters,
)


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
    """An alias per schema version (``<name>-v<N>``) over numbered indices
    (``<name>-v<N>-<n>``): this release reads and writes its own schema's; while that one
    is being built (a release rolling in), searches read the newest alias of a schema it
    reads (``READABLE``), the alias ``<name>`` of the releases before versioned names
    included. External versioning; bulk."""

    name = "elasticsearch"

    def __init__(
        self,
        url: str,
        *,
        alias: str = "catalogue-items",
        compat_json: bool = True,
        schema_version: int = SCHEMA_VERSION,
        readable: frozenset[int] = READABLE,
    ):
        from elasticsearch import Elasticsearch

        self.base = alias  # CATALOGUE_SEARCH_INDEX
        self.schema_version = schema_version
        self.readable = frozenset(readable) | {schema_version}
        self.alias = f"{alias}-v{schema_version}"  # what this release reads and writes
        options: dict[str, Any] = {"node_class": _plain_json_node()} if compat_json else {}
        self.es = Elasticsearch(url, request_timeout=10, max_retries=0, **options)
        self._own = False  # its alias was seen: it is never removed again
        self._fallback: ElasticsearchBackend | None = None
        self._reason = ""  # why searches cannot be answered (no index this release reads)
        self._looked = 0.0

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout

        try:
            return fn(*args, **kwargs)
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise BackendUnavailable(
                f"the search engine cannot be reached: {type(exc).__name__}"
            ) from exc

    def _aliased(self, name: str) -> dict[str, Any]:
        """index → its aliases, of the aliases ``name`` (a wildcard allowed)."""
        try:
            found = self._call(self.es.indices.get_alias, name=name)
        except BackendUnavailable:
            raise
        except Exception:  # 404: no such alias
            return {}
        return {i: list(dict(body).get("aliases", {})) for i, body in dict(found).items()}

    def _indices(self) -> list[str]:
        return list(self._aliased(self.alias))

    def _body(self) -> dict[str, Any]:
        """The index's settings and mapping, which also say its schema version."""
        body = es_mapping()
        body["mappings"]["_meta"] = {"schema": self.schema_version}
        return body

    def others(self) -> list[OtherIndex]:
        """The aliases of this catalogue's other schema versions, and the unversioned one
        of the releases before (its schema in its ``_meta``, else ``LEGACY_SCHEMA``)."""
        found: set[OtherIndex] = set()
        prefix = f"{self.base}-v"
        for aliases in self._aliased(prefix + "*").values():
            for a in aliases:
                n = a[len(prefix) :]
                if a.startswith(prefix) and n.isdigit() and int(n) != self.schema_version:
                    found.add(OtherIndex(int(n), a))
        for index in self._aliased(self.base):
            mapping = dict(self._call(self.es.indices.get_mapping, index=index)).get(index, {})
            meta = mapping.get("mappings", {}).get("_meta") or {}
            found.add(OtherIndex(int(meta.get("schema") or LEGACY_SCHEMA), self.base, True))
        return sorted(found, key=lambda o: (o.schema, not o.legacy))

    def _view(self, other: OtherIndex) -> ElasticsearchBackend:
        """This backend reading another schema's alias (the same client)."""
        view = copy.copy(self)
        view.alias, view.schema_version = other.name, other.schema
        view.readable = frozenset({other.schema})
        view._own, view._fallback, view._reason = True, None, ""
        return view

    def _reading(self) -> ElasticsearchBackend:
        """What searches read: this backend once its alias exists (or when the cluster holds
        no index of this catalogue: a new install); until then a view of the newest alias
        this release reads (looked for again every second); none: 503 with the reason."""
        if self._own:
            return self
        now = time.monotonic()
        if now - self._looked > 1.0:
            self._looked = now
            self._fallback, self._reason = None, ""
            self._own = bool(self._indices())
            others = [] if self._own else self.others()
            other = pick_readable(others, self.readable)
            if not others:
                pass  # its own, or a new install's (made by its first write)
            elif other is None:
                newest = others[-1]
                self._reason = (
                    f"the search index {newest.name} has schema version {newest.schema}, this "
                    f"version needs {self.schema_version} (reads {sorted(self.readable)}): "
                    "run `catalogue reindex`"
                )
            else:
                self._fallback = self._view(other)
            SERVES_FROM.labels(str(self.schema_version)).set(
                other.schema if other else self.schema_version
            )
        if self._reason:
            raise BackendUnavailable(self._reason)
        return self._fallback or self

    def serving(self) -> Serving:
        """Which alias searches read, and why when it is not this release's own."""
        reader = self._reading()
        if reader is self:
            SERVES_FROM.labels(str(self.schema_version)).set(self.schema_version)
            return Serving(self.schema_version, self.schema_version, self.alias)
        return Serving(
            self.schema_version,
            reader.schema_version,
            reader.alias,
            f"the index of schema version {self.schema_version} is being built: searches "
            f"read {reader.alias} (schema version {reader.schema_version}) until it is",
        )

    def drop(self, other: OtherIndex) -> None:
        """Delete the indices behind another schema's alias (the indexer prunes those no
        release reads)."""
        for index in self._aliased(other.name):
            self._call(self.es.indices.delete, index=index)

    def ensure(self) -> None:
        """This release's index, made empty only when the catalogue has none at all: beside
        another schema's it is built whole by ``rebuild`` before searches switch to it."""
        if not self._indices():
            if self.others():
                raise BackendUnavailable(
                    f"the search index {self.alias} (schema version {self.schema_version}) "
                    "is not built yet: the indexer builds it (or run `catalogue reindex`)"
                )
            name = f"{self.alias}-1"
            self._call(self.es.indices.create, index=name, **self._body())
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
        aggs = {k: {"terms": {"field": f, "size": 100}} for k, f in FACET_FIELDS.items()}
        sort = [{"_score": "desc"}, {"code_key": "asc"}]
        if not collapse and not group:
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
        # collapse (group): rank every match in the region chain (everywhere), keys only,
        # pick in Python
        if collapse:
            filters = {**filters, "region_code": list(collapse)}
        query = self._query(terms, filters, prefer)
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
        chosen = collapse_pick(rows, collapse) if collapse else group_pick(rows)
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
        self._call(self.es.indices.create, index=name, **self._body())
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
        """An index whose mapping lacks fields of this version's (``dynamic: strict`` would
        refuse its documents) is rebuilt, as the embedded index of another schema is; so is
        a missing one beside another schema's (built whole, then switched)."""
        indices = self._indices()
        if not indices:
            return bool(self.others())
        try:
            found = self._call(self.es.indices.get_mapping, index=indices[0])
        except BackendUnavailable:
            raise
        except Exception:
            return False
        body = dict(found).get(indices[0], {})
        props = body.get("mappings", {}).get("properties", {})
        return not set(es_mapping()["mappings"]["properties"]) <= set(props)

    def applied_mark(self) -> dict[str, Any] | None:
        """The history mark in the live index's mapping (``_meta.applied``)."""
        indices = self._indices()
        if not indices:
            return None
        found = self._call(self.es.indices.get_mapping, index=indices[0])
        meta = dict(found).get(indices[0], {}).get("mappings", {}).get("_meta") or {}
        applied = meta.get("applied")
        return dict(applied) if applied else None

    def mark_applied(self, mark: dict[str, Any]) -> None:
        """Keep in the live index's mapping where in which history it stands (in the
        cluster, not the database: a restored database brings its own position back)."""
        self.ensure()
        meta = {"schema": self.schema_version, "applied": mark}  # _meta is replaced whole
        self._call(self.es.indices.put_mapping, index=self.alias, meta=meta)

    def ping(self) -> bool:
        try:
            up = bool(self.es.ping())
        except Exception:
            return False
        if up:
            self._reading()  # no index this release reads: the reason, for /readyz
        return up
