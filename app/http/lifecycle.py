"""The lifecycle events of an implementation (动态调整), one route each: cancel (取消),
suspend (暂停), resume, delegate (下放/委托), accept (承接), reclaim (收回), merge (合并),
split (拆分), reinstate (恢复). Thin: the rules are in :mod:`app.catalogue.lifecycle`.

With review required (editor keys by default) the event is proposed instead: 202 with the
change request it created; it takes effect when a reviewer approves it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.catalogue import lifecycle
from app.catalogue.lifecycle import AcceptIn, DelegateIn, EventIn, EventOut, MergeIn, SplitIn
from app.http.deps import Caller, ExpectedVersion, WriteSession
from app.http.review import request_response
from app.review import service as review

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])
#: what every event route declares: sync keys are refused before the body is read (403)
EXTRA = {"x-decision": True}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {}}}


#: the answers every event may give besides its own
COMMON: dict[int | str, dict[str, Any]] = {
    202: {"description": "review required: the change request proposing the event"},
    404: _problem("no such implementation"),
    409: _problem(
        "refused by a catalogue rule: `item-cancelled` or `item-merged` (the item cannot "
        "change), `lifecycle-order` (the event does not follow from the item's status, e.g. "
        "resuming an item in use), `lifecycle-end-scheduled` (the item's cancellation, merge "
        "or split is decided but not yet in force: no second one, no suspension or resumption; "
        "`scheduled` names it)"
    ),
    412: _problem("If-Match names another version than the current one"),
}


def _responses(**own: str) -> dict[int | str, dict[str, Any]]:
    out = dict(COMMON)
    for status, text in own.items():
        out[int(status.lstrip("_"))] = _problem(text)
    return out


def _proposed(session: Any, caller: Any, event: str, code: str, body: BaseModel) -> Response | None:
    """The change request that proposes the event, where the caller's edits need review."""
    proposal = review.instead_of_direct_write(
        session, caller, kind=event, item=code, body=body.model_dump(mode="json")
    )
    return request_response(session, proposal, 202) if proposal is not None else None


@router.post(
    "/items/{code}/cancel",
    response_model=EventOut,
    summary="Cancel (取消) an implementation on its effective date",
    responses=_responses(),
    openapi_extra=EXTRA,
)
def cancel_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: EventIn
) -> EventOut | Response:
    return _proposed(session, caller, "cancel", code, body) or lifecycle.simple_event(
        session, code, "cancel", body, caller, version
    )


@router.post(
    "/items/{code}/suspend",
    response_model=EventOut,
    summary="Suspend (暂停) an implementation in use",
    responses=_responses(),
    openapi_extra=EXTRA,
)
def suspend_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: EventIn
) -> EventOut | Response:
    return _proposed(session, caller, "suspend", code, body) or lifecycle.simple_event(
        session, code, "suspend", body, caller, version
    )


@router.post(
    "/items/{code}/resume",
    response_model=EventOut,
    summary="Resume a suspended implementation",
    responses=_responses(),
    openapi_extra=EXTRA,
)
def resume_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: EventIn
) -> EventOut | Response:
    return _proposed(session, caller, "resume", code, body) or lifecycle.simple_event(
        session, code, "resume", body, caller, version
    )


@router.post(
    "/items/{code}/delegate",
    response_model=EventOut,
    summary="Delegate (下放) or entrust (委托) an implementation to lower bodies",
    responses=_responses(
        _422="a receiving body or region is unknown, not below the delegating one "
        "(`delegation.outside_region`), or already implements the entry",
    ),
    openapi_extra=EXTRA,
)
def delegate_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: DelegateIn
) -> EventOut | Response:
    return _proposed(session, caller, "delegate", code, body) or lifecycle.delegate(
        session, code, body, caller, version
    )


@router.post(
    "/items/{code}/accept",
    response_model=EventOut,
    summary="Accept (承接) a delegation: the receiving department's editor",
    responses=_responses(
        _403="only the receiving department may accept",
        _422="the local guide details do not make a valid guide",
    ),
    openapi_extra=EXTRA,
)
def accept_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: AcceptIn
) -> EventOut | Response:
    return _proposed(session, caller, "accept", code, body) or lifecycle.accept(
        session, code, body, caller, version
    )


@router.post(
    "/items/{code}/reclaim",
    response_model=EventOut,
    summary="Reclaim (收回) a delegation: the delegated implementations are cancelled",
    responses=_responses(),
    openapi_extra=EXTRA,
)
def reclaim_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: EventIn
) -> EventOut | Response:
    return _proposed(session, caller, "reclaim", code, body) or lifecycle.reclaim(
        session, code, body, caller, version
    )


@router.post(
    "/items/{code}/merge",
    response_model=EventOut,
    summary="Merge (合并) into a surviving implementation",
    responses=_responses(
        _403="the surviving item is outside the key's departments or region",
        _422="`into` is unknown or the item itself (`merge.into`)",
    ),
    openapi_extra=EXTRA,
)
def merge_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: MergeIn
) -> EventOut | Response:
    return _proposed(session, caller, "merge", code, body) or lifecycle.merge(
        session, code, body, caller, version
    )


@router.post(
    "/items/{code}/split",
    response_model=EventOut,
    summary="Split (拆分) into new implementations",
    responses=_responses(_422="a new implementation is not valid (its path names which)"),
    openapi_extra=EXTRA,
)
def split_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: SplitIn
) -> EventOut | Response:
    return _proposed(session, caller, "split", code, body) or lifecycle.split(
        session, code, body, caller, version
    )


@router.post(
    "/items/{code}/reinstate",
    response_model=EventOut,
    summary="Reinstate (恢复) a cancelled implementation on its own history, code kept",
    responses=_responses(),
    openapi_extra=EXTRA,
)
def reinstate_item(
    session: WriteSession, caller: Caller, code: str, version: ExpectedVersion, body: EventIn
) -> EventOut | Response:
    return _proposed(session, caller, "reinstate", code, body) or lifecycle.reinstate(
        session, code, body, caller, version
    )
