"""The board (质量看板): scores and counts of findings for a scope (the province, a city, a
department) and for each department below it, the findings behind each count, and the
trend by day. Reads the findings store only; writes nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from app import clock
from app.catalogue.models import Implementation
from app.directory.models import Department
from app.pagination import decode_number_cursor, encode_cursor, with_prefix
from app.quality.findings import ENDED, TOTAL
from app.quality.models import QualityDay, QualityFinding, Severity
from app.quality.rule_set import RULES, RULES_BY_ID
from app.security import region_prefix

#: what one finding takes from its item's 100 points (an item never goes below 0)
PENALTY = {Severity.ERROR: 20, Severity.WARNING: 5, Severity.INFO: 0}
#: days of trend a board shows
TREND_DAYS = 30


@dataclass
class Scope:
    """The items a board or list covers: a region and those below it, a department."""

    region: str | None = None
    department: str | None = None

    def where(self, region_col: Any, department_col: Any) -> list[Any]:
        out: list[Any] = []
        if self.region:
            out.extend(with_prefix(region_col, region_prefix(self.region)))
        if self.department:
            out.append(department_col == self.department)
        return out


@dataclass
class Tally:
    """Counts and score of one scope or department."""

    items: int = 0
    items_with_findings: int = 0
    score: float = 100.0
    by_severity: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Severity})
    by_rule: dict[str, int] = field(default_factory=dict)


def _score(items: int, penalties: list[int]) -> float:
    """Each item starts at 100 and loses its findings' penalties (down to 0); the mean."""
    if not items:
        return 100.0
    lost = sum(min(100, p) for p in penalties)
    return round(100.0 - lost / items, 1)


def tallies(session: Session, scope: Scope) -> tuple[Tally, dict[str, Tally]]:
    """The scope's tally and each department's, from the findings and the live items."""
    items = session.execute(
        select(Implementation.department_code, func.count())
        .where(
            col(Implementation.status).not_in(list(ENDED)),
            *scope.where(Implementation.region_code, Implementation.department_code),
        )
        .group_by(Implementation.department_code)
    ).all()
    per: dict[str, Tally] = defaultdict(Tally)
    for department, n in items:
        per[department].items = n
    rows = session.execute(
        select(
            QualityFinding.department_code,
            QualityFinding.item_code,
            QualityFinding.rule,
            QualityFinding.severity,
            func.count(),
        )
        .where(*scope.where(QualityFinding.region_code, QualityFinding.department_code))
        .group_by(
            QualityFinding.department_code,
            QualityFinding.item_code,
            QualityFinding.rule,
            QualityFinding.severity,
        )
    ).all()
    penalties: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for department, item, rule, severity, n in rows:
        t = per[department]
        t.by_severity[severity] = t.by_severity.get(severity, 0) + n
        t.by_rule[rule] = t.by_rule.get(rule, 0) + n
        penalties[department][item] += PENALTY.get(Severity(severity), 0) * n
    whole = Tally()
    all_penalties: list[int] = []
    for department, t in per.items():
        t.items_with_findings = len(penalties[department])
        t.score = _score(t.items, list(penalties[department].values()))
        whole.items += t.items
        whole.items_with_findings += t.items_with_findings
        all_penalties.extend(penalties[department].values())
        for k, v in t.by_severity.items():
            whole.by_severity[k] = whole.by_severity.get(k, 0) + v
        for k, v in t.by_rule.items():
            whole.by_rule[k] = whole.by_rule.get(k, 0) + v
    whole.score = _score(whole.items, all_penalties)
    return whole, dict(per)


def history(session: Session, scope: Scope, days: int = TREND_DAYS) -> list[dict[str, Any]]:
    """Findings by severity on each of the last ``days`` days: each department's counts of
    its latest recorded day on or before that day (a day without writes repeats the last)."""
    today = clock.today()
    first = today - timedelta(days=days - 1)
    rows = session.execute(
        select(
            QualityDay.day,
            QualityDay.department_code,
            QualityDay.rule,
            QualityDay.severity,
            QualityDay.count,
        )
        .where(*scope.where(QualityDay.region_code, QualityDay.department_code))
        .order_by(col(QualityDay.day))
    ).all()
    # department → day → {severity: count}
    by_dept: dict[str, dict[date, dict[str, int]]] = defaultdict(dict)
    for day, department, rule, severity, count in rows:
        counts = by_dept[department].setdefault(day, {s.value: 0 for s in Severity})
        if rule != TOTAL:
            counts[severity] = counts.get(severity, 0) + count
    out: list[dict[str, Any]] = []
    for n in range(days):
        day = first + timedelta(days=n)
        total = {s.value: 0 for s in Severity}
        known = False
        for days_of in by_dept.values():
            latest = max((d for d in days_of if d <= day), default=None)
            if latest is None:
                continue
            known = True
            for k, v in days_of[latest].items():
                total[k] += v
        if known:
            out.append({"day": day.isoformat(), **total})
    return out


def board(session: Session, scope: Scope) -> dict[str, Any]:
    """The board of a scope: its tally, each department's, and the trend."""
    whole, per = tallies(session, scope)
    names = dict(
        session.execute(
            select(Department.credit_code, Department.name).where(
                col(Department.credit_code).in_(list(per))
            )
        ).all()
    )
    regions = dict(
        session.execute(
            select(Department.credit_code, Department.region_code).where(
                col(Department.credit_code).in_(list(per))
            )
        ).all()
    )
    return {
        "region": scope.region,
        "department": scope.department,
        **_tally_out(whole),
        "departments": sorted(
            (
                {
                    "code": code,
                    "name": names.get(code, code),
                    "region": regions.get(code),
                    **_tally_out(t),
                }
                for code, t in per.items()
            ),
            key=lambda d: (d["score"], d["name"]),
        ),
        "history": history(session, scope),
    }


def _tally_out(t: Tally) -> dict[str, Any]:
    return {
        "items": t.items,
        "items_with_findings": t.items_with_findings,
        "score": t.score,
        "by_severity": t.by_severity,
        "by_rule": [
            {
                "rule": r.id,
                "title": r.title,
                "severity": r.severity.value,
                "count": t.by_rule.get(r.id, 0),
            }
            for r in RULES
            if t.by_rule.get(r.id)
        ],
    }


def list_findings(
    session: Session,
    scope: Scope,
    *,
    rule: str | None = None,
    severity: str | None = None,
    item: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[QualityFinding], str | None]:
    """Findings in the scope, by id; ``next_cursor`` while there are more."""
    stmt = select(QualityFinding).where(
        *scope.where(QualityFinding.region_code, QualityFinding.department_code)
    )
    if rule:
        stmt = stmt.where(QualityFinding.rule == rule)
    if severity:
        stmt = stmt.where(QualityFinding.severity == severity)
    if item:
        stmt = stmt.where(QualityFinding.item_code == item)
    after = decode_number_cursor(cursor)
    if after is not None:
        stmt = stmt.where(col(QualityFinding.id) > after)
    rows = list(session.scalars(stmt.order_by(col(QualityFinding.id)).limit(limit + 1)).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(str(rows[-1].id))
    return rows, None


def rule_title(rule: str) -> str:
    r = RULES_BY_ID.get(rule)
    return r.title if r else rule
