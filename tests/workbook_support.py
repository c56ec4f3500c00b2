"""XLSX workbooks written by hand, as Excel would, a few kilobytes each: the bombs of
tests/sync/test_import_limits.py (a sheet declaring or reaching Excel's last cell, shared
strings that unpack a thousand-fold)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def workbook(sheet: str, shared_strings: Callable[[Any], None] | None = None) -> bytes:
    """An XLSX archive of one worksheet (its XML given), written by hand as Excel would;
    ``shared_strings`` writes ``xl/sharedStrings.xml`` into the stream it is given."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{XLSX}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{XLSX}.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{XLSX}.sharedStrings+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
            f'<sheet name="items" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{DOC_RELS}/sharedStrings" '
            f'Target="sharedStrings.xml"/></Relationships>',
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared_strings is not None:
            with z.open("xl/sharedStrings.xml", "w") as f:
                shared_strings(f)
    return out.getvalue()


def sheet(rows: str, dimension: str | None = None) -> str:
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<worksheet xmlns="{MAIN}">{declared}<sheetData>{rows}</sheetData></worksheet>'


#: one cell in the last row and column Excel has
LAST_CELL = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'


def huge_dimension() -> bytes:
    return workbook(sheet(LAST_CELL, "A1:XFD1048576"))


def strings_bomb(unpacked: int) -> bytes:
    """Shared strings of ``unpacked`` bytes of one repeated string (streamed: never held)."""

    def write(f: Any) -> None:
        f.write(f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>'.encode())
        chunk = b"a" * (1 << 20)
        for _ in range(unpacked >> 20):
            f.write(chunk)
        f.write(b"</t></si></sst>")

    return workbook(sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', "A1"), write)
