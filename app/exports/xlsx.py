"""The 清单 layout as an XLSX workbook: sheets 事项, 申请材料 and 收费项目 (app.exports.layout).

openpyxl's write-only mode keeps each sheet's rows in a temporary file as they are
appended, so the workbook of any number of items takes the memory of one page of them; the
finished file (a zip, written at the end) is read back in pieces."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError

from app.exports import layout
from app.exports.formulas import neutralise
from app.exports.labels import Labels

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1 << 20
#: wide columns (text), the rest are codes and numbers
WIDE = {"事项名称", "受理条件", "办理流程", "办理窗口", "材料名称", "收费标准", "实施主体"}


def _cells(values: list[Any]) -> list[Any]:
    """Text a spreadsheet would run as a formula gets its apostrophe
    (:mod:`app.exports.formulas`): no text then starts with "=", the one start openpyxl
    writes as a formula rather than a string."""
    return [neutralise(v) for v in values]


def _append(sheet: Any, values: list[Any]) -> None:
    try:
        sheet.append(_cells(values))
    except IllegalCharacterError:
        # stored before the text policy: XLSX cannot hold control characters
        # (`catalogue doctor` finds them); they are dropped from this cell, before the
        # formula rule looks at what the cell starts with
        sheet.append(
            _cells([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
        )


def write_workbook(docs: Iterator[dict[str, Any]], labels: Labels, out: Any) -> int:
    """Write the workbook of ``docs`` to the binary file ``out``; returns the items."""
    book = Workbook(write_only=True)
    sheets = {}
    for key, (title, columns) in layout.SHEETS.items():
        sheet = book.create_sheet(title)
        for i, column in enumerate(columns, start=1):
            width = 40 if column.header in WIDE else max(12, 2 * len(column.header) + 2)
            sheet.column_dimensions[get_column_letter(i)].width = width
        sheet.freeze_panes = "B2"
        bold = Font(bold=True)
        header = []
        for name in layout.headers(key):
            cell = WriteOnlyCell(sheet, name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        sheets[key] = sheet
    count = 0
    for doc in docs:
        for key, sheet in sheets.items():
            for row in layout.rows(doc, labels, key):
                _append(sheet, row)
        count += 1
    book.save(out)
    return count


def workbook_chunks(docs: Iterator[dict[str, Any]], labels: Labels) -> Iterator[bytes]:
    with tempfile.TemporaryFile() as f:
        write_workbook(docs, labels, f)
        f.seek(0)
        while chunk := f.read(CHUNK):
            yield chunk
