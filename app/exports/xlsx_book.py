"""The 清单 layout as an XLSX workbook, written by openpyxl: sheets 事项, 申请材料, 收费项目
and the guide's lists (:mod:`app.exports.workbook`); :mod:`app.exports.xlsx` streams it.

A workbook a clerk filters and prints: a title row, 序号, the header frozen and filtered,
coded columns offering their code list (the hidden sheet 代码表), text of several lines
wrapped, each sheet printed landscape one page wide with its title and header on every page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from app.clock import now, zone
from app.exports import layout, workbook
from app.exports.formulas import neutralise
from app.exports.labels import Labels

#: wide columns (text), the rest are codes and numbers
WRAP = Alignment(wrap_text=True, vertical="top")
WIDE = {"事项名称", "受理条件", "材料名称", "收费标准", "实施主体", "环节说明", "办理地点", "解答"}


def _cells(values: list[Any]) -> list[Any]:
    """Text a spreadsheet would run as a formula gets its apostrophe
    (:mod:`app.exports.formulas`): no text then starts with "=", the one start openpyxl
    writes as a formula rather than a string."""
    return [neutralise(v) for v in values]


def _append(sheet: Any, values: list[Any]) -> None:
    try:
        sheet.append(values)
    except IllegalCharacterError:
        # stored before the text policy: XLSX cannot hold control characters
        # (`catalogue doctor` finds them); they are dropped from this cell, before the
        # formula rule looks at what the cell starts with
        sheet.append([_clean(v) for v in values])


def _clean(value: Any) -> Any:
    if isinstance(value, WriteOnlyCell) and isinstance(value.value, str):
        value.value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", value.value))
        return value
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value)) if isinstance(value, str) else value


#: the sheet of the code lists the coded columns offer (hidden: the lists are its columns)
CODES_SHEET = "代码表"
TITLES = {"items": "政务服务事项实施清单", "materials": "申请材料", "fees": "收费项目"}
HEADER_ROW = 2  # under the title
LAST_ROW = 1_048_576


def _title_cell(sheet: Any, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, text)
    cell.font = Font(bold=True, size=14)
    return cell


def _row(sheet: Any, serial: int, values: list[Any]) -> list[Any]:
    """序号 then the values; text of more than one line wrapped, as a clerk reads it."""
    out: list[Any] = [serial]
    for value in _cells(values):
        if isinstance(value, str) and "\n" in value:
            cell = WriteOnlyCell(sheet, value)
            cell.alignment = WRAP
            out.append(cell)
        else:
            out.append(value)
    return out


def _code_lists(book: Any, labels: Labels) -> dict[str, str]:
    """The sheet of the coded columns' values (``01 行政许可``); list name → its range."""
    wanted = sorted(
        {c.codes for _, columns in workbook.SHEETS.values() for c in columns if c.codes}
    )
    values = {name: labels.entries(name) for name in wanted}
    sheet = book.create_sheet(CODES_SHEET)
    sheet.sheet_state = "hidden"
    sheet.append(wanted)
    for i in range(max((len(v) for v in values.values()), default=0)):
        sheet.append([v[i] if i < len(v) else None for v in values.values()])
    return {
        name: f"'{CODES_SHEET}'!${get_column_letter(i)}$2:${get_column_letter(i)}"
        f"${len(values[name]) + 1}"
        for i, name in enumerate(wanted, start=1)
        if values[name]
    }


def _set_up(sheet: Any, key: str, ranges: dict[str, str]) -> None:
    """Filter, the code lists offered, frozen header, printed landscape one page wide with
    the header on every page."""
    columns = workbook.SHEETS[key][1]
    last = get_column_letter(len(columns) + 1)
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{LAST_ROW}"
    for i, column in enumerate(columns, start=2):
        if column.codes in ranges:
            letter = get_column_letter(i)
            check = DataValidation(
                type="list",
                formula1=ranges[column.codes],
                allow_blank=True,
                errorStyle="warning",  # a label alone is read too: warn, do not refuse
                error=f"不在代码表「{column.codes}」中",
                errorTitle=column.header,
            )
            check.add(f"{letter}{HEADER_ROW + 1}:{letter}{LAST_ROW}")
            sheet.data_validations.append(check)
    sheet.freeze_panes = f"C{HEADER_ROW + 1}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = f"1:{HEADER_ROW}"


def write_workbook(docs: Iterator[dict[str, Any]], labels: Labels, out: Any) -> int:
    """Write the workbook of ``docs`` to the binary file ``out``; returns the items."""
    book = Workbook(write_only=True)
    sheets = {}
    for key, (title, columns) in workbook.SHEETS.items():
        sheet = book.create_sheet(title)
        sheet.column_dimensions["A"].width = 8
        for i, column in enumerate(columns, start=2):
            width = 40 if column.header in WIDE else max(12, 2 * len(column.header) + 2)
            sheet.column_dimensions[get_column_letter(i)].width = width
        sheets[key] = sheet
    ranges = _code_lists(book, labels)
    bold = Font(bold=True)
    for key, sheet in sheets.items():
        _set_up(sheet, key, ranges)
        when = now().astimezone(zone()).strftime("%Y-%m-%d %H:%M")
        title = TITLES.get(key, workbook.SHEETS[key][0])
        sheet.append([_title_cell(sheet, f"{title}（导出于 {when}）")])
        header = []
        for name in [layout.SERIAL, *workbook.headers(key)]:
            cell = WriteOnlyCell(sheet, name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
    count = 0
    serials = dict.fromkeys(sheets, 0)
    for doc in docs:
        for key, sheet in sheets.items():
            for row in workbook.rows(doc, labels, key):
                serials[key] += 1
                _append(sheet, _row(sheet, serials[key], row))
        count += 1
    book.save(out)
    return count
