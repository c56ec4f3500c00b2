"""``catalogue import FILE``: implementations from JSON, NDJSON, CSV or XLSX through the
same bulk path as ``POST /sync/items``, with a report of every rejected row.

CSV and XLSX carry one implementation per row under a header of ``ImplementationIn`` field
names; nested values (guide, materials, fees, audience, themes, legal basis) are JSON text
in their cell.

Two profiles: ``implementation`` (full implementations, the bulk path) and ``listing`` (a
public listing with local codes and no guide: ``app.sync.listing_rows``). Without ``profile``
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
from app.exports import layout, workbook
from app.security import Principal
from app.sync.bulk import MAX_BATCH, collector_paused, sort_rows
from app.sync.bulk_write import RESULTS, apply_valid, known_items, sent_code
from app.sync.import_files import check_file, count_workbook
from app.sync.import_limits import (
    Budget,
    Cancelled,
    FileRefused,
    ImportError_,
    ImportLimit,
    Limits,
)
from app.sync.listing_rows import is_listing
from app.sync.listing_write import import_listing

NESTED = {"guide", "materials", "fees", "audience", "themes", "legal_basis"}
FORMATS = ("json", "ndjson", "csv", "xlsx")
PROFILES = ("implementation", "listing")
#: a batch's session: called before the batch commits, in its transaction
OnBatch = Callable[[Session, int], None]


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
    path: Path,
    fmt: str,
    session_factory: Callable[[], Session] | None = None,
    budget: Budget | None = None,
) -> Iterator[tuple[int, Any]]:
    """(row number as a person would count it in the file, item). A workbook in the layout
    of ``GET /exports/items.xlsx`` is read by ``app.exports.layout`` (its code lists from
    ``session_factory``'s database). Every row is counted against ``budget``: reading stops
    at the first limit passed."""
    budget = budget or Budget(Limits.from_settings())
    if fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ImportError_("a JSON import file holds an array of implementations")
        _count(enumerate(data, start=1), budget)
        yield from enumerate(data, start=1)
    elif fmt == "ndjson":
        _count(_ndjson_lines(path), budget.fork())
        for n, item in _ndjson_lines(path):
            budget.row(n, _width(item))
            yield n, item
    elif fmt == "csv":
        _count(_csv_lines(path), budget.fork())
        lines = _csv_lines(path)
        _, header = next(lines, (1, []))
        budget.row(1, _width(header))
        if layout.is_export_header(header):
            raise ImportError_(
                "an exported CSV holds one sheet (no materials, no fees): import the "
                "exported XLSX workbook instead"
            )
        for n, values in lines:
            budget.row(n, _width(values))
            yield n, _cells(header, values)
    else:
        yield from _xlsx_rows(path, session_factory, budget)


def _width(item: Any) -> int:
    """The cells of a row: its fields."""
    return len(item) if isinstance(item, dict | list) else 1


def _count(lines: Iterator[tuple[int, Any]], budget: Budget) -> None:
    """A file's rows and cells counted before the first is applied, so that a limit passed
    stops the import before anything is written."""
    for n, values in lines:
        budget.row(n, _width(values))


def _ndjson_lines(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                yield n, json.loads(line)


def _csv_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            yield from enumerate(reader, start=1)
        except csv.Error as exc:  # a field over the csv module's limit, a stray quote...
            raise FileRefused("import.csv", f"line {reader.line_num}: {exc}") from None


def _xlsx_rows(
    path: Path, session_factory: Callable[[], Session] | None, budget: Budget
) -> Iterator[tuple[int, Any]]:
    from openpyxl import load_workbook

    with path.open("rb") as f:
        # counted before openpyxl reads a cell: it would yield every row and cell a sheet
        # declares or spans
        count_workbook(f, check_file(f, "xlsx", budget.limits), budget)
    book = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        if layout.ITEMS_SHEET in book.sheetnames and session_factory is not None:
            top = book[layout.ITEMS_SHEET].iter_rows(values_only=True, max_row=layout.TITLE_ROWS)
            if layout.is_export_header(layout.header_row(top)[1]):
                with session_factory() as session:
                    codes = layout.Reader.load(session)
                yield from workbook.read_workbook(_CountedBook(book, budget), codes)
                return
        rows = _sheet_lines(book.active, budget)
        header = [str(h) if h is not None else None for h in next(rows, ())]
        for n, values in enumerate(rows, start=2):
            if any(v not in (None, "") for v in values):
                yield n, _cells(header, list(values))
    finally:
        book.close()


def _sheet_lines(sheet: Any, budget: Budget) -> Iterator[tuple[Any, ...]]:
    """A read-only sheet's rows as openpyxl reads them, each counted: not padded to the
    size the sheet declares (not trusted), each as wide as its own cells."""
    sheet.reset_dimensions()
    for n, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        budget.row(n, len(values))
        yield values


class _CountedBook:
    """A workbook as :func:`app.exports.workbook.read_workbook` reads it (``sheetnames``,
    ``book[title].iter_rows(values_only=True)``), each sheet's rows counted."""

    def __init__(self, book: Any, budget: Budget) -> None:
        self._book, self._budget = book, budget
        self.sheetnames = book.sheetnames

    def __getitem__(self, title: str) -> _CountedSheet:
        return _CountedSheet(self._book[title], self._budget)


class _CountedSheet:
    def __init__(self, sheet: Any, budget: Budget) -> None:
        self._sheet, self._budget = sheet, budget

    def iter_rows(self, values_only: bool = True) -> Iterator[tuple[Any, ...]]:
        assert values_only
        return _sheet_lines(self._sheet, self._budget)


def import_file(
    session_factory: Callable[[], Session],
    path: Path,
    *,
    fmt: str | None = None,
    source: str | None = None,
    profile: str | None = None,
    progress: Callable[[int], None] | None = None,
    actor: Principal | None = None,
    budget: Budget | None = None,
    on_batch: OnBatch | None = None,
    read_factory: Callable[[], Session] | None = None,
) -> dict[str, Any]:
    """Apply the file in batches; returns the profile, the totals and a report line per
    problem: (row, field, rule, message).

    Each batch is read and validated before its write transaction opens (``read_factory``
    reads what is stored, without the write slot), which applies it; ``on_batch`` runs in
    that transaction before it commits, ``progress`` after. The file is checked and counted
    against ``budget`` (the settings' limits by default) as it is read; a limit passed or a
    cancel seen stops it (:class:`ImportLimit`, :class:`Cancelled`, their ``partial`` the
    totals and report of the batches committed)."""
    fmt = fmt or detect_format(path)
    if profile is not None and profile not in PROFILES:
        raise ImportError_(f"unknown profile {profile!r}: {', '.join(PROFILES)}")
    budget = budget or Budget(Limits.from_settings())
    reader = read_factory or session_factory
    if fmt != "xlsx":  # a workbook is checked as it is opened
        with path.open("rb") as f:
            check_file(f, fmt, budget.limits)
    rows = read_rows(path, fmt, reader, budget)
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
            on_batch=on_batch,
            read_factory=read_factory,
        )
        return {"profile": profile, **result}
    actor = actor or Principal(name=f"import:{path.name}"[:100], role="admin")
    totals = dict.fromkeys(RESULTS, 0)
    report: list[dict[str, Any]] = []
    batch: list[tuple[int, Any]] = []
    # a workbook whose header is not the layout's (a renamed column) is checked, not
    # written: each header fault is said once, not as a fault of every row it empties
    faults = getattr(first[0], "faults", []) if first else []
    report += [{k: v for k, v in f.items() if k != "missing"} for f in faults]
    unread = {h for f in faults for h in f["missing"]}

    def flush() -> None:
        budget.check(cancel=True)  # between batches
        items = []
        for _, item in batch:
            if source and isinstance(item, dict) and not item.get("source_system"):
                item["source_system"] = source
            items.append(item)
        with collector_paused():
            with reader() as session:
                known = known_items(session, {c for c in map(sent_code, items) if c})
            valid, answered = sort_rows(items, known, actor)
            with session_factory() as session:  # the write slot: only to apply the batch
                result = apply_valid(session, valid, {}, set(), answered, actor)
                if faults:
                    session.rollback()
                else:
                    if on_batch:
                        on_batch(session, len(batch))
                    session.commit()
        for k in totals:
            totals[k] += result[k]
        for r in result["items"]:
            row = batch[r["index"]][0]
            for e in r["errors"]:
                report.extend(_report_lines(row, e, unread))
        if progress:
            progress(len(batch))
        batch.clear()

    try:
        for n, item in itertools.chain([first] if first else [], rows):
            batch.append((n, item))
            if len(batch) == MAX_BATCH:
                flush()
        if batch:
            flush()
    except (ImportLimit, Cancelled) as exc:
        exc.partial = {"profile": profile, **totals, "report": report}
        raise
    return {"profile": profile, **totals, "report": report, "written": not faults}


def _report_lines(row: int, error: dict[str, Any], unread: set[str]) -> list[dict[str, Any]]:
    """A fault where the editor wrote it: the sheet, its row and the column's header for a
    workbook of the export's layout (none for the column a header fault already names)."""
    line = {
        "row": int(row),
        "field": ".".join(str(p) for p in error["loc"][1:]) or "(item)",
        "rule": error["type"],
        "message": error["msg"],
    }
    if isinstance(row, workbook.WorkbookRow):
        sheet, at, column = workbook.locate(row, error["loc"][1:])
        if column in unread:
            return []
        line.update(sheet=sheet, row=at, column=column)
    if error.get("ctx"):
        line["ctx"] = {k: v for k, v in error["ctx"].items() if isinstance(v, str | int | float)}
    return [line]


class DryRunSession(Session):
    """A session whose commit only flushes: closing it rolls the batch back. An import through
    these checks every row by the same rules and answers the same report, writing nothing
    (rows of a later batch do not see what an earlier batch would have created)."""

    def commit(self) -> None:
        self.flush()
