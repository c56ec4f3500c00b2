"""Load ``seed/``: code lists and regions (reference data, refreshed on every run) and the
sample catalogue (departments, shared materials, entries, implementations; only once).

The sample catalogue goes through the same services as the API, so every seeded code is
validated and every seeded item has its first version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session

from app.catalogue.entries import create_entry
from app.catalogue.items import create_item
from app.catalogue.models import CatalogueEntry
from app.catalogue.schemas import CatalogueEntryIn, ImplementationIn
from app.directory import service as directory
from app.directory.models import CodeListEntry, Region
from app.directory.schemas import DepartmentIn, SharedMaterialIn
from app.security import Principal

SEED_KEY = Principal(name="seed", role="admin")


def _load(seed_dir: Path, name: str) -> Any:
    return json.loads((seed_dir / name).read_text(encoding="utf-8"))


def load_reference(session: Session, seed_dir: Path) -> None:
    """Code lists and regions: replaced by the seed's version."""
    lists = _load(seed_dir, "code_lists.json")
    session.execute(delete(CodeListEntry))
    session.execute(
        insert(CodeListEntry),
        [
            {"list_name": name, "code": c["code"], "label": c["label"], "position": i, "note": None}
            for name, spec in lists.items()
            for i, c in enumerate(spec["codes"])
        ],
    )
    regions = _load(seed_dir, "regions.json")
    known = set(session.execute(select(Region.code)).scalars())
    fresh = [
        {
            **r,
            "valid_from": date.fromisoformat(r["valid_from"]) if r.get("valid_from") else None,
            "valid_to": date.fromisoformat(r["valid_to"]) if r.get("valid_to") else None,
        }
        for r in sorted(regions, key=lambda r: r["level"])
        if r["code"] not in known
    ]
    if fresh:
        session.execute(insert(Region), fresh)
    session.flush()


def load_sample(
    session: Session, seed_dir: Path, progress: Callable[[str, int], None] | None = None
) -> bool:
    """The sample catalogue, once: returns False when it is already there."""
    if session.execute(select(func.count()).select_from(CatalogueEntry)).scalar_one():
        return False
    departments = _load(seed_dir, "departments.json")
    # parents before children
    ordered = sorted(
        departments, key=lambda d: (d.get("parent_credit_code") is not None, d["level"])
    )
    # through the write paths: each gets its first version and change-log row (the feed
    # carries them to every copy)
    for d in ordered:
        directory.save_department(session, DepartmentIn.model_validate(d), SEED_KEY)
    for m in _load(seed_dir, "shared_materials.json"):
        directory.create_material(session, SharedMaterialIn.model_validate(m), SEED_KEY)
    entries = _load(seed_dir, "catalogue_entries.json")
    for raw in sorted(entries, key=lambda e: e.get("parent_basic_code") is not None):
        create_entry(session, CatalogueEntryIn.model_validate(raw), SEED_KEY)
    if progress:
        progress("entries", len(entries))
    items = _load(seed_dir, "implementations.json")
    for raw in items:
        create_item(session, ImplementationIn.model_validate(raw), SEED_KEY)
    if progress:
        progress("implementations", len(items))
    return True
