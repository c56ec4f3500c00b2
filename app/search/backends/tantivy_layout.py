"""The embedded index's document layout: its tantivy schema and the tantivy document of a
backend document (``app.search.backends.base``'s fields)."""

from __future__ import annotations

from typing import Any

import tantivy

from app.search.backends.base import (
    ANALYZED,
    FACET_FIELDS,
    FACET_KEYS,
    KEYWORDS,
    PREFER_COLUMN,
    PREFER_TERM,
    facet_key,
    key64,
)

#: key64 of entry codes and facet values (they repeat across a catalogue's items), bounded
_KEYS_KEPT = 100_000
_ENTRY_KEYS: dict[str, int] = {}
_FACET_KEYS: dict[tuple[str, ...], int] = {}


def _cached_key(value: str) -> int:
    found = _ENTRY_KEYS.get(value)
    if found is None:
        if len(_ENTRY_KEYS) >= _KEYS_KEPT:
            _ENTRY_KEYS.clear()
        found = _ENTRY_KEYS[value] = key64(value)
    return found


def schema() -> tantivy.Schema:
    """The embedded index's fields (``SCHEMA_VERSION``)."""
    b = tantivy.SchemaBuilder()
    aggregated = set(FACET_FIELDS.values())
    for name in KEYWORDS:  # a column only where the facets aggregate it: a build writes less
        b.add_text_field(name, stored=True, fast=name in aggregated, tokenizer_name="raw")
    b.add_integer_field("version", stored=True, fast=False, indexed=False)
    for name in ("code_key", "entry_key", "region_num", PREFER_COLUMN):  # read, never searched
        b.add_integer_field(name, stored=False, fast=True, indexed=False)
    for name in FACET_KEYS.values():  # facets of collapsed hits: read, never searched
        b.add_integer_field(name, stored=False, fast=True, indexed=False)
    for name in ANALYZED:
        b.add_text_field(name, stored=False, tokenizer_name="whitespace", index_option="freq")
    return b.build()


def tantivy_document(doc: dict[str, Any]) -> tantivy.Document:
    """The tantivy document of a backend document. A build makes a million of these in
    one thread while the engine's indexing threads wait for them: the keys of values
    that repeat (entries, facet values) come from a cache, not a hash each time."""
    d = tantivy.Document()
    add_text, add_integer, get = d.add_text, d.add_integer, doc.get
    for name in KEYWORDS:
        value = get(name)
        if isinstance(value, list):
            for v in value:
                if v is not None and v != "":
                    add_text(name, str(v))
        elif value is not None and value != "":
            add_text(name, str(value))
    add_integer("version", int(doc["version"]))
    add_integer("code_key", key64(doc["code"]))
    add_integer("entry_key", _cached_key(doc["basic_code"]))
    region = doc["region_code"]
    add_integer("region_num", int(region) if region.isdigit() else 0)
    add_integer(PREFER_COLUMN, 1 if PREFER_TERM[1] in str(get(PREFER_TERM[0]) or "") else 0)
    for name, key in FACET_KEYS.items():
        value = get(name)
        if isinstance(value, list):
            values = tuple(str(v) for v in value if v is not None and v != "")
        else:
            values = (str(value),) if value is not None and value != "" else ()
        found = _FACET_KEYS.get(values)
        if found is None:
            if len(_FACET_KEYS) >= _KEYS_KEPT:
                _FACET_KEYS.clear()
            found = _FACET_KEYS[values] = facet_key(list(values))
        add_integer(key, found)
    for name in ANALYZED:
        text = get(name)
        if text:
            add_text(name, text)
    return d
