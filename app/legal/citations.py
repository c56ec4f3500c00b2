"""Who cites a legal basis, and what its amendment or repeal asks of them (整改任务).

An item cites a document through its catalogue entry's 设定依据 (``legal_basis[].id``) or
its own 实施依据 (``guide.legal_basis[].id``). A task is stored when the document is
amended or repealed; it is open while the item still cites the document: replacing the
citation ends it (:func:`clear_replaced`, which the write of an item may call; the lists
here show only tasks still open either way)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, cast
from sqlmodel import Session, col, select

from app.catalogue.models import CatalogueEntry, Implementation
from app.catalogue.statuses import STATUS_CANCELLED, STATUS_MERGED
from app.dbtypes import utcnow
from app.legal.models import LegalBasis, LegalBasisTask, LegalStatus, TaskReason
from app.security import region_prefix

_ENDED = (STATUS_CANCELLED, STATUS_MERGED)


@dataclass(frozen=True)
class CitingItem:
    code: str
    department: str
    region: str


def cited_ids(entry_basis: list[dict[str, Any]] | None, guide: dict[str, Any] | None) -> set[int]:
    """The legal basis records an item cites: its entry's provisions and its own guide's."""
    ids = {b["id"] for b in entry_basis or () if isinstance(b, dict) and b.get("id")}
    ids.update(
        c["id"]
        for c in (guide or {}).get("legal_basis") or ()
        if isinstance(c, dict) and c.get("id")
    )
    return ids


def citing_items(session: Session, basis_id: int) -> list[CitingItem]:
    """The items in use that cite ``basis_id`` (through their entry or their own guide)."""
    entries = [
        code
        for code, basis in session.exec(
            select(CatalogueEntry.basic_code, CatalogueEntry.legal_basis).where(
                cast(CatalogueEntry.legal_basis, String).contains('"id"')
            )
        )
        if basis_id in cited_ids(basis, None)
    ]
    found: dict[str, CitingItem] = {}
    live = col(Implementation.status).notin_(_ENDED)
    if entries:
        for code, dept, region in session.exec(
            select(
                Implementation.code, Implementation.department_code, Implementation.region_code
            ).where(col(Implementation.basic_code).in_(entries), live)
        ):
            found[code] = CitingItem(code, dept, region)
    # an item's own 实施依据: only guides that cite records at all are read
    for code, dept, region, guide in session.exec(
        select(
            Implementation.code,
            Implementation.department_code,
            Implementation.region_code,
            Implementation.guide,
        ).where(live, cast(Implementation.guide, String).contains('"legal_basis"'))
    ):
        if basis_id in cited_ids(None, guide):
            found[code] = CitingItem(code, dept, region)
    return sorted(found.values(), key=lambda c: c.code)


def open_tasks(session: Session, basis: LegalBasis) -> int:
    """A task for every item citing ``basis`` now amended or repealed (one open task per
    item and document: a second amendment does not count twice). Returns how many new."""
    if basis.status == LegalStatus.IN_FORCE or basis.id is None:
        return 0
    reason = TaskReason.REPEALED if basis.status == LegalStatus.REPEALED else TaskReason.AMENDED
    since = basis.repealed_on if reason == TaskReason.REPEALED else basis.amended_on
    held = {
        t.item_code: t
        for t in session.exec(
            select(LegalBasisTask).where(
                LegalBasisTask.legal_basis_id == basis.id, col(LegalBasisTask.cleared_at).is_(None)
            )
        )
    }
    new = 0
    for item in citing_items(session, basis.id):
        task = held.get(item.code)
        if task is not None:  # the newer state replaces the older one's reason
            task.reason, task.since, task.legal_basis_version = reason, since, basis.version
            session.add(task)
            continue
        session.add(
            LegalBasisTask(
                legal_basis_id=basis.id,
                legal_basis_version=basis.version,
                item_code=item.code,
                department_code=item.department,
                region_code=item.region,
                reason=reason,
                since=since,
            )
        )
        new += 1
    session.flush()
    return new


def _still_cited(session: Session, codes: set[str]) -> dict[str, set[int]]:
    """What each of ``codes`` cites now (ended items cite nothing)."""
    if not codes:
        return {}
    rows = session.exec(
        select(Implementation.code, Implementation.guide, CatalogueEntry.legal_basis)
        .join(CatalogueEntry, col(CatalogueEntry.basic_code) == Implementation.basic_code)
        .where(col(Implementation.code).in_(codes), col(Implementation.status).notin_(_ENDED))
    )
    return {code: cited_ids(basis, guide) for code, guide, basis in rows}


def citations_needing_action(
    session: Session,
    *,
    department: str | None = None,
    region: str | None = None,
    legal_basis: int | None = None,
    item: str | None = None,
) -> list[dict[str, Any]]:
    """The open tasks (整改任务): each item still citing a document amended or repealed,
    with the document; what the quality rules report as findings and a department works
    through."""
    stmt = (
        select(LegalBasisTask, LegalBasis)
        .join(LegalBasis, col(LegalBasis.id) == LegalBasisTask.legal_basis_id)
        .where(col(LegalBasisTask.cleared_at).is_(None))
        .order_by(col(LegalBasisTask.department_code), col(LegalBasisTask.item_code))
    )
    if department:
        stmt = stmt.where(LegalBasisTask.department_code == department)
    if region:
        stmt = stmt.where(col(LegalBasisTask.region_code).startswith(region_prefix(region)))
    if legal_basis:
        stmt = stmt.where(LegalBasisTask.legal_basis_id == legal_basis)
    if item:
        stmt = stmt.where(LegalBasisTask.item_code == item)
    rows = list(session.exec(stmt))
    cited = _still_cited(session, {t.item_code for t, _ in rows})
    return [
        {
            "id": t.id,
            "item": t.item_code,
            "department": t.department_code,
            "region": t.region_code,
            "legal_basis": b.id,
            "title": b.title,
            "number": b.number,
            "status": b.status,
            "reason": t.reason,
            "since": t.since,
            "created_at": t.created_at,
        }
        for t, b in rows
        if b.id in cited.get(t.item_code, set()) and b.status != LegalStatus.IN_FORCE
    ]


def clear_replaced(session: Session, item_code: str | None = None) -> int:
    """Mark done the open tasks whose item no longer cites the document (or whose document
    is in force again); ``item_code`` limits it to one item (the write of that item).
    Returns how many were cleared."""
    stmt = (
        select(LegalBasisTask, LegalBasis.status)
        .join(LegalBasis, col(LegalBasis.id) == LegalBasisTask.legal_basis_id)
        .where(col(LegalBasisTask.cleared_at).is_(None))
    )
    if item_code:
        stmt = stmt.where(LegalBasisTask.item_code == item_code)
    rows = list(session.exec(stmt))
    cited = _still_cited(session, {t.item_code for t, _ in rows})
    now = utcnow()
    cleared = 0
    for task, status in rows:
        if status == LegalStatus.IN_FORCE or task.legal_basis_id not in cited.get(
            task.item_code, set()
        ):
            task.cleared_at = now
            session.add(task)
            cleared += 1
    session.flush()
    return cleared


def marks(session: Session, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The cited documents of an item (as its representation ``doc`` shows it) that are no
    longer in force as cited: [{id, title, number, status, on}] for the page's mark."""
    ids = cited_ids(doc.get("legal_basis"), doc.get("guide"))
    if not ids:
        return []
    rows = session.exec(
        select(LegalBasis)
        .where(col(LegalBasis.id).in_(ids), LegalBasis.status != LegalStatus.IN_FORCE)
        .order_by(col(LegalBasis.id))
    )
    return [
        {
            "id": b.id,
            "title": b.title,
            "number": b.number,
            "status": b.status,
            "on": _on(b),
        }
        for b in rows
    ]


def _on(b: LegalBasis) -> date | None:
    return b.repealed_on if b.status == LegalStatus.REPEALED else b.amended_on


def unknown(session: Session, ids: set[int]) -> set[int]:
    """The ids among ``ids`` that name no legal basis record (a write citing one is 422)."""
    if not ids:
        return set()
    return ids - set(session.exec(select(LegalBasis.id).where(col(LegalBasis.id).in_(ids))))
