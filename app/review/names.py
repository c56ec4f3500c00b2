"""Items, departments and regions named as people name them (name, then code), for a whole
list of change requests in one round trip each: the API's request summaries and the
editor's pages read them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.catalogue.models import CatalogueEntry, Implementation
from app.directory.models import Department, Region
from app.review.models import ChangeRequest


@dataclass(frozen=True)
class ItemRef:
    """An item as a list names it."""

    code: str | None
    name: str
    department_code: str
    department: str
    region_code: str
    region: str
    delegated_from: str | None = None
    handover_date: date | None = None


def _names(session: Session, model: Any, key: Any, codes: Iterable[str]) -> dict[str, str]:
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = session.execute(select(key, model.name).where(col(key).in_(wanted))).all()
    return {code: name for code, name in rows}


def department_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    return _names(session, Department, Department.credit_code, codes)


def region_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    return _names(session, Region, Region.code, codes)


def item_refs(session: Session, codes: Iterable[str | None]) -> dict[str, ItemRef]:
    """code → :class:`ItemRef`, one query for them all (unknown codes are left out)."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = session.execute(
        select(
            Implementation.code,
            CatalogueEntry.name,
            Implementation.department_code,
            Department.name,
            Implementation.region_code,
            Region.name,
            Implementation.delegated_from,
            Implementation.handover_date,
        )
        .join(CatalogueEntry, col(CatalogueEntry.basic_code) == Implementation.basic_code)
        .join(Department, col(Department.credit_code) == Implementation.department_code)
        .join(Region, col(Region.code) == Implementation.region_code)
        .where(col(Implementation.code).in_(wanted))
    ).all()
    return {row[0]: ItemRef(*row) for row in rows}


def request_refs(session: Session, requests: Iterable[ChangeRequest]) -> dict[int, ItemRef]:
    """request id → the item it changes; a proposed new item by its catalogue entry's name."""
    requests = list(requests)
    items = item_refs(session, (r.item_code for r in requests))
    new = [r for r in requests if r.item_code is None]
    entries = _names(
        session,
        CatalogueEntry,
        CatalogueEntry.basic_code,
        ((r.body or {}).get("basic_code") for r in new),
    )
    departments = department_names(session, (r.department_code for r in new))
    regions = region_names(session, (r.region_code for r in new))
    refs: dict[int, ItemRef] = {}
    for r in requests:
        assert r.id is not None
        if r.item_code in items:
            refs[r.id] = items[r.item_code]  # type: ignore[index]
        else:
            basic = str((r.body or {}).get("basic_code") or "")
            refs[r.id] = ItemRef(
                r.item_code,
                entries.get(basic, r.item_code or basic),
                r.department_code,
                departments.get(r.department_code, r.department_code),
                r.region_code,
                regions.get(r.region_code, r.region_code),
            )
    return refs
