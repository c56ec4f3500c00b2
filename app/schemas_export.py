"""The published JSON Schemas of the exchange format (``schemas/``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.catalogue.schemas import EXCHANGE_MODELS


def schema_documents() -> dict[str, dict[str, Any]]:
    docs = {}
    for name, model in EXCHANGE_MODELS.items():
        schema = model.model_json_schema()
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://service-catalogue.example/schemas/{name}.schema.json",
            **schema,
        }
        docs[f"{name}.schema.json"] = schema
    return docs


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, doc in schema_documents().items():
        path = folder / filename
        path.write_text(render(doc), encoding="utf-8")
        written.append(path)
    return written
