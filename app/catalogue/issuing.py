"""Code issuing (一事一码): a code, once issued, is never issued again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from app.catalogue.history import (
    status_today,
)
from app.catalogue.models import (
    Implementation,
    IssuedCode,
)
from app.catalogue.statuses import STATUS_CANCELLED
from app.db import insert_rows
from app.dbtypes import utcnow
from app.errors import RuleViolation
from app.pagination import with_prefix


def issued_among(session: Session, codes: Iterable[str]) -> set[str]:
    """Which of ``codes`` were ever issued (一事一码: such a code is never issued again), in
    one query: the one answer to "already issued" for one code or a batch."""
    wanted = set(codes)
    if not wanted:
        return set()
    found = session.execute(select(IssuedCode.code).where(col(IssuedCode.code).in_(wanted)))
    return set(found.scalars())


def issued_under(session: Session, prefix: str, kind: str | None = None) -> list[str]:
    """Every code ever issued that starts with ``prefix`` (of ``kind``, if given): where
    the next code after them is taken from."""
    stmt = select(IssuedCode.code).where(*with_prefix(IssuedCode.code, prefix))
    if kind is not None:
        stmt = stmt.where(IssuedCode.kind == kind)
    return list(session.execute(stmt).scalars())


def record_issued_codes(
    session: Session, codes: dict[str, str], at: datetime | None = None
) -> None:
    """Record codes as issued (code → kind: basic, implementation, material, fee): the one
    place ``issued_code`` is written. Callers have checked that none was issued before
    (:func:`issue_code` for one implementation; bulk and the mirror check a batch)."""
    when = at or utcnow()
    session.flush()
    insert_rows(
        session.connection(),
        IssuedCode.__table__,  # type: ignore[attr-defined]
        [{"code": code, "kind": kind, "issued_at": when} for code, kind in codes.items()],
    )


def record_issued(session: Session, code: str, kind: str) -> None:
    record_issued_codes(session, {code: kind})


def child_code_kinds(codes: list[str]) -> dict[str, str]:
    """The kind of each new material or fee code (a fee's has an F after the item's code)."""
    return {c: "fee" if c[31:32] == "F" else "material" for c in codes}


def issue_code(session: Session, code: str) -> None:
    """Issue an implementation code, or refuse: a code once issued always names the same
    department + level + entry (一事一码), so it is never issued again. An item that was
    cancelled or reclaimed comes back by an event on its own history (reinstate)."""
    if issued_among(session, [code]):
        raise code_already_issued(session, code)
    record_issued(session, code, "implementation")


def code_already_issued(session: Session, code: str) -> RuleViolation:
    existing = session.get(Implementation, code)
    status = status_today(session, code) if existing else None
    if status in (STATUS_CANCELLED,):
        advice = f"it is cancelled: bring it back with POST /api/v1/items/{code}/reinstate"
    elif existing is not None:
        advice = f"change it with PUT /api/v1/items/{code}"
    else:
        advice = "it names another item"
    return RuleViolation(
        f"implementation code {code} was issued before; a code is never issued twice "
        f"(一事一码): {advice}",
        type="code-already-issued",
        extra={"code": code, "item_status": status},
    )
