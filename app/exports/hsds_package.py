"""HSDS 3.0 in its standard tabular layout: a Frictionless data package (a zip of
``datapackage.json`` and one CSV a table, as HSDS's ``tabular.json`` names them), the same
rows as ``hsds.json`` (:mod:`app.exports.hsds`). Tools of the Open Referral ecosystem
(validators, importers) read this layout rather than one JSON object of tables.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

import orjson

from app.exports.hsds import TABLES, Tables, add_item
from app.exports.labels import Labels

MEDIA_TYPE = "application/zip"
CHUNK = 1 << 20


def _rows(tables: Tables, table: str) -> list[dict[str, Any]]:
    """The rows spooled for ``table`` (JSON objects, a ",\\n" between: JSON text holds no
    raw newline)."""
    f = tables.files[table]
    f.seek(0)
    data = f.read()
    return [orjson.loads(part) for part in data.split(b",\n")] if data else []


def _type(values: list[Any]) -> str:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, int):
        return "integer"
    if isinstance(sample, float):
        return "number"
    return "string"


def _field(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": _type([r.get(name) for r in rows])}
    if name == "id" or name.endswith("_id"):
        field["format"] = "uuid"
    return field


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return "" if value is None else value


def package_chunks(docs: Iterator[dict[str, Any]], labels: Labels) -> Iterator[bytes]:
    tables = Tables()
    try:
        for doc in docs:
            add_item(tables, doc, labels)
        with tempfile.TemporaryFile() as out:
            resources = []
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
                for table in TABLES:
                    rows = _rows(tables, table)
                    names = list(dict.fromkeys(k for r in rows for k in r)) or ["id"]
                    text = io.StringIO()
                    writer = csv.writer(text, lineterminator="\r\n")
                    writer.writerow(names)
                    writer.writerows([_cell(r.get(n)) for n in names] for r in rows)
                    package.writestr(f"{table}.csv", text.getvalue().encode("utf-8"))
                    resources.append(
                        {
                            "name": table,
                            "path": f"{table}.csv",
                            "format": "csv",
                            "mediatype": "text/csv",
                            "encoding": "utf-8",
                            "profile": "tabular-data-resource",
                            "schema": {
                                "fields": [_field(n, rows) for n in names],
                                "primaryKey": "id",
                            },
                        }
                    )
                descriptor = {
                    "profile": "tabular-data-package",
                    "name": "service-catalogue-hsds",
                    "title": "政务服务事项目录 (HSDS 3.0)",
                    "resources": resources,
                }
                package.writestr(
                    "datapackage.json", orjson.dumps(descriptor, option=orjson.OPT_INDENT_2)
                )
            out.seek(0)
            while chunk := out.read(CHUNK):
                yield chunk
    finally:
        tables.close()
