"""The sheets of the 清单 workbook, both ways: 事项, 申请材料 and 收费项目
(:mod:`app.exports.layout`) and the guide's lists (:mod:`app.exports.layout_guide`), each
keyed by 实施编码; what the export writes a row at a time and the import reads back.

A workbook exported before the guide's lists had sheets held them as JSON in columns of
事项 of the same names: those are still read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from app.exports import layout, layout_guide
from app.exports.layout import KEY, Column, Reader, build, header_row

#: sheet key → (title, columns), in the workbook's order
SHEETS: dict[str, tuple[str, list[Column]]] = {**layout.SHEETS, **layout_guide.SHEETS}
#: the sheets of an item's things (all but 事项): the representation's list of each
CHILDREN = {key: title for key, (title, _) in SHEETS.items() if key != "items"}
LEGACY = [layout.guide_json(title, key) for key, (title, _) in layout_guide.GUIDE_LISTS.items()]


class WorkbookRow(int):
    """The row of an item in 事项, knowing the rows its things came from in the other
    sheets (``places``: (sheet key, index in the item's list) → row), so that a fault is
    reported where the clerk wrote it."""

    places: dict[tuple[str, int], int]
    #: the workbook's header faults (:func:`header_faults`), the same list on every row
    faults: list[dict[str, Any]]


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
    faults = header_faults(book)
    children: dict[str, dict[str, list[tuple[int, dict[str, Any]]]]] = {}
    present = []
    for key, title in CHILDREN.items():
        if title not in book.sheetnames:
            continue
        present.append(key)
        columns = SHEETS[key][1]
        lines = book[title].iter_rows(values_only=True)
        first, header = header_row(lines)
        at = _key_index(header)
        for n, values in enumerate(lines, start=first + 1):
            if not any(v not in (None, "") for v in values):
                continue
            owner = layout._text(values[at]) if len(values) > at and values[at] is not None else ""
            children.setdefault(owner, {}).setdefault(key, []).append(
                (n, build(columns, header, values, reader))
            )
    lines = book[layout.ITEMS_SHEET].iter_rows(values_only=True)
    first, header = header_row(lines)
    for n, values in enumerate(lines, start=first + 1):
        if not any(v not in (None, "") for v in values):
            continue
        item = build([*layout.ITEM_COLUMNS, *LEGACY], header, values, reader)
        own = children.get(item.get("code", ""), {})
        row = WorkbookRow(n)
        row.places, row.faults = {}, faults
        for key in present:
            things = own.get(key, [])
            row.places.update({(key, i): at for i, (at, _) in enumerate(things)})
            if key in ("materials", "fees"):
                item[key] = [thing for _, thing in things]
            else:
                item.setdefault("guide", {})[key] = [thing for _, thing in things]
        for key in ("materials", "fees"):
            item.setdefault(key, [])
        yield row, item


# --- where a fault is ----------------------------------------------------------------


def header_faults(book: Any) -> list[dict[str, Any]]:
    """A header of a sheet of this layout that is none of its columns (a renamed column):
    a report line each, once, rather than a fault on every row that lacks its field."""
    out = []
    for key, (title, columns) in SHEETS.items():
        if title not in book.sheetnames:
            continue
        at, header = header_row(book[title].iter_rows(values_only=True))
        known = {c.header for c in columns} | {layout.SERIAL}
        if key == "items":
            known |= {c.header for c in LEGACY}
        names = [str(h).strip() for h in header if h is not None and str(h).strip()]
        missing = [c.header for c in columns if c.put is not None and c.header not in names]
        for name in names:
            if name not in known:
                out.append(
                    {
                        "sheet": title,
                        "row": at,
                        "column": name,
                        "field": "(header)",
                        "rule": "import.header",
                        "message": f"column {name!r} is not one of sheet {title}'s: "
                        f"renamed? missing: {', '.join(missing) or 'none'}",
                        "missing": missing,
                    }
                )
    return out


@cache
def _paths(key: str) -> dict[tuple[str, ...], str]:
    """Which column writes which field of the input, found by letting each column read a
    cell: path → header."""
    reader = Reader({})
    found: dict[tuple[str, ...], str] = {}
    for column in SHEETS[key][1]:
        if column.put is None:
            continue
        out: dict[str, Any] = {}
        column.put("1", out, reader)
        for path in _leaves(out):
            found.setdefault(path, column.header)
    return found


def _leaves(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, (*prefix, str(k)))
    else:
        yield prefix


def _column(key: str, path: Sequence[str | int]) -> str | None:
    names = [str(p) for p in path if not isinstance(p, int)]
    paths = _paths(key)
    for end in range(len(names), 0, -1):  # the field, else its nearest shown ancestor
        hit = next((h for p, h in paths.items() if p[:end] == tuple(names[:end])), None)
        if hit is not None:
            return hit
    return None


def locate(row: int, field: Sequence[str | int]) -> tuple[str, int, str | None]:
    """(sheet, row, column header) of the fault at the input's ``field`` (a path) of the
    item read at ``row``: a material's or a window's fault on its own sheet's row."""
    path = list(field)
    places = getattr(row, "places", {})
    if path and path[0] == "guide" and len(path) > 2 and isinstance(path[2], int):
        key = str(path[1])
        if key in layout_guide.GUIDE_LISTS:
            return SHEETS[key][0], places.get((key, path[2]), row), _column(key, path[3:])
    if path and path[0] in ("materials", "fees") and len(path) > 1 and isinstance(path[1], int):
        key = str(path[0])
        return SHEETS[key][0], places.get((key, path[1]), row), _column(key, path[2:])
    return layout.ITEMS_SHEET, int(row), _column("items", path)
