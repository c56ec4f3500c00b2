"""What waits for an editor or a reviewer, and items named as people name them: by the
item's name with its department and region (南岗区), the 31-character code as secondary
text. Read by the editor's home (:mod:`.editor`), the queue, the request page, the
corrections inbox and the item form; every query is one round trip for a whole list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.catalogue.reads import list_items
from app.catalogue.statuses import ItemStatus
from app.corrections import service as corrections
from app.corrections.models import Correction, CorrectionStatus
from app.review import service as review
from app.review.models import ChangeRequest, RequestKind, RequestStatus, ReviewAction
from app.review.names import ItemRef, item_refs, region_names, request_refs
from app.security import Principal

#: the requests still open: a draft, one waiting for review, one returned to its author
OPEN = (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.REJECTED)
#: at most this many rows in each list of the home page (the API pages through the rest)
SHOWN = 200


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
            rows, _ = list_items(session, department=department, limit=SHOWN)
            items += rows
            waiting, _ = list_items(
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
