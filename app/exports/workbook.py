"""The sheets of the 清单 workbook, both ways: 事项, 申请材料 and 收费项目
(:mod:`app.exports.layout`) and the guide's lists (:mod:`app.exports.layout_guide`), each
keyed by 实施编码; what the export writes a row at a time and the import reads back.

A workbook exported before the guide's lists had sheets held them as JSON in columns of
事项 of the same names: those are still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.exports import layout, layout_guide
from app.exports.layout import KEY, Column, Reader, build, header_row

#: sheet key → (title, columns), in the workbook's order
SHEETS: dict[str, tuple[str, list[Column]]] = {**layout.SHEETS, **layout_guide.SHEETS}
#: the sheets of an item's things (all but 事项): the representation's list of each
CHILDREN = {key: title for key, (title, _) in SHEETS.items() if key != "items"}
LEGACY = [layout.guide_json(title, key) for key, (title, _) in layout_guide.GUIDE_LISTS.items()]


def headers(sheet: str) -> list[str]:
    return [c.header for c in SHEETS[sheet][1]]


def _things(doc: dict[str, Any], sheet: str) -> list[dict[str, Any]]:
    if sheet in ("materials", "fees"):
        return list(doc.get(sheet) or [])
    return layout_guide.entries(doc, sheet)


def rows(doc: dict[str, Any], labels: Any, sheet: str) -> Iterator[list[Any]]:
    """The rows of one implementation in ``sheet``: one in 事项, one per thing elsewhere."""
    columns = SHEETS[sheet][1]
    if sheet == "items":
        yield [c.get(doc, labels) for c in columns]
        return
    for child in _things(doc, sheet):
        keyed = {**child, "_item": doc["code"], "_name": doc["name"]}
        yield [c.get(keyed, labels) for c in columns]


def _key_index(header: list[Any]) -> int:
    names = [str(h).strip() if h is not None else "" for h in header]
    return names.index(KEY) if KEY in names else 0


def read_workbook(book: Any, reader: Reader) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row of 事项, implementation) of an exported workbook (openpyxl, read-only), with
    the things of its other sheets by 实施编码, in their order. A sheet left out of the
    workbook leaves its list out of the input (not emptied)."""
    children: dict[str, dict[str, list[dict[str, Any]]]] = {}
    present = []
    for key, title in CHILDREN.items():
        if title not in book.sheetnames:
            continue
        present.append(key)
        columns = SHEETS[key][1]
        lines = book[title].iter_rows(values_only=True)
        _, header = header_row(lines)
        at = _key_index(header)
        for values in lines:
            if not any(v not in (None, "") for v in values):
                continue
            owner = layout._text(values[at]) if len(values) > at and values[at] is not None else ""
            children.setdefault(owner, {}).setdefault(key, []).append(
                build(columns, header, values, reader)
            )
    lines = book[layout.ITEMS_SHEET].iter_rows(values_only=True)
    first, header = header_row(lines)
    for n, values in enumerate(lines, start=first + 1):
        if not any(v not in (None, "") for v in values):
            continue
        item = build([*layout.ITEM_COLUMNS, *LEGACY], header, values, reader)
        own = children.get(item.get("code", ""), {})
        for key in present:
            if key in ("materials", "fees"):
                item[key] = own.get(key, [])
            else:
                item.setdefault("guide", {})[key] = own.get(key, [])
        for key in ("materials", "fees"):
            item.setdefault(key, [])
        yield n, item
