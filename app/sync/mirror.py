"""A mirror: this same service, run by a city, kept in step with the province's feed.

``pull`` applies the province's changes in feed order, each batch in one transaction
together with the new position, so a mirror killed at any moment resumes where its last
commit left it and never applies a change twice (a version it already holds is skipped).
Versions are copied as they are, so every item reads the same on both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import delete, insert, select
from sqlmodel import Session

from app.catalogue.models import (
    CatalogueEntry,
    ChangeLog,
    Implementation,
    IssuedCode,
    ItemFee,
    ItemMaterial,
    RecordVersion,
)
from app.catalogue.service import ITEM_FIELDS, item_input
from app.dbtypes import utcnow
from app.directory.models import Department, SharedMaterial
from app.sync import service
from app.sync.models import SyncPosition

Progress = Callable[[int, int], None]


class MirrorError(Exception):
    pass


def _get(client: httpx.Client, path: str, **params: Any) -> Any:
    try:
        resp = client.get(path, params={k: v for k, v in params.items() if v is not None})
    except httpx.HTTPError as exc:
        raise MirrorError(f"cannot reach {client.base_url}: {exc}") from exc
    if resp.status_code != 200:
        raise MirrorError(f"GET {path} answered {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def _pages(client: httpx.Client, path: str) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = _get(client, path, limit=1000, cursor=cursor)
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def sync_directory(session: Session, client: httpx.Client) -> None:
    """Departments and shared materials that items refer to (the feed carries changes made
    through the API; the seeded directory predates it)."""
    known = set(session.execute(select(SharedMaterial.code)).scalars())
    for m in _pages(client, "/api/v1/materials"):
        if m["code"] not in known:
            session.add(SharedMaterial(**m))
    departments = sorted(
        _pages(client, "/api/v1/departments"), key=lambda d: d["parent_credit_code"] is not None
    )
    for d in departments:
        _upsert_department(session, d)
    session.flush()


def _upsert_department(session: Session, d: dict[str, Any]) -> None:
    dept = session.get(Department, d["credit_code"]) or Department(credit_code=d["credit_code"])
    for field in (
        "name",
        "short_name",
        "region_code",
        "level",
        "parent_credit_code",
        "version",
        "updated_by",
    ):
        setattr(dept, field, d.get(field))
    dept.updated_at = _dt(d.get("updated_at")) or utcnow()
    session.add(dept)


def _upsert_entry(session: Session, e: dict[str, Any]) -> None:
    entry = session.get(CatalogueEntry, e["basic_code"]) or CatalogueEntry(
        basic_code=e["basic_code"]
    )
    for field in CatalogueEntry.model_fields:
        if field in e and field not in ("created_at", "updated_at"):
            setattr(entry, field, e[field])
    entry.created_at = _dt(e.get("created_at")) or utcnow()
    entry.updated_at = _dt(e.get("updated_at")) or utcnow()
    session.add(entry)
    if session.get(IssuedCode, e["basic_code"]) is None:
        session.add(IssuedCode(code=e["basic_code"], kind="basic"))


def _upsert_item(session: Session, doc: dict[str, Any]) -> None:
    code = doc["code"]
    item = session.get(Implementation, code) or Implementation(code=code)
    item.basic_code = doc["basic_code"]
    item.department_code = doc["department"]["code"]
    item.region_code = doc["region"]["code"]
    for field in (*ITEM_FIELDS, "status", "delegated_from", "version", "updated_by"):
        setattr(item, field, doc.get(field))
    item.handover_date = _d(doc.get("handover_date"))
    item.created_at = _dt(doc["created_at"])
    item.updated_at = _dt(doc["updated_at"])
    session.add(item)
    session.flush()
    session.execute(delete(ItemMaterial).where(ItemMaterial.implementation_code == code))
    session.execute(delete(ItemFee).where(ItemFee.implementation_code == code))
    materials = [
        {
            **{k: v for k, v in m.items() if k != "shared_material"},
            "shared_material_code": m.get("shared_material"),
            "implementation_code": code,
        }
        for m in doc["materials"]
    ]
    fees = [{**f, "implementation_code": code} for f in doc["fees"]]
    if materials:
        session.execute(insert(ItemMaterial), materials)
    if fees:
        session.execute(insert(ItemFee), fees)
    issued = {code, *(m["code"] for m in materials), *(f["code"] for f in fees)}
    have = set(
        session.execute(select(IssuedCode.code).where(IssuedCode.code.in_(issued))).scalars()
    )  # type: ignore[attr-defined]
    for new in sorted(issued - have):
        session.add(IssuedCode(code=new, kind="implementation" if new == code else "material"))


def apply_changes(session: Session, changes: list[dict[str, Any]]) -> int:
    """Apply feed changes in order; a version already held is skipped. Returns how many
    were applied."""
    applied = 0
    for c in changes:
        held = session.execute(
            select(RecordVersion.id).where(
                RecordVersion.kind == c["kind"],
                RecordVersion.code == c["code"],
                RecordVersion.version == c["version"],
            )
        ).first()
        if held:
            continue
        state = c["item"] if c["kind"] == "item" else c["record"]
        if c["kind"] == "department":
            _upsert_department(session, state)
        elif c["kind"] == "entry":
            _upsert_entry(session, state)
        else:
            _upsert_item(session, state)
        session.flush()
        recorded_at = _dt(c["recorded_at"])
        session.execute(
            insert(RecordVersion).values(
                kind=c["kind"],
                code=c["code"],
                version=c["version"],
                event=c["event"],
                snapshot=orjson.dumps(state).decode(),
                reason=c.get("reason"),
                decision=c.get("decision"),
                key_name=c.get("key"),
                recorded_at=recorded_at,
                effective_date=_d(c.get("effective_date")),
                status_after=c.get("status_after"),
                details=c.get("details"),
                next_change=_d(c.get("next_change")),
            )
        )
        session.execute(
            insert(ChangeLog).values(
                kind=c["kind"],
                code=c["code"],
                version=c["version"],
                operation=c["operation"],
                recorded_at=recorded_at,
            )
        )
        applied += 1
    return applied


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
) -> dict[str, Any]:
    """Bring the local database in step with ``url``'s feed; verify with the digest."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    source = position_key(url, region)
    with httpx.Client(base_url=url, headers=headers, timeout=60, transport=transport) as client:
        with session_factory() as session:
            sync_directory(session, client)
            session.commit()
        applied = seen = 0
        while True:
            with session_factory() as session:
                position = session.get(SyncPosition, source) or SyncPosition(
                    source=source, last_seq=0
                )
                page = _get(
                    client, "/api/v1/changes", after=position.last_seq, limit=batch, region=region
                )
                if not page["changes"]:
                    break
                applied += apply_changes(session, page["changes"])
                seen += len(page["changes"])
                position.last_seq = page["last_seq"]
                position.updated_at = utcnow()
                session.add(position)
                session.commit()  # the batch and the position, together
            if progress:
                progress(page["last_seq"], page.get("head_seq") or page["last_seq"])
        remote = _get(client, "/api/v1/sync/digest", region=region)
        with session_factory() as session:
            local = service.digest(session, region=region)
            last_seq = (session.get(SyncPosition, source) or SyncPosition(source=source)).last_seq
    return {
        "applied": applied,
        "seen": seen,
        "last_seq": last_seq,
        "count": local["count"],
        "remote_count": remote["count"],
        "equal": local["hash"] == remote["hash"] and local["count"] == remote["count"],
    }


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
    codes = [row[0] for row in service.item_hashes(session, region=region)]
    totals = dict.fromkeys(service.RESULTS, 0)
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
