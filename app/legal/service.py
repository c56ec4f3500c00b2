"""Legal bases (法律法规及政策文件): versioned records, in the change feed like departments."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.catalogue.items import refresh_items
from app.catalogue.models import Implementation
from app.dbtypes import utcnow
from app.errors import InvalidInput, NotFound, PreconditionFailed, field_error
from app.legal import citations
from app.legal.models import LegalBasis, LegalStatus
from app.legal.schemas import LegalBasisIn
from app.security import Principal
from app.versionlog import record_version

#: the kind of its versions and change-log rows (the columns hold ten characters)
KIND = "legal"
READ_ONLY = ("id", "updated_at", "updated_by")


def get_legal_basis(session: Session, basis_id: int) -> LegalBasis:
    basis = session.get(LegalBasis, basis_id)
    if basis is None:
        raise NotFound(f"no legal basis {basis_id}")
    return basis


def list_legal_bases(
    session: Session,
    *,
    status: LegalStatus | None,
    q: str | None,
    issuer: str | None,
    after: int | None,
    limit: int,
) -> list[LegalBasis]:
    stmt = select(LegalBasis).order_by(col(LegalBasis.id))
    if status:
        stmt = stmt.where(LegalBasis.status == status)
    if q:
        stmt = stmt.where(col(LegalBasis.title).contains(q) | col(LegalBasis.number).contains(q))
    if issuer:
        stmt = stmt.where(col(LegalBasis.issuer).contains(issuer))
    if after is not None:
        stmt = stmt.where(col(LegalBasis.id) > after)
    return list(session.exec(stmt.limit(limit)))


def legal_basis_document(basis: LegalBasis) -> dict[str, Any]:
    """The record as GET /legal-bases/{id} shows it and as its versions keep it."""
    return {
        "id": basis.id,
        "number": basis.number,
        "title": basis.title,
        "issuer": basis.issuer,
        "issued_on": _day(basis.issued_on),
        "effective_on": _day(basis.effective_on),
        "amended_on": _day(basis.amended_on),
        "repealed_on": _day(basis.repealed_on),
        "url": basis.url,
        "status": str(basis.status),
        "version": basis.version,
        "updated_at": basis.updated_at.isoformat() if basis.updated_at else None,
        "updated_by": basis.updated_by,
    }


def _day(value: Any) -> str | None:
    return value.isoformat() if value else None


def _check(data: LegalBasisIn, existing: LegalBasis | None) -> None:
    errors: list[dict[str, Any]] = []
    if existing is not None:
        for field in READ_ONLY:
            sent = getattr(data, field)
            shown = legal_basis_document(existing)[field]
            if sent is not None and sent != shown:
                errors.append(field_error(["body", field], f"{field} is read-only", "read_only"))
    else:
        for field in (*READ_ONLY, "version"):
            if getattr(data, field) is not None:
                errors.append(field_error(["body", field], f"{field} is read-only", "read_only"))
    # the status says what the dates say: a repealed document has its day, and so on
    if data.status == LegalStatus.REPEALED and data.repealed_on is None:
        errors.append(
            field_error(
                ["body", "repealed_on"],
                "a document 已废止 has the day it was repealed",
                "legal_basis.repealed_on_required",
            )
        )
    if data.status != LegalStatus.REPEALED and data.repealed_on is not None:
        errors.append(
            field_error(
                ["body", "status"],
                "a document with a repeal day is 已废止",
                "legal_basis.status_repealed",
            )
        )
    if data.status == LegalStatus.AMENDED and data.amended_on is None:
        errors.append(
            field_error(
                ["body", "amended_on"],
                "a document 已修订 has the day it was amended",
                "legal_basis.amended_on_required",
            )
        )
    for earlier, later in (("issued_on", "effective_on"), ("issued_on", "repealed_on")):
        a, b = getattr(data, earlier), getattr(data, later)
        if a and b and b < a:
            errors.append(
                field_error(["body", later], f"{later} is before {earlier}", "date.order")
            )
    if errors:
        raise InvalidInput("the legal basis is not valid", errors=errors)


def save_legal_basis(
    session: Session,
    data: LegalBasisIn,
    actor: Principal,
    *,
    basis_id: int | None = None,
    expected_version: int | None = None,
) -> LegalBasis:
    """Create (``basis_id`` None) or replace a legal basis (admins). Each write is a version
    in the feed. Amending or repealing it gives every item citing it a task for its
    department and a version (its page marks the citation)."""
    actor.require_admin()
    existing = get_legal_basis(session, basis_id) if basis_id is not None else None
    _check(data, existing)
    fields = data.model_dump(exclude={"id", "version", "updated_at", "updated_by"})
    if existing is None:
        basis = LegalBasis(**fields, updated_by=actor.name)
        session.add(basis)
        session.flush()
        _record(session, basis, actor, "create")
        return basis
    # the row lock first: of two admins writing the same version, one gets 412
    session.refresh(existing, with_for_update=True)
    for wanted in (expected_version, data.version):
        if wanted is not None and wanted != existing.version:
            raise PreconditionFailed(
                f"legal basis {basis_id} is at version {existing.version}, not {wanted}",
                extra={"current_version": existing.version},
            )
    before = _content(existing)
    for field, value in fields.items():
        setattr(existing, field, value)
    after = _content(existing)
    if after == before:
        return existing  # the same content makes no version
    existing.version += 1
    existing.updated_at = utcnow()
    existing.updated_by = actor.name
    session.add(existing)
    session.flush()
    _record(session, existing, actor, "revise")
    state = ("status", "amended_on", "repealed_on")
    changed = any(before[k] != after[k] for k in state)
    # a page shows the title and 文号 of a cited document only while it is not in force
    renamed = any(before[k] != after[k] for k in ("title", "number"))
    if changed or (renamed and existing.status != LegalStatus.IN_FORCE):
        codes = [c.code for c in citations.citing_items(session, existing.id or 0)]
        if changed:
            citations.open_tasks(session, existing)
        if codes:  # their pages and feed show the citation's new state
            where = col(Implementation.code).in_(codes)
            refresh_items(session, where, actor, "legal_basis_changed")
    return existing


def _content(basis: LegalBasis) -> dict[str, Any]:
    doc = legal_basis_document(basis)
    for meta in ("version", "updated_at", "updated_by"):
        doc.pop(meta)
    return doc


def _record(session: Session, basis: LegalBasis, actor: Principal, event: str) -> None:
    record_version(
        session,
        kind=KIND,
        code=str(basis.id),
        version=basis.version,
        event=event,
        snapshot=legal_basis_document(basis),
        actor=actor,
    )


def upsert_from_feed(session: Session, doc: dict[str, Any]) -> None:
    """A mirror takes a legal basis as the feed carries it (same id)."""
    from datetime import date

    fields = {
        k: (date.fromisoformat(doc[k]) if doc.get(k) and k.endswith("_on") else doc.get(k))
        for k in (
            "number",
            "title",
            "issuer",
            "issued_on",
            "effective_on",
            "amended_on",
            "repealed_on",
            "url",
            "status",
            "version",
            "updated_by",
        )  # fmt: skip
    }
    row = session.get(LegalBasis, doc["id"])
    if row is None:
        row = LegalBasis(id=doc["id"], **fields)
    else:
        for k, v in fields.items():
            setattr(row, k, v)
    row.updated_at = utcnow()
    session.add(row)
