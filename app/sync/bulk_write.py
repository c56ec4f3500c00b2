"""What a bulk batch does to each item: known as sent (unchanged), a stale version (conflict),
a replacement through the item's write path, or a new item, the new ones written together
with multi-row inserts through the same composition, version log and code issuing."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    select,
)
from sqlmodel import Session, col

from app.catalogue.documents import (
    FOUR_SAME_FIELDS,
    ITEM_FIELDS,
    child_rows,
    compose_item_document,
    content_hash,
    document_content,
    fee_document,
    input_content,
    material_document,
    sent_content,
)
from app.catalogue.history import Event, overlay
from app.catalogue.issuing import (
    child_code_kinds,
    code_already_issued,
    issued_among,
    record_issued_codes,
)
from app.catalogue.item_batch import Replacement, replace_items
from app.catalogue.item_rows import insert_items
from app.catalogue.items import replace_item
from app.catalogue.models import Implementation
from app.catalogue.schemas import ImplementationIn
from app.catalogue.statuses import ItemStatus
from app.catalogue.validation import BatchLookups, check_read_only, validate_item
from app.codes.rules import implementation_code
from app.dbtypes import utcnow
from app.errors import DomainError, Forbidden, field_error
from app.review.service import review_required
from app.security import Principal
from app.sync.schemas import BulkItemIn
from app.versionlog import RecordVersion, record_versions, take_feed_lock, too_large, version_row

#: what a bulk upsert says of each item
RESULTS = ("created", "updated", "unchanged", "conflict", "rejected")


def apply_valid(
    session: Session,
    valid: list[tuple[int, BulkItemIn]],
    known: dict[str, Stored],
    asked: set[str],
    results: dict[int, dict[str, Any]],
    actor: Principal,
) -> dict[str, Any]:
    """Check each validated item by the rules of a single write, then apply it: ``known``
    holds the stored items among the ``asked`` codes (the rest are looked up here),
    ``results`` the answers already given."""
    codes = {
        i: data.code or implementation_code(data.department, data.level, data.basic_code)
        for i, data in valid
    }
    missing = set(codes.values()) - set(known)
    # codes that validation spelled otherwise than the sender (whitespace)
    known.update(known_items(session, missing - asked))
    missing -= set(known)
    by_index = dict(valid)

    @functools.cache
    def dumped(index: int) -> dict[str, Any]:
        """An item's JSON dump: once, for its hash and for its rows."""
        return by_index[index].model_dump(mode="json")

    @functools.cache
    def sent_hash(index: int) -> str:
        """The content hash of a stored item as sent: once, for the check below and for
        the update path."""
        return content_hash(input_content(dumped(index)))

    rest = []
    for index, data in valid:
        code = codes[index]
        same = _unchanged(
            index,
            code,
            known.get(code),
            data.version,
            any(getattr(data, f) is not None for f in FOUR_SAME_FIELDS),
            functools.partial(sent_hash, index),
            actor,
        )
        if same is not None:
            results[index] = same
        else:
            rest.append((index, data))
    lookups = BatchLookups(session, [data for _, data in rest])
    issued = issued_among(session, missing)
    fresh: list[tuple[int, ImplementationIn, str, Any]] = []
    replacing: dict[str, Replacement] = {}
    again: list[Replacement] = []
    for index, data in rest:
        code = codes[index]
        try:
            actor.require_item_scope(data.department, data.region)
            if review_required(actor, data.region):
                raise Forbidden(
                    f"an editor's change of an item in {data.region} goes through review: "
                    "POST /api/v1/change-requests",
                    type="review-required",
                )
            code, ctx = validate_item(lookups, data, None)
            if code in known:
                answer = _settled(session, index, code, data, sent_hash, known[code])
                if answer is not None:
                    results[index] = answer
                elif code in replacing:  # sent twice: the second after the first is written
                    again.append(Replacement(index, code, data, ctx))
                else:
                    replacing[code] = Replacement(index, code, data, ctx, dumped(index))
            elif code in issued:
                raise code_already_issued(session, code)
            else:
                check_read_only(data, None)
                issued.add(code)
                fresh.append((index, data, code, ctx))
        except DomainError as exc:
            results[index] = _rejection(index, code, exc)
    replaced = replace_items(session, list(replacing.values()), actor)
    for index, (outcome, version) in replaced.done.items():
        results[index] = _answer(index, codes[index], outcome, version)
    for index, exc in replaced.refused.items():
        results[index] = _rejection(index, codes[index], exc)
    for r in [*replaced.single, *again]:
        try:
            results[r.key] = _update_one(session, r.key, r.code, r.data, known[r.code], actor)
        except DomainError as exc:
            results[r.key] = _rejection(r.key, r.code, exc)
    created, refused = _insert_new(session, fresh, actor)
    for index, code in created:
        results[index] = _answer(index, code, "created", 1)
    for index, code, exc in refused:
        results[index] = rejected(index, code, [_reindex(e, index) for e in exc.errors or []])
    ordered = [results[i] for i in sorted(results)]
    totals = dict.fromkeys(RESULTS, 0)
    for r in ordered:
        totals[r["result"]] += 1
    return {**totals, "items": ordered}


class Stored(NamedTuple):
    version: int
    content_hash: str | None
    department: str
    region: str


def sent_code(row: Any) -> str | None:
    """The implementation code an unvalidated item names or implies, if it can be told."""
    if not isinstance(row, dict):
        return None
    code = row.get("code")
    if not isinstance(code, str):
        parts = (row.get("department"), row.get("level"), row.get("basic_code"))
        if not all(isinstance(p, str) for p in parts):
            return None
        code = implementation_code(*parts)  # type: ignore[arg-type]
    # only a code of the right shape is looked up: the row is not validated yet (a NUL in
    # it would reach PostgreSQL)
    return code if _CODE_SHAPE.match(code) else None


_CODE_SHAPE = re.compile(r"^[0-9A-Z]{18}\d{13}$")


def known_items(session: Session, codes: set[str]) -> dict[str, Stored]:
    """The existing items among ``codes``, one query."""
    if not codes:
        return {}
    found = session.execute(
        select(
            Implementation.code,
            Implementation.version,
            Implementation.content_hash,
            Implementation.department_code,
            Implementation.region_code,
        ).where(col(Implementation.code).in_(codes))
    ).all()
    return {code: Stored(*rest) for code, *rest in found}


def unchanged_as_sent(
    index: int, row: dict[str, Any], known: dict[str, Stored], actor: Principal
) -> dict[str, Any] | None:
    """:func:`_unchanged` of an item not yet validated."""
    code = sent_code(row)
    return _unchanged(
        index,
        code,
        known.get(code) if code else None,
        row.get("version"),
        any(row.get(f) is not None for f in FOUR_SAME_FIELDS),
        lambda: content_hash(sent_content(row, drop=FOUR_SAME_FIELDS)),
        actor,
    )


def _unchanged(
    index: int,
    code: str | None,
    stored: Stored | None,
    expected: Any,
    four_same_given: bool,
    sent_hash: Callable[[], str],
    actor: Principal,
) -> dict[str, Any] | None:
    """The answer for an item sent exactly as stored (same content hash), else None: then
    it takes the full path, which also gives every error and conflict. An item naming a
    四级四同 field takes the full path too: that field is checked against the entry."""
    if stored is None or stored.content_hash is None or four_same_given:
        return None
    if expected is not None and expected != stored.version:
        return None
    if sent_hash() != stored.content_hash:
        return None
    try:
        actor.require_item_scope(stored.department, stored.region)
    except DomainError:
        return None
    return _answer(index, code, "unchanged", stored.version)


def _stored_hash(session: Session, code: str, stored: Stored) -> str:
    """The stored content hash; computed from the current version for items written before
    hashes were kept."""
    if stored.content_hash is not None:
        return stored.content_hash
    snapshot = session.execute(
        select(RecordVersion.snapshot).where(
            RecordVersion.kind == "item",
            RecordVersion.code == code,
            RecordVersion.version == stored.version,
        )
    ).scalar_one()
    return content_hash(document_content(orjson.loads(snapshot)))


def _settled(
    session: Session,
    index: int,
    code: str,
    data: BulkItemIn,
    sent_hash: Callable[[int], str],
    stored: Stored,
) -> dict[str, Any] | None:
    """The answer for a stored item sent again that needs no write (a stale version: a
    conflict; its content as stored: unchanged), else None."""
    version = stored.version
    if data.version is not None and data.version != version:
        error = field_error(
            [index, "version"],
            f"the item is at version {version}, you sent {data.version}",
            "stale-version",
        )
        return _answer(index, code, "conflict", version, [error])
    if sent_hash(index) == _stored_hash(session, code, stored):
        return _answer(index, code, "unchanged", version)
    return None


def _update_one(
    session: Session, index: int, code: str, data: BulkItemIn, stored: Stored, actor: Principal
) -> dict[str, Any]:
    """A stored item through the single write path (an item :func:`replace_items` does not
    take), in a savepoint: its failure undoes only that item."""
    attempt = session.begin_nested()
    try:
        doc = replace_item(session, code, data, actor)
    except DomainError:
        attempt.rollback()
        raise
    attempt.commit()
    outcome = "updated" if doc["version"] != stored.version else "unchanged"
    return _answer(index, code, outcome, doc["version"])


def _rejection(index: int, code: str | None, exc: DomainError) -> dict[str, Any]:
    errors = exc.errors or [field_error([index], exc.detail, exc.type.rsplit("/", 1)[-1])]
    return rejected(index, code, [_reindex(e, index) for e in errors])


def _insert_new(
    session: Session, fresh: list[tuple[int, ImplementationIn, str, Any]], actor: Principal
) -> tuple[list[tuple[int, str]], list[tuple[int, str, DomainError]]]:
    """Write new implementations with multi-row inserts: rows, materials, fees, issued codes,
    the first version and the change-log entry of each."""
    if not fresh:
        return [], []
    now = utcnow()
    today = now.date()
    items, materials, fees, versions = [], [], [], []
    issued: dict[str, str] = {}
    created: list[tuple[int, str]] = []
    refused: list[tuple[int, str, DomainError]] = []
    for index, data, code, ctx in fresh:
        content = data.model_dump(mode="json")  # once: rows, children and hash come from it
        row = {
            "code": code,
            "basic_code": data.basic_code,
            "department_code": data.department,
            "region_code": data.region,
            "status": ItemStatus.ACTIVE,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "updated_by": actor.name,
            "delegated_from": None,
            "handover_date": None,
            **{field: content[field] for field in ITEM_FIELDS},
        }
        item = SimpleNamespace(**row)  # what compose_item_document reads
        mats, fee_rows, new_codes = child_rows(code, content)
        doc = compose_item_document(
            item,
            ctx.entry,
            ctx.department,
            ctx.region,
            [material_document(m) for m in mats],
            [fee_document(r) for r in fee_rows],
        )
        next_change = overlay(
            doc, [Event(1, "create", ItemStatus.ACTIVE, today, None, None, None)], today
        )
        snapshot = orjson.dumps(doc)
        error = too_large(len(snapshot))
        if error is not None:
            refused.append((index, code, error))
            continue
        versions.append(
            version_row(
                kind="item",
                code=code,
                version=1,
                event="create",
                snapshot=snapshot.decode(),
                actor=actor,
                recorded_at=now,
                reason=data.change_note,
                status_after=ItemStatus.ACTIVE,
                next_change=next_change,
            )
        )
        row["content_hash"] = content_hash(input_content(content))
        items.append(row)
        materials += mats
        fees += fee_rows
        issued[code] = "implementation"
        issued.update(child_code_kinds(new_codes))
        created.append((index, code))
    take_feed_lock(session)
    insert_items(session, items, materials, fees)
    record_issued_codes(session, issued, now)
    record_versions(session, versions)
    return created, refused


def _answer(
    index: int,
    code: str | None,
    result: str,
    version: int | None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What a bulk upsert says of one item."""
    return {
        "index": index,
        "code": code,
        "result": result,
        "version": version,
        "errors": errors or [],
    }


def _reindex(error: dict[str, Any], index: int) -> dict[str, Any]:
    """A service error's ``loc`` starts with "body"; in a batch it starts with the index."""
    loc = list(error.get("loc", []))
    if loc and loc[0] == "body":
        loc = [index, *loc[1:]]
    elif not loc or loc[0] != index:
        loc = [index, *loc]
    return {**error, "loc": loc}


def rejected(index: int, code: str | None, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return _answer(index, code, "rejected", None, errors)
