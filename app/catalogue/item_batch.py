"""Many implementations replaced at once (批量修改): the set-based form of
:func:`app.catalogue.items.replace_item` for a bulk write. The current rows, their newest
versions and lifecycle events are read in a few queries (the materials and fees as the
newest version shows them); each new representation is composed and checked in memory;
the rows, the children that changed, versions and change-log entries are written in a few
statements (the version log's one write path).

Only the plain case goes this way: an item in force today (nothing due to record), active,
with nothing scheduled. The others (待完善 completed by a full write, a day due, a
scheduled event) are handed back for the single write path, which knows their rules."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple

import orjson
from sqlalchemy import bindparam, select
from sqlmodel import Session

from app import clock
from app.catalogue.documents import (
    ITEM_FIELDS,
    child_rows,
    comparable_content,
    compose_item_document,
    content_hash,
    document_content,
    fee_document,
    material_document,
)
from app.catalogue.effective import in_force
from app.catalogue.history import lifecycle_events, lifecycle_events_of, overlay
from app.catalogue.issuing import child_code_kinds, issued_under, record_issued_codes
from app.catalogue.item_rows import replace_child_rows, update_items
from app.catalogue.models import Implementation
from app.catalogue.reads import newest_item_versions
from app.catalogue.schemas import ImplementationIn
from app.catalogue.statuses import ItemStatus
from app.catalogue.validation import check_read_only
from app.dbtypes import utcnow
from app.errors import DomainError
from app.security import Principal
from app.versionlog import latest_snapshot, record_versions, too_large, version_row


class Replacement(NamedTuple):
    """One item of a batch: the caller's key for it, its code, its validated input and the
    context validation found (entry, department, region)."""

    key: int
    code: str
    data: ImplementationIn
    ctx: Any
    #: ``data``'s JSON dump when the caller has made it already
    content: dict[str, Any] | None = None


class Replaced(NamedTuple):
    """What became of a batch: key → (``updated`` or ``unchanged``, version); the items the
    single write path must take; key → the error of an item refused."""

    done: dict[int, tuple[str, int]]
    single: list[Replacement]
    refused: dict[int, DomainError]


#: the columns of an implementation row a replacement writes
_WRITTEN = (*sorted(ITEM_FIELDS), "version", "updated_at", "updated_by", "content_hash", "status")
_ITEMS = Implementation.__table__  # type: ignore[attr-defined]
#: the implementation rows of some codes, locked (built once, as the next)
#: (their writable fields left out: a replacement brings its own)
_KEPT = [c for c in _ITEMS.columns if c.name not in ITEM_FIELDS]
_LOCKED = (
    select(*_KEPT).where(_ITEMS.c.code.in_(bindparam("codes", expanding=True))).with_for_update()
)
#: the same for one code (an expanding list is rendered anew at each execution)
_LOCKED_ONE = select(*_KEPT).where(_ITEMS.c.code == bindparam("code")).with_for_update()


def locked_rows(session: Session, codes: list[str]) -> dict[str, dict[str, Any]]:
    """code → the implementation row (its columns' values but the writable fields'), locked
    until the transaction ends."""
    if len(codes) == 1:
        found = session.execute(_LOCKED_ONE, {"code": codes[0]})
    else:
        found = session.execute(_LOCKED, {"codes": codes})
    return {r["code"]: dict(r) for r in found.mappings()}


def replace_items(
    session: Session,
    batch: Sequence[Replacement],
    actor: Principal,
    locked: dict[str, dict[str, Any]] | None = None,
) -> Replaced:
    """Replace the items of ``batch`` (distinct codes, stored, scope and rules checked by the
    caller) in the caller's transaction; ``locked``: their rows, when the caller has locked
    and read them (:func:`locked_rows`) in this transaction."""
    done: dict[int, tuple[str, int]] = {}
    single: list[Replacement] = []
    refused: dict[int, DomainError] = {}
    if not batch:
        return Replaced(done, single, refused)
    today, now = clock.today(), utcnow()
    codes = [r.code for r in batch]
    rows = locked if locked is not None else locked_rows(session, codes)
    if len(codes) == 1:  # a single write (PUT, PATCH) has read both in this transaction
        found = latest_snapshot(session, "item", codes[0])  # _plain: is it the row's?
        newest = {codes[0]: found} if found else {}
        events = {codes[0]: lifecycle_events(session, codes[0])}
    else:
        newest = newest_item_versions(session, codes)
        events = lifecycle_events_of(session, codes)
    updates, versions, materials, fees = [], [], [], []
    rewrite: dict[str, list[str]] = {"materials": [], "fees": []}
    issued: dict[str, str] = {}
    for r in batch:
        row, latest, evs = rows.get(r.code), newest.get(r.code), events[r.code]
        if not _plain(row, latest, evs, today):
            single.append(r)
            continue
        assert row is not None and latest is not None
        stored = orjson.loads(latest[1])
        try:
            actor.require_item_scope(row["department_code"], row["region_code"])
            check_read_only(r.data, lambda s=stored: s)
        except DomainError as exc:
            refused[r.key] = exc
            continue
        content = r.content if r.content is not None else r.data.model_dump(mode="json")
        # the stored materials and fees by name, as the newest version shows their rows
        old = {
            k: {c["name"]: c["code"] for c in stored.get(k) or []} for k in ("materials", "fees")
        }
        mats, fee_rows, fresh = child_rows(r.code, content, old, _child_codes(old))
        if fresh:  # a new material or fee: its code comes after every one ever issued
            ever = issued_under(session, r.code)
            mats, fee_rows, fresh = child_rows(r.code, content, old, ever)
        new = {**row, **{f: content[f] for f in ITEM_FIELDS}}
        new.update(version=row["version"] + 1, updated_at=now, updated_by=actor.name)
        children = {
            "materials": [material_document(m) for m in mats],
            "fees": [fee_document(f) for f in fee_rows],
        }
        doc = compose_item_document(
            SimpleNamespace(**new),
            r.ctx.entry,
            r.ctx.department,
            r.ctx.region,
            children["materials"],
            children["fees"],
        )
        next_change = overlay(doc, evs, today)
        snapshot = orjson.dumps(doc)
        digest = content_hash(document_content(doc))
        # another hash: another content. The same hash: what else the item shows (names,
        # codes of its materials) may still have changed
        if digest == row["content_hash"] and comparable_content(
            orjson.loads(snapshot)
        ) == comparable_content(stored):
            done[r.key] = ("unchanged", row["version"])  # no version, no row touched
            continue
        error = too_large(len(snapshot))
        if error is not None:
            refused[r.key] = error
            continue
        new.update(content_hash=digest, status=doc["status"])
        updates.append({"code": r.code, **{k: new[k] for k in _WRITTEN}})
        versions.append(
            version_row(
                kind="item",
                code=r.code,
                version=new["version"],
                event="revise",
                snapshot=snapshot.decode(),
                actor=actor,
                recorded_at=now,
                reason=r.data.change_note,
                next_change=next_change,
            )
        )
        # children shown as stored (the newest version shows the rows) are left as they are
        if _changed(children["materials"], stored.get("materials")):
            rewrite["materials"].append(r.code)
            materials += mats
        if _changed(children["fees"], stored.get("fees")):
            rewrite["fees"].append(r.code)
            fees += fee_rows
        issued.update(child_code_kinds(fresh))
        done[r.key] = ("updated", new["version"])
    _write(session, updates, rewrite, materials, fees, issued, versions, now)
    return Replaced(done, single, refused)


def _plain(
    row: dict[str, Any] | None, latest: tuple[int, str, Any] | None, evs: list[Any], today: Any
) -> bool:
    """An active item whose newest version is in force today, with nothing scheduled."""
    return (
        row is not None
        and latest is not None
        and latest[0] == row["version"]
        and in_force(latest[2], today)
        and row["content_hash"] is not None
        and row["status"] == ItemStatus.ACTIVE
        and all(e.effective_date <= today for e in evs)
        and (not evs or evs[-1].status_after == ItemStatus.ACTIVE)
    )


def _changed(shown: list[dict[str, Any]], stored: Any) -> bool:
    """Whether children shown as ``shown`` differ from the ``stored`` ones (as JSON: 1 and
    1.0 or True are not the same value there)."""
    return orjson.dumps(shown) != orjson.dumps(stored)


def _child_codes(old: dict[str, dict[str, str]]) -> list[str]:
    return [*old["materials"].values(), *old["fees"].values()]


def _write(
    session: Session,
    updates: list[dict[str, Any]],
    rewrite: dict[str, list[str]],
    materials: list[dict[str, Any]],
    fees: list[dict[str, Any]],
    issued: dict[str, str],
    versions: list[dict[str, Any]],
    now: Any,
) -> None:
    """The rows, children, new child codes, versions and change-log entries: a few
    statements for the whole batch."""
    if not updates:
        return
    update_items(session, updates)
    replace_child_rows(session, rewrite["materials"], rewrite["fees"], materials, fees)
    if issued:
        record_issued_codes(session, issued, now)
    record_versions(session, versions)
