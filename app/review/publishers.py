"""How an approved lifecycle request is published, and the rehearsal of it when the request
is written: the event run as its approval would run it (the same publisher, the same rules),
then undone, so that a request that could never be published (an unknown item to merge
into, a department outside the region, a new item of a split whose code was issued before)
is refused when it is proposed, with the API's paths, instead of when a reviewer approves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from app.catalogue import lifecycle
from app.catalogue.issuing import code_already_issued, issued_among
from app.catalogue.validation import ItemLookups, validate_item
from app.errors import DomainError, InvalidInput, field_error
from app.review.models import RequestKind
from app.security import Principal

PUBLISHERS: dict[str, Callable[..., Any]] = {
    RequestKind.CANCEL: lambda s, code, body, actor, v: lifecycle.simple_event(
        s, code, "cancel", body, actor, v
    ),
    RequestKind.SUSPEND: lambda s, code, body, actor, v: lifecycle.simple_event(
        s, code, "suspend", body, actor, v
    ),
    RequestKind.RESUME: lambda s, code, body, actor, v: lifecycle.simple_event(
        s, code, "resume", body, actor, v
    ),
    RequestKind.DELEGATE: lifecycle.delegate,
    RequestKind.ACCEPT: lifecycle.accept,
    RequestKind.RECLAIM: lifecycle.reclaim,
    RequestKind.MERGE: lifecycle.merge,
    RequestKind.SPLIT: lifecycle.split,
    RequestKind.REINSTATE: lifecycle.reinstate,
}


def rehearse(
    session: Session, kind: str, code: str, body: Any, actor: Principal, version: int | None
) -> None:
    """Publish the event in a savepoint and roll it back: a refusal raises now. The history
    kept for the transaction is dropped with the savepoint (app/catalogue/history.py)."""
    if isinstance(body, lifecycle.SplitIn):
        _check_new_items(session, body)
    attempt = session.begin_nested()
    try:
        PUBLISHERS[kind](session, code, body, actor, version)
    except DomainError as exc:  # its paths are those of the event's own POST: the request's
        for e in exc.errors or ():  # body holds the event's body at ``body.body``
            if e.get("loc", [None])[0] == "body":
                e["loc"] = ["body", *e["loc"]]
        raise
    finally:
        attempt.rollback()


def _check_new_items(session: Session, body: lifecycle.SplitIn) -> None:
    """The write path's checks of each new item of a split, by its place (the split itself
    reports a refused new item at ``body.basic_code``, not saying which one)."""
    lookups = ItemLookups(session)
    errors: list[dict[str, Any]] = []
    for i, data in enumerate(body.into):
        at = ["body", "body", "into", i]
        try:
            code, _ = validate_item(lookups, data, None)
        except InvalidInput as exc:
            errors += [{**e, "loc": [*at, *e["loc"][1:]]} for e in exc.errors or ()]
            continue
        if issued_among(session, [code]):
            refusal = code_already_issued(session, code)
            errors.append(field_error([*at, "basic_code"], refusal.detail, "code-already-issued"))
    if errors:
        raise InvalidInput("a new item of the split is not valid", errors=errors)
