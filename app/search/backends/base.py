"""What every search backend shares: the document layout (keyword and analysed fields),
results, filters, the protocol, and the keys of ties, collapsing and facets."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import Gauge

from app.catalogue.statuses import STATUS_LABELS
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
#: the one preference (a scoring-only term) the embedded index applies from a column after
#: ranking the words, and that column
PREFER_TERM = ("flags", "primary")
PREFER_COLUMN = "primary_num"
#: the layout of the index (both backends): each schema version has an index of its own
#: (Elasticsearch: alias ``<name>-v<N>`` over ``<name>-v<N>-<n>``; embedded: folder ``v<N>``)
#: that this release reads and writes; bump it with every change of the layout
SCHEMA_VERSION = 5
#: the schema versions whose index this release's query code reads: its own, and the older
#: ones it can serve from while its own is being built (a release that rolls in finds only
#: the previous release's index); docs/decisions/0009-an-index-per-schema-version.md
READABLE = frozenset({5})
#: the schema of an index named before names carried one (the alias or folder named
#: ``CATALOGUE_SEARCH_INDEX`` itself): the releases that built it had schema 5
LEGACY_SCHEMA = 5


#: with a region, the best matches collapsed to one per catalogue entry (a county, its city
#: and the province hold a few thousand implementations at most)
COLLAPSE_WINDOW = 5000
#: matches read in one ranking pass: the ties of the last hit of a page are read too (one
#: item's implementations in every county score alike), and one pass of a few thousand
#: costs little more than one of a few hundred, while a second pass costs a whole query
RANK_WINDOW = 2000
#: the widest window of ``TantivyBackend._page`` (a few ms a pass at a million): beyond it
#: the one pass of the words with the preference costs less than another widening
PAGE_WINDOW_MAX = 4 * RANK_WINDOW

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


@dataclass(frozen=True)
class OtherIndex:
    """An index of this catalogue that is not this release's own: another schema version's,
    or the one named before names carried the version (``legacy``)."""

    schema: int
    name: str  # the Elasticsearch alias, or the embedded index's folder
    legacy: bool = False


@dataclass(frozen=True)
class Serving:
    """Which index searches read: this release's own (``serves_from == schema``), or, while
    that is being built, the newest older one it reads (``detail`` says so)."""

    schema: int
    serves_from: int
    index: str
    detail: str = ""


SERVES_FROM = Gauge(
    "catalogue_search_serves_from_schema",
    "The schema version of the index this process's searches read, by the schema version "
    "of its own: lower while its own index is being built (a release rolling in)",
    ["schema"],
    multiprocess_mode="livemin",
)


def on_the_index_read(search: Callable[..., Result]) -> Callable[..., Result]:
    """A backend's ``search`` made to read the index this release reads (``_reading``): its
    own, or another schema's while its own is being built (decision 0009)."""

    @functools.wraps(search)
    def reading(self: Any, terms: Terms, filters: Filters, **options: Any) -> Result:
        reader = self._reading()
        if reader is not self:
            return reader.search(terms, filters, **options)
        return search(self, terms, filters, **options)

    return reading


def pick_readable(others: Iterable[OtherIndex], readable: Iterable[int]) -> OtherIndex | None:
    """The index to serve from while the own one is built: the newest schema this release
    reads (a versioned index before the legacy one of the same schema)."""
    usable = [o for o in others if o.schema in set(readable)]
    return max(usable, key=lambda o: (o.schema, not o.legacy), default=None)


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
        group: bool = False,
    ) -> Result: ...

    def versions(self) -> dict[str, tuple[int, str]]: ...

    def rebuild(self, docs: Iterable[list[dict[str, Any]]]) -> None: ...

    def needs_rebuild(self) -> bool: ...

    def applied_mark(self) -> dict[str, Any] | None: ...

    def mark_applied(self, mark: dict[str, Any]) -> None: ...

    def ping(self) -> bool: ...

    #: the schema version of the index this backend writes (``SCHEMA_VERSION`` in production)
    schema_version: int

    def serving(self) -> Serving: ...

    def others(self) -> list[OtherIndex]: ...

    def drop(self, other: OtherIndex) -> None: ...


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


def group_pick(rows: Iterable[tuple[Any, float, str, Any]]) -> list[tuple[Any, float, str, Any]]:
    """``rows`` are (ref, score, region, entry) in rank order: keep, per entry, its first."""
    seen: set[Any] = set()
    out = []
    for row in rows:
        if row[3] not in seen:
            seen.add(row[3])
            out.append(row)
    return out


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for x in items:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
