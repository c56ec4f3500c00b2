"""Corrections (纠错): report, read, answer, turn into a change request, forget contacts.

Who may do what:

* anyone reports (no key), and reads a ticket's public status (no personal data);
* the editors of the item's department, the reviewers of its region and admins read the
  inbox and answer; the contact is shown to those editors only;
* an editor of the department (or an admin) turns an accepted suggestion into a change
  request (``app.review.service.propose``), which is linked to the ticket.

Corrections never write a version or a change-log row: they are not changes of an item,
so the feed, search, digests and exports never see them. The rate limit of reports
is kept in the process, not the database, so that a flood of reports costs the database
nothing (app/http/rate_limits.py)."""

from __future__ import annotations

import copy
import secrets
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlmodel import Session, col

from app.catalogue.documents import item_input
from app.catalogue.models import Implementation
from app.catalogue.reads import current_item
from app.config import get_settings
from app.corrections.models import Correction, CorrectionStatus
from app.corrections.schemas import CorrectionIn
from app.dbtypes import utcnow
from app.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from app.review import service as review
from app.review.models import ChangeRequest, RequestStatus
from app.security import Principal

API = "/api/v1"


def status_url(ticket: str) -> str:
    return f"{API}/corrections/{ticket}"


# --- reports -------------------------------------------------------------------------


def new_ticket() -> str:
    """128 random bits, URL-safe: unguessable, so the ticket itself is the key to the
    status (which shows nothing personal)."""
    return secrets.token_urlsafe(16)


def report(
    session: Session, code: str, data: CorrectionIn, *, now: datetime | None = None
) -> Correction:
    impl = session.get(Implementation, code)
    if impl is None:
        raise NotFound(f"no implementation {code}")
    correction = Correction(
        ticket=new_ticket(),
        item_code=impl.code,
        department_code=impl.department_code,
        region_code=impl.region_code,
        field=data.field,
        suggested=data.suggested,
        text=data.text,
        contact=data.contact,
        created_at=now or utcnow(),
    )
    session.add(correction)
    session.flush()
    return correction


def by_ticket(session: Session, ticket: str, *, lock: bool = False) -> Correction:
    """The correction of ``ticket``; ``lock``: for a change of it, its row locked until the
    transaction ends and read after the lock was granted, so that of two changes at once
    (two clicks on 'make a change request') the second sees what the first left."""
    stmt = select(Correction).where(Correction.ticket == ticket)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no correction {ticket}")
    return found


# --- who reads and answers -----------------------------------------------------------


def _editor_of(actor: Principal, c: Correction) -> bool:
    return (
        actor.role == "editor"
        and c.department_code in actor.departments
        and c.region_code.startswith(actor.region_prefix or "")
    )


def may_handle(actor: Principal, c: Correction) -> bool:
    """The department's editors, the reviewers of its region, admins."""
    if actor.role == "admin" or _editor_of(actor, c):
        return True
    return actor.role == "reviewer" and c.region_code.startswith(actor.region_prefix or "-")


def may_see_contact(actor: Principal, c: Correction) -> bool:
    """The contact is the department's to use: its editors see it, nobody else."""
    return _editor_of(actor, c)


def _handled(session: Session, ticket: str, actor: Principal) -> Correction:
    c = by_ticket(session, ticket, lock=True)
    if not may_handle(actor, c):
        raise Forbidden(
            f"key {actor.name!r} ({actor.role}) does not answer corrections of department "
            f"{c.department_code} in region {c.region_code}"
        )
    return c


def inbox(
    session: Session,
    actor: Principal,
    *,
    department: str | None,
    status: str | None,
    item: str | None,
    region: str | None,
    before_id: int | None,
    limit: int,
) -> list[Correction]:
    """The corrections the key answers, newest first (``limit + 1`` rows: one more says
    there is a next page)."""
    return review.scoped_page(
        session,
        Correction,
        actor,
        "corrections",
        equal={"department_code": department, "status": status, "item_code": item},
        region=region,
        before_id=before_id,
        limit=limit,
    )


def fixed_versions(session: Session, corrections: list[Correction]) -> dict[int, int]:
    """Change request id → the item version that published it, for the approved ones
    linked to ``corrections``."""
    ids = {c.change_request_id for c in corrections if c.change_request_id}
    if not ids:
        return {}
    rows = session.execute(
        select(ChangeRequest.id, ChangeRequest.published_version).where(
            col(ChangeRequest.id).in_(ids), ChangeRequest.status == RequestStatus.APPROVED
        )
    )
    return {cr_id: version for cr_id, version in rows if version is not None}


# --- answers -------------------------------------------------------------------------


def _linkable(session: Session, actor: Principal, c: Correction, request_id: int) -> int:
    cr = session.get(ChangeRequest, request_id)
    if cr is None or not review.may_read(actor, cr):
        raise InvalidInput.field(
            ["body", "change_request"],
            f"no change request {request_id}",
            "correction.change_request",
        )
    if cr.item_code != c.item_code:
        raise InvalidInput.field(
            ["body", "change_request"],
            f"change request {request_id} changes {cr.item_code or 'a new item'}, not {c.item_code}",
            "correction.change_request",
        )
    return request_id


def reply(
    session: Session,
    ticket: str,
    actor: Principal,
    *,
    status: str,
    text: str,
    change_request: int | None,
    link: bool,
) -> Correction:
    """Answer (or answer again): accepted, rejected or duplicate, with a reply the
    reporter reads; ``link``: set the change request that fixes it (None unlinks)."""
    c = _handled(session, ticket, actor)
    status = CorrectionStatus(status)
    if status == CorrectionStatus.NEW:
        raise InvalidInput.field(["body", "status"], "an answer is not new", "correction.status")
    if link:
        if change_request is not None and status == CorrectionStatus.REJECTED:
            raise InvalidInput.field(
                ["body", "change_request"],
                "a rejected correction has no change request fixing it",
                "correction.change_request",
            )
        c.change_request_id = (
            _linkable(session, actor, c, change_request) if change_request is not None else None
        )
    elif status == CorrectionStatus.REJECTED:
        c.change_request_id = None
    c.status, c.reply = status, text
    c.replied_by, c.replied_at = actor.name, utcnow()
    session.add(c)
    session.flush()
    return c


# --- from a suggestion to a change request -------------------------------------------


def _value(current: Any, suggested: str) -> Any:
    """The suggestion as the field's kind of value: a number, a flag, a list… sent as
    JSON is taken as such where the field holds one; text otherwise."""
    if isinstance(current, str) or current is None:
        return suggested
    try:
        value = orjson.loads(suggested)
    except orjson.JSONDecodeError:
        return suggested
    return suggested if value is None else value


def _set_in(node: Any, parts: list[str], suggested: str, field: str) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = int(part) if part.isdigit() else -1
            if not 0 <= index < len(node):
                raise InvalidInput.field(
                    ["field"],
                    f"{field}: the item has no element {part} there (it has {len(node)})",
                    "correction.field",
                )
            if last:
                node[index] = _value(node[index], suggested)
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = _value(node.get(part), suggested)
            else:
                if node.get(part) is None:
                    node[part] = [] if parts[i + 1].isdigit() else {}
                node = node[part]
        else:
            raise InvalidInput.field(
                ["field"], f"{field}: {'.'.join(parts[:i])} holds no fields", "correction.field"
            )


def build_patch(current: dict[str, Any], field: str, suggested: str) -> dict[str, Any]:
    """A JSON merge patch setting ``field`` of ``current`` (the item's writable
    representation) to ``suggested``. Objects nest; a list is replaced whole (a merge patch
    cannot name an element), so the patch holds the current list with that element
    changed: ``guide.windows.0.phone`` → ``{"guide": {"windows": [<windows, the first's
    phone replaced>]}}``."""
    parts = field.split(".")
    if parts[0] not in current:
        raise RuleViolation(
            f"{parts[0]} is not written at the item (四级四同 fields are the catalogue "
            "entry's, the rest is assigned by the catalogue): change it where it is kept",
            type="correction-not-writable",
        )
    node: dict[str, Any] = current
    depth = 0  # parts[:depth] lead through objects to ``node``
    while depth < len(parts) - 1 and isinstance(node.get(parts[depth]), dict):
        node = node[parts[depth]]
        depth += 1
    key = parts[depth]
    if depth == len(parts) - 1:
        value: Any = _value(node.get(key), suggested)
    else:  # a list (or nothing yet) on the way: the patch carries it whole
        holder = {key: copy.deepcopy(node.get(key))}
        _set_in(holder, parts[depth:], suggested, field)
        value = holder[key]
    patch: dict[str, Any] = {}
    target = patch
    for part in parts[:depth]:
        target = target.setdefault(part, {})
    target[key] = value
    return patch


def to_change_request(
    session: Session, ticket: str, actor: Principal, *, note: str | None, submit: bool
) -> ChangeRequest:
    """An accepted correction with a field and a suggested value becomes an edit request
    of the item (a merge patch over the published version), linked to the ticket. Its note
    (the version's public reason) names the field, never the ticket."""
    c = by_ticket(session, ticket, lock=True)
    if actor.role != "admin" and not _editor_of(actor, c):
        raise Forbidden(
            f"key {actor.name!r} ({actor.role}) is not an editor of department {c.department_code}"
        )
    if c.status != CorrectionStatus.ACCEPTED:
        raise RuleViolation(
            f"correction {ticket} is {c.status}: only an accepted one becomes a change request",
            type="correction-state",
            extra={"correction_status": c.status},
        )
    if c.change_request_id is not None:
        raise RuleViolation(
            f"correction {ticket} is linked to change request {c.change_request_id} already",
            type="correction-linked",
            extra={"change_request": c.change_request_id},
        )
    if not c.field or c.suggested is None:
        raise RuleViolation(
            f"correction {ticket} suggests no value for a field: write the change request "
            "yourself (POST /change-requests) and link it in the reply",
            type="correction-no-suggestion",
        )
    if note is not None and ticket in note:
        # the note is the published version's reason, which anyone reads; the ticket opens
        # the report (the link to it is kept in ``change_request_id``)
        raise InvalidInput.field(
            ["body", "note"],
            "the note is published with the item's version: it must not carry the ticket",
            "correction.note_ticket",
        )
    published = current_item(session, c.item_code)
    patch = build_patch(item_input(published), c.field, c.suggested)
    cr = review.propose(
        session,
        actor,
        kind="edit",
        item=c.item_code,
        patch=patch,
        note=note or f"纠错: {c.field}",
        submit=submit,
    )
    c.change_request_id = cr.id
    session.add(c)
    session.flush()
    return cr


# --- personal data -------------------------------------------------------------------


def erase_contacts(
    session: Session, *, now: datetime | None = None, days: int | None = None
) -> int:
    """Null the contact of every correction reported more than ``days`` (default: the
    setting ``CATALOGUE_CONTACT_RETENTION_DAYS``) ago; returns how many were erased."""
    now = now or utcnow()
    days = get_settings().contact_retention_days if days is None else days
    result = session.execute(
        update(Correction)
        .where(
            col(Correction.contact).is_not(None), Correction.created_at < now - timedelta(days=days)
        )
        .values(contact=None, contact_erased_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.expire_all()
    return int(result.rowcount or 0)
