"""The write path of implementations: validate → compose → hash → record the version and
the change-log row, in the caller's transaction. Single writes, bulk, imports, lifecycle
events, approved change requests go through :func:`record_item`."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any, cast

from sqlmodel import Session, col, select

from app import clock
from app.catalogue.documents import (
    ITEM_FIELDS,
    child_rows,
    comparable_content,
    content_hash,
    document_content,
    item_document,
    item_input,
    merge_patch,
)
from app.catalogue.effective import catch_up
from app.catalogue.history import (
    Event,
    in_order,
    lifecycle_events,
    overlay,
    status_today,
    successor_refs,
)
from app.catalogue.issuing import child_code_kinds, issue_code, issued_under, record_issued_codes
from app.catalogue.item_batch import Replacement, locked_rows, replace_items
from app.catalogue.item_rows import insert_items, item_row, replace_children, save_item
from app.catalogue.models import (
    Implementation,
    ItemFee,
    ItemMaterial,
)
from app.catalogue.reads import current_item
from app.catalogue.schemas import (
    ImplementationIn,
)
from app.catalogue.statuses import (
    STATUS_CANCELLED,
    STATUS_INCOMPLETE,
    STATUS_LABELS,
    STATUS_LABELS_EN,
    STATUS_MERGED,
    ItemStatus,
)
from app.catalogue.validation import ItemLookups, check_read_only, check_version, validate_item
from app.dbtypes import utcnow
from app.errors import InvalidInput, NotFound, RuleViolation, field_error
from app.quality.findings import on_item_versions
from app.security import Principal
from app.versionlog import on_recorded, record_version, shown_in


def refresh_items(session: Session, where: Any, actor: Principal, event: str) -> int:
    """Give every implementation matched by ``where`` a new version showing what changed
    around it (catalogue entry, department name)."""
    count = 0
    for item in session.exec(select(Implementation).where(where)):
        session.refresh(item, with_for_update=True)
        catch_up(session, item)
        values = {"version": item.version + 1, "updated_at": utcnow(), "updated_by": actor.name}
        save_item(session, item, values)
        record_item(session, item, actor, event)
        count += 1
    return count


def record_item(
    session: Session,
    item: Implementation,
    actor: Principal,
    event: str,
    *,
    status_after: str | None = None,
    decision: dict[str, Any] | None = None,
    reason: str | None = None,
    effective_date: date | None = None,
    details: dict[str, Any] | None = None,
    **context: Any,
) -> dict[str, Any]:
    """Append a version of ``item``: its content now, with the status, the lifecycle event in
    force, the scheduled ones and what is upcoming as of today (this event included)."""
    today = clock.today()
    doc = item_document(session, item, **context)
    events = lifecycle_events(session, item.code)
    if status_after is not None:
        events.append(
            Event(
                item.version,
                event,
                status_after,
                effective_date or today,
                decision,
                reason,
                details,
            )
        )
        events = in_order(events)
    next_change = overlay(doc, events, today, successor_refs(session, events, today))
    digest = content_hash(document_content(doc))
    if item.status != doc["status"] or item.content_hash != digest:
        save_item(session, item, {"status": doc["status"], "content_hash": digest})
    record_version(
        session,
        kind="item",
        code=item.code,
        version=item.version,
        event=event,
        snapshot=doc,
        actor=actor,
        reason=reason,
        decision=decision,
        effective_date=effective_date,
        status_after=status_after,
        details=details,
        next_change=next_change,
    )
    return doc


def _apply_item(
    session: Session,
    item: Implementation,
    data: ImplementationIn,
    actor: Principal,
) -> None:
    """Write the rows of an implementation: its own fields, its materials and fees."""
    values = data.model_dump(mode="json", include=ITEM_FIELDS)
    values.update(updated_at=utcnow(), updated_by=actor.name)
    save_item(session, item, values)
    _replace_children(session, item.code, data)


def _replace_children(session: Session, code: str, data: ImplementationIn) -> None:
    """Replace materials and fees (see :func:`child_rows`)."""
    old = {
        "materials": {
            r.name: r.code
            for r in session.exec(
                select(ItemMaterial).where(ItemMaterial.implementation_code == code)
            )
        },
        "fees": {
            r.name: r.code
            for r in session.exec(select(ItemFee).where(ItemFee.implementation_code == code))
        },
    }
    content = data.model_dump(mode="json", include={"materials", "fees"})
    materials, fees, fresh = child_rows(code, content, old, issued_under(session, code))
    record_issued_codes(session, child_code_kinds(fresh))
    replace_children(session, [code], materials, fees)


def create_item(
    session: Session,
    data: ImplementationIn,
    actor: Principal,
    *,
    check_scope: bool = True,
    status: str = ItemStatus.ACTIVE,
    delegated_from: str | None = None,
    handover_date: date | None = None,
    decision: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Add an implementation. Its code is built from department + level + basic code."""
    if check_scope:
        actor.require_item_scope(data.department, data.region)
    if data.version is not None:
        raise InvalidInput.field(["body", "version"], "a new item has no version yet", "read_only")
    check_read_only(data, None)
    code, ctx = validate_item(ItemLookups(session), data, None)
    issue_code(session, code)
    row = item_row(
        code=code,
        basic_code=data.basic_code,
        department_code=data.department,
        region_code=data.region,
        status=status,
        delegated_from=delegated_from,
        handover_date=handover_date,
        created_at=utcnow(),
        **data.model_dump(mode="json", include=ITEM_FIELDS),
        updated_at=utcnow(),
        updated_by=actor.name,
    )
    insert_items(session, [row])
    _replace_children(session, code, data)
    # the row as written, not read back: what the representation shows of it
    item = cast(Implementation, SimpleNamespace(**row))
    return record_item(
        session,
        item,
        actor,
        "create",
        status_after=status,
        decision=decision,
        reason=reason or data.change_note,
        details={"delegated_from": delegated_from} if delegated_from else None,
        entry=ctx.entry,
        department=ctx.department,
        region=ctx.region,
    )


def load_for_write(
    session: Session,
    code: str,
    actor: Principal,
    expected_version: int | None,
    *,
    refuse: tuple[str, ...] = (STATUS_CANCELLED, STATUS_MERGED),
    decision: bool = False,
) -> Implementation:
    """Lock the implementation row (two editors cannot both pass the version check), check
    the caller's scope, record the days that took effect since its last version, check the
    expected version and that the item's status allows a change."""
    item = session.get(Implementation, code, with_for_update=True)
    if item is None:
        raise NotFound(f"no implementation {code}")
    _check_for_write(session, item, actor, expected_version, refuse, decision)
    return item


def _lock_for_write(
    session: Session, code: str, actor: Principal, expected_version: int | None
) -> SimpleNamespace:
    """:func:`load_for_write` for a replace: the locked row as a plain object (what
    :func:`replace_items` takes; the ORM object only on the single write path)."""
    row = locked_rows(session, [code]).get(code)
    if row is None:
        raise NotFound(f"no implementation {code}")
    item = SimpleNamespace(**row)
    _check_for_write(session, item, actor, expected_version, (STATUS_CANCELLED, STATUS_MERGED))
    return item


def _check_for_write(
    session: Session,
    item: Any,
    actor: Principal,
    expected_version: int | None,
    refuse: tuple[str, ...],
    decision: bool = False,
) -> None:
    code = item.code
    actor.require_item_scope(item.department_code, item.region_code, decision=decision)
    # a day that took effect since the last version is recorded before this write: the
    # version the caller read may be the one it superseded (412, as its ETag said)
    catch_up(session, item)
    check_version("implementation", code, item.version, expected_version)
    status = status_today(session, code) or item.status
    if status in refuse:
        raise RuleViolation(
            f"implementation {code} has status {status} "
            f"({STATUS_LABELS.get(status, status)}); it cannot be changed this way",
            type="item-" + STATUS_LABELS_EN.get(status, "status"),
            extra={"item_status": status},
        )


def replace_item(
    session: Session,
    code: str,
    data: ImplementationIn,
    actor: Principal,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Full replace (PUT). The identity (department, level, basic code) cannot change."""
    item = _lock_for_write(session, code, actor, expected_version)
    return _replace(session, item, data, actor, None)


def _replace(
    session: Session,
    row: SimpleNamespace,
    data: ImplementationIn,
    actor: Principal,
    current: dict[str, Any] | None,
) -> dict[str, Any]:
    """:func:`replace_item` of an item :func:`_lock_for_write` has locked and checked (its
    row); ``current``: its representation in force, when the caller has read it."""
    code = row.code
    check_version("implementation", code, row.version, data.version)
    built, ctx = validate_item(ItemLookups(session), data, code)
    actor.require_item_scope(data.department, data.region)
    check_read_only(data, (lambda: current) if current else lambda: current_item(session, code))
    # the usual item (active, nothing scheduled or due) as a batch of one: composed in
    # memory and written in a few statements; the others below, with their rules
    batch = [Replacement(0, code, data, ctx)]
    replaced = replace_items(session, batch, actor, locked={code: vars(row)})
    if replaced.refused:
        raise replaced.refused[0]
    if replaced.done:
        held = session.identity_map.get(session.identity_key(Implementation, code))
        if held is not None:
            session.expire(held)  # the row was written past the ORM
        unchanged = replaced.done[0][0] == "unchanged"
        return current if unchanged and current else current_item(session, code)
    # the ORM object as the read model of the single path (the row is locked already)
    item = session.get(Implementation, code, populate_existing=True)
    assert item is not None
    context = {"entry": ctx.entry, "department": ctx.department, "region": ctx.region}
    before = item_document(session, item, **context)
    attempt = session.begin_nested()
    _apply_item(session, item, data, actor)
    if comparable_content(before) == comparable_content(item_document(session, item, **context)):
        attempt.rollback()  # unchanged content makes no version and touches no row
        session.expire(item)  # it shows what the savepoint wrote: read the row again
        return before
    attempt.commit()
    save_item(session, item, {"version": item.version + 1})
    note = data.change_note
    if item.status == STATUS_INCOMPLETE:  # a full implementation completes a 待完善 item
        return record_item(
            session, item, actor, "complete", status_after=ItemStatus.ACTIVE, reason=note, **context
        )
    return record_item(session, item, actor, "revise", reason=note, **context)


def patch_item(
    session: Session,
    code: str,
    patch: dict[str, Any],
    actor: Principal,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """JSON merge patch (PATCH) over the current writable fields, then a full replace."""
    from pydantic import ValidationError

    item = _lock_for_write(session, code, actor, expected_version)
    current = current_item(session, code)
    merged = merge_patch(item_input(current), patch)
    try:
        data = ImplementationIn.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput(
            "the patched implementation is not valid",
            errors=[
                field_error(["body", *e["loc"]], e["msg"], e["type"])
                for e in exc.errors(include_url=False)
            ],
        ) from None
    return _replace(session, item, data, actor, current)


def _department_renamed(session: Session, credit_code: str, actor: Principal) -> None:
    where = col(Implementation.department_code) == credit_code
    refresh_items(session, where, actor, "department_renamed")


shown_in("department", _department_renamed)  # an item shows its department's name
# every version of an item recorded (single, bulk, mirror, the effective day) brings its
# quality findings up to date in the same transaction (app/quality/findings.py)
on_recorded("item", on_item_versions)
