"""Text a spreadsheet would run as a formula (CSV or formula injection), kept as text.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel, LibreOffice and Sheets as a formula: an item's text (受理条件, a material's
name…) could then fetch a URL or start a program on the machine of whoever opens an
export. Every writer of a sheet (the 清单 workbook and its CSV, the situations sheet) puts
an apostrophe before such text, as OWASP's guidance on CSV injection has it: the cell
shows the text after the apostrophe and is never evaluated. Numbers stay numbers (a
negative amount is a number, not text). The readers of those sheets take the apostrophe
off again (:func:`restore`), so an exported file imports as the catalogue holds it.
"""

from __future__ import annotations

from typing import Any

#: what makes a spreadsheet read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def _quoted_formula(text: str) -> bool:
    """Text that starts with a formula character after any number of apostrophes."""
    return text.lstrip(QUOTE).startswith(FORMULA_START)


def neutralise(value: Any) -> Any:
    """The cell for ``value``: text a spreadsheet would take for a formula with an
    apostrophe before it, anything else as it is. Text that already starts with
    apostrophes before such a character gets one more, so :func:`restore` is exact."""
    if isinstance(value, str) and _quoted_formula(value):
        return QUOTE + value
    return value


def restore(value: Any) -> Any:
    """The value a :func:`neutralise` d cell was written from (a cell it would not have
    changed is returned as it is)."""
    if isinstance(value, str) and value.startswith(QUOTE) and _quoted_formula(value[1:]):
        return value[1:]
    return value
