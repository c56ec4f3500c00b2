"""Change requests (变更申请): proposed, reviewed, then published through the same write
path as a direct write.

A request holds what the editor would have sent: a new implementation (``create``), the
full implementation or a JSON merge patch (``edit``), or a lifecycle event's body. It is
validated when written, so that a reviewer reads a change that can be published; nothing
public changes until it is approved. Approval writes as the author (scope, attribution)
with the approver and the request kept in the version (``approved_by``, ``channel``
``review``). A request made on version N that finds the item at version M > N is stale:
approval answers 409 and ``rebase`` brings it onto M, field by field.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from app.catalogue import lifecycle
from app.catalogue.documents import item_input, merge_patch
from app.catalogue.entries import add_aliases, aliases_added, get_entry, new_aliases
from app.catalogue.items import create_item, replace_item
from app.catalogue.models import Implementation
from app.catalogue.reads import current_item
from app.catalogue.schemas import ImplementationIn
from app.catalogue.validation import ItemLookups, check_version, validate_item
from app.config import get_settings
from app.dbtypes import utcnow
from app.errors import Forbidden, InvalidInput, NotFound, RuleViolation, field_error
from app.pagination import with_prefix
from app.review.models import (
    AliasProposal,
    ChangeRequest,
    RequestKind,
    RequestStatus,
    ReviewAction,
)
from app.review.publishers import PUBLISHERS, rehearse
from app.security import ApiKey, Principal, region_prefix

EDITABLE = (RequestStatus.DRAFT, RequestStatus.REJECTED)


def review_required(actor: Principal, region: str) -> bool:
    """Must this key's change of an item in ``region`` go through review? Editors' do by
    default (``CATALOGUE_REVIEW_EDITORS``), unless the longest matching prefix of
    ``CATALOGUE_REVIEW_REGIONS`` says otherwise; admins and sync keys publish directly."""
    if actor.role != "editor" or actor.approved_by:
        return False
    settings = get_settings()
    matching = [p for p in settings.review_regions if region.startswith(p)]
    if matching:
        return settings.review_regions[max(matching, key=len)]
    return settings.review_editors


def instead_of_direct_write(
    session: Session,
    actor: Principal,
    *,
    kind: str,
    item: str | None,
    region: str | None = None,
    body: dict[str, Any] | None = None,
    patch: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> ChangeRequest | None:
    """An editor's direct write where review is required becomes a submitted change
    request (the API answers 202 with it); None: the write publishes directly. The version
    the client says it edited (``If-Match``) is checked as a direct write checks it (412)."""
    if actor.role != "editor":
        return None
    impl = None
    if region is None:
        impl = session.get(Implementation, item)
        if impl is None:
            return None  # the write itself answers 404
        region = impl.region_code
    if not review_required(actor, region):
        return None
    if impl is not None:
        check_version("implementation", impl.code, impl.version, expected_version)
    note = (body or patch or {}).get("change_note") if kind in ("create", "edit") else None
    return propose(
        session, actor, kind=kind, item=item, body=body, patch=patch, note=note, submit=True
    )


# --- validation of what a request proposes ---------------------------------------------


def _validated(model: type[BaseModel], value: Any, loc: list[str | int]) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InvalidInput(
            "the proposed change is not valid",
            errors=[
                field_error([*loc, *e["loc"]], e["msg"], e["type"])
                for e in exc.errors(include_url=False)
            ],
        ) from None


def _published(session: Session, code: str) -> dict[str, Any]:
    return current_item(session, code)


def proposed_input(session: Session, cr: ChangeRequest) -> dict[str, Any] | None:
    """The implementation a create or edit request would publish, in the input shape."""
    if cr.kind == RequestKind.CREATE:
        return cr.body
    if cr.kind != RequestKind.EDIT:
        return None
    if cr.patch is not None:
        return merge_patch(item_input(_published(session, cr.item_code)), cr.patch)
    return cr.body


def _check_content(
    session: Session, cr: ChangeRequest, loc: list[str | int], actor: Principal
) -> None:
    """Every rule a direct write would check, without writing."""
    if cr.kind in (RequestKind.CREATE, RequestKind.EDIT):
        data = _validated(ImplementationIn, proposed_input(session, cr), loc)
        validate_item(ItemLookups(session), data, cr.item_code)
        if cr.kind == RequestKind.CREATE:
            cr.department_code, cr.region_code = data.department, data.region
    elif cr.kind == RequestKind.ALIAS:
        proposal = _validated(AliasProposal, cr.body or {}, loc)
        aliases_added(_entry_of(session, cr.item_code), proposal.aliases)
    else:
        body = _validated(lifecycle.EVENT_MODELS[cr.kind], cr.body or {}, loc)
        rehearse(session, cr.kind, cr.item_code, body, actor, cr.base_version)


def _entry_of(session: Session, code: str | None) -> Any:
    impl = session.get(Implementation, code)
    if impl is None:
        raise NotFound(f"no implementation {code}")
    return get_entry(session, impl.basic_code)


def entry_aliases(session: Session, cr: ChangeRequest) -> tuple[list[str], list[str]]:
    """An alias request's entry aliases now, and as they would be once it is approved."""
    entry = _entry_of(session, cr.item_code)
    proposal = AliasProposal.model_validate(cr.body or {})
    before = list(entry.aliases or [])
    return before, [*before, *new_aliases(entry, proposal.aliases)]


# --- the request's life --------------------------------------------------------------


def _act(
    session: Session, cr: ChangeRequest, action: str, actor: Principal, reason: str | None = None
) -> None:
    cr.updated_at = utcnow()
    session.add(cr)
    session.flush()
    session.add(
        ReviewAction(change_request_id=cr.id, action=action, actor=actor.name, reason=reason)
    )
    session.flush()


def propose(
    session: Session,
    actor: Principal,
    *,
    kind: str,
    item: str | None,
    body: dict[str, Any] | None = None,
    patch: dict[str, Any] | None = None,
    note: str | None = None,
    submit: bool = False,
) -> ChangeRequest:
    """A new request (a draft, or submitted at once when ``submit``)."""
    kind = RequestKind(kind)
    cr = ChangeRequest(kind=kind, author=actor.name, note=note, body=body, patch=patch)
    if kind == RequestKind.EDIT and (body is None) == (patch is None):
        raise InvalidInput.field(
            ["body", "patch"],
            "an edit holds either the full implementation or a patch",
            "change_request.edit",
        )
    if kind == RequestKind.CREATE:
        if item is not None:
            raise InvalidInput.field(
                ["body", "item"], "a new item has no code yet", "change_request.item"
            )
        _check_content(session, cr, ["body", "body"], actor)
        actor.require_item_scope(cr.department_code, cr.region_code)
    else:
        if item is None:
            raise InvalidInput.field(
                ["body", "item"], f"a {kind} names the item", "change_request.item"
            )
        impl = session.get(Implementation, item)
        if impl is None:
            raise NotFound(f"no implementation {item}")
        decision = kind not in (RequestKind.EDIT, RequestKind.ALIAS)
        actor.require_item_scope(impl.department_code, impl.region_code, decision=decision)
        cr.item_code, cr.base_version = item, impl.version
        cr.department_code, cr.region_code = impl.department_code, impl.region_code
        _check_content(session, cr, ["body", "patch" if patch is not None else "body"], actor)
    session.add(cr)
    session.flush()
    _act(session, cr, "create", actor, note)
    if submit:
        transition(session, cr.id, "submit", actor)
    return cr


def get(
    session: Session, request_id: int, actor: Principal, *, lock: bool = False
) -> ChangeRequest:
    """The request ``actor`` may read; ``lock``: for a change of it (see :func:`_locked`)."""
    cr = _locked(session, request_id) if lock else session.get(ChangeRequest, request_id)
    if cr is None:
        raise NotFound(f"no change request {request_id}")
    if not may_read(actor, cr):
        raise Forbidden(
            f"key {actor.name!r} reads the change requests of its departments or region only"
        )
    return cr


def may_read(actor: Principal, cr: ChangeRequest) -> bool:
    """The department's editors, the reviewers of its region, admins."""
    if actor.role == "admin" or actor.name == cr.author:
        return True
    if actor.role == "reviewer":
        return cr.region_code.startswith(actor.region_prefix or "-")
    return actor.role == "editor" and cr.department_code in actor.departments


def edit(
    session: Session,
    request_id: int,
    actor: Principal,
    *,
    body: dict[str, Any] | None,
    patch: dict[str, Any] | None,
    note: str | None,
    fields: set[str],
) -> ChangeRequest:
    """Change a draft (or a rejected request, which becomes a draft again)."""
    cr = _own(session, request_id, actor)
    _in_state(cr, EDITABLE, "edited")
    if "body" in fields or "patch" in fields:
        cr.body, cr.patch = body, patch
        if cr.kind == RequestKind.EDIT and (cr.body is None) == (cr.patch is None):
            raise InvalidInput.field(
                ["body", "patch"],
                "an edit holds either the full implementation or a patch",
                "change_request.edit",
            )
        _check_content(session, cr, ["body", "patch" if cr.patch is not None else "body"], actor)
    if "note" in fields:
        cr.note = note
    cr.status = RequestStatus.DRAFT
    _act(session, cr, "edit", actor, note if "note" in fields else None)
    return cr


def _locked(session: Session, request_id: int) -> ChangeRequest | None:
    """The request's row, locked until the transaction ends and read again after the lock
    was granted: of two changes of one request at once (an approval and a rejection or a
    withdrawal), the second waits for the first and then checks the state it left
    (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transaction serialises them)."""
    return session.get(ChangeRequest, request_id, with_for_update=True, populate_existing=True)


def _own(session: Session, request_id: int, actor: Principal) -> ChangeRequest:
    """The request, locked, if ``actor`` wrote it."""
    cr = get(session, request_id, actor, lock=True)
    if cr.author != actor.name:
        raise Forbidden(
            f"change request {request_id} is {cr.author!r}'s: only its author changes it"
        )
    return cr


def _in_state(cr: ChangeRequest, allowed: tuple[RequestStatus, ...], doing: str) -> None:
    if cr.status not in allowed:
        raise RuleViolation(
            f"change request {cr.id} is {cr.status}: it cannot be {doing} "
            f"(only when {' or '.join(allowed)})",
            type="change-request-state",
            extra={"request_status": cr.status},
        )


def _reviewed(session: Session, request_id: int, actor: Principal) -> ChangeRequest:
    """The request, locked, if ``actor`` may decide it."""
    cr = _locked(session, request_id)
    if cr is None:
        raise NotFound(f"no change request {request_id}")
    # an alias is the province's entry's, shown by every implementation of it
    actor.require_reviewer_of(
        get_settings().province if cr.kind == RequestKind.ALIAS else cr.region_code
    )
    if cr.author == actor.name:
        raise Forbidden("nobody approves or rejects their own change request")
    return cr


def transition(
    session: Session, request_id: int, action: str, actor: Principal, reason: str | None = None
) -> ChangeRequest:
    """submit, withdraw (the author); approve, reject (a reviewer of the region, an admin)."""
    if action in ("submit", "withdraw"):
        cr = _own(session, request_id, actor)
        if action == "submit":
            _in_state(cr, (RequestStatus.DRAFT,), "submitted")
            cr.status = RequestStatus.SUBMITTED
        else:
            _in_state(cr, (*EDITABLE, RequestStatus.SUBMITTED), "withdrawn")
            cr.status = RequestStatus.WITHDRAWN
    else:
        cr = _reviewed(session, request_id, actor)
        if action == "reject" and not reason:
            raise InvalidInput.field(["body", "reason"], "a rejection says why", "missing")
        _in_state(
            cr, (RequestStatus.SUBMITTED,), action + "d" if action == "approve" else "rejected"
        )
        if action == "approve":
            publish(session, cr, actor)
            cr.status = RequestStatus.APPROVED
        else:
            cr.status = RequestStatus.REJECTED
        cr.decided_by, cr.decided_at = actor.name, utcnow()
    _act(session, cr, action, actor, reason)
    return cr


# --- publishing ------------------------------------------------------------------------


def _author(session: Session, cr: ChangeRequest, approver: Principal) -> Principal:
    """The author's key as it is now, carrying who approved and which request."""
    key = session.execute(select(ApiKey).where(ApiKey.name == cr.author)).scalar_one_or_none()
    if key is None:
        raise RuleViolation(
            f"the author's key {cr.author!r} no longer exists", type="change-request-author"
        )
    author = Principal(
        name=key.name,
        role=key.role,
        departments=tuple(key.departments or ()),
        region_prefix=key.region_prefix,
    )
    return replace(author, approved_by=approver.name, change_request=cr.id)


def _stale(session: Session, cr: ChangeRequest) -> None:
    if cr.item_code is None or cr.kind == RequestKind.ALIAS:
        return  # aliases go onto the entry as it is (those it has by then are left out)
    impl = session.get(Implementation, cr.item_code, with_for_update=True)
    if impl is not None and impl.version != cr.base_version:
        raise RuleViolation(
            f"{cr.item_code} moved on from version {cr.base_version} to {impl.version} since "
            "the request was made: rebase it (POST /change-requests/{id}/rebase), then approve",
            type="change-request-stale",
            extra={
                "base_version": cr.base_version,
                "current_version": impl.version,
                "base": f"/api/v1/items/{cr.item_code}/versions/{cr.base_version}",
                "current": f"/api/v1/items/{cr.item_code}/versions/{impl.version}",
            },
        )


def publish(session: Session, cr: ChangeRequest, approver: Principal) -> None:
    """Write the request as its author would have written it directly."""
    _stale(session, cr)
    author = _author(session, cr, approver)
    proposal = proposed_input(session, cr)
    if proposal is not None:
        data = _validated(ImplementationIn, {**proposal, "change_note": cr.note}, ["body"])
        if cr.kind == RequestKind.CREATE:
            doc = create_item(session, data, author)
        else:
            doc = replace_item(session, cr.item_code, data, author, cr.base_version)
        cr.published_code, cr.published_version = doc["code"], doc["version"]
    elif cr.kind == RequestKind.ALIAS:
        proposal = _validated(AliasProposal, cr.body or {}, ["body"])
        entry = add_aliases(
            session, _entry_of(session, cr.item_code).basic_code, proposal.aliases, author
        )
        cr.published_code, cr.published_version = entry.basic_code, entry.version
    else:
        body = _validated(lifecycle.EVENT_MODELS[cr.kind], cr.body or {}, ["body"])
        out = PUBLISHERS[cr.kind](session, cr.item_code, body, author, cr.base_version)
        cr.published_code, cr.published_version = out.code, out.version


def list_requests(
    session: Session,
    actor: Principal,
    *,
    status: str | None,
    department: str | None,
    region: str | None,
    author: str | None,
    before_id: int | None,
    limit: int,
) -> list[ChangeRequest]:
    return scoped_page(
        session,
        ChangeRequest,
        actor,
        "change requests",
        equal={"status": status, "department_code": department, "author": author},
        region=region,
        before_id=before_id,
        limit=limit,
    )


def scoped_page(
    session: Session,
    model: Any,
    actor: Principal,
    what: str,
    *,
    equal: dict[str, Any],
    region: str | None,
    before_id: int | None,
    limit: int,
) -> list[Any]:
    """A page (``limit + 1`` rows, newest first) of the records of items that ``actor``
    oversees: a reviewer its region's, an editor its departments' (within its region
    prefix if it has one), an admin all. ``model`` has ``id``, ``region_code`` and
    ``department_code``; ``equal`` filters columns by value (None: not filtered)."""
    stmt = select(model).order_by(col(model.id).desc())
    if actor.role == "reviewer":
        stmt = stmt.where(*with_prefix(model.region_code, actor.region_prefix or "-"))
    elif actor.role == "editor":
        stmt = stmt.where(col(model.department_code).in_(actor.departments))
        if actor.region_prefix:
            stmt = stmt.where(*with_prefix(model.region_code, actor.region_prefix))
    elif actor.role != "admin":
        raise Forbidden(f"key {actor.name!r} ({actor.role}) does not read {what}")
    for name, value in equal.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    if region:
        stmt = stmt.where(*with_prefix(model.region_code, region_prefix(region)))
    if before_id is not None:
        stmt = stmt.where(col(model.id) < before_id)
    return list(session.execute(stmt.limit(limit + 1)).scalars())


def actions(session: Session, cr: ChangeRequest) -> list[ReviewAction]:
    return list(
        session.execute(
            select(ReviewAction)
            .where(ReviewAction.change_request_id == cr.id)
            .order_by(col(ReviewAction.id))
        ).scalars()
    )
