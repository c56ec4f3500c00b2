"""Lifecycle events: cancel (取消), suspend (暂停), resume, delegate (下放) or entrust (委托),
accept (承接), reclaim (收回), merge (合并), split (拆分).

Each is a version of the item with its decision, reason and effective date; the status it
leaves takes effect on that date (see ``app.catalogue.history``). A refused event writes
nothing: every check runs before the first row is written.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select

from app import clock
from app.catalogue.documents import item_document, item_input, merge_patch
from app.catalogue.effective import catch_up
from app.catalogue.guide_schemas import Guide
from app.catalogue.history import LIFECYCLE_STATUS, status_today
from app.catalogue.issuing import code_already_issued, issued_among
from app.catalogue.item_rows import save_item
from app.catalogue.items import create_item, load_for_write, record_item
from app.catalogue.models import Implementation
from app.catalogue.schemas import ImplementationIn
from app.catalogue.statuses import STATUS_CANCELLED, STATUS_MERGED, ItemStatus
from app.codes.rules import implementation_code
from app.config import get_settings
from app.dbtypes import utcnow
from app.directory.models import Department
from app.errors import Forbidden, InvalidInput, RuleViolation, field_error
from app.fields import Day, Line, Para, Pattern, Url
from app.security import Principal, region_prefix

ShortText = Line(300)


class Decision(BaseModel):
    """The decision document: 文号, title, link."""

    model_config = ConfigDict(extra="forbid")
    number: ShortText = Field(description="文号, e.g. 黑政规〔2026〕9号")
    title: ShortText
    url: Url(500) | None = None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Decision
    reason: Para(2000)
    effective_date: Day = Field(description="the day the change takes effect; may be in the future")


class DelegationTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: Pattern(r"^[0-9A-Z]{18}$")
    region: Pattern(r"^\d{6}$")


class DelegateIn(EventIn):
    mode: Literal["delegate", "entrust"] = Field(description="delegate 下放 or entrust 委托")
    handover_date: Day = Field(description="from this day the receiving bodies take new cases")
    to: list[DelegationTarget] = Field(min_length=1, max_length=200)


class AcceptIn(EventIn):
    guide: dict[str, Any] = Field(
        default_factory=dict, description="local guide details (windows, phones, hours) merged in"
    )


class MergeIn(EventIn):
    into: Pattern(r"^[0-9A-Z]{18}\d{13}$")


class SplitIn(EventIn):
    into: list[ImplementationIn] = Field(min_length=2, max_length=50)


class EventOut(BaseModel):
    code: str
    version: int
    event: str
    status_after: str
    effective_date: date
    created: list[str] = Field(default_factory=list, description="codes of new implementations")


def _record(
    session: Session,
    item: Implementation,
    actor: Principal,
    event: str,
    body: EventIn,
    *,
    status_after: str | None = None,
    effective_date: date | None = None,
    details: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> EventOut:
    """A new version of ``item`` recording the event (``values``: what else its row takes)."""
    bumped = {"version": item.version + 1, "updated_at": utcnow(), "updated_by": actor.name}
    save_item(session, item, {**(values or {}), **bumped})
    status = status_after or LIFECYCLE_STATUS[event]
    effective = effective_date or body.effective_date
    record_item(
        session,
        item,
        actor,
        event,
        status_after=status,
        decision=body.decision.model_dump(exclude_none=True),
        reason=body.reason,
        effective_date=effective,
        details=details,
    )
    return EventOut(
        code=item.code,
        version=item.version,
        event=event,
        status_after=status,
        effective_date=effective,
    )


def simple_event(
    session: Session,
    code: str,
    event: Literal["cancel", "suspend", "resume"],
    body: EventIn,
    actor: Principal,
    expected_version: int | None = None,
) -> EventOut:
    """取消 / 暂停 / 恢复 by the implementing department (or an admin)."""
    item = load_for_write(session, code, actor, expected_version, decision=True)
    status = status_today(session, code)
    if event == "suspend" and status != ItemStatus.ACTIVE:
        raise RuleViolation(
            f"only an item in use can be suspended (status {status})", type="lifecycle-order"
        )
    if event == "resume" and status != ItemStatus.SUSPENDED:
        raise RuleViolation(
            f"only a suspended item can be resumed (status {status})", type="lifecycle-order"
        )
    refuse_second_end(session, code, event)
    return _record(session, item, actor, event, body)


def _scheduled(session: Session, code: str) -> list[dict[str, Any]]:
    from app.catalogue.history import lifecycle_events

    return [e.public() for e in lifecycle_events(session, code) if e.effective_date > clock.today()]


#: the statuses that end an item (取消, 合并; a split cancels it)
ENDED = (STATUS_CANCELLED, STATUS_MERGED)


def refuse_second_end(session: Session, code: str, event: str) -> None:
    """409 ``lifecycle-end-scheduled``: an item whose end (a cancellation, merge or split)
    is decided but not yet in force takes no second one, nor a suspension or resumption
    (two decided ends would leave it merged into one item and cancelled, or merged into
    two)."""
    ending = next((e for e in _scheduled(session, code) if e["status"] in ENDED), None)
    if ending is not None:
        raise RuleViolation(
            f"{code} already ends by {ending['event']} on {ending['effective_date']}; "
            f"no {event} can be decided beside it",
            type="lifecycle-end-scheduled",
            extra={"scheduled": ending},
        )


def delegate(
    session: Session,
    code: str,
    body: DelegateIn,
    actor: Principal,
    expected_version: int | None = None,
) -> EventOut:
    """下放 / 委托 to one or more receiving bodies: each gets an implementation pending
    acceptance (待承接), built from its credit code and level; the delegating one stops taking
    new cases on the handover date."""
    source = load_for_write(session, code, actor, expected_version, decision=True)
    if status_today(session, code) != ItemStatus.ACTIVE:
        raise RuleViolation("only an item in use can be delegated", type="lifecycle-order")
    if body.handover_date < body.effective_date:
        raise InvalidInput.field(
            ["body", "handover_date"],
            "the handover date cannot precede the effective date",
            "delegation.handover_date",
        )
    province = region_prefix(get_settings().province)
    own_subtree = region_prefix(source.region_code)  # a body delegates within its own region
    errors: list[dict[str, Any]] = []
    targets: list[tuple[Department, str]] = []
    for i, target in enumerate(body.to):
        loc = ["body", "to", i]
        dept = session.get(Department, target.department)
        if dept is None:
            errors.append(
                field_error(
                    [*loc, "department"], f"no department {target.department}", "department.unknown"
                )
            )
            continue
        if not dept.region_code.startswith(province):
            errors.append(
                field_error(
                    [*loc, "department"],
                    f"department {dept.credit_code} is outside the province ({province}*)",
                    "delegation.outside_province",
                )
            )
            continue
        if not dept.region_code.startswith(own_subtree):
            errors.append(
                field_error(
                    [*loc, "department"],
                    f"department {dept.credit_code} ({dept.region_code}) is outside the "
                    f"delegating body's region {source.region_code} ({own_subtree}*)",
                    "delegation.outside_region",
                )
            )
            continue
        if dept.region_code != target.region:
            errors.append(
                field_error(
                    [*loc, "region"],
                    f"department {dept.credit_code} is in {dept.region_code}",
                    "implementation.region",
                )
            )
            continue
        if int(dept.level) <= int(source.level):
            errors.append(
                field_error(
                    [*loc, "department"],
                    f"a delegation goes down: level {dept.level} is not below {source.level}",
                    "delegation.level",
                )
            )
            continue
        new_code = implementation_code(dept.credit_code, dept.level, source.basic_code)
        if issued_among(session, [new_code]):
            errors.append(
                field_error(
                    [*loc, "department"],
                    code_already_issued(session, new_code).detail,
                    "code-already-issued",
                )
            )
            continue
        targets.append((dept, new_code))
    if errors:
        raise InvalidInput("the delegation is not valid", errors=errors)

    template = item_input(item_document(session, source))
    created = []
    for dept, new_code in targets:
        data = ImplementationIn.model_validate(
            {
                **template,
                "code": None,
                "department": dept.credit_code,
                "region": dept.region_code,
                "level": dept.level,
                "power_source": "2" if body.mode == "delegate" else "5",
                "body_nature": "1" if body.mode == "delegate" else "3",
                "entrusting_department": None
                if body.mode == "delegate"
                else source.department_code,
                "materials": [{**m, "code": None} for m in template["materials"]],
                "fees": [{**f, "code": None} for f in template["fees"]],
                "local_code": None,
            }
        )
        create_item(
            session,
            data,
            actor,
            check_scope=False,  # the delegating department creates it for the receiving one
            status=ItemStatus.PENDING,
            delegated_from=source.code,
            handover_date=body.handover_date,
            decision=body.decision.model_dump(exclude_none=True),
            reason=body.reason,
        )
        created.append(new_code)
    out = _record(
        session,
        source,
        actor,
        "delegate",
        body,
        effective_date=body.handover_date,
        details={"mode": body.mode, "to": created, "handover_date": body.handover_date.isoformat()},
    )
    out.created = created
    return out


def accept(
    session: Session,
    code: str,
    body: AcceptIn,
    actor: Principal,
    expected_version: int | None = None,
) -> EventOut:
    """承接 by the receiving department's editor, completing the local guide. It takes
    effect on the handover date (or the given effective date, if later)."""
    item = load_for_write(session, code, actor, expected_version, decision=True)
    if actor.role != "admin" and item.department_code not in actor.departments:
        # a sync key of the region may write the item, but accepting is the department's act
        raise Forbidden(f"only the receiving department {item.department_code} may accept {code}")
    if status_today(session, code) != ItemStatus.PENDING or item.delegated_from is None:
        raise RuleViolation(f"{code} is not pending acceptance", type="lifecycle-order")
    guide = merge_patch(item.guide, body.guide)
    try:
        local = {"guide": Guide.model_validate(guide).model_dump(mode="json")}
    except Exception as exc:  # pydantic.ValidationError
        errors = getattr(exc, "errors", lambda **_: [])(include_url=False)
        raise InvalidInput(
            "the local guide is not valid",
            errors=[field_error(["body", "guide", *e["loc"]], e["msg"], e["type"]) for e in errors],
        ) from None
    effective = max(body.effective_date, item.handover_date or body.effective_date)
    return _record(session, item, actor, "accept", body, effective_date=effective, values=local)


def reclaim(
    session: Session,
    code: str,
    body: EventIn,
    actor: Principal,
    expected_version: int | None = None,
) -> EventOut:
    """收回: the delegating implementation takes the power back; the implementations its
    delegation created are cancelled on the same date."""
    source = load_for_write(session, code, actor, expected_version, decision=True)
    if status_today(session, code) != ItemStatus.DELEGATED and not _scheduled_delegation(
        session, code
    ):
        raise RuleViolation(f"{code} has not been delegated", type="lifecycle-order")
    receivers = session.exec(
        select(Implementation)
        .where(Implementation.delegated_from == code)
        .order_by(Implementation.code)
        .with_for_update()
    ).all()
    for receiver in receivers:
        catch_up(session, receiver)  # what took effect before it is reclaimed: its own version
        _record(session, receiver, actor, "reclaimed", body, details={"reclaimed_by": code})
    out = _record(
        session, source, actor, "reclaim", body, details={"reclaimed": [r.code for r in receivers]}
    )
    return out


def reinstate(
    session: Session,
    code: str,
    body: EventIn,
    actor: Principal,
    expected_version: int | None = None,
) -> EventOut:
    """恢复设立: a cancelled (or reclaimed) implementation comes back under its own code, by
    a decision of its department (or an admin), as a new version on its history: a code
    once issued always names the same department + level + entry."""
    item = load_for_write(
        session, code, actor, expected_version, refuse=(STATUS_MERGED,), decision=True
    )
    status = status_today(session, code)
    if status != STATUS_CANCELLED:
        raise RuleViolation(
            f"only a cancelled item can be reinstated (status {status})", type="lifecycle-order"
        )
    return _record(session, item, actor, "reinstate", body)


def _scheduled_delegation(session: Session, code: str) -> bool:
    return any(e["event"] == "delegate" for e in _scheduled(session, code))


def merge(
    session: Session,
    code: str,
    body: MergeIn,
    actor: Principal,
    expected_version: int | None = None,
) -> EventOut:
    """合并: this code is retired and points to the surviving one, which the actor may
    write too (an editor cannot retire its item into another department's)."""
    if body.into == code:
        raise InvalidInput.field(
            ["body", "into"], "an item cannot be merged into itself", "merge.into"
        )
    # both rows locked in code order (two merges crossing each other wait, never deadlock):
    # the survivor's state read here stands until this commits
    if body.into < code:
        session.get(Implementation, body.into, with_for_update=True)
    survivor = session.get(Implementation, body.into)
    if survivor is None:
        raise InvalidInput.field(["body", "into"], f"no implementation {body.into}", "merge.into")
    item = load_for_write(session, code, actor, expected_version, decision=True)
    if body.into > code:
        session.refresh(survivor, with_for_update=True)
    actor.require_item_scope(survivor.department_code, survivor.region_code, decision=True)
    if status_today(session, body.into) in ENDED:
        raise RuleViolation(
            f"{body.into} is not in use and cannot survive a merge", type="lifecycle-order"
        )
    refuse_second_end(session, code, "merge")
    refuse_second_end(session, body.into, "merge into it")
    return _record(session, item, actor, "merge", body, details={"into": body.into})


def split(
    session: Session,
    code: str,
    body: SplitIn,
    actor: Principal,
    expected_version: int | None = None,
) -> EventOut:
    """拆分: new implementations (of sub items) replace this one, which is cancelled."""
    item = load_for_write(session, code, actor, expected_version, decision=True)
    refuse_second_end(session, code, "split")
    created = []
    for data in body.into:
        if data.department != item.department_code:
            raise InvalidInput.field(
                ["body", "into", len(created), "department"],
                "the new items belong to the same department",
                "split.department",
            )
        created.append(create_item(session, data, actor)["code"])
    out = _record(session, item, actor, "split", body, details={"into": created})
    out.created = created
    return out


#: the body each lifecycle event reads
EVENT_MODELS: dict[str, type[EventIn]] = {
    "cancel": EventIn,
    "suspend": EventIn,
    "resume": EventIn,
    "delegate": DelegateIn,
    "accept": AcceptIn,
    "reclaim": EventIn,
    "merge": MergeIn,
    "split": SplitIn,
    "reinstate": EventIn,
}
