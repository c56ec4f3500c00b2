"""The embedded backend: a tantivy index directory with generations behind ``CURRENT``."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import tantivy

from app.search.backends.base import (
    LEGACY_SCHEMA,
    READABLE,
    SCHEMA_VERSION,
    SERVES_FROM,
    BackendUnavailable,
    OtherIndex,
    Serving,
    pick_readable,
)
from app.search.backends.tantivy_layout import schema, tantivy_document
from app.search.backends.tantivy_search import TantivySearch

#: the facet aggregation and the ranking pass run side by side (the engine releases the GIL)
_FACET_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-facets")


def _layout(path: Path, default: int) -> int:
    """The schema version a generation was built with: its ``SCHEMA`` file; a generation of
    the versions before that file is 1; an empty folder takes ``default``."""
    marker = path / "SCHEMA"
    if marker.exists():
        return int(marker.read_text().strip() or 1)
    return 1 if (path / "meta.json").exists() else default


def _generation_of(folder: Path) -> str | None:
    """The live generation of an index folder (its ``CURRENT``), None without one."""
    try:
        return (folder / "CURRENT").read_text().strip() or None
    except OSError:
        return None


class TantivyBackend(TantivySearch):
    """The embedded index: in its folder, a folder per schema version (``v<N>``), whose
    ``CURRENT`` names the live generation, so ``rebuild`` builds the next one aside and
    swaps it in (readers and the writer follow the pointer). While this release's folder
    has no index and another schema's has (a release rolling in), searches read the newest
    one this release reads (``READABLE``) and writes wait for the rebuild; with none it
    reads, 503 with the reason. A generation of another schema version in its own folder
    is not opened: searches and writes answer 503 until a rebuild (``catalogue reindex``,
    or the indexer thread) replaces it."""

    name = "embedded"

    def __init__(
        self,
        path: str | Path,
        *,
        schema_version: int = SCHEMA_VERSION,
        readable: frozenset[int] = READABLE,
    ) -> None:
        self.base = Path(path)
        self.base.mkdir(parents=True, exist_ok=True)
        self.schema_version = schema_version
        self.readable = frozenset(readable) | {schema_version}
        self._setup(self.base / f"v{schema_version}", read_only=False)
        self.schema = schema()
        self._open()

    def _setup(self, root: Path, read_only: bool) -> None:
        self.root = root  # this schema version's folder
        self._read_only = read_only  # over another schema's index: its own fields, no writes
        self._lock = threading.RLock()
        self._generation: str | None = None
        self._index: tantivy.Index | None = None
        self._stale: int | None = None  # the schema version of a generation not opened
        self._writer: Any = None
        self._reloaded = 0.0
        #: key64 → the facet values it stands for: a function of the key, so never stale
        self._facet_values: dict[int, tuple[str, ...]] = {}
        #: while this folder has no index: what searches read instead, and when it was looked for
        self._fallback: TantivyBackend | None = None
        self._looked = 0.0

    @classmethod
    def _over(cls, other: OtherIndex) -> TantivyBackend:
        """A backend that reads another schema's index, with that index's own fields."""
        self = cls.__new__(cls)
        self.base = Path(other.name)
        self.schema_version = other.schema
        self.readable = frozenset({other.schema})
        self._setup(Path(other.name), read_only=True)
        self._open()
        return self

    def _current(self) -> str | None:
        """The live generation; a first one when the catalogue has no index at all yet (a
        new install: nothing to serve from meanwhile). None while another schema's index
        exists and this one is not built: ``rebuild`` makes it whole, then it is switched."""
        gen = _generation_of(self.root)
        if gen is not None or self._read_only or self.others():
            return gen
        gen = "g1"
        (self.root / gen).mkdir(parents=True, exist_ok=True)
        (self.root / "CURRENT").write_text(gen)
        return gen

    def _open(self) -> None:
        with self._lock:
            gen = self._current()
            if gen is None:
                self._writer = self._index = self._generation = self._stale = None
                return
            if gen == self._generation and (self._index is not None or self._stale):
                return
            self._writer = None
            self._index = None
            self._generation = gen
            path = self.root / gen
            layout = _layout(path, self.schema_version)
            self._stale = layout if layout != self.schema_version else None
            if self._stale is None and self._read_only:
                self._index = tantivy.Index.open(str(path))
                self.schema = self._index.schema
            elif self._stale is None:
                self._index = tantivy.Index(self.schema, path=str(path), reuse=True)
                if not (path / "SCHEMA").exists():
                    (path / "SCHEMA").write_text(str(self.schema_version))

    def _live(self) -> tantivy.Index:
        if self._index is None and self._generation is None:
            raise BackendUnavailable(
                f"the search index of schema version {self.schema_version} ({self.root}) is "
                "not built yet: the indexer builds it (or run `catalogue reindex`)"
            )
        if self._index is None:
            raise BackendUnavailable(
                f"the search index {self.root / str(self._generation)} has schema version "
                f"{self._stale}, this version needs {self.schema_version}: run "
                "`catalogue reindex`"
            )
        return self._index

    def needs_rebuild(self) -> bool:
        """Its generation has another schema, or it has none while another schema's index
        exists (built whole before searches switch to it, never document by document)."""
        self._open()
        return self._stale is not None or self._generation is None

    def others(self) -> list[OtherIndex]:
        """The indices of this catalogue beside this release's: other schema versions'
        folders, and the generations of the releases before folders per version."""
        found: list[OtherIndex] = []
        legacy = _generation_of(self.base)
        if legacy is not None:
            layout = _layout(self.base / legacy, LEGACY_SCHEMA)
            found.append(OtherIndex(layout, str(self.base), legacy=True))
        for folder in self.base.glob("v*"):
            n = folder.name[1:]
            if n.isdigit() and int(n) != self.schema_version and _generation_of(folder):
                found.append(OtherIndex(int(n), str(folder)))
        return sorted(found, key=lambda o: (o.schema, not o.legacy))

    def _reading(self) -> TantivyBackend:
        """What searches read: this backend once its folder has an index; until then one
        over the newest index this release reads (looked for again every second)."""
        if self._generation is not None or self._read_only:
            return self
        now = time.monotonic()
        if self._fallback is None or now - self._looked > 1.0:
            self._looked = now
            self._open()
            if self._generation is not None:  # built (here or by another process)
                self._fallback = None
                SERVES_FROM.labels(str(self.schema_version)).set(self.schema_version)
                return self
            other = pick_readable(self.others(), self.readable)
            if other is None:
                self._fallback = None
            elif self._fallback is None or self._fallback.root != Path(other.name):
                self._fallback = TantivyBackend._over(other)
            if other is not None:
                SERVES_FROM.labels(str(self.schema_version)).set(other.schema)
        if self._fallback is None:
            newest = max(self.others(), key=lambda o: o.schema, default=None)
            raise BackendUnavailable(
                f"the search index {newest.name if newest else self.root} has schema version "
                f"{newest.schema if newest else '-'}, this version needs {self.schema_version} "
                f"(reads {sorted(self.readable)}): run `catalogue reindex`"
            )
        return self._fallback

    def serving(self) -> Serving:
        """Which index searches read, and why when it is not this release's own."""
        reader = self._reading()
        name = str(reader.root.relative_to(self.base.parent))  # no host paths on /readyz
        if reader is self:
            SERVES_FROM.labels(str(self.schema_version)).set(self.schema_version)
            return Serving(self.schema_version, self.schema_version, name)
        return Serving(
            self.schema_version,
            reader.schema_version,
            name,
            f"the index of schema version {self.schema_version} is being built: searches "
            f"read {name} (schema version {reader.schema_version}) until it is",
        )

    def drop(self, other: OtherIndex) -> None:
        """Remove another schema's index (the indexer prunes those no release reads)."""
        folder = Path(other.name)
        if not other.legacy:
            aside = self.base / f".dropped-{folder.name}-{os.getpid()}"
            os.replace(folder, aside)  # gone for every reader at once
            shutil.rmtree(aside, ignore_errors=True)
            return
        (folder / "CURRENT").unlink(missing_ok=True)  # the legacy layout: beside the folders
        (folder / "CURRENT.tmp").unlink(missing_ok=True)
        for child in folder.iterdir():
            if child.is_dir() and re.fullmatch(r"g\d+", child.name):
                shutil.rmtree(child, ignore_errors=True)

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
                w.add_document(tantivy_document(doc))
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
            old = _generation_of(self.root)
            gen = f"g{int(old[1:]) + 1 if old and old[1:].isdigit() else 1}"
            path = self.root / gen
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            index = tantivy.Index(self.schema, path=str(path))
            (path / "SCHEMA").write_text(str(self.schema_version))
            writer = index.writer(heap_size=256_000_000, num_threads=2)
            for batch in batches:
                for doc in batch:
                    writer.add_document(tantivy_document(doc))
            writer.commit()
            writer.wait_merging_threads()
            tmp = self.root / "CURRENT.tmp"
            tmp.write_text(gen)
            os.replace(tmp, self.root / "CURRENT")
            self._writer = None
            self._generation = None
            self._reloaded = 0.0
            self._open()
            if old and old != gen:
                shutil.rmtree(self.root / old, ignore_errors=True)

    def applied_mark(self) -> dict[str, Any] | None:
        """The history mark of the live generation (its ``APPLIED`` file), None without one."""
        gen = _generation_of(self.root)
        if gen is None:
            return None
        path = self.root / gen / "APPLIED"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return None

    def mark_applied(self, mark: dict[str, Any]) -> None:
        """Keep beside the index where in which history it stands (a file, not the
        database: a restored database brings its own position back with it)."""
        gen = self._current()
        if gen is None:
            self._live()  # not built yet: the reason
        folder = self.root / str(gen)
        tmp = folder / "APPLIED.tmp"
        tmp.write_text(json.dumps(mark))
        os.replace(tmp, folder / "APPLIED")

    def ping(self) -> bool:
        # none this release reads, or a generation of another schema: the reason, for /readyz
        self._reading()._idx()
        return True
