"""Search backends: the embedded tantivy index (default) and Elasticsearch.

Both receive documents already analyzed by :mod:`app.search.analysis` (whitespace-joined
tokens) and answer weighted term queries with BM25, keyword filters and term facets, so
they rank alike. Neither knows about the catalogue database. What both share lives in
:mod:`app.search.backends.base`; :mod:`.embedded` and :mod:`.elastic` are the engines.
"""

from app.search.backends.base import (
    ANALYZED,
    COLLAPSE_WINDOW,
    FACET_FIELDS,
    FACET_KEYS,
    KEYWORDS,
    MULTI,
    RANK_WINDOW,
    SCHEMA_VERSION,
    STATUSES,
    BackendUnavailable,
    Filters,
    Hit,
    Result,
    SearchBackend,
    Terms,
    chunks,
    collapse_pick,
    facet_key,
    key64,
    split_filters,
)
from app.search.backends.elastic import ElasticsearchBackend, es_mapping
from app.search.backends.embedded import TantivyBackend

__all__ = [
    "ANALYZED",
    "COLLAPSE_WINDOW",
    "FACET_FIELDS",
    "FACET_KEYS",
    "KEYWORDS",
    "MULTI",
    "RANK_WINDOW",
    "SCHEMA_VERSION",
    "STATUSES",
    "BackendUnavailable",
    "ElasticsearchBackend",
    "Filters",
    "Hit",
    "Result",
    "SearchBackend",
    "TantivyBackend",
    "Terms",
    "chunks",
    "collapse_pick",
    "es_mapping",
    "facet_key",
    "key64",
    "split_filters",
]
