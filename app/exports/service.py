"""What every export reads: the published implementations in scope, one page at a time.

The scope is the filter of ``GET /items`` (``region`` with the regions under it,
``department``, ``status``: by default every status but 待承接 and 待完善), checked by the
same rules (an unknown region or department is a 422, not an empty file), and each item is
the representation ``GET /items/{code}`` returns (:func:`app.catalogue.reads.get_item_json`),
read a page at a time, so an export of any size holds one page in memory. Nothing here
writes; a correction's contact is in no representation, so it is in no export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlmodel import Session

from app.catalogue.reads import get_item_json, list_items, newest_item_versions
from app.directory.service import CodeLists, check_filters
from app.errors import InvalidInput
from app.exports import workbook
from app.exports.cpsv import jsonld_chunks
from app.exports.csvfile import csv_chunks
from app.exports.hsds import hsds_chunks
from app.exports.hsds_package import package_chunks
from app.exports.labels import Labels
from app.exports.xlsx import workbook_chunks
from app.versionlog import latest_snapshot

#: implementations read per query
PAGE = 500
FORMATS = ("xlsx", "csv", "cpsv-ap", "hsds", "hsds-package")
#: the sheets of the workbook, each one CSV
SHEETS = tuple(workbook.SHEETS)


@dataclass(frozen=True)
class Scope:
    """Which implementations an export holds (the filters of ``GET /items``)."""

    region: str | None = None
    department: str | None = None
    status: str | None = None


def check_scope(session: Session, scope: Scope) -> None:
    """422 naming each filter that names nothing: region and department as ``GET /items``
    checks them, status against the code list ``item_statuses``."""
    errors: list[dict[str, Any]] = []
    try:
        check_filters(session, region=scope.region, department=scope.department)
    except InvalidInput as exc:
        errors += exc.errors or []
    CodeLists(session).check(errors, ["query", "status"], "item_statuses", scope.status)
    if errors:
        raise InvalidInput("a filter names nothing in the catalogue", errors=errors)


class _PageSnapshots:
    """The latest versions of one page of items, read in one query, as the
    :class:`~app.catalogue.reads.SnapshotReader` that ``get_item_json`` reads from (so an
    item whose scheduled event has taken effect is computed from its log, as GET does)."""

    def __init__(self, session: Session, codes: list[str]) -> None:
        self.session = session
        self.found = newest_item_versions(session, codes)

    def latest(self, kind: str, code: str) -> tuple[int, str, date | None] | None:
        found = self.found.get(code)
        return found if found is not None else latest_snapshot(self.session, kind, code)

    @contextmanager
    def connection(self) -> Iterator[Session | Connection]:
        yield self.session


def documents(session: Session, scope: Scope, page: int = PAGE) -> Iterator[dict[str, Any]]:
    """The representation of each implementation in scope, by code: the items of
    ``GET /items`` with the same filters, each as ``GET /items/{code}`` returns it."""
    cursor: str | None = None
    while True:
        rows, cursor = list_items(
            session,
            region=scope.region,
            department=scope.department,
            status=scope.status,
            cursor=cursor,
            limit=page,
        )
        snapshots = _PageSnapshots(session, [r["code"] for r in rows])
        for row in rows:
            _, body = get_item_json(snapshots, row["code"])
            yield orjson.loads(body)
        if cursor is None:
            return


def export_chunks(
    session: Session,
    fmt: str,
    scope: Scope,
    *,
    sheet: str = "items",
    base_url: str = "http://127.0.0.1:8000",
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The export of ``scope`` in ``fmt``, as the bytes of the file, a piece at a time:
    what the command writes to its file and the endpoints stream. ``sheet`` picks the
    sheet of a CSV export; ``base_url`` is where the IRIs of a CPSV-AP export point;
    ``progress`` is told of each implementation written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: {', '.join(FORMATS)}")
    if sheet not in SHEETS:
        raise ValueError(f"unknown sheet {sheet!r}: {', '.join(SHEETS)}")
    docs = _counted(documents(session, scope), progress)
    labels = Labels(session)
    if fmt == "xlsx":
        return workbook_chunks(docs, labels)
    if fmt == "csv":
        return csv_chunks(docs, labels, sheet)
    if fmt == "cpsv-ap":
        return jsonld_chunks(docs, labels, base_url.rstrip("/"))
    if fmt == "hsds-package":
        return package_chunks(docs, labels)
    return hsds_chunks(docs, labels)


def _counted(
    docs: Iterator[dict[str, Any]], progress: Callable[[int], None] | None
) -> Iterator[dict[str, Any]]:
    for doc in docs:
        yield doc
        if progress is not None:
            progress(1)
