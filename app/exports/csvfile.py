"""The 清单 layout as CSV: one sheet of the workbook (事项 by default, or 申请材料 or 收费项目
with ``sheet``), UTF-8 with a byte-order mark (so that Excel reads the Chinese headers),
written a page of rows at a time; text a spreadsheet would run as a formula is kept as
text (:mod:`app.exports.formulas`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from app.exports import workbook
from app.exports.formulas import neutralise
from app.exports.labels import Labels

MEDIA_TYPE = "text/csv; charset=utf-8"
#: rows written per chunk of the response
ROWS = 200


def csv_chunks(docs: Iterator[dict[str, Any]], labels: Labels, sheet: str) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(workbook.headers(sheet))
    pending = 0
    for doc in docs:
        for row in workbook.rows(doc, labels, sheet):
            writer.writerow(["" if v is None else neutralise(v) for v in row])
            pending += 1
        if pending >= ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")
