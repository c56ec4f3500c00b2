"""The findings store (质量问题): kept equal to what the rules find in each item's newest
version. Every recorded item version comes here in the writer's transaction
(:func:`on_item_versions`, registered with the version log), and ``catalogue quality``
re-evaluates the whole catalogue (:func:`evaluate_all`; freshness changes with the days,
not with writes). A finding that no longer holds is deleted, one that still holds keeps its
``since``; one row per item × rule × field, so nothing is counted twice."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, select
from sqlmodel import Session, col

from app import clock
from app.catalogue.labels import label
from app.catalogue.models import Implementation
from app.catalogue.statuses import ItemStatus
from app.config import get_settings
from app.db import insert_rows
from app.dbtypes import utcnow
from app.directory.models import SharedMaterial
from app.quality.models import QualityDay, QualityFinding
from app.quality.rule_set import RULES_BY_ID
from app.quality.rules import Context, _norm, check_item
from app.versionlog import RecordVersion

#: statuses whose items are no longer handled: they carry no findings
ENDED = {ItemStatus.CANCELLED, ItemStatus.MERGED, ItemStatus.DELEGATED}
#: the row of a department's day that holds its total (so a day with none is a row too)
TOTAL = "*"
BATCH = 1000


_SHARED_TABLE = SharedMaterial.__table__  # type: ignore[attr-defined]
_FINDINGS = QualityFinding.__table__  # type: ignore[attr-defined]
#: the statements every recorded version runs, built once (built anew with the ORM's
#: columns they were a fifth of a single PATCH)
_SHARED = select(_SHARED_TABLE.c.code, _SHARED_TABLE.c.name, _SHARED_TABLE.c.licence_type)
_HELD_COLUMNS = (
    _FINDINGS.c.id,
    _FINDINGS.c.item_code,
    _FINDINGS.c.rule,
    _FINDINGS.c.field,
    _FINDINGS.c.message,
    _FINDINGS.c.department_code,
)
_HELD = select(*_HELD_COLUMNS).where(_FINDINGS.c.item_code.in_(bindparam("codes", expanding=True)))
#: the same for one item (an expanding list is rendered anew at each execution)
_HELD_ONE = select(*_HELD_COLUMNS).where(_FINDINGS.c.item_code == bindparam("code"))


def context(session: Session) -> Context:
    """The rules' context now: the shared material catalogue, today, the period."""
    shared, by_name = _shared_catalogue(tuple(session.execute(_SHARED)))  # rows hash as tuples
    return Context(shared, by_name, clock.today(), get_settings().quality_stale_days)


@functools.lru_cache(maxsize=4)
def _shared_catalogue(
    rows: tuple[tuple[str, str, str | None], ...],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The shared materials by code and by normalised name, from their rows: built once for
    the same rows (every recorded version reads them; the rules only read these dicts)."""
    shared = {
        code: {"code": code, "name": name, "licence_type": licence} for code, name, licence in rows
    }
    return shared, {_norm(s["name"]): code for code, s in shared.items()}


@dataclass
class Outcome:
    """What one evaluation changed."""

    items: int = 0
    added: int = 0
    removed: int = 0


def _rows(doc: dict[str, Any], ctx: Context) -> dict[tuple[str, str], dict[str, Any]]:
    if doc.get("status") in ENDED:
        return {}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for hit in check_item(doc, ctx):
        out[(hit.rule, hit.field)] = {
            "item_code": doc["code"],
            "item_name": (doc.get("name") or "")[:300],
            "department_code": (doc.get("department") or {}).get("code") or "",
            "region_code": (doc.get("region") or {}).get("code") or "",
            "rule": hit.rule,
            "severity": RULES_BY_ID[hit.rule].severity.value,
            "field": hit.field,
            "label": label(hit.field),
            "message": hit.message,
        }
    return out


def evaluate(
    session: Session, docs: Iterable[dict[str, Any]], ctx: Context | None = None
) -> Outcome:
    """Bring the stored findings of these items (their newest representations) in line
    with the rules, and today's counts of the departments whose findings changed."""
    docs = [d for d in docs if d.get("code")]
    outcome = Outcome(items=len(docs))
    if not docs:
        return outcome
    ctx = ctx or context(session)
    codes = [d["code"] for d in docs]
    wanted: dict[tuple[str, str, str], dict[str, Any]] = {}
    for doc in docs:
        for (rule, field), row in _rows(doc, ctx).items():
            wanted[(doc["code"], rule, field)] = row
    if len(codes) == 1:
        held = session.execute(_HELD_ONE, {"code": codes[0]}).all()
    else:
        held = session.execute(_HELD, {"codes": codes}).all()
    stale: list[int] = []
    touched: set[str] = set()
    for id_, code, rule, field, message, department in held:
        row = wanted.get((code, rule, field))
        if row is None or row["message"] != message or row["department_code"] != department:
            stale.append(id_)
            touched.add(department)
            if row is not None:  # the same finding, said otherwise: keeps its since
                row["keep_since"] = True
        else:
            wanted.pop((code, rule, field))
    if stale:
        since = dict(
            session.execute(
                select(QualityFinding.id, QualityFinding.since).where(
                    col(QualityFinding.id).in_(stale)
                )
            ).all()
        )
        by_key = {(c, r, f): i for i, c, r, f, _, _ in held}
        for key, row in wanted.items():
            if row.pop("keep_since", False):
                row["since"] = since[by_key[key]]
        session.execute(delete(QualityFinding).where(col(QualityFinding.id).in_(stale)))
    now = utcnow()
    fresh = [{"since": now, **row} for row in wanted.values()]
    if fresh:
        insert_rows(session.connection(), QualityFinding.__table__, fresh)  # type: ignore[attr-defined]
        touched.update(r["department_code"] for r in fresh)
    outcome.added = len(fresh)
    outcome.removed = len(stale)
    if touched:
        record_day(session, touched)
    return outcome


def on_item_versions(session: Session, rows: list[dict[str, Any]]) -> None:
    """The version log's hook: the findings of each item recorded, from its newest version
    in these rows."""
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["kind"] == "item":
            newest[row["code"]] = row
    docs = [orjson.loads(r["snapshot"]) for r in newest.values()]
    evaluate(session, docs)


def record_day(session: Session, departments: Iterable[str]) -> None:
    """Today's counts by rule for these departments, from the stored findings."""
    departments = sorted(set(departments))
    if not departments:
        return
    today = clock.today()
    session.execute(
        delete(QualityDay).where(
            QualityDay.day == today, col(QualityDay.department_code).in_(departments)
        )
    )
    counts = session.execute(
        select(
            QualityFinding.department_code,
            QualityFinding.region_code,
            QualityFinding.rule,
            QualityFinding.severity,
            func.count(),
        )
        .where(col(QualityFinding.department_code).in_(departments))
        .group_by(
            QualityFinding.department_code,
            QualityFinding.region_code,
            QualityFinding.rule,
            QualityFinding.severity,
        )
    ).all()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    totals: dict[str, int] = defaultdict(int)
    regions: dict[str, str] = {}
    for department, region, rule, severity, n in counts:
        key = (department, rule)
        if key in rows:  # one department, two regions (moved): one row per rule
            rows[key]["count"] += n
        else:
            rows[key] = {
                "day": today,
                "department_code": department,
                "rule": rule,
                "region_code": region,
                "severity": severity,
                "count": n,
            }
        totals[department] += n
        regions.setdefault(department, region)
    missing = [d for d in departments if d not in regions]
    if missing:
        regions.update(
            session.execute(
                select(Implementation.department_code, Implementation.region_code)
                .where(col(Implementation.department_code).in_(missing))
                .distinct()
            ).all()
        )
    for department in departments:
        rows[(department, TOTAL)] = {
            "day": today,
            "department_code": department,
            "rule": TOTAL,
            "region_code": regions.get(department, ""),
            "severity": "",
            "count": totals.get(department, 0),
        }
    insert_rows(session.connection(), QualityDay.__table__, list(rows.values()))  # type: ignore[attr-defined]


def evaluate_all(session: Session, region_prefix: str | None = None) -> Outcome:
    """Re-evaluate every item (of a region and those below it) from its newest version, in
    batches, and record today's counts of every department evaluated."""
    from app.pagination import with_prefix

    ctx = context(session)
    total = Outcome()
    after = ""
    departments: set[str] = set()
    while True:
        stmt = (
            select(Implementation.code, Implementation.version, Implementation.department_code)
            .where(col(Implementation.code) > after)
            .order_by(col(Implementation.code))
            .limit(BATCH)
        )
        if region_prefix:
            stmt = stmt.where(*with_prefix(Implementation.region_code, region_prefix))
        batch = session.execute(stmt).all()
        if not batch:
            break
        after = batch[-1][0]
        departments.update(b[2] for b in batch)
        # the newest version of each item of the batch, by its row's version: a join on the
        # (kind, code, version) index (a list of 1,000 (code, version) pairs was not one)
        snapshots = session.execute(
            select(RecordVersion.snapshot)
            .join(
                Implementation,
                (Implementation.code == RecordVersion.code)
                & (Implementation.version == RecordVersion.version),
            )
            .where(
                RecordVersion.kind == "item",
                col(Implementation.code).in_([b[0] for b in batch]),
            )
        ).scalars()
        done = evaluate(session, (orjson.loads(s) for s in snapshots), ctx)
        total.items += done.items
        total.added += done.added
        total.removed += done.removed
    record_day(session, departments)
    return total


def findings_for_department(session: Session, department: str) -> list[QualityFinding]:
    """A department's findings, worst first then by item (the worklist's section)."""
    order = {"error": 0, "warning": 1, "info": 2}
    rows = session.scalars(
        select(QualityFinding)
        .where(QualityFinding.department_code == department)
        .order_by(col(QualityFinding.item_code), col(QualityFinding.rule))
    ).all()
    return sorted(rows, key=lambda f: order.get(f.severity, 3))


def findings_for_item(session: Session, code: str) -> list[QualityFinding]:
    """One item's findings (the edit form's include)."""
    return list(
        session.scalars(
            select(QualityFinding)
            .where(QualityFinding.item_code == code)
            .order_by(col(QualityFinding.severity), col(QualityFinding.rule))
        ).all()
    )
