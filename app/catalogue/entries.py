"""Catalogue entries (基本目录事项): validation, writes and reads."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.catalogue.issuing import issued_among, issued_under, record_issued
from app.catalogue.items import refresh_items
from app.catalogue.models import (
    CatalogueEntry,
    Implementation,
)
from app.catalogue.schemas import (
    ENTRY_READ_ONLY,
    CatalogueEntryIn,
)
from app.catalogue.statuses import STATUS_INCOMPLETE, ItemStatus
from app.catalogue.validation import Errors, check_version
from app.codes.rules import (
    CodeError,
    next_basic_code,
    validate_basic_code,
)
from app.config import get_settings
from app.dbtypes import utcnow
from app.directory.service import CodeLists
from app.errors import InvalidInput, NotFound, RuleViolation, field_error
from app.fields import read_only_errors
from app.legal import citations
from app.pagination import decode_cursor, page
from app.security import Principal, region_prefix
from app.versionlog import record_version


def entry_document(entry: CatalogueEntry) -> dict[str, Any]:
    return {
        "basic_code": entry.basic_code,
        "name": entry.name,
        "item_type": entry.item_type,
        "domain": entry.domain,
        "parent_basic_code": entry.parent_basic_code,
        "legal_basis": entry.legal_basis,
        "handling_items": entry.handling_items,
        "aliases": entry.aliases or [],
        "name_en": entry.name_en,
        "local_basic_code": entry.local_basic_code,
        "status": entry.status,
        "version": entry.version,
        "created_at": entry.created_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
        "updated_by": entry.updated_by,
    }


def get_entry(session: Session, basic_code: str) -> CatalogueEntry:
    entry = session.get(CatalogueEntry, basic_code)
    if entry is None:
        raise NotFound(f"no catalogue entry {basic_code}")
    return entry


def list_entries(
    session: Session,
    *,
    item_type: str | None,
    domain: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[CatalogueEntry], str | None]:
    stmt = select(CatalogueEntry).order_by("basic_code")
    if item_type:
        stmt = stmt.where(CatalogueEntry.item_type == item_type)
    if domain:
        stmt = stmt.where(CatalogueEntry.domain == domain)
    if q:
        stmt = stmt.where(col(CatalogueEntry.name).contains(q))
    after = decode_cursor(cursor)
    if after:
        stmt = stmt.where(CatalogueEntry.basic_code > after)
    return page(list(session.exec(stmt.limit(limit + 1))), limit, "basic_code")


def _validate_entry(session: Session, data: CatalogueEntryIn, basic_code: str | None) -> Errors:
    errors: Errors = []
    lists = CodeLists(session)
    lists.check(errors, ["body", "item_type"], "item_types", data.item_type)
    lists.check(errors, ["body", "domain"], "domains", data.domain)
    if data.parent_basic_code:
        parent = session.get(CatalogueEntry, data.parent_basic_code)
        if parent is None:
            errors.append(
                field_error(
                    ["body", "parent_basic_code"],
                    f"no catalogue entry {data.parent_basic_code}",
                    "basic_code.unknown",
                )
            )
    if basic_code:
        try:
            validate_basic_code(
                basic_code,
                item_type=data.item_type,
                domain=data.domain,
                parent=data.parent_basic_code,
            )
        except CodeError as exc:
            errors.append(field_error(["body", "basic_code"], exc.message, exc.rule))
    cited = [p.id for p in data.legal_basis]
    missing = citations.unknown(session, {i for i in cited if i is not None})
    for i, basis in enumerate(cited):
        if basis in missing:
            loc = ["body", "legal_basis", i, "id"]
            errors.append(field_error(loc, f"no legal basis {basis}", "legal_basis.unknown"))
    return errors


def create_entry(session: Session, data: CatalogueEntryIn, actor: Principal) -> CatalogueEntry:
    """Add a catalogue entry. Without a basic code, the next provincial code is issued."""
    actor.require_admin()
    errors = read_only_errors(data, (*ENTRY_READ_ONLY, "version"), None)
    errors += _validate_entry(session, data, data.basic_code)
    if errors:
        raise InvalidInput("the catalogue entry is not valid", errors=errors)
    code = data.basic_code
    if code is None:
        owner = region_prefix(get_settings().province)[:2]
        head = (
            data.parent_basic_code[:9]
            if data.parent_basic_code
            else f"{owner}{data.item_type}{data.domain}"
        )
        issued = issued_under(session, head)
        code = next_basic_code(
            owner, data.item_type, data.domain, issued, parent=data.parent_basic_code
        )
    elif issued_among(session, [code]):
        raise RuleViolation(
            f"basic code {code} was issued before; a code is never issued twice (一事一码)",
            type="code-already-issued",
        )
    record_issued(session, code, "basic")
    entry = CatalogueEntry(
        **data.model_dump(mode="json", exclude={"basic_code"}),
        basic_code=code,
        updated_by=actor.name,
    )
    session.add(entry)
    session.flush()
    record_version(
        session,
        kind="entry",
        code=code,
        version=1,
        event="create",
        snapshot=entry_document(entry),
        actor=actor,
    )
    return entry


def replace_entry(
    session: Session,
    basic_code: str,
    data: CatalogueEntryIn,
    actor: Principal,
    expected_version: int | None = None,
) -> CatalogueEntry:
    """Replace an entry. Its implementations show the new catalogue fields (四级四同), so
    each gets a new version too."""
    actor.require_admin()
    return _write_entry(session, basic_code, data, actor, expected_version)


def new_aliases(entry: CatalogueEntry, proposed: list[str]) -> list[str]:
    """The proposed aliases (俗称) the entry does not have yet, in order, once each."""
    have = {a.casefold() for a in [entry.name, *(entry.aliases or [])]}
    out: list[str] = []
    for alias in proposed:
        if alias.casefold() not in have:
            have.add(alias.casefold())
            out.append(alias)
    return out


def aliases_added(entry: CatalogueEntry, proposed: list[str]) -> CatalogueEntryIn:
    """The entry with ``proposed`` aliases added, validated as a PUT of it would be (the
    entry's limits: at most 30 aliases of 50 characters). 422 at ``body.aliases`` when
    none is new."""
    added = new_aliases(entry, proposed)
    if not added:
        raise InvalidInput.field(
            ["body", "body", "aliases"],
            f"{entry.name} already has these names: {', '.join(proposed)}",
            "alias.known",
        )
    doc = entry_document(entry)
    doc["aliases"] = [*(entry.aliases or []), *added]
    try:
        return CatalogueEntryIn.model_validate(
            {k: v for k, v in doc.items() if k not in ENTRY_READ_ONLY}
        )
    except ValidationError as exc:
        raise InvalidInput(
            "the aliases cannot be added",
            errors=[
                field_error(["body", "body", *e["loc"]], e["msg"], e["type"])
                for e in exc.errors(include_url=False)
            ],
        ) from None


def add_aliases(
    session: Session, basic_code: str, proposed: list[str], actor: Principal
) -> CatalogueEntry:
    """Add aliases to an entry: an admin's write, or an approved alias change request (an
    editor proposes, a provincial reviewer approves: the entry is the province's, and its
    every implementation shows the aliases)."""
    if not actor.approved_by:
        actor.require_admin()
    entry = get_entry(session, basic_code)
    data = aliases_added(entry, proposed)
    return _write_entry(session, basic_code, data, actor, None)


def _write_entry(
    session: Session,
    basic_code: str,
    data: CatalogueEntryIn,
    actor: Principal,
    expected_version: int | None,
) -> CatalogueEntry:
    """The entry's write path after authorization: validate, compose, record the version,
    refresh the implementations."""
    entry = get_entry(session, basic_code)
    check_version("catalogue entry", basic_code, entry.version, expected_version)
    check_version("catalogue entry", basic_code, entry.version, data.version)
    errors = read_only_errors(data, ENTRY_READ_ONLY, entry_document(entry))
    errors += _validate_entry(session, data, basic_code)
    if data.basic_code and data.basic_code != basic_code:
        errors.append(
            field_error(
                ["body", "basic_code"],
                "the basic code is the identity of the entry and cannot change",
                "basic_code.immutable",
            )
        )
    if errors:
        raise InvalidInput("the catalogue entry is not valid", errors=errors)
    # a local platform's code is kept unless named: an editor's PUT that does not know it
    # must not cut the entry off from the listing that maps to it (a re-import would
    # otherwise add the entry again)
    kept = {"basic_code"} | ({"local_basic_code"} - data.model_fields_set)
    for field, value in data.model_dump(mode="json", exclude=kept).items():
        setattr(entry, field, value)
    if entry.status == STATUS_INCOMPLETE:  # the legal basis is written now
        entry.status = ItemStatus.ACTIVE
    entry.version += 1
    entry.updated_at = utcnow()
    entry.updated_by = actor.name
    session.add(entry)
    session.flush()
    record_version(
        session,
        kind="entry",
        code=basic_code,
        version=entry.version,
        event="revise",
        snapshot=entry_document(entry),
        actor=actor,
    )
    refresh_items(session, col(Implementation.basic_code) == basic_code, actor, "entry_revised")
    return entry
