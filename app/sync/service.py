"""The change feed, bulk upserts and digests (domain.md §6).

The feed is the change log written in the transaction of every change. Its ``seq`` is
gap-free in commit order: a transaction takes the feed lock before it writes its first
change (PostgreSQL: a transaction-scoped advisory lock; SQLite allows one writer at a time
anyway) and holds it until it commits, so a change with a higher ``seq`` never becomes
visible before one with a lower ``seq``. A reader that stores ``last_seq`` and asks for
``after=last_seq`` therefore never misses or repeats a change.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Annotated, Any, NamedTuple

import orjson
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import (
    Connection,
    LargeBinary,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    true,
)
from sqlmodel import Session, col

from app.catalogue import service as catalogue
from app.catalogue.history import Event, overlay
from app.catalogue.issuing import child_code_kinds, record_issued_codes
from app.catalogue.models import (
    ChangeLog,
    Implementation,
    IssuedCode,
    ItemFee,
    ItemMaterial,
    RecordVersion,
)
from app.catalogue.schemas import ImplementationIn
from app.catalogue.statuses import ItemStatus
from app.codes.rules import implementation_code
from app.db import insert_rows, upsert
from app.dbtypes import utcnow
from app.errors import DomainError, Forbidden, InvalidInput, RuleViolation, field_error
from app.pagination import with_prefix
from app.review.service import review_required
from app.security import Principal, region_prefix
from app.sync.models import BulkOutcome, IdempotencyRecord
from app.sync.schemas import BulkItemIn
from app.versionlog import record_versions, version_row

MAX_BATCH = 1000
#: what a bulk upsert says of each item
RESULTS = ("created", "updated", "unchanged", "conflict", "rejected")


def head_seq(db: Session | Connection) -> int:
    """The newest change's seq: how far a consumer is behind."""
    return db.execute(select(func.max(ChangeLog.seq))).scalar_one() or 0


#: what the feed shows of each version, beside the change-log row
_VERSION_COLUMNS = (
    RecordVersion.event,
    RecordVersion.recorded_at,
    RecordVersion.effective_date,
    RecordVersion.decision,
    RecordVersion.reason,
    RecordVersion.key_name,
    RecordVersion.status_after,
    RecordVersion.details,
    RecordVersion.next_change,
    RecordVersion.approved_by,
    RecordVersion.channel,
    RecordVersion.change_request_id,
)


#: a feed page holds at most this many bytes of representations (and at least one change)
MAX_PAGE_BYTES = 16 * 1024 * 1024


def read_changes(
    db: Session | Connection, *, after: int, limit: int, region: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Changes with ``seq > after``, oldest first, each with the full state at its version.
    ``region`` keeps the items of that region (and below); entries and departments, which
    every copy needs, always come.

    The stored JSON of each version is sent on as it is. SQLite hands it over as bytes when
    asked for a BLOB: no decoding into a str, then no encoding back into the response (a
    CJK text costs about 10 µs a version each way); on PostgreSQL it stays text (its
    text-to-bytea cast reads backslashes as escapes, and ``convert_to`` made the feed 4x
    slower: bytea travels hex-encoded)."""
    log = select(
        ChangeLog.seq, ChangeLog.kind, ChangeLog.code, ChangeLog.version, ChangeLog.operation
    ).where(col(ChangeLog.seq) > after)
    if region:
        log = log.outerjoin(Implementation, col(Implementation.code) == ChangeLog.code).where(
            or_(
                ChangeLog.kind != "item",
                col(Implementation.region_code).startswith(region_prefix(region)),
            )
        )
    dialect = db.get_bind().dialect if isinstance(db, Session) else db.dialect
    if dialect.name == "postgresql":
        # the page of the log, then each version by a lateral index probe: a plain join is
        # planned by the tables' statistics, and PostgreSQL hashed the whole version table
        # for every page (100,000 versions: 8,400 changes/s with statistics stale after a
        # bulk load; 35,000/s this way, stale or not)
        page = log.order_by(col(ChangeLog.seq)).limit(limit).subquery("page")
        version = (
            select(*_VERSION_COLUMNS, RecordVersion.snapshot)
            .where(
                RecordVersion.kind == page.c.kind,
                RecordVersion.code == page.c.code,
                RecordVersion.version == page.c.version,
            )
            .limit(1)
            .lateral("version")
        )
        stmt = (
            select(*page.c, *version.c).select_from(page.join(version, true())).order_by(page.c.seq)
        )
    else:
        # SQLite walks the log by seq and looks each version up by its key
        stmt = (
            log.add_columns(
                *_VERSION_COLUMNS, cast(RecordVersion.snapshot, LargeBinary).label("snapshot")
            )
            .join(
                RecordVersion,
                and_(
                    RecordVersion.kind == ChangeLog.kind,
                    RecordVersion.code == ChangeLog.code,
                    RecordVersion.version == ChangeLog.version,
                ),
            )
            .order_by(col(ChangeLog.seq))
            .limit(limit)
        )
    names = ("seq", "kind", "code", "version", "operation", "event", "recorded_at",
             "effective_date", "decision", "reason", "key", "status_after", "details",
             "next_change", "approved_by", "channel", "change_request")  # fmt: skip
    changes = []
    size = 0
    for *fields, snapshot in db.execute(stmt).all():  # one fetch, not one a row
        size += len(snapshot)
        if changes and size > MAX_PAGE_BYTES:
            break  # the page ends early; last_seq says where to ask again
        change = dict(zip(names, fields, strict=True))
        # the stored JSON goes out as it is: the feed never parses a snapshot
        state = orjson.Fragment(snapshot)
        is_item = change["kind"] == "item"
        change["item"] = state if is_item else None
        change["record"] = None if is_item else state
        changes.append(change)
    return changes, changes[-1]["seq"] if changes else after


# --- bulk upsert -----------------------------------------------------------------------


#: how long a bulk body's outcome is kept for answering the same body again
OUTCOME_DAYS = 30


def _is_ndjson(content_type: str) -> bool:
    return "ndjson" in content_type or "jsonl" in content_type


def parse_items(body: bytes, content_type: str) -> list[Any]:
    """A JSON array, or NDJSON (one item per line)."""
    if _is_ndjson(content_type):
        return _parse_lines(body)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput.field(["body"], f"not valid JSON: {exc}", "json") from None
    if not isinstance(parsed, list):
        raise InvalidInput(
            "the body is a JSON array of items",
            errors=[field_error(["body"], "expected an array", "bulk.array")],
        )
    return parsed


def _parse_lines(body: bytes) -> list[Any]:
    """NDJSON: one item a line (blank lines skipped); a line that is no JSON is named by
    its item index and line number."""
    lines = [(n, line) for n, line in enumerate(body.splitlines(), 1) if line.strip()]
    _check_size(lines)  # counted before anything is parsed
    items, errors = [], []
    for index, (number, line) in enumerate(lines):
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            errors.append(
                field_error(["body", index], f"line {number}: not valid JSON: {exc}", "json")
            )
    if errors:
        raise InvalidInput(f"{len(errors)} line(s) are not JSON", errors=errors)
    return items


_WHOLE_BODY = TypeAdapter(Annotated[list[BulkItemIn], Field(max_length=MAX_BATCH)])


def validate_body(body: bytes, content_type: str) -> list[BulkItemIn] | None:
    """Every item of a body validated in one pass over its bytes, or None if any item is
    not valid (or the body is no array of at most :data:`MAX_BATCH`): the item-by-item
    path then answers each item. Validating from the bytes builds no intermediate dicts:
    measured 40 µs an item less than parsing first, a tenth of a new item's cost."""
    if _is_ndjson(content_type):
        body = b"[" + b",".join(line for line in body.splitlines() if line.strip()) + b"]"
    try:
        return _WHOLE_BODY.validate_json(body)
    except ValidationError:
        return None


def apply_bulk(
    session: Session,
    body: bytes,
    content_type: str,
    actor: Principal,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """POST /sync/items: a retry with the same Idempotency-Key gets the first answer; a body
    sent before whose items are all still at the versions it left is answered ``unchanged``
    without being parsed. Otherwise a body whose items are all valid is validated in one
    pass from its bytes; one with a bad item is parsed and taken item by item
    (:func:`bulk_upsert`), which answers each. Either way each item gets the same answer."""
    digest = request_hash(body)
    if idempotency_key:
        first = replay(session, actor, idempotency_key, digest)
        if first is not None:
            return first
    result = _same_body_again(session, digest, actor)
    if result is None:
        with collector_paused():  # parsing allocates as much as validating
            result, expects = _apply_body(session, body, content_type, actor)
        # an item sent with the version it expects is a conflict when sent again after it
        # applied: such a body is always taken the full way
        if not expects:
            _record_outcome(session, digest, result)
    if idempotency_key:
        remember(session, actor, idempotency_key, digest, result)
    return result


def _apply_body(
    session: Session, body: bytes, content_type: str, actor: Principal
) -> tuple[dict[str, Any], bool]:
    """The answer to a body, and whether any item named the version it expects. The parsed
    items are freed on return, before the garbage collector runs again (else its first
    pass walks them all: measured, a tenth of the time of a batch)."""
    items = validate_body(body, content_type)
    if items is not None:
        return upsert_valid(session, items, actor), any(i.version is not None for i in items)
    rows = parse_items(body, content_type)
    expects = any(isinstance(i, dict) and i.get("version") is not None for i in rows)
    return bulk_upsert(session, rows, actor), expects


def _same_body_again(session: Session, digest: str, actor: Principal) -> dict[str, Any] | None:
    """The answer to a body whose every item is still at the version that body left, or
    None (then the body takes the full path)."""
    outcome = session.get(BulkOutcome, digest)
    if outcome is None:
        return None
    left = orjson.loads(outcome.items)
    now = {
        code: (version, department, region)
        for code, version, department, region in session.execute(
            select(
                Implementation.code,
                Implementation.version,
                Implementation.department_code,
                Implementation.region_code,
            ).where(col(Implementation.code).in_({code for code, _ in left}))
        )
    }
    items = []
    for index, (code, version) in enumerate(left):
        current = now.get(code)
        if current is None or current[0] != version:
            return None
        try:
            actor.require_item_scope(current[1], current[2])
        except DomainError:
            return None  # the full path gives each item's error
        items.append(_answer(index, code, "unchanged", version))
    return {**dict.fromkeys(RESULTS, 0), "unchanged": len(items), "items": items}


def _record_outcome(session: Session, digest: str, result: dict[str, Any]) -> None:
    """Keep what a body left when every item applied (rejected and conflicting items could
    fare otherwise next time); prune outcomes older than :data:`OUTCOME_DAYS`."""
    if result["rejected"] or result["conflict"] or not result["items"]:
        return
    now = utcnow()
    session.execute(
        delete(BulkOutcome).where(col(BulkOutcome.recorded_at) < now - timedelta(days=OUTCOME_DAYS))
    )
    left = orjson.dumps([[r["code"], r["version"]] for r in result["items"]]).decode()
    # the same body may be applied by two requests at once
    stmt = upsert(
        BulkOutcome.__table__,
        session.get_bind().dialect.name,
        ["request_hash"],
        ["items", "recorded_at"],
    )
    session.execute(stmt, {"request_hash": digest, "items": left, "recorded_at": now})


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def replay(session: Session, actor: Principal, key: str, digest: str) -> dict[str, Any] | None:
    """The stored answer to a request already made with this Idempotency-Key."""
    record = session.get(IdempotencyRecord, (actor.name, key))
    if record is None:
        return None
    if record.request_hash != digest:
        raise RuleViolation(
            f"Idempotency-Key {key!r} was used for a different request; use a new key",
            type="idempotency-key-reused",
        )
    return orjson.loads(record.response)


def remember(
    session: Session, actor: Principal, key: str, digest: str, result: dict[str, Any]
) -> None:
    session.add(
        IdempotencyRecord(
            key_name=actor.name,
            idempotency_key=key,
            request_hash=digest,
            status_code=200,
            response=orjson.dumps(result).decode(),
        )
    )
    session.flush()


def bulk_upsert(session: Session, rows: list[Any], actor: Principal) -> dict[str, Any]:
    """Create or replace up to 1,000 implementations, each on its own: a bad one is rejected
    with its errors and leaves nothing behind, the others apply. An item whose content is
    unchanged makes no version. An item may carry ``version``: the version the sender last
    saw; if the item has moved on since, the answer is ``conflict`` and nothing changes.

    An item sent exactly as it is stored is recognised by its content hash before any
    validation (a city resending its whole list costs little). The rest is checked against
    lookups loaded once, by the same rules as a single write; new items are written with
    multi-row Core inserts, changed ones go through the single item path (each in a
    savepoint)."""
    _check_size(rows)
    with collector_paused():
        return _bulk_upsert(session, rows, actor)


def _check_size(items: list[Any]) -> None:
    if len(items) > MAX_BATCH:
        raise InvalidInput.field(
            ["body"], f"at most {MAX_BATCH} items per request, got {len(items)}", "bulk.size"
        )


@contextmanager
def collector_paused() -> Iterator[None]:
    """A batch allocates hundreds of thousands of short-lived, acyclic objects (parsed and
    validated items); the cyclic collector's passes over them cost more than the upsert
    itself (measured: parsing and validation 2x slower). Reference counting frees them; the
    collector runs again when the batch is done. Nested use keeps it paused."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def upsert_valid(session: Session, items: list[BulkItemIn], actor: Principal) -> dict[str, Any]:
    """:func:`bulk_upsert` of items already validated (:func:`validate_body`): an item
    resent as stored is known by the content hash of its validated form."""
    _check_size(items)
    with collector_paused():
        return _apply_valid(session, list(enumerate(items)), {}, set(), {}, actor)


def _bulk_upsert(session: Session, rows: list[Any], actor: Principal) -> dict[str, Any]:
    results: dict[int, dict[str, Any]] = {}
    asked = {c for c in map(_sent_code, rows) if c}
    known = _known(session, asked)
    valid: list[tuple[int, BulkItemIn]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            results[index] = _rejected(
                index, None, [field_error([index], "an item is a JSON object", "bulk.item")]
            )
            continue
        same = _unchanged_as_sent(index, row, known, actor)
        if same is not None:
            results[index] = same
            continue
        try:
            valid.append((index, BulkItemIn.model_validate(row)))
        except ValidationError as exc:
            errors = [
                field_error([index, *e["loc"]], e["msg"], e["type"])
                for e in exc.errors(include_url=False)
            ]
            results[index] = _rejected(index, _sent_code(row), errors)
    return _apply_valid(session, valid, known, asked, results, actor)


def _apply_valid(
    session: Session,
    valid: list[tuple[int, BulkItemIn]],
    known: dict[str, _Stored],
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
    known.update(_known(session, missing - asked))
    missing -= set(known)
    by_index = dict(valid)

    @functools.cache
    def sent_hash(index: int) -> str:
        """The content hash of a stored item as sent: once, for the check below and for
        the update path."""
        return catalogue.content_hash(
            catalogue.input_content(by_index[index].model_dump(mode="json"))
        )

    rest = []
    for index, data in valid:
        code = codes[index]
        same = _unchanged(
            index,
            code,
            known.get(code),
            data.version,
            any(getattr(data, f) is not None for f in catalogue.FOUR_SAME_FIELDS),
            functools.partial(sent_hash, index),
            actor,
        )
        if same is not None:
            results[index] = same
        else:
            rest.append((index, data))
    lookups = catalogue.BatchLookups(session, [data for _, data in rest])
    issued = (
        set(
            session.execute(
                select(IssuedCode.code).where(col(IssuedCode.code).in_(missing))
            ).scalars()
        )
        if missing
        else set()
    )
    fresh: list[tuple[int, ImplementationIn, str, Any]] = []
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
            code, ctx = catalogue.validate_item(lookups, data, None)
            if code in known:
                results[index] = _update_one(
                    session,
                    index,
                    code,
                    data,
                    functools.partial(sent_hash, index),
                    known[code],
                    actor,
                )
            elif code in issued:
                raise catalogue.code_already_issued(session, code)
            else:
                catalogue.check_read_only(data, None)
                issued.add(code)
                fresh.append((index, data, code, ctx))
        except DomainError as exc:
            errors = exc.errors or [field_error([index], exc.detail, exc.type.rsplit("/", 1)[-1])]
            results[index] = _rejected(index, code, [_reindex(e, index) for e in errors])
    created, refused = _insert_new(session, fresh, actor)
    for index, code in created:
        results[index] = _answer(index, code, "created", 1)
    for index, code, exc in refused:
        results[index] = _rejected(index, code, [_reindex(e, index) for e in exc.errors or []])
    ordered = [results[i] for i in sorted(results)]
    totals = dict.fromkeys(RESULTS, 0)
    for r in ordered:
        totals[r["result"]] += 1
    return {**totals, "items": ordered}


class _Stored(NamedTuple):
    version: int
    content_hash: str | None
    department: str
    region: str


def _sent_code(row: Any) -> str | None:
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


def _known(session: Session, codes: set[str]) -> dict[str, _Stored]:
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
    return {code: _Stored(*rest) for code, *rest in found}


def _unchanged_as_sent(
    index: int, row: dict[str, Any], known: dict[str, _Stored], actor: Principal
) -> dict[str, Any] | None:
    """:func:`_unchanged` of an item not yet validated."""
    code = _sent_code(row)
    return _unchanged(
        index,
        code,
        known.get(code) if code else None,
        row.get("version"),
        any(row.get(f) is not None for f in catalogue.FOUR_SAME_FIELDS),
        lambda: catalogue.content_hash(
            catalogue.sent_content(row, drop=catalogue.FOUR_SAME_FIELDS)
        ),
        actor,
    )


def _unchanged(
    index: int,
    code: str | None,
    stored: _Stored | None,
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


def _stored_hash(session: Session, code: str, stored: _Stored) -> str:
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
    return catalogue.content_hash(catalogue.document_content(orjson.loads(snapshot)))


def _update_one(
    session: Session,
    index: int,
    code: str,
    data: BulkItemIn,
    sent_hash: Callable[[], str],
    stored: _Stored,
    actor: Principal,
) -> dict[str, Any]:
    """A stored item sent again (``sent_hash``: the content hash of what was sent)."""
    version = stored.version
    if data.version is not None and data.version != version:
        error = field_error(
            [index, "version"],
            f"the item is at version {version}, you sent {data.version}",
            "stale-version",
        )
        return _answer(index, code, "conflict", version, [error])
    if sent_hash() == _stored_hash(session, code, stored):
        return _answer(index, code, "unchanged", version)
    attempt = session.begin_nested()  # one item's failure undoes only that item
    try:
        doc = catalogue.replace_item(session, code, data, actor)
    except DomainError:
        attempt.rollback()
        raise
    attempt.commit()
    outcome = "updated" if doc["version"] != version else "unchanged"
    return _answer(index, code, outcome, doc["version"])


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
            **{field: content[field] for field in catalogue.ITEM_FIELDS},
        }
        item = SimpleNamespace(**row)  # what compose_item_document reads
        mats, fee_rows, new_codes = catalogue.child_rows(code, content)
        doc = catalogue.compose_item_document(
            item,
            ctx.entry,
            ctx.department,
            ctx.region,
            [catalogue.material_document(m) for m in mats],
            [catalogue.fee_document(r) for r in fee_rows],
        )
        next_change = overlay(
            doc, [Event(1, "create", ItemStatus.ACTIVE, today, None, None, None)], today
        )
        snapshot = orjson.dumps(doc)
        error = catalogue.too_large(len(snapshot))
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
        row["content_hash"] = catalogue.content_hash(catalogue.input_content(content))
        items.append(row)
        materials += mats
        fees += fee_rows
        issued[code] = "implementation"
        issued.update(child_code_kinds(new_codes))
        created.append((index, code))
    catalogue.take_feed_lock(session)
    conn = session.connection()  # Core: the ORM adds nothing to plain multi-row inserts
    for model, values in (
        (Implementation, items),
        (ItemMaterial, materials),
        (ItemFee, fees),
    ):
        insert_rows(conn, model.__table__, values)  # type: ignore[attr-defined]
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


def _rejected(index: int, code: str | None, errors: list[dict[str, Any]]) -> dict[str, Any]:
    return _answer(index, code, "rejected", None, errors)


# --- digest ----------------------------------------------------------------------------


def item_hashes(
    session: Session,
    *,
    region: str | None = None,
    department: str | None = None,
    code_from: str | None = None,
    code_to: str | None = None,
) -> list[tuple[str, str, int, str]]:
    """(code, department, version, sha256 of the stored representation) of each item."""
    latest = (
        select(RecordVersion.code, RecordVersion.version, RecordVersion.snapshot)
        .join(
            Implementation,
            and_(
                col(Implementation.code) == RecordVersion.code,
                col(Implementation.version) == RecordVersion.version,
            ),
        )
        .where(RecordVersion.kind == "item")
        .add_columns(Implementation.department_code)
        .order_by(col(RecordVersion.code))
    )
    if region:
        latest = latest.where(*with_prefix(Implementation.region_code, region_prefix(region)))
    if department:
        latest = latest.where(Implementation.department_code == department)
    if code_from:
        latest = latest.where(col(RecordVersion.code) >= code_from)
    if code_to:
        latest = latest.where(col(RecordVersion.code) <= code_to)
    return [
        (code, dept, version, hashlib.sha256(snapshot.encode()).hexdigest())
        for code, version, snapshot, dept in session.execute(latest).all()
    ]


def _combine(rows: list[tuple[str, str, int, str]]) -> str:
    h = hashlib.sha256()
    for code, _, _, item_hash in rows:
        h.update(f"{code}:{item_hash}\n".encode())
    return h.hexdigest()


def digest(
    session: Session,
    *,
    region: str | None = None,
    department: str | None = None,
    code_from: str | None = None,
    code_to: str | None = None,
    by: str | None = None,
    parts: int = 16,
    items: bool = False,
) -> dict[str, Any]:
    """Count and content hash of the items in scope; ``by=department`` or ``by=range``
    splits them so that a copy can find the differing items in a few requests."""
    rows = item_hashes(
        session, region=region, department=department, code_from=code_from, code_to=code_to
    )
    out: dict[str, Any] = {
        "region": region,
        "department": department,
        "code_from": code_from,
        "code_to": code_to,
        "count": len(rows),
        "hash": _combine(rows),
        "parts": [],
        "items": None,
    }
    if by == "department":
        groups: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
        for row in rows:
            groups[row[1]].append(row)
        out["parts"] = [_part(dept, g) for dept, g in sorted(groups.items())]
    elif by == "range":
        size = max(1, -(-len(rows) // max(parts, 1)))
        out["parts"] = [
            _part(f"{n}", rows[i : i + size]) for n, i in enumerate(range(0, len(rows), size))
        ]
    elif by is not None:
        raise InvalidInput.field(["query", "by"], "by is department or range", "digest.by")
    if items:
        out["items"] = [{"code": c, "version": v, "hash": h} for c, _, v, h in rows]
    return out


def _part(key: str, rows: list[tuple[str, str, int, str]]) -> dict[str, Any]:
    return {
        "key": key,
        "count": len(rows),
        "hash": _combine(rows),
        "first_code": rows[0][0] if rows else None,
        "last_code": rows[-1][0] if rows else None,
    }
