"""The 清单 workbook as an export: its media type, and the file streamed in pieces.

openpyxl's write-only mode keeps each sheet's rows in a temporary file as they are
appended, so the workbook of any number of items takes the memory of one page of them; the
finished file (a zip, written at the end) is read back in pieces. The writer
(:mod:`app.exports.xlsx_book`, with openpyxl) is imported with the first workbook: the HTTP
layer imports this module at every start, and most processes never write one."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from app.exports.labels import Labels

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1 << 20


def workbook_chunks(docs: Iterator[dict[str, Any]], labels: Labels) -> Iterator[bytes]:
    from app.exports.xlsx_book import write_workbook

    with tempfile.TemporaryFile() as f:
        write_workbook(docs, labels, f)
        f.seek(0)
        while chunk := f.read(CHUNK):
            yield chunk
