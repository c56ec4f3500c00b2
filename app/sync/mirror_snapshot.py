"""A mirror's start from the source's snapshot (快照), and its repair after the source's
history changed (a restore, another instance).

The implementations' snapshot is opened first (its first line gives the seq ``S`` the copy
continues from), then the entries' snapshot is read whole (taken after, so it holds every
entry an implementation refers to) and stored, then the implementations are stored batch
by batch. A record is compared by its bytes with the copy's newest version of it: equal, it
is left alone; else every version the copy holds from the snapshot's version on is dropped
(a restored source may have given the same version number to other content, or not reached
it) and the snapshot's version takes their place. Implementations of the scope that the
snapshot does not hold are removed. Each batch commits on its own: a load cut short leaves
no position, so the next pull loads again and finds the batches already equal.

The feed then continues after ``S``; a change of a version the copy holds or has passed is
skipped (:func:`app.sync.mirror.apply_changes`), which covers the entries read after ``S``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
from sqlalchemy import and_, delete, func, select, update
from sqlmodel import Session, col

from app.catalogue.models import Implementation, ItemFee, ItemMaterial
from app.pagination import with_prefix
from app.security import region_prefix
from app.sync.epoch import fingerprint
from app.sync.models import FeedEpoch
from app.sync.reference import day, instant
from app.sync.storable import MirrorError
from app.versionlog import ChangeLog, RecordVersion, record_versions

#: records stored in one transaction
BATCH = 500

#: the event of a version a copy took from a snapshot (its history before is not copied)
SNAPSHOT_EVENT = "snapshot"


def _lines(response: httpx.Response) -> Iterator[bytes]:
    for line in response.iter_lines():
        if line:
            yield line.encode()


def _open(client: httpx.Client, kind: str, region: str | None) -> httpx.Response:
    params = {"kind": kind, **({"region": region} if region else {})}
    try:
        response = client.send(
            client.build_request("GET", "/api/v1/sync/snapshot", params=params), stream=True
        )
    except httpx.HTTPError as exc:
        raise MirrorError(f"cannot reach {client.base_url}: {exc}") from exc
    if response.status_code != 200:
        response.read()
        response.close()
        raise MirrorError(
            f"GET /sync/snapshot?kind={kind} answered {response.status_code}: {response.text[:300]}"
        )
    return response


def _batches(lines: Iterator[bytes], size: int) -> Iterator[list[tuple[dict[str, Any], bytes]]]:
    batch: list[tuple[dict[str, Any], bytes]] = []
    for line in lines:
        batch.append((orjson.loads(line), line))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sha(body: str | bytes) -> str:
    return hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()


def _newest(session: Session, kind: str, codes: list[str]) -> dict[str, tuple[int, str]]:
    """(version, sha256 of its snapshot) of the copy's newest version of each code."""
    newest = (
        select(RecordVersion.code, func.max(RecordVersion.version).label("version"))
        .where(RecordVersion.kind == kind, col(RecordVersion.code).in_(codes))
        .group_by(col(RecordVersion.code))
        .subquery()
    )
    rows = session.execute(
        select(RecordVersion.code, RecordVersion.version, RecordVersion.snapshot).join(
            newest,
            and_(
                RecordVersion.kind == kind,
                col(RecordVersion.code) == newest.c.code,
                col(RecordVersion.version) == newest.c.version,
            ),
        )
    )
    return {code: (version, _sha(snapshot)) for code, version, snapshot in rows}


def _drop_versions(session: Session, kind: str, code: str, since: int) -> None:
    """The copy's versions of ``code`` from ``since`` on, and their change-log rows."""
    for table in (RecordVersion, ChangeLog):
        session.execute(
            delete(table).where(
                table.kind == kind,  # type: ignore[attr-defined]
                table.code == code,  # type: ignore[attr-defined]
                table.version >= since,  # type: ignore[attr-defined]
            )
        )


def _differing(
    session: Session, kind: str, batch: list[tuple[dict[str, Any], bytes]], key: str
) -> tuple[list[tuple[dict[str, Any], bytes]], int]:
    """The records of ``batch`` the copy does not hold as they are (their versions from the
    snapshot's on dropped), and how many of them it held otherwise (repaired)."""
    held = _newest(session, kind, [doc[key] for doc, _ in batch])
    out = []
    repaired = 0
    for doc, line in batch:
        mine = held.get(doc[key])
        if mine == (doc["version"], _sha(line)):
            continue
        if mine is not None and mine[0] >= doc["version"]:
            repaired += 1  # the same version, or a later one, of another history
            _drop_versions(session, kind, doc[key], doc["version"])
        out.append((doc, line))
    return out, repaired


def _versions(kind: str, key: str, fresh: list[tuple[dict[str, Any], bytes]]) -> list[Any]:
    return [
        {
            "kind": kind,
            "code": doc[key],
            "version": doc["version"],
            "event": SNAPSHOT_EVENT,
            "snapshot": line.decode(),
            "reason": None,
            "decision": None,
            "key_name": None,
            "recorded_at": instant(doc.get("updated_at")),
            "effective_date": None,
            "status_after": doc.get("status") if kind == "item" else None,
            "details": None,
            "next_change": day(doc.get("next_change")) if kind == "item" else None,
            "approved_by": None,
            "channel": "sync",
            "change_request_id": None,
        }
        for doc, line in fresh
    ]


def _remove_items(session: Session, codes: list[str]) -> None:
    """Implementations the source no longer has (a history it lost): gone with their
    materials, fees, versions and change-log rows."""
    for child in (ItemMaterial, ItemFee):
        session.execute(delete(child).where(col(child.implementation_code).in_(codes)))
    for table in (RecordVersion, ChangeLog):
        session.execute(
            delete(table).where(
                table.kind == "item",  # type: ignore[attr-defined]
                col(table.code).in_(codes),  # type: ignore[attr-defined]
            )
        )
    session.execute(delete(Implementation).where(col(Implementation.code).in_(codes)))


def _parents_first(lines: list[bytes]) -> list[bytes]:
    """Entries ordered so that a parent comes before its children (by depth, then code)."""
    docs = {d["basic_code"]: d for d in map(orjson.loads, lines)}
    by_code = dict(zip(docs, lines, strict=True))

    def depth(code: str) -> int:
        n, seen = 0, {code}
        parent = docs[code].get("parent_basic_code")
        while parent in docs and parent not in seen:
            seen.add(parent)
            n += 1
            parent = docs[parent].get("parent_basic_code")
        return n

    return [by_code[c] for c in sorted(docs, key=lambda c: (depth(c), c))]


def load(
    session_factory: Callable[[], Session],
    client: httpx.Client,
    region: str | None,
    write_items: Callable[[Session, list[dict[str, Any]]], None],
    write_entry: Callable[[Session, dict[str, Any]], None],
) -> dict[str, Any]:
    """Bring the copy to the source's snapshot; returns its ``seq`` and ``epoch``, the
    fingerprint of the change at ``seq``, and how many records were loaded, repaired
    (held at the same or a later version with other content) and removed."""
    items = _open(client, "items", region)
    try:
        lines = _lines(items)
        head = orjson.loads(next(lines))
        loaded = repaired = removed = 0
        entries = _open(client, "entries", None)
        try:
            entry_lines = _lines(entries)
            next(entry_lines)
            # a parent before its children (entries are few: read whole)
            for batch in _batches(iter(_parents_first(list(entry_lines))), BATCH):
                with session_factory() as session:
                    fresh, fixed = _differing(session, "entry", batch, "basic_code")
                    for doc, _ in fresh:
                        write_entry(session, doc)
                    session.flush()
                    record_versions(session, _versions("entry", "basic_code", fresh))
                    session.commit()
                    repaired += fixed
        finally:
            entries.close()
        seen: set[str] = set()
        for batch in _batches(lines, BATCH):
            with session_factory() as session:
                fresh, fixed = _differing(session, "item", batch, "code")
                write_items(session, [doc for doc, _ in fresh])
                record_versions(session, _versions("item", "code", fresh))
                session.commit()
            seen.update(doc["code"] for doc, _ in batch)
            loaded += len(fresh) - fixed
            repaired += fixed
    finally:
        items.close()
    with session_factory() as session:
        scope = select(Implementation.code)
        if region:
            scope = scope.where(*with_prefix(Implementation.region_code, region_prefix(region)))
        gone = [code for code in session.execute(scope).scalars() if code not in seen]
        for start in range(0, len(gone), BATCH):
            _remove_items(session, gone[start : start + BATCH])
        removed = len(gone)
        if repaired or removed:
            # the copy's own history changed too: its followers must re-snapshot
            session.execute(update(FeedEpoch).values(epoch=uuid.uuid4().hex))
        session.commit()
    return {
        "seq": head["seq"],
        "epoch": head["epoch"],
        "count": head["count"],
        "fingerprint": change_fingerprint(client, head["seq"]),
        "loaded": loaded,
        "repaired": repaired,
        "removed": removed,
    }


def change_fingerprint(client: httpx.Client, seq: int) -> str | None:
    """The fingerprint of the source's change at ``seq`` (None: there is none)."""
    if seq <= 0:
        return None
    try:
        response = client.get("/api/v1/changes", params={"after": seq - 1, "limit": 1})
    except httpx.HTTPError as exc:
        raise MirrorError(f"cannot reach {client.base_url}: {exc}") from exc
    if response.status_code != 200:
        return None
    changes = response.json()["changes"]
    if not changes or changes[0]["seq"] != seq:
        return None
    return fingerprint(changes[0])
