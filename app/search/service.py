"""Citizen search: query analysis, filters, region collapse, facets, suggestions, ranking
hygiene and clicks. Framework-free: the router turns these results and errors into HTTP.
Index documents are built in :mod:`.documents`; gaps and synonyms live in :mod:`.tables`
(re-exported here).

:class:`SearchEngine` needs only a backend (the relevance suite drives it directly);
:class:`SearchService` adds what lives in the database (regions, labels, synonyms, gaps).
"""

from __future__ import annotations

import gc
import re
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from app.catalogue.models import CatalogueEntry, Implementation
from app.config import Settings
from app.db import normalise_url
from app.directory.models import CodeListEntry, Department, Region
from app.errors import InvalidInput, field_error
from app.pagination import decode_cursor, encode_cursor
from app.search.analysis import Analyzer, QueryTerms, Synonyms, corpus_stop_words
from app.search.backends.base import Filters, Hit, SearchBackend
from app.search.backends.elastic import ElasticsearchBackend
from app.search.backends.embedded import TantivyBackend
from app.search.clicks import CLICK_WINDOW, ClickTable, rerank
from app.search.documents import item_context, item_search_document
from app.search.engine import (
    ALL_STATUSES,
    DEFAULT_STATUSES,
    LOW_RESULTS,
    RETIRED,
    SearchEngine,
    SearchRequest,
)
from app.search.highlight import highlight
from app.search.models import SearchGap, SynonymSet
from app.search.text import add_user_words, normalise, words
from app.search.thesaurus import catalogue_thesaurus
from app.search.vocabulary import DEFAULT_SYNONYMS


def backend_from_settings(settings: Settings) -> SearchBackend:
    """Empty ``search_url``: the embedded index next to the SQLite database (or in ``var/``);
    ``http(s)://…``: Elasticsearch."""
    if settings.search_url:
        return ElasticsearchBackend(
            settings.search_url,
            alias=settings.search_index,
            compat_json=settings.search_compat_json,
        )
    url = make_url(normalise_url(settings.database_url))
    folder = "search-index" if settings.search_index == "catalogue-items" else settings.search_index
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        directory = Path(url.database).parent / folder  # type: ignore[arg-type]
    else:
        directory = Path.cwd() / "var" / folder
    return TantivyBackend(directory)


_frozen = False


def freeze_long_lived() -> None:
    """Once per process, when the dictionaries, labels and caches are loaded: every object
    alive then leaves the collector's full passes. Each full pass walked them all: pauses
    of 70 ms in about 1 % of the searches over a million items, the slowest of them all."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


#: seconds a search trusts the synonym table's version it read last; other processes
#: see an admin's edit within this time
SYNONYMS_TRUSTED = 1.0


#: the reason of an empty answer for a region the catalogue holds no item of (nor of its
#: city or province): never other regions' results instead
REGION_WITHOUT_ITEMS = "region_without_items"


def entry_region_counts(
    session: Session, basic_codes: list[str], statuses: list[str]
) -> dict[str, int]:
    """How many regions implement each entry (items of these statuses): one grouped query
    for a page's entries (the basic code is indexed)."""
    if not basic_codes:
        return {}
    rows = session.exec(
        select(Implementation.basic_code, func.count(func.distinct(Implementation.region_code)))
        .where(
            Implementation.basic_code.in_(sorted(set(basic_codes))),  # type: ignore[attr-defined]
            Implementation.status.in_(statuses),  # type: ignore[attr-defined]
        )
        .group_by(Implementation.basic_code)
    ).all()
    return {code: int(n) for code, n in rows}


def region_has_items(session: Session, chain: list[str]) -> bool:
    """Whether the catalogue holds any item of the region, its city or its province."""
    found = session.exec(
        select(Implementation.code)
        .where(Implementation.region_code.in_(chain))  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    return found is not None


class SearchService:
    """One per process: caches regions, labels and the synonym version it last read."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend
        self.engine = SearchEngine(backend)
        self._lock = threading.Lock()
        self._prepared = False
        self._regions: dict[str, tuple[str, str | None]] = {}
        self._region_names: list[tuple[str, str]] = []
        self._labels: dict[str, dict[str, str]] = {}
        self._departments: dict[str, str] = {}
        self._department_short: dict[str, str] = {}
        self._synonyms: Synonyms | None = None
        self.clicks = ClickTable()
        self._synonyms_read = 0.0  # when the table's version was last read (monotonic)

    @property
    def analyzer(self) -> Analyzer:
        return self.engine.analyzer

    def prepare(self, session: Session) -> None:
        """Load the user dictionary (the catalogue's names and aliases), corpus stop words,
        regions and labels: once per process."""
        if self._prepared:
            return
        with self._lock:
            if self._prepared:
                return
            entries = session.exec(select(CatalogueEntry.name, CatalogueEntry.aliases)).all()
            names = [n for n, _ in entries]
            aliases = [a for _, al in entries for a in al or []]
            add_user_words([*names, *aliases])
            self.analyzer.stop |= corpus_stop_words(names)
            vocabulary = {w for n in [*names, *aliases] for w in words(normalise(n))}
            self.analyzer.thesaurus = catalogue_thesaurus(vocabulary)
            for r in session.exec(select(Region)):
                self._regions[r.code] = (r.name, r.parent_code)
            self._labels = {}
            for c in session.exec(select(CodeListEntry)):
                self._labels.setdefault(c.list_name, {})[c.code] = c.label
            departments = list(session.exec(select(Department)))
            self._departments = {d.credit_code: d.name for d in departments}
            self._department_short = {d.credit_code: d.short_name or "" for d in departments}
            self._region_names = self._region_keys()
            self._prepared = True
            freeze_long_lived()

    def document(
        self, session: Session, item: dict[str, Any], entries: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The index document of an item's representation, with what its catalogue entry
        adds (aliases, the main item's name, 业务办理项, ``name_en``); ``entries`` caches the
        entries of one batch."""
        self.prepare(session)
        cache = entries if entries is not None else {}
        facts = self._entry_facts(session, item["basic_code"], cache)
        context = item_context(
            item,
            department_short=self._department_short.get(item["department"]["code"]),
            parent_name=facts["parent_name"],
            handling_items=facts["handling_items"],
            name_en=facts["name_en"],
        )
        return item_search_document(item, facts["aliases"], self.analyzer, self._labels, context)

    @staticmethod
    def _entry_facts(session: Session, basic: str, cache: dict[str, Any]) -> dict[str, Any]:
        found = cache.get(basic)
        if found is None:
            entry = session.get(CatalogueEntry, basic)
            parent = (
                session.get(CatalogueEntry, entry.parent_basic_code)
                if entry is not None and entry.parent_basic_code
                else None
            )
            found = cache[basic] = {
                "aliases": list(entry.aliases or []) if entry else [],
                "parent_name": parent.name if parent else None,
                "handling_items": list(entry.handling_items or []) if entry else [],
                "name_en": getattr(entry, "name_en", None) if entry else None,
            }
        return found

    def refresh(self) -> None:
        self._prepared = False

    def forget_synonyms(self) -> None:
        """The synonym table was edited: read it again at the next search."""
        self._synonyms_read = 0.0

    def labels(self) -> dict[str, dict[str, str]]:
        return self._labels

    def _region_keys(self) -> list[tuple[str, str]]:
        """(name, code) of the province's regions, full and short names, longest first."""
        from app.config import get_settings

        province = get_settings().province[:2]
        keys: dict[str, str] = {}
        for code, (name, _) in self._regions.items():
            if not code.startswith(province):
                continue
            keys.setdefault(name, code)
            short = re.sub(r"(特别行政区|自治州|自治县|地区|省|市|区|县|盟|旗)$", "", name)
            if len(short) >= 2:
                keys.setdefault(short, code)
        return sorted(keys.items(), key=lambda kv: -len(kv[0]))

    def region_name(self, code: str) -> str | None:
        """The directory's name of a region (of any province), None when unknown."""
        return self._regions.get(code, (None, None))[0]

    def region_chain(self, code: str) -> list[str]:
        chain = []
        seen: str | None = code
        while seen and seen in self._regions and seen not in chain:
            chain.append(seen)
            seen = self._regions[seen][1]
        return chain

    def synonyms(self, session: Session) -> Synonyms:
        """The synonym table in use. Its version is read again after
        :data:`SYNONYMS_TRUSTED` seconds (an edit through this process, at once): reading it
        was a round trip to the database for every search, a fifth of the API's own time."""
        cached = self._synonyms
        now = time.monotonic()
        if cached is not None and now - self._synonyms_read < SYNONYMS_TRUSTED:
            return cached
        version = session.exec(select(func.max(SynonymSet.version))).one() or 0
        self._synonyms_read = now
        if cached is None or cached.version != version:
            if version:
                row = session.get(SynonymSet, version)
                groups = row.groups if row else []
            else:
                groups = DEFAULT_SYNONYMS
            cached = self._synonyms = Synonyms(groups, version)
        return cached

    # --- search ------------------------------------------------------------------------

    def search(
        self,
        session: Session,
        *,
        q: str | None,
        region: str | None,
        department: str | None,
        item_type: str | None,
        audience: str | None,
        theme: str | None,
        online: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
        entry: str | None = None,
    ) -> dict[str, Any]:
        """Without a region (nor ``entry`` or ``status``): one hit per catalogue entry, with
        how many regions implement it; ``entry`` (a basic code) lists all its
        implementations, as a ``status`` filter lists the implementations of those statuses."""
        started = time.perf_counter()
        self.prepare(session)
        errors: list[dict[str, Any]] = []
        text = (q or "").strip()
        if len(text) > 100:
            errors.append(field_error(["query", "q"], "at most 100 characters", "q.length"))
        filters: Filters = {}
        for fld, value in (("department_code", department), ("item_type", item_type),
                           ("audience", audience), ("themes", theme)):  # fmt: skip
            if value:
                filters[fld] = [v.strip() for v in value.split(",") if v.strip()]
        if entry is not None:
            if not re.fullmatch(r"[0-9A-Za-z]{1,40}", entry):
                errors.append(field_error(["query", "entry"], "a basic code", "entry"))
            else:
                filters["basic_code"] = [entry]
        if online is not None:
            if online.lower() not in ("true", "false"):
                errors.append(field_error(["query", "online"], "true or false", "online"))
            else:
                filters["online"] = [online.lower()]
        statuses = list(DEFAULT_STATUSES)
        if status:
            statuses = [s.strip() for s in status.split(",") if s.strip()]
            bad = [s for s in statuses if s not in ALL_STATUSES]
            if bad:
                errors.append(
                    field_error(
                        ["query", "status"],
                        f"unknown status {', '.join(bad)} (code list item_statuses: "
                        f"{', '.join(sorted(ALL_STATUSES))})",
                        "code_list.item_statuses",
                    )
                )
        chain: list[str] | None = None
        if region:
            if region not in self._regions:
                errors.append(
                    field_error(
                        ["query", "region"], f"unknown region {region}", "region_code.unknown"
                    )
                )
            else:
                chain = self.region_chain(region)
        offset = 0
        raw_cursor = decode_cursor(cursor)
        if raw_cursor is not None:
            if not raw_cursor.startswith("o:") or not raw_cursor[2:].isdigit():
                errors.append(
                    field_error(["query", "cursor"], "not a cursor of this API", "cursor")
                )
            else:
                offset = int(raw_cursor[2:])
        if errors:
            raise InvalidInput(f"{len(errors)} query parameter(s) are not valid", errors=errors)
        detected = None
        if text and chain is None:  # 道里区 社保: the region named in the query applies
            norm = normalise(text)
            for name, code in self._region_names:
                if name in norm and norm.replace(name, "").strip():
                    detected = code
                    text = norm.replace(name, " ").strip()
                    chain = self.region_chain(code)
                    break
        clicked = self.clicks.weights(session, text) if text and offset == 0 else {}
        page = self.engine.search(
            SearchRequest(
                q=text,
                region_chain=chain,
                filters=filters,
                statuses=statuses,
                offset=offset,
                limit=max(limit, CLICK_WINDOW) if clicked else limit,
                group=chain is None and entry is None and not status,
            ),
            self.synonyms(session),
        )
        if clicked:  # what citizens opened for this query rises (counts only, decayed)
            page.hits = rerank(page.hits, clicked, RETIRED)[:limit]
            page.next_offset = limit if limit < page.total else None
        if text and offset == 0 and page.total <= LOW_RESULTS:
            session.add(
                SearchGap(query=(q or "").strip()[:200], region=region or detected, hits=page.total)
            )
        marked: dict[str, list[str]] = {}  # name → its highlight: a page repeats names
        hits = [self._hit(h, page.terms, marked) for h in page.hits]
        grouped = chain is None and entry is None and not status
        if grouped:
            counts = entry_region_counts(session, [h["basic_code"] for h in hits], statuses)
            for h in hits:
                h["regions"] = counts.get(h["basic_code"], 1)
        answer: dict[str, Any] = {
            "total": page.total,
            "took_ms": round((time.perf_counter() - started) * 1000, 2),
            "region": detected or region,
            "grouped": grouped,
            "hits": hits,
            "facets": self._facets(page.facets),
            "next_cursor": encode_cursor(f"o:{page.next_offset}") if page.next_offset else None,
        }
        if chain is not None and not hits and not region_has_items(session, chain):
            answer["notice"] = REGION_WITHOUT_ITEMS
        return answer

    def _hit(self, hit: Hit, terms: QueryTerms, marked: dict[str, list[str]]) -> dict[str, Any]:
        d = hit.doc
        fragments = marked.get(d["name"])
        if fragments is None:  # segmenting a name costs more than the rest of a hit
            fragments = marked[d["name"]] = highlight(d["name"], terms)
        return {
            "code": d["code"],
            "basic_code": d["basic_code"],
            "name": d["name"],
            "department": {"code": d["department_code"], "name": d.get("department_name")},
            "region": {"code": d["region_code"], "name": d.get("region_name")},
            "type": {
                "code": d["item_type"],
                "label": self._labels.get("item_types", {}).get(d["item_type"]),
            },
            "status": d["status"],
            "online": d.get("online") == "true",
            "score": round(hit.score, 4),
            "highlight": {"name": fragments} if fragments else {},
        }

    def _facets(self, facets: dict[str, dict[str, int]]) -> dict[str, list[dict[str, Any]]]:
        def label(name: str, key: str) -> str | None:
            if name == "type":
                return self._labels.get("item_types", {}).get(key)
            if name == "theme":
                return self._labels.get("themes", {}).get(key)
            if name == "department":
                return self._departments.get(key)
            return self._regions.get(key, (None, None))[0]

        return {
            name: [
                {"key": k, "label": label(name, k), "count": c}
                for k, c in sorted(facets.get(name, {}).items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            for name in ("type", "department", "region", "theme")
        }

    def suggest(self, session: Session, q: str, region: str | None, limit: int) -> dict[str, Any]:
        self.prepare(session)
        chain = None
        if region:
            if region not in self._regions:
                raise InvalidInput.field(
                    ["query", "region"], f"unknown region {region}", "region_code.unknown"
                )
            chain = self.region_chain(region)
        return {"suggestions": self.engine.suggest(q, chain, limit)}
