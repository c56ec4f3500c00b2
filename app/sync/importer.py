"""``catalogue import FILE``: implementations from JSON, NDJSON, CSV or XLSX through the
same bulk path as ``POST /sync/items``, with a report of every rejected row.

CSV and XLSX carry one implementation per row under a header of ``ImplementationIn`` field
names; nested values (guide, materials, fees, audience, themes, legal basis) are JSON text
in their cell.

Two profiles: ``implementation`` (full implementations, the bulk path) and ``listing`` (a
public listing with local codes and no guide: ``app.sync.listing``). Without ``profile``
the rows say which: a row with ``item_code`` and no ``guide`` is a listing row.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app.errors import Forbidden
from app.exports import layout
from app.security import Principal
from app.sync.listing import import_listing, is_listing
from app.sync.service import MAX_BATCH, RESULTS, bulk_upsert

NESTED = {"guide", "materials", "fees", "audience", "themes", "legal_basis"}
FORMATS = ("json", "ndjson", "csv", "xlsx")
PROFILES = ("implementation", "listing")


class ImportError_(ValueError):
    """The file cannot be read at all (as opposed to rows that are rejected)."""


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"jsonl": "ndjson"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise ImportError_(
            f"cannot tell the format of {path.name}: use --format ({', '.join(FORMATS)})"
        )
    return fmt


def _cells(header: list[str], values: list[Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in zip(header, values, strict=False):
        if name is None or value is None or value == "":
            continue
        name = str(name).strip()
        if name in NESTED and isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):  # else validation names the field
                value = json.loads(value)
        row[name] = value
    return row


def read_rows(
    path: Path, fmt: str, session_factory: Callable[[], Session] | None = None
) -> Iterator[tuple[int, Any]]:
    """(row number as a person would count it in the file, item). A workbook in the layout
    of ``GET /exports/items.xlsx`` is read by ``app.exports.layout`` (its code lists from
    ``session_factory``'s database)."""
    if fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ImportError_("a JSON import file holds an array of implementations")
        yield from enumerate(data, start=1)
    elif fmt == "ndjson":
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    yield n, json.loads(line)
    elif fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            if layout.is_export_header(header):
                raise ImportError_(
                    "an exported CSV holds one sheet (no materials, no fees): import the "
                    "exported XLSX workbook instead"
                )
            for n, values in enumerate(reader, start=2):
                yield n, _cells(header, values)
    else:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        if layout.ITEMS_SHEET in book.sheetnames and session_factory is not None:
            first = next(book[layout.ITEMS_SHEET].iter_rows(values_only=True, max_row=1), ())
            if layout.is_export_header(list(first)):
                with session_factory() as session:
                    codes = layout.Reader.load(session)
                yield from layout.read_workbook(book, codes)
                return
        sheet = book.active
        rows = sheet.iter_rows(values_only=True)
        header = [str(h) if h is not None else None for h in next(rows, ())]
        for n, values in enumerate(rows, start=2):
            if any(v not in (None, "") for v in values):
                yield n, _cells(header, list(values))


def import_file(
    session_factory: Callable[[], Session],
    path: Path,
    *,
    fmt: str | None = None,
    source: str | None = None,
    profile: str | None = None,
    progress: Callable[[int], None] | None = None,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """Apply the file in batches; returns the profile, the totals and a report line per
    problem: (row, field, rule, message)."""
    fmt = fmt or detect_format(path)
    if profile is not None and profile not in PROFILES:
        raise ImportError_(f"unknown profile {profile!r}: {', '.join(PROFILES)}")
    rows = read_rows(path, fmt, session_factory)
    first = next(rows, None)
    if profile is None:
        profile = "listing" if first is not None and is_listing(first[1]) else "implementation"
    if profile == "listing":
        if actor is not None and actor.role != "admin":
            # a listing creates departments and catalogue entries: an administrator's act
            raise Forbidden("a listing import (departments and entries) needs an admin key")
        result = import_listing(
            session_factory,
            [first, *rows] if first is not None else [],
            name=path.name,
            source=source,
            progress=progress,
        )
        return {"profile": profile, **result}
    actor = actor or Principal(name=f"import:{path.name}"[:100], role="admin")
    totals = dict.fromkeys(RESULTS, 0)
    report: list[dict[str, Any]] = []
    batch: list[tuple[int, Any]] = []

    def flush() -> None:
        items = []
        for _, item in batch:
            if source and isinstance(item, dict) and not item.get("source_system"):
                item["source_system"] = source
            items.append(item)
        with session_factory() as session:
            result = bulk_upsert(session, items, actor)
            session.commit()
        for k in totals:
            totals[k] += result[k]
        for r in result["items"]:
            row = batch[r["index"]][0]
            for e in r["errors"]:
                field = ".".join(str(p) for p in e["loc"][1:]) or "(item)"
                report.append({"row": row, "field": field, "rule": e["type"], "message": e["msg"]})
        if progress:
            progress(len(batch))
        batch.clear()

    for n, item in itertools.chain([first] if first else [], rows):
        batch.append((n, item))
        if len(batch) == MAX_BATCH:
            flush()
    if batch:
        flush()
    return {"profile": profile, **totals, "report": report}


class DryRunSession(Session):
    """A session whose commit only flushes: closing it rolls the batch back. An import through
    these checks every row by the same rules and answers the same report, writing nothing
    (rows of a later batch do not see what an earlier batch would have created)."""

    def commit(self) -> None:
        self.flush()
