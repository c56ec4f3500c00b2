"""Situations in a flat sheet, as departments keep them in Excel: one row per option.

Columns: 事项编码, 事项名称, 问题编号, 问题, 必答, 多选, 选项编号, 选项, 展开问题 (question
ids the option reveals, separated by 、), 所需材料 (the names of the materials the option
requires, separated by 、). ``when`` conditions (all / any / not) do not fit a flat sheet:
an import keeps the ones an item has and the JSON API writes them.

:func:`propose` turns an item's free-text ``applies_when`` (材料情形) into a first draft in
the same layout, for an editor to review, merge into real questions and import.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from app.catalogue.documents import item_input
from app.catalogue.items import replace_item
from app.catalogue.models import Implementation
from app.catalogue.reads import current_item
from app.catalogue.schemas import ImplementationIn
from app.errors import InvalidInput, NotFound, field_error
from app.exports.formulas import neutralise, restore
from app.pagination import with_prefix
from app.security import Principal, region_prefix

HEADER = [
    "事项编码",
    "事项名称",
    "问题编号",
    "问题",
    "必答",
    "多选",
    "选项编号",
    "选项",
    "展开问题",
    "所需材料",
]
SEPARATOR = "、"
YES, NO = "是", "否"


def _join(values: Iterable[str]) -> str:
    return SEPARATOR.join(values)


def _split(cell: Any) -> list[str]:
    text = "" if cell is None else str(cell)
    return [p.strip() for p in text.replace(",", SEPARATOR).split(SEPARATOR) if p.strip()]


def sheet_rows(doc: dict[str, Any]) -> list[list[str]]:
    """The rows of one item's situations."""
    questions = (doc.get("guide") or {}).get("situations") or []
    rows = []
    for q in questions:
        for o in q["options"]:
            needs = [m["name"] for m in doc["materials"] if o["id"] in (m.get("options") or ())]
            rows.append(
                [
                    doc["code"],
                    doc["name"],
                    q["id"],
                    q["question"],
                    YES if q.get("required", True) else NO,
                    YES if q.get("multiple") else NO,
                    o["id"],
                    o["label"],
                    _join(o.get("reveals") or ()),
                    _join(needs),
                ]
            )
    return rows


def propose(doc: dict[str, Any]) -> list[list[str]]:
    """A draft from ``applies_when``: the materials with the same text share one yes/no
    question (是否属于该情形), whose 是 requires them. Items that already have situations
    propose nothing."""
    if (doc.get("guide") or {}).get("situations"):
        return []
    texts: dict[str, list[str]] = {}
    for m in doc["materials"]:
        if m.get("applies_when"):
            texts.setdefault(m["applies_when"], []).append(m["name"])
    rows = []
    for text, names in texts.items():
        qid = "q" + hashlib.sha1(text.encode()).hexdigest()[:8]
        question = f"是否属于以下情形：{text}"[:200]
        base = [doc["code"], doc["name"], qid, question, YES, NO]
        rows.append([*base, f"{qid}_yes", YES, "", _join(names)])
        rows.append([*base, f"{qid}_no", NO, "", ""])
    return rows


def write_sheet(path: Path, rows: Iterable[list[str]]) -> int:
    """Write rows under the header as XLSX or CSV (by suffix); returns the row count. Text
    a spreadsheet would run as a formula is kept as text (:mod:`app.exports.formulas`)."""
    n = 0
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("情形")
        sheet.append(HEADER)
        for row in rows:
            sheet.append([neutralise(v) for v in row])
            n += 1
        book.save(path)
        return n
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # BOM: Excel reads UTF-8
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow([neutralise(v) for v in row])
            n += 1
    return n


def read_sheet(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as Excel counts it, the row by header)."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        values = book.active.iter_rows(values_only=True)
    else:
        values = csv.reader(path.open(encoding="utf-8-sig", newline=""))
    header = [str(h or "").strip() for h in next(iter(values), ())]
    missing = [h for h in HEADER if h not in header]
    if missing:
        raise ValueError(f"{path.name}: missing columns {', '.join(missing)}")
    for n, row in enumerate(values, start=2):
        cells = {
            h: "" if v is None else str(restore(v)).strip()
            for h, v in zip(header, row, strict=False)
        }
        if any(cells.values()):
            yield n, cells


class SheetItem:
    """The questions of one item as its rows say, with the materials each option needs."""

    def __init__(self) -> None:
        self.questions: dict[str, dict[str, Any]] = {}
        self.needs: dict[str, list[str]] = {}  # option id → material names
        self.rows: dict[str, int] = {}  # option id → row number

    def add(self, n: int, cells: dict[str, str]) -> list[dict[str, Any]]:
        errors = []
        qid, oid = cells["问题编号"], cells["选项编号"]
        for column in ("问题编号", "问题", "选项编号", "选项"):
            if not cells[column]:
                errors.append(_row_error(n, column, "required", f"{column} is empty"))
        for column in ("必答", "多选"):
            if cells[column] not in ("", YES, NO):
                errors.append(_row_error(n, column, "yes_no", f"{column}: {YES} or {NO}"))
        if errors:
            return errors
        question = self.questions.setdefault(
            qid,
            {
                "id": qid,
                "question": cells["问题"],
                "required": cells["必答"] != NO,
                "multiple": cells["多选"] == YES,
                "options": [],
            },
        )
        if oid in self.rows:
            return [
                _row_error(n, "选项编号", "duplicate", f"option {oid} is on row {self.rows[oid]}")
            ]
        option: dict[str, Any] = {"id": oid, "label": cells["选项"]}
        if cells["展开问题"]:
            option["reveals"] = _split(cells["展开问题"])
        question["options"].append(option)
        self.needs[oid] = _split(cells["所需材料"])
        self.rows[oid] = n
        return []

    def apply(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Put the questions into an item's writable body (the input shape); the materials'
        option ties are replaced, their ``when`` kept. Errors name the row."""
        errors = []
        names = {m["name"] for m in body["materials"]}
        for option, wanted in self.needs.items():
            for name in wanted:
                if name not in names:
                    errors.append(
                        _row_error(
                            self.rows[option], "所需材料", "material.unknown", f"no material {name}"
                        )
                    )
        body["guide"]["situations"] = list(self.questions.values())
        for m in body["materials"]:
            m["options"] = [o for o, wanted in self.needs.items() if m["name"] in wanted]
        return errors


def _row_error(row: int, column: str, rule: str, message: str) -> dict[str, Any]:
    return {**field_error(["row", row, column], message, f"situation_sheet.{rule}"), "row": row}


def parse(rows: Iterable[tuple[int, dict[str, str]]]) -> tuple[dict[str, SheetItem], list]:
    """The items of a sheet, by implementation code, and the row errors."""
    items: dict[str, SheetItem] = {}
    errors: list[dict[str, Any]] = []
    for n, cells in rows:
        code = cells.get("事项编码", "")
        if not code:
            errors.append(_row_error(n, "事项编码", "required", "事项编码 is empty"))
            continue
        errors += items.setdefault(code, SheetItem()).add(n, cells)
    return items, errors


# --- reading items, writing them back ----------------------------------------------


def item_documents(session: Session, region: str | None, code: str | None) -> Iterator[dict]:
    """The current representation of each item (in a region, or one), by code."""
    stmt = select(Implementation).order_by(Implementation.code)
    if code is not None:
        stmt = stmt.where(Implementation.code == code)
    if region is not None:
        stmt = stmt.where(*with_prefix(Implementation.region_code, region_prefix(region)))
    for item in session.exec(stmt):
        yield current_item(session, item.code)


def import_sheet(
    session: Session, items: dict[str, SheetItem], actor: Principal
) -> tuple[int, list[dict[str, Any]]]:
    """Write each item's questions through the item's write path (a version each, nothing
    for an item the sheet leaves as it is); an item with any error is left untouched.
    Returns the number of items changed and the errors."""
    changed, errors = 0, []
    for code, sheet in items.items():
        try:
            doc = current_item(session, code)
        except NotFound:
            row = min(sheet.rows.values(), default=0)
            errors.append(_row_error(row, "事项编码", "unknown", f"no implementation {code}"))
            continue
        body = item_input(doc)
        body["change_note"] = "情形引导 imported from a sheet"
        found = sheet.apply(body)
        if not found:
            try:
                with session.begin_nested():
                    after = replace_item(
                        session, code, ImplementationIn.model_validate(body), actor, doc["version"]
                    )
            except (InvalidInput, ValidationError) as exc:
                found = _item_errors(code, sheet, exc)
            else:
                changed += after["version"] != doc["version"]
        errors += found
    return changed, errors


def _item_errors(code: str, sheet: SheetItem, exc: Exception) -> list[dict[str, Any]]:
    """The item's validation errors, at the first row of the item (the sheet has no path)."""
    row = min(sheet.rows.values(), default=0)
    raw = exc.errors if isinstance(exc, InvalidInput) else exc.errors()  # type: ignore[operator]
    return [
        {"loc": [code, *e["loc"]], "msg": e["msg"], "type": e["type"], "row": row}
        for e in raw or []
    ]
