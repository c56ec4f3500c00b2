"""The representation of an implementation (what GET /items/{code} returns) from its
rows, its materials' and fees' rows from an input, and its content for hashing and
comparison."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlmodel import Session, select

from app.catalogue.models import (
    CatalogueEntry,
    Implementation,
    ItemFee,
    ItemMaterial,
)
from app.catalogue.schemas import (
    READ_ONLY_FIELDS,
    ImplementationIn,
)
from app.directory.models import Department, Region

FOUR_SAME_FIELDS = ("name", "item_type", "legal_basis")  # basic_code is the identity itself


def item_document(
    session: Session,
    item: Implementation,
    *,
    entry: CatalogueEntry | None = None,
    department: Department | None = None,
    region: Region | None = None,
) -> dict[str, Any]:
    """The representation of an implementation: what GET /items/{code} returns."""
    entry = entry or session.get(CatalogueEntry, item.basic_code)
    department = department or session.get(Department, item.department_code)
    region = region or session.get(Region, item.region_code)
    assert entry and department and region
    materials = session.exec(
        select(ItemMaterial)
        .where(ItemMaterial.implementation_code == item.code)
        .order_by("position")
    ).all()
    fees = session.exec(
        select(ItemFee).where(ItemFee.implementation_code == item.code).order_by("position")
    ).all()
    return compose_item_document(
        item,
        entry,
        department,
        region,
        [_material_document(m) for m in materials],
        [fee_document({f: getattr(fee, f) for f in (*FEE_FIELDS, *FEE_OPTIONAL)}) for fee in fees],
    )


FEE_FIELDS = ("code", "position", "name", "standard", "legal_basis", "waivable", "waiver_basis")


#: columns of a material or fee row that a representation shows only when set (so that
#: items without situations read as they did before situations existed)
MATERIAL_OPTIONAL: dict[str, Any] = {"options": None, "when": None, "instructions_file": None}


FEE_OPTIONAL: dict[str, Any] = {"amount": None, "when": None}


def _shown(doc: dict[str, Any], row: dict[str, Any], optional: dict[str, Any]) -> dict[str, Any]:
    for key in optional:
        if row.get(key) not in (None, []):
            doc[key] = row[key]
    return doc


def fee_document(row: dict[str, Any]) -> dict[str, Any]:
    """A fee as the representation shows it, from its row's values."""
    return _shown({f: row.get(f) for f in FEE_FIELDS}, row, FEE_OPTIONAL)


def compose_item_document(
    item: Any,
    entry: CatalogueEntry,
    department: Department,
    region: Region,
    materials: list[dict[str, Any]],
    fees: list[dict[str, Any]],
) -> dict[str, Any]:
    """The representation of an implementation from its parts: ``item`` is an
    :class:`Implementation` or anything with its attributes (the bulk path composes the
    representation without reading the rows back)."""
    return {
        "code": item.code,
        "version": item.version,
        "status": item.status,
        "basic_code": entry.basic_code,
        "name": entry.name,
        "item_type": entry.item_type,
        "domain": entry.domain,
        "legal_basis": entry.legal_basis,
        "department": {"code": department.credit_code, "name": department.name},
        "region": {"code": region.code, "name": region.name},
        "level": item.level,
        "power_source": item.power_source,
        "body_nature": item.body_nature,
        "entrusting_department": item.entrusting_department,
        "audience": item.audience,
        "themes": item.themes,
        "case_type": item.case_type,
        "guide": item.guide,
        "materials": materials,
        "fees": fees,
        "local_code": item.local_code,
        "source_system": item.source_system,
        "delegated_from": item.delegated_from,
        "handover_date": item.handover_date.isoformat() if item.handover_date else None,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
        "updated_by": item.updated_by,
    }


_MATERIAL_FIELDS = (
    "name",
    "material_type",
    "form",
    "originals",
    "copies",
    "paper_size",
    "necessity",
    "source",
    "source_note",
    "blank_form",
    "sample",
    "instructions",
    "acceptance_standard",
    "legal_basis",
    "signature_requirement",
    "applies_when",
    "licence_type",
)


def _material_document(m: ItemMaterial) -> dict[str, Any]:
    return material_document(
        {
            f: getattr(m, f)
            for f in ("code", "position", "shared_material_code", *_MATERIAL_FIELDS)
            + tuple(MATERIAL_OPTIONAL)
        }
    )


def material_document(row: dict[str, Any]) -> dict[str, Any]:
    """A material as the representation shows it, from its row's values."""
    doc: dict[str, Any] = {
        "code": row["code"],
        "position": row["position"],
        "shared_material": row.get("shared_material_code"),
    }
    doc.update({f: row.get(f) for f in _MATERIAL_FIELDS})
    return _shown(doc, row, MATERIAL_OPTIONAL)


#: the implementation's own writable fields (the rest is identity, status or children)
ITEM_FIELDS = {
    "level",
    "power_source",
    "body_nature",
    "entrusting_department",
    "audience",
    "themes",
    "case_type",
    "guide",
    "local_code",
    "source_system",
}


def child_rows(
    code: str,
    content: dict[str, Any],
    old: dict[str, dict[str, str]] | None = None,
    issued: list[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Material and fee rows of an implementation's validated ``content`` (its JSON dump)
    for implementation ``code``, each keeping its code (given, or matched by name in
    ``old``) so that history can match them across edits; new ones get the next sequence
    never issued. Returns the rows and the new codes."""
    out: list[list[dict[str, Any]]] = []
    fresh: list[str] = []
    for prefix, key in (("", "materials"), ("F", "fees")):
        known = (old or {}).get(key, {})
        head = code + prefix
        seqs = [
            int(c[len(head) :])
            for c in issued or []
            if c.startswith(head) and c[len(head) :].isdigit()
        ]
        next_seq = max(seqs, default=0) + 1
        used: set[str] = set()
        values = []
        for position, row in enumerate(content[key], start=1):
            given = row["code"]
            own = given if given and given.startswith(code) and given not in used else None
            own = own or (known.get(row["name"]) if known.get(row["name"]) not in used else None)
            if own is None:
                own = f"{head}{next_seq:03d}"
                next_seq += 1
                fresh.append(own)
            used.add(own)
            doc = {
                **(MATERIAL_OPTIONAL if prefix == "" else FEE_OPTIONAL),
                **{k: v for k, v in row.items() if k not in ("code", "shared_material")},
            }
            if prefix == "":
                doc["shared_material_code"] = row["shared_material"]
            values.append({**doc, "code": own, "position": position, "implementation_code": code})
        out.append(values)
    return out[0], out[1], fresh


def comparable_content(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("version", "updated_at", "updated_by")}


def item_input(doc: dict[str, Any]) -> dict[str, Any]:
    """The writable part of a stored representation, in the shape of ``ImplementationIn``."""
    writable = set(ImplementationIn.model_fields) - {
        *FOUR_SAME_FIELDS,
        *READ_ONLY_FIELDS,
        "version",
    }
    out = {k: v for k, v in doc.items() if k in writable}
    out["department"] = doc["department"]["code"]
    out["region"] = doc["region"]["code"]
    out["materials"] = [{k: v for k, v in m.items() if k != "position"} for m in doc["materials"]]
    out["fees"] = [{k: v for k, v in f.items() if k != "position"} for f in doc["fees"]]
    return out


def sent_content(item: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a sender controls of an implementation in the input shape: without the codes
    the catalogue assigns (the item's, its materials' and fees'), the expected version and
    the keys in ``drop``. Two inputs with the same content give equal dicts."""
    out = dict(item)
    for key in ("code", "version", *drop):
        out.pop(key, None)
    for key in ("materials", "fees"):
        rows = out.get(key)
        if isinstance(rows, list):
            out[key] = [
                {k: v for k, v in row.items() if k != "code"} if isinstance(row, dict) else row
                for row in rows
            ]
    return out


def document_content(doc: dict[str, Any]) -> dict[str, Any]:
    """:func:`sent_content` of a stored representation."""
    return sent_content(item_input(doc))


def input_content(dump: dict[str, Any]) -> dict[str, Any]:
    """:func:`sent_content` of a validated input's JSON dump (the 四级四同 fields are the
    entry's: given in an input, they were checked against it)."""
    return sent_content(dump, drop=FOUR_SAME_FIELDS)


def content_hash(content: dict[str, Any]) -> str:
    """sha256 of a :func:`sent_content`, keys sorted: the same content, the same hash."""
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
