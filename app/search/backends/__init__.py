"""Search backends: the embedded tantivy index (default) and Elasticsearch.

Both receive documents already analyzed by :mod:`app.search.analysis` (whitespace-joined
tokens) and answer weighted term queries with BM25, keyword filters and term facets, so
they rank alike. Neither knows about the catalogue database. What both share lives in
:mod:`app.search.backends.base`; :mod:`.embedded` and :mod:`.elastic` are the engines.
"""
