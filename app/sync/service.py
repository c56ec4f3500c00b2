"""The change feed, bulk upserts and digests (domain.md §6).

The feed is the change log written in the transaction of every change. Its ``seq`` is
gap-free in commit order: a transaction takes the feed lock before it writes its first
change (PostgreSQL: a transaction-scoped advisory lock; SQLite allows one writer at a time
anyway) and holds it until it commits, so a change with a higher ``seq`` never becomes
visible before one with a lower ``seq``. A reader that stores ``last_seq`` and asks for
``after=last_seq`` therefore never misses or repeats a change.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from app.catalogue import service as catalogue
from app.catalogue.models import ChangeLog, Implementation, RecordVersion
from app.catalogue.schemas import ImplementationIn
from app.codes.rules import implementation_code
from app.errors import DomainError, InvalidInput, RuleViolation, field_error
from app.security import Principal, region_prefix
from app.sync.models import IdempotencyRecord

MAX_BATCH = 1000


def head_seq(session: Session) -> int:
    """The newest change's seq: how far a consumer is behind."""
    return session.execute(select(func.max(ChangeLog.seq))).scalar_one() or 0


def read_changes(
    session: Session, *, after: int, limit: int, region: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Changes with ``seq > after``, oldest first, each with the full state at its version.
    ``region`` keeps the items of that region (and below); entries and departments, which
    every copy needs, always come."""
    stmt = (
        select(ChangeLog, RecordVersion)
        .join(
            RecordVersion,
            and_(
                RecordVersion.kind == ChangeLog.kind,
                RecordVersion.code == ChangeLog.code,
                RecordVersion.version == ChangeLog.version,
            ),
        )
        .where(col(ChangeLog.seq) > after)
        .order_by(col(ChangeLog.seq))
        .limit(limit)
    )
    if region:
        stmt = stmt.outerjoin(Implementation, col(Implementation.code) == ChangeLog.code).where(
            or_(
                ChangeLog.kind != "item",
                col(Implementation.region_code).startswith(region_prefix(region)),
            )
        )
    changes = []
    last = after
    for change, version in session.execute(stmt).all():
        doc = orjson.loads(version.snapshot)
        changes.append(
            {
                "seq": change.seq,
                "kind": change.kind,
                "code": change.code,
                "version": change.version,
                "operation": change.operation,
                "event": version.event,
                "recorded_at": version.recorded_at,
                "effective_date": version.effective_date,
                "decision": version.decision,
                "reason": version.reason,
                "key": version.key_name,
                "status_after": version.status_after,
                "details": version.details,
                "next_change": version.next_change,
                "item": doc if change.kind == "item" else None,
                "record": doc if change.kind != "item" else None,
            }
        )
        last = change.seq
    return changes, last


# --- bulk upsert -----------------------------------------------------------------------


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
    saw; if the item has moved on since, the answer is ``conflict`` and nothing changes."""
    if len(rows) > MAX_BATCH:
        raise InvalidInput.field(
            ["body"], f"at most {MAX_BATCH} items per request, got {len(rows)}", "bulk.size"
        )
    results = [_upsert_one(session, i, row, actor) for i, row in enumerate(rows)]
    totals = {k: 0 for k in ("created", "updated", "unchanged", "conflict", "rejected")}
    for r in results:
        totals[r["result"]] += 1
    return {**totals, "items": results}


def _upsert_one(session: Session, index: int, row: Any, actor: Principal) -> dict[str, Any]:
    if not isinstance(row, dict):
        return _rejected(
            index, None, [field_error([index], "an item is a JSON object", "bulk.item")]
        )
    row = dict(row)
    expected = row.pop("version", None)
    try:
        data = ImplementationIn.model_validate(row)
    except ValidationError as exc:
        errors = [
            field_error([index, *e["loc"]], e["msg"], e["type"])
            for e in exc.errors(include_url=False)
        ]
        return _rejected(index, row.get("code"), errors)
    code = data.code or implementation_code(data.department, data.level, data.basic_code)
    attempt = session.begin_nested()  # one item's failure undoes only that item
    try:
        existing = session.get(Implementation, code)
        if existing is None:
            doc = catalogue.create_item(session, data, actor)
            outcome = "created"
        else:
            if expected is not None and expected != existing.version:
                attempt.rollback()
                return {
                    "index": index,
                    "code": code,
                    "result": "conflict",
                    "version": existing.version,
                    "errors": [
                        field_error(
                            [index, "version"],
                            f"the item is at version {existing.version}, you sent {expected}",
                            "stale-version",
                        )
                    ],
                }
            before = existing.version
            doc = catalogue.replace_item(session, code, data, actor)
            outcome = "updated" if doc["version"] != before else "unchanged"
        attempt.commit()
    except DomainError as exc:
        attempt.rollback()
        errors = exc.errors or [field_error([index], exc.detail, exc.type.rsplit("/", 1)[-1])]
        return _rejected(index, code, [_reindex(e, index) for e in errors])
    return {
        "index": index,
        "code": code,
        "result": outcome,
        "version": doc["version"],
        "errors": [],
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
    return {"index": index, "code": code, "result": "rejected", "version": None, "errors": errors}


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
        latest = latest.where(col(Implementation.region_code).startswith(region_prefix(region)))
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
