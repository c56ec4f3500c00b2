"""What a copy reads before the feed, and how it stores the directory's records.

The change feed carries everything of the catalogue: implementations, catalogue entries,
departments and shared materials, the seed's included (``catalogue seed`` writes them
through the same services as the API, each with its first version and change-log row).
What it does not carry is the *reference data* the catalogue is coded against: the regions
of GB/T 2260 and the code lists (item types, levels, audiences…). Those are national
standards, loaded whole and replaced whole by ``catalogue seed``, never edited through the
API; a copy reads them as they stand (``GET /regions``, ``GET /code-lists/{name}``) before
it applies the feed, so a database that was only migrated becomes a copy with no manual
step.

The directory (departments, shared materials) is read as it stands too, before the feed:
a source whose directory was loaded before the feed carried it (an older release's seed)
is still copied whole; the feed's versions of those records then apply over it.

Every row read is checked with the rules of :mod:`app.sync.storable` before anything is
written, so a row this copy cannot store stops the pull with one line naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
from sqlalchemy import delete, insert
from sqlmodel import Session

from app.db import upsert
from app.dbtypes import utcnow
from app.directory.models import CodeListEntry, Department, Region, SharedMaterial
from app.legal.service import upsert_from_feed as upsert_legal_basis
from app.sync.storable import MirrorError, check_directory


def get_json(client: httpx.Client, path: str, **params: Any) -> Any:
    """GET ``path`` of the source: its JSON, or :class:`MirrorError` (unreachable, not 200)."""
    try:
        resp = client.get(path, params={k: v for k, v in params.items() if v is not None})
    except httpx.HTTPError as exc:
        raise MirrorError(f"cannot reach {client.base_url}: {exc}") from exc
    if resp.status_code != 200:
        raise MirrorError(f"GET {path} answered {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def pages(client: httpx.Client, path: str) -> Iterator[dict[str, Any]]:
    """Every row of a paged list of the source."""
    cursor = None
    while True:
        page = get_json(client, path, limit=1000, cursor=cursor)
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass
class Directory:
    """The source's reference data and directory, as read (and checked)."""

    departments: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    code_lists: dict[str, list[dict[str, Any]]]
    legal_bases: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def _checked(kind: str, key: str, rows: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        check_directory(kind, row.get(key), row)
        out.append(row)
    return out


def read_directory(client: httpx.Client) -> Directory:
    """Read the directory and the reference data whole, each row checked as it comes."""
    departments = _checked("department", "credit_code", pages(client, "/api/v1/departments"))
    materials = _checked("shared material", "code", pages(client, "/api/v1/materials"))
    regions = _checked("region", "code", pages(client, "/api/v1/regions"))
    code_lists = {}
    for name in get_json(client, "/api/v1/code-lists"):
        listed = get_json(client, f"/api/v1/code-lists/{name}")
        code_lists[name] = _checked(f"code list {name}", "code", iter(listed["codes"]))
    legal_bases = _checked("legal basis", "id", pages(client, "/api/v1/legal-bases"))
    return Directory(departments, materials, regions, code_lists, legal_bases)


#: the columns of a region as GET /regions shows them
_REGION_COLUMNS = ("name", "level", "kind", "parent_code", "valid_from", "valid_to")


def store_directory(session: Session, found: Directory) -> None:
    """Write what :func:`read_directory` found: regions (upserted, parents first), code
    lists (replaced, in the source's order), departments (upserted, parents first) and
    shared materials (upserted)."""
    conn = session.connection()
    if found.regions:
        rows = [
            {
                "code": r["code"],
                **{c: r.get(c) for c in _REGION_COLUMNS},
                "kind": r.get("kind") or "",
                "valid_from": day(r.get("valid_from")),
                "valid_to": day(r.get("valid_to")),
            }
            for r in sorted(found.regions, key=lambda r: (r["level"], r["code"]))
        ]
        table = Region.__table__  # type: ignore[attr-defined]
        conn.execute(upsert(table, conn.dialect.name, ["code"], _REGION_COLUMNS), rows)
    if found.code_lists:
        conn.execute(delete(CodeListEntry))
        rows = [
            {"list_name": name, "code": c["code"], "label": c["label"], "position": i,
             "note": c.get("note")}
            for name, codes in found.code_lists.items()
            for i, c in enumerate(codes)
        ]  # fmt: skip
        if rows:
            conn.execute(insert(CodeListEntry), rows)
    for d in sorted(found.departments, key=lambda d: d["parent_credit_code"] is not None):
        upsert_department(session, d)
    for m in found.materials:
        upsert_material(session, m)
    for b in found.legal_bases:
        upsert_legal_basis(session, b)
    session.flush()


def sync_directory(session: Session, client: httpx.Client) -> None:
    """The source's reference data and directory, read whole and written (the caller
    commits)."""
    store_directory(session, read_directory(client))


#: a department's columns as its representation shows them
_DEPARTMENT_COLUMNS = ("name", "short_name", "region_code", "level", "parent_credit_code",
                       "version", "updated_by")  # fmt: skip


def upsert_department(session: Session, d: dict[str, Any]) -> None:
    """A department as its representation (GET /departments/{code}, the feed) shows it."""
    dept = session.get(Department, d["credit_code"]) or Department(credit_code=d["credit_code"])
    for field in _DEPARTMENT_COLUMNS:
        setattr(dept, field, d.get(field))
    dept.updated_at = instant(d.get("updated_at")) or utcnow()
    session.add(dept)


def upsert_material(session: Session, m: dict[str, Any]) -> None:
    """A shared material as its representation (GET /materials/{code}, the feed) shows it."""
    material = session.get(SharedMaterial, m["code"]) or SharedMaterial(code=m["code"])
    for field in SharedMaterial.model_fields:
        if field != "code":
            setattr(material, field, m.get(field))
    session.add(material)
