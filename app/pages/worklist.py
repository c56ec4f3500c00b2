"""What waits for an editor or a reviewer, and items named as people name them: by the
item's name with its department and region (南岗区), the 31-character code as secondary
text. Read by the editor's home (:mod:`.editor`), the queue, the request page, the
corrections inbox and the item form; every query is one round trip for a whole list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.catalogue import service as catalogue
from app.catalogue.models import CatalogueEntry, Implementation
from app.catalogue.statuses import ItemStatus
from app.corrections import service as corrections
from app.corrections.models import Correction, CorrectionStatus
from app.directory.models import Department, Region
from app.review import service as review
from app.review.models import ChangeRequest, RequestKind, RequestStatus, ReviewAction
from app.security import Principal

#: the requests still open: a draft, one waiting for review, one returned to its author
OPEN = (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.REJECTED)
#: at most this many rows in each list of the home page (the API pages through the rest)
SHOWN = 200


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


def rejections(session: Session, requests: Iterable[ChangeRequest]) -> dict[int, ReviewAction]:
    """request id → its latest rejection (who returned it, when, why)."""
    ids = [r.id for r in requests if r.status == RequestStatus.REJECTED]
    if not ids:
        return {}
    rows = session.execute(
        select(ReviewAction)
        .where(col(ReviewAction.change_request_id).in_(ids), ReviewAction.action == "reject")
        .order_by(col(ReviewAction.id))
    ).scalars()
    return {a.change_request_id: a for a in rows}


def open_edit_of(session: Session, p: Principal, code: str) -> ChangeRequest | None:
    """The editor's own open edit of the item (the newest), which the item form continues
    instead of starting a second one beside it."""
    return session.execute(
        select(ChangeRequest)
        .where(
            ChangeRequest.author == p.name,
            ChangeRequest.item_code == code,
            ChangeRequest.kind == RequestKind.EDIT,
            col(ChangeRequest.status).in_(OPEN),
        )
        .order_by(col(ChangeRequest.id).desc())
        .limit(1)
    ).scalar_one_or_none()


@dataclass
class Worklist:
    """An editor's home: what is theirs to do, then what they oversee."""

    drafts: list[ChangeRequest]
    returned: list[ChangeRequest]
    pending: list[ItemRef]  # delegated to the department, not accepted yet
    corrections: list[Correction]
    to_review: list[ChangeRequest]  # a reviewer's queue
    items: list[dict[str, Any]]  # the department's items
    refs: dict[int, ItemRef]
    rejected_by: dict[int, ReviewAction]
    item_names: dict[str, ItemRef]
    by_item: dict[str, list[ChangeRequest]]  # the open requests of each item
    regions: dict[str, str]  # the items' regions by name


def worklist(session: Session, p: Principal) -> Worklist:
    requests: list[ChangeRequest] = []
    if p.role in ("editor", "reviewer", "admin"):
        requests = [
            r
            for r in review.list_requests(
                session,
                p,
                status=None,
                department=None,
                region=None,
                author=None,
                before_id=None,
                limit=SHOWN,
            )[:SHOWN]
            if r.status in OPEN
        ]
    mine = [r for r in requests if r.author == p.name]
    items: list[dict[str, Any]] = []
    pending_codes: list[str] = []
    found: list[Correction] = []
    if p.role == "editor":
        for department in p.departments:
            rows, _ = catalogue.list_items(session, department=department, limit=SHOWN)
            items += rows
            waiting, _ = catalogue.list_items(
                session, department=department, status=ItemStatus.PENDING, limit=SHOWN
            )
            pending_codes += [w["code"] for w in waiting]
    if p.role in ("editor", "reviewer", "admin"):
        found = corrections.inbox(
            session,
            p,
            department=None,
            status=CorrectionStatus.NEW,
            item=None,
            region=None,
            before_id=None,
            limit=SHOWN,
        )[:SHOWN]
    to_review = (
        [r for r in requests if r.status == RequestStatus.SUBMITTED and r.author != p.name]
        if p.role in ("reviewer", "admin")
        else []
    )
    pending = item_refs(session, pending_codes)
    named = {
        **pending,
        **item_refs(
            session,
            [*(c.item_code for c in found), *(r.delegated_from for r in pending.values())],
        ),
    }
    by_item: dict[str, list[ChangeRequest]] = {}
    for r in requests:
        if r.item_code:
            by_item.setdefault(r.item_code, []).append(r)
    return Worklist(
        drafts=[r for r in mine if r.status == RequestStatus.DRAFT],
        returned=[r for r in mine if r.status == RequestStatus.REJECTED],
        pending=[pending[c] for c in pending_codes if c in pending],
        corrections=found,
        to_review=to_review,
        items=items,
        refs=request_refs(session, requests),
        rejected_by=rejections(session, mine),
        item_names=named,
        by_item=by_item,
        regions=region_names(session, (i["region"] for i in items)),
    )
