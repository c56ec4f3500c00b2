"""Digests (GET /sync/digest): counts and content hashes to check a copy cheaply, drilling down
by department or code range."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

from sqlalchemy import (
    and_,
    select,
)
from sqlmodel import Session, col

from app.catalogue.models import Implementation
from app.errors import InvalidInput
from app.pagination import with_prefix
from app.security import region_prefix
from app.versionlog import RecordVersion


def item_hashes(
    session: Session,
    *,
    region: str | None = None,
    department: str | None = None,
    code_from: str | None = None,
    code_to: str | None = None,
) -> list[tuple[str, str, int, str]]:
    """(code, department, version, sha256 of the stored representation) of each item."""
    latest = (
        select(RecordVersion.code, RecordVersion.version, RecordVersion.snapshot)
        .join(
            Implementation,
            and_(
                col(Implementation.code) == RecordVersion.code,
                col(Implementation.version) == RecordVersion.version,
            ),
        )
        .where(RecordVersion.kind == "item")
        .add_columns(Implementation.department_code)
        .order_by(col(RecordVersion.code))
    )
    if region:
        latest = latest.where(*with_prefix(Implementation.region_code, region_prefix(region)))
    if department:
        latest = latest.where(Implementation.department_code == department)
    if code_from:
        latest = latest.where(col(RecordVersion.code) >= code_from)
    if code_to:
        latest = latest.where(col(RecordVersion.code) <= code_to)
    return [
        (code, dept, version, hashlib.sha256(snapshot.encode()).hexdigest())
        for code, version, snapshot, dept in session.execute(latest).all()
    ]


def _combine(rows: list[tuple[str, str, int, str]]) -> str:
    h = hashlib.sha256()
    for code, _, _, item_hash in rows:
        h.update(f"{code}:{item_hash}\n".encode())
    return h.hexdigest()


def digest(
    session: Session,
    *,
    region: str | None = None,
    department: str | None = None,
    code_from: str | None = None,
    code_to: str | None = None,
    by: str | None = None,
    parts: int = 16,
    items: bool = False,
) -> dict[str, Any]:
    """Count and content hash of the items in scope; ``by=department`` or ``by=range``
    splits them so that a copy can find the differing items in a few requests."""
    rows = item_hashes(
        session, region=region, department=department, code_from=code_from, code_to=code_to
    )
    out: dict[str, Any] = {
        "region": region,
        "department": department,
        "code_from": code_from,
        "code_to": code_to,
        "count": len(rows),
        "hash": _combine(rows),
        "parts": [],
        "items": None,
    }
    if by == "department":
        groups: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
        for row in rows:
            groups[row[1]].append(row)
        out["parts"] = [_part(dept, g) for dept, g in sorted(groups.items())]
    elif by == "range":
        size = max(1, -(-len(rows) // max(parts, 1)))
        out["parts"] = [
            _part(f"{n}", rows[i : i + size]) for n, i in enumerate(range(0, len(rows), size))
        ]
    elif by is not None:
        raise InvalidInput.field(["query", "by"], "by is department or range", "digest.by")
    if items:
        out["items"] = [{"code": c, "version": v, "hash": h} for c, _, v, h in rows]
    return out


def _part(key: str, rows: list[tuple[str, str, int, str]]) -> dict[str, Any]:
    return {
        "key": key,
        "count": len(rows),
        "hash": _combine(rows),
        "first_code": rows[0][0] if rows else None,
        "last_code": rows[-1][0] if rows else None,
    }
