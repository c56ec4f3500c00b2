"""The implementations of a listing batch (see :mod:`app.sync.listing_write`): 待完善 items
composed in memory and written together through the one writer of implementation rows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, NamedTuple

import orjson
from sqlmodel import Session, col, select

from app import clock
from app.catalogue.documents import compose_item_document, content_hash, document_content
from app.catalogue.history import Event, overlay
from app.catalogue.issuing import issued_among, record_issued_codes
from app.catalogue.item_rows import insert_items, item_row
from app.catalogue.models import CatalogueEntry, Implementation
from app.catalogue.statuses import STATUS_INCOMPLETE
from app.dbtypes import utcnow
from app.directory.models import Department, Region
from app.security import Principal
from app.sync.listing_rows import Outcome, Parsed
from app.versionlog import record_versions, version_row


class Placed(NamedTuple):
    """A row whose entry and department are known: the implementation it names."""

    p: Parsed
    region: Region
    department: Department
    level: str
    basic: str
    code: str


def write_items(
    session: Session, placed: list[Placed], source: str, actor: Principal, out: Outcome
) -> None:
    """The 待完善 implementations of a batch's rows, in row order: a code held already is
    unchanged (the same local code) or a duplicate, a code issued before is refused, the
    others are written together (:func:`_create`)."""
    codes = [x.code for x in placed]
    held = dict(
        session.execute(
            select(Implementation.code, Implementation.local_code).where(
                col(Implementation.code).in_(codes)
            )
        ).all()
    )
    issued = issued_among(session, codes)
    new: list[tuple[Placed, dict[str, Any]]] = []
    for x in placed:
        p, code = x.p, x.code
        if code in held:
            if held[code] == p.item_code:
                out.counts["unchanged"] += 1
            else:
                out.counts["duplicates"] += 1
                out.line(
                    "duplicates",
                    p.row,
                    "item_code",
                    "duplicate",
                    f"implementation {code} exists already with local code {held[code]}",
                )
            continue
        if code in issued:
            out.counts["rejected"] += 1
            del out.identities[p.row]
            out.line(
                "report",
                p.row,
                "item_code",
                "code-already-issued",
                f"implementation code {code} was issued before; a code is never issued twice",
            )
            continue
        row = item_row(
            code=code,
            basic_code=x.basic,
            department_code=p.credit_code,
            region_code=x.region.code,
            level=x.level,
            status=STATUS_INCOMPLETE,
            local_code=p.item_code,
            source_system=source,
            updated_by=actor.name,
        )
        held[code] = p.item_code  # a later row naming it finds it held
        new.append((x, row))
    _create(session, actor, new)
    out.counts["created"] += len(new)


def _create(session: Session, actor: Principal, new: list[tuple[Placed, dict[str, Any]]]) -> None:
    """New 待完善 implementations (no guide, materials or fees yet): their codes issued, rows,
    first versions and change-log entries, composed in memory and written in a few
    statements (as :func:`app.catalogue.items.record_item` would record each)."""
    if not new:
        return
    now, today = utcnow(), clock.today()
    basics = {row["basic_code"] for _, row in new}
    entries = {
        e.basic_code: e
        for e in session.exec(
            select(CatalogueEntry).where(col(CatalogueEntry.basic_code).in_(basics))
        )
    }
    created = [Event(1, "create", STATUS_INCOMPLETE, today, None, None, None)]
    versions = []
    for x, row in new:
        row.update(created_at=now, updated_at=now)
        doc = compose_item_document(
            SimpleNamespace(**row), entries[row["basic_code"]], x.department, x.region, [], []
        )
        next_change = overlay(doc, created, today)
        row.update(
            status=doc["status"],
            content_hash=content_hash(document_content(doc)),
        )
        versions.append(
            version_row(
                kind="item",
                code=row["code"],
                version=1,
                event="create",
                snapshot=orjson.dumps(doc).decode(),
                actor=actor,
                recorded_at=now,
                status_after=STATUS_INCOMPLETE,
                next_change=next_change,
            )
        )
    record_issued_codes(session, {row["code"]: "implementation" for _, row in new}, now)
    insert_items(session, [row for _, row in new])
    record_versions(session, versions)
