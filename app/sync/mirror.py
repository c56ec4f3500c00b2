"""A mirror: this same service, run by a city, kept in step with the province's feed.

``pull`` applies the province's changes in feed order, each batch in one transaction
together with the new position, so a mirror killed at any moment resumes where its last
commit left it and never applies a change twice (a version it already holds is skipped).
Versions are copied as they are, so every item reads the same on both sides.

A change this copy cannot store stops the pull before anything of its page is written
(:class:`ChangeRefused`, naming its seq, its record and why): a NUL (PostgreSQL holds none
in text or JSON) or a lone surrogate, found before the page is applied, or an error of
the database while
applying it (the change is then found by applying the page again change by change, and
rolled back). The pages before it stay applied and the position stays after the last of
them, so a pull run again stops at the same change until the source's version is repaired.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, text
from sqlmodel import Session, col

from app.catalogue.documents import (
    FEE_OPTIONAL,
    ITEM_FIELDS,
    MATERIAL_OPTIONAL,
    content_hash,
    document_content,
    item_input,
)
from app.catalogue.history import TAKES_EFFECT
from app.catalogue.issuing import issued_among, record_issued, record_issued_codes
from app.catalogue.item_rows import upsert_items
from app.catalogue.models import CatalogueEntry
from app.dbtypes import utcnow
from app.files.copies import copy_files
from app.legal.service import upsert_from_feed as upsert_legal_basis
from app.sync import mirror_snapshot
from app.sync.bulk_write import RESULTS
from app.sync.digest import item_hashes
from app.sync.epoch import fingerprint
from app.sync.mirror_position import compare, history_changed, read_page, restart_line
from app.sync.reference import (
    day,
    instant,
    sync_directory,
    upsert_department,
    upsert_material,
)
from app.sync.storable import (
    CORRECT_SOURCE,
    LOCAL_ERRORS,
    SEE_SOURCE,
    STORE_ERRORS,
    AbortedPipeline,
    ChangeRefused,
    MirrorError,
    change_name,
    check_changes,
    error_reason,
)
from app.versionlog import RecordVersion, SyncPosition, record_versions

Progress = Callable[[int, int], None]

log = logging.getLogger("app.sync")


def _upsert_entry(session: Session, e: dict[str, Any]) -> None:
    entry = session.get(CatalogueEntry, e["basic_code"]) or CatalogueEntry(
        basic_code=e["basic_code"]
    )
    for field in CatalogueEntry.model_fields:
        if field in e and field not in ("created_at", "updated_at"):
            setattr(entry, field, e[field])
    entry.created_at = instant(e.get("created_at")) or utcnow()
    entry.updated_at = instant(e.get("updated_at")) or utcnow()
    session.add(entry)
    if not issued_among(session, [e["basic_code"]]):
        record_issued(session, e["basic_code"], "basic")


#: what the rows of an implementation take from its representation, beside its identity
_ITEM_COLUMNS = (*ITEM_FIELDS, "status", "delegated_from", "version", "updated_by")


def _upsert_items(session: Session, docs: list[dict[str, Any]]) -> None:
    """Write implementations as their representations show them: the rows (one upsert),
    their materials and fees (replaced), the codes they hold (recorded as issued)."""
    if not docs:
        return
    codes = [doc["code"] for doc in docs]
    rows = [
        {
            "code": doc["code"],
            "basic_code": doc["basic_code"],
            "department_code": doc["department"]["code"],
            "region_code": doc["region"]["code"],
            **{f: doc.get(f) for f in _ITEM_COLUMNS},
            "handover_date": day(doc.get("handover_date")),
            "created_at": instant(doc["created_at"]),
            "updated_at": instant(doc["updated_at"]),
            # the province's content hash, so that an item resent as held is known at once
            "content_hash": content_hash(document_content(doc)),
        }
        for doc in docs
    ]
    materials = [
        {
            **MATERIAL_OPTIONAL,
            **{k: v for k, v in m.items() if k != "shared_material"},
            "shared_material_code": m.get("shared_material"),
            "implementation_code": doc["code"],
        }
        for doc in docs
        for m in doc["materials"]
    ]
    fees = [
        {**FEE_OPTIONAL, **f, "implementation_code": doc["code"]}
        for doc in docs
        for f in doc["fees"]
    ]
    upsert_items(session, rows, materials, fees)
    kinds = {
        **{c: "implementation" for c in codes},
        **{m["code"]: "material" for m in materials},
        **{f["code"]: "fee" for f in fees},
    }
    have = issued_among(session, kinds)
    now = utcnow()  # one timestamp a page: converted once for all its rows
    record_issued_codes(session, {c: k for c, k in kinds.items() if c not in have}, now)


#: the tables a pull writes (their statistics guide the keyed lookups and deletes)
_PULLED = ("record_version", "change_log", "implementation", "item_material", "item_fee",
           "issued_code")  # fmt: skip


def _keep_statistics(session: Session) -> None:
    """ANALYZE the tables a pull writes once they have changed by a fifth since their
    statistics were taken. A pull grows them faster than autovacuum follows, and with
    statistics of the tables as they were the planner scanned a whole table for each page's
    keyed lookups (100,000 changes: 225 changes/s; the deletes alone 85 % of the time)."""
    stale = session.execute(
        text(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname = ANY(:tables) "
            "AND n_mod_since_analyze > 1000 + n_live_tup / 5"
        ),
        {"tables": list(_PULLED)},
    ).scalar_one()
    if stale:
        session.execute(text(f"ANALYZE {', '.join(_PULLED)}"))


def apply_changes(session: Session, changes: list[dict[str, Any]]) -> int:
    """Apply feed changes in order; a version already held (or older than one held) is
    skipped. Returns how many were applied. A page goes in bulk: departments, shared
    materials and entries (few) in feed order, then each implementation's rows once, from
    its last state in the page (every change carries the full state), then every version
    and change-log row, in feed order. A change whose text the policy refuses raises
    :class:`ChangeRefused` before anything is written."""
    if session.get_bind().dialect.name == "postgresql":
        _keep_statistics(session)
    held: dict[tuple[str, str], int] = {}
    for kind in {c["kind"] for c in changes}:  # by kind: the version keys start with it
        found = session.execute(
            select(RecordVersion.kind, RecordVersion.code, func.max(RecordVersion.version))
            .where(
                RecordVersion.kind == kind,
                col(RecordVersion.code).in_({c["code"] for c in changes if c["kind"] == kind}),
            )
            .group_by(RecordVersion.kind, RecordVersion.code)
        )
        held.update(((k, code), version) for k, code, version in found)
    fresh = []
    for c in changes:
        key = (c["kind"], c["code"])
        if c["version"] <= held.get(key, 0):
            continue  # held, or passed: a copy started from a snapshot holds the newest
        held[key] = c["version"]
        fresh.append(c)
    if not fresh:
        return 0
    snapshots = check_changes(fresh)  # before anything of the page is written
    items: dict[str, dict[str, Any]] = {}
    for c in fresh:
        if c["kind"] == "department":
            upsert_department(session, c["record"])
        elif c["kind"] == "material":
            upsert_material(session, c["record"])
        elif c["kind"] == "entry":
            _upsert_entry(session, c["record"])
        elif c["kind"] == "legal":
            upsert_legal_basis(session, c["record"])
        else:
            items[c["code"]] = c["item"]
    session.flush()  # items refer to the entries and departments
    _upsert_items(session, list(items.values()))
    record_versions(
        session,
        [
            {
                "kind": c["kind"],
                "code": c["code"],
                "version": c["version"],
                # the feed names the event that took effect; the version is the day's
                "event": TAKES_EFFECT if c["operation"] == TAKES_EFFECT else c["event"],
                "snapshot": snapshot,
                "reason": c.get("reason"),
                "decision": c.get("decision"),
                "key_name": c.get("key"),
                "recorded_at": instant(c["recorded_at"]),
                "effective_date": day(c.get("effective_date")),
                "status_after": c.get("status_after"),
                "details": c.get("details"),
                "next_change": day(c.get("next_change")),
                "approved_by": c.get("approved_by"),
                "channel": c.get("channel"),
                "change_request_id": c.get("change_request"),
            }
            for c, snapshot in zip(fresh, snapshots, strict=True)
        ],
    )
    return len(fresh)


def _culprit(
    session_factory: Callable[[], Session], changes: list[dict[str, Any]], error: BaseException
) -> ChangeRefused:
    """The change of a page that the database refused: the page applied again change by
    change in one transaction, rolled back whatever happens."""
    with session_factory() as session:
        try:
            for c in changes:
                try:
                    apply_changes(session, [c])
                    session.flush()
                except LOCAL_ERRORS:
                    raise
                except STORE_ERRORS as one:
                    return ChangeRefused(change_name(c), error_reason(one), SEE_SOURCE)
        finally:
            session.rollback()
    # every change went in alone: the page as a whole was refused
    first, last = changes[0].get("seq"), changes[-1].get("seq")
    return ChangeRefused(f"the page of seq {first}-{last}", error_reason(error), SEE_SOURCE)


def position_key(url: str, region: str | None) -> str:
    return f"{url.rstrip('/')}#region={region or ''}"


def pull(
    session_factory: Callable[[], Session],
    url: str,
    *,
    region: str | None = None,
    batch: int = 500,
    key: str | None = None,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
    history: bool = False,
) -> dict[str, Any]:
    """Bring the local database in step with ``url``'s feed; verify with the digest. A copy
    that holds nothing starts from the source's snapshot (``history``: from the feed's first
    change, every version copied); one whose source's history changed (410, another epoch,
    another change at its position) loads the snapshot again, repairing what differs."""
    quiet = AbortedPipeline()
    logging.getLogger("psycopg").addFilter(quiet)
    try:
        return _pull(session_factory, url, region, batch, key, progress, transport, history)
    finally:
        logging.getLogger("psycopg").removeFilter(quiet)


def _pull(
    session_factory: Callable[[], Session],
    url: str,
    region: str | None,
    batch: int,
    key: str | None,
    progress: Progress | None,
    transport: httpx.BaseTransport | None,
    history: bool,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    source = position_key(url, region)
    with httpx.Client(base_url=url, headers=headers, timeout=60, transport=transport) as client:
        with session_factory() as session:
            try:
                sync_directory(session, client)
                session.commit()
            except LOCAL_ERRORS:
                raise
            except STORE_ERRORS as error:
                session.rollback()
                raise ChangeRefused("the directory", error_reason(error), CORRECT_SOURCE) from None
            position = session.get(SyncPosition, source)
            start = None if position is None else (position.last_seq, position.epoch)
            mark = None if position is None else position.fingerprint
        loaded: dict[str, Any] | None = None
        restart = None
        if start is None and not history:
            restart = ""  # nothing held yet: the snapshot, not the whole history
        elif mark is not None:
            restart = history_changed(client, mark)
        applied = seen = restarts = 0
        while True:
            if restart is not None:
                restarts += 1
                if restarts > 2:  # the source moves under every snapshot: stop, say why
                    raise MirrorError(f"the source's feed keeps changing history: {restart}")
                loaded = _load_snapshot(session_factory, client, region, source, restart)
                restart = None
            with session_factory() as session:
                position = session.get(SyncPosition, source) or SyncPosition(
                    source=source, last_seq=0
                )
                page = read_page(client, position, batch, region)
                if isinstance(page, str):
                    restart = page  # 410: the position is not in the source's history
                    continue
                if page["changes"]:
                    try:
                        applied += apply_changes(session, page["changes"])
                    except LOCAL_ERRORS:
                        raise
                    except STORE_ERRORS as error:
                        session.rollback()
                        raise _culprit(session_factory, page["changes"], error) from None
                    position.fingerprint = fingerprint(page["changes"][-1])
                    seen += len(page["changes"])
                moved = page["last_seq"] != position.last_seq
                position.last_seq = page["last_seq"]
                position.epoch = page.get("epoch") or position.epoch
                position.updated_at = utcnow()
                session.add(position)
                session.commit()  # the batch and the position, together
            if progress:
                progress(page["last_seq"], page.get("head_seq") or page["last_seq"])
            if not page["changes"] and not moved:
                break
        copy_files(session_factory, client)  # the material files the items name
        return compare(client, session_factory, source, region, applied, seen, loaded)


def _load_snapshot(
    session_factory: Callable[[], Session],
    client: httpx.Client,
    region: str | None,
    source: str,
    reason: str,
) -> dict[str, Any]:
    """Load the snapshot; the position moves to its seq. A restart says so in one line."""
    loaded = mirror_snapshot.load(session_factory, client, region, _upsert_items, _upsert_entry)
    with session_factory() as session:
        position = session.get(SyncPosition, source) or SyncPosition(source=source)
        position.last_seq = loaded["seq"]
        position.epoch = loaded["epoch"]
        position.fingerprint = loaded["fingerprint"]
        position.updated_at = utcnow()
        session.add(position)
        session.commit()
    loaded["reason"] = reason or None
    if reason:
        log.warning(restart_line(reason, loaded))
    return loaded


def push(
    session: Session,
    url: str,
    key: str,
    *,
    region: str | None = None,
    batch: int = 500,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Send the local implementations (of ``region``) up through the bulk endpoint. The
    province answers ``unchanged`` for what it holds already; each batch carries an
    Idempotency-Key derived from its content, so a retried batch applies once."""
    codes = [row[0] for row in item_hashes(session, region=region)]
    totals = dict.fromkeys(RESULTS, 0)
    rejected: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    with httpx.Client(base_url=url, headers=headers, timeout=300, transport=transport) as client:
        for start in range(0, len(codes), batch):
            lines = []
            for code in codes[start : start + batch]:
                snapshot = session.execute(
                    select(RecordVersion.snapshot)
                    .where(RecordVersion.kind == "item", RecordVersion.code == code)
                    .order_by(RecordVersion.version.desc())  # type: ignore[attr-defined]
                    .limit(1)
                ).scalar_one()
                lines.append(orjson.dumps(item_input(orjson.loads(snapshot))))
            body = b"\n".join(lines)
            idem = hashlib.sha256(body).hexdigest()
            try:
                resp = client.post(
                    "/api/v1/sync/items", content=body, headers={"Idempotency-Key": idem}
                )
            except httpx.HTTPError as exc:
                raise MirrorError(f"cannot reach {url}: {exc}") from exc
            if resp.status_code != 200:
                raise MirrorError(
                    f"POST /sync/items answered {resp.status_code}: {resp.text[:300]}"
                )
            result = resp.json()
            for k in totals:
                totals[k] += result[k]
            rejected += [r for r in result["items"] if r["result"] in ("rejected", "conflict")]
            if progress:
                progress(min(start + batch, len(codes)), len(codes))
    return {**totals, "sent": len(codes), "problems": rejected}
