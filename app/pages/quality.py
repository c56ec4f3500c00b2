"""Pages of 标准管理: the board of the province, a city or a department (``/quality``), the
findings behind each bar (``/quality/findings``) and the signed-in department's board
(``/editor/quality``). Thin: the same reads as ``GET /api/v1/quality``; the charts are SVG
drawn on the server (:mod:`app.pages.quality_charts`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlmodel import Session, col

from app.config import get_settings
from app.directory.models import Department, Region
from app.directory.service import check_filters
from app.errors import InvalidInput
from app.http.deps import ReadSession
from app.http.quality import check_query, edit_link
from app.pages import quality_charts as charts
from app.pages.editor import signed_in_as, workspace_page
from app.pages.web import PageRoute, env, reading, render
from app.quality.board import Scope, board, list_findings
from app.quality.findings import findings_for_department, findings_for_item
from app.quality.models import SEVERITY_LABELS, Severity
from app.quality.rule_set import RULES, RULES_BY_ID

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: findings a list page shows at once
PAGE = 100


def quality_findings_of(request: Request, code: str) -> list[Any]:
    """The edit form's include: this item's findings."""
    with reading(request) as session:
        return findings_for_item(session, code)


def quality_findings_of_departments(request: Request, departments: Any) -> list[Any]:
    """The worklist's include: the findings of the key's departments, worst first."""
    with reading(request) as session:
        return [f for d in departments or () for f in findings_for_department(session, d)]


env.globals["quality_findings_of"] = quality_findings_of
env.globals["quality_findings_of_departments"] = quality_findings_of_departments
env.globals["quality_severity"] = lambda s: SEVERITY_LABELS.get(Severity(s), s)


def _cities(session: Session) -> list[Region]:
    province = get_settings().province
    return list(
        session.scalars(
            select(Region).where(col(Region.parent_code) == province).order_by(col(Region.code))
        )
    )


def _one(request: Request, name: str) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and len(value) > 40:
        raise InvalidInput.field(["query", name], "too long", "text.too_long")
    return value


def board_context(session: Session, scope: Scope) -> dict[str, Any]:
    out = board(session, scope)
    base = {"region": scope.region or "", "department": scope.department or ""}
    what = "质量问题按规则"
    return {
        "board": out,
        "base": base,
        "rules_chart": charts.by_rule(out["by_rule"], base, what),
        "trend_chart": charts.trend(out["history"], "质量问题趋势"),
        "severity_labels": {s.value: SEVERITY_LABELS[s] for s in Severity},
        "findings_link": charts.findings_link,
    }


@router.get("/quality")
def quality_page(request: Request, session: ReadSession) -> Response:
    region, department = _one(request, "region"), _one(request, "department")
    scope = check_query(session, region, department)
    names = {r.code: r.name for r in _cities(session)}
    title = "全省"
    if department:
        title = session.get(Department, department).name  # type: ignore[union-attr]
    elif region:
        found = session.get(Region, region)
        title = found.name if found else region
    context = board_context(session, scope)
    context.update(cities=_cities(session), region=region, title=title, city_names=names)
    return render(request, "quality.html", context)


@router.get("/quality/findings")
def findings_page(request: Request, session: ReadSession) -> Response:
    region, department = _one(request, "region"), _one(request, "department")
    rule, severity = _one(request, "rule"), _one(request, "severity")
    scope = check_query(session, region, department, rule, severity)
    rows, next_cursor = list_findings(
        session,
        scope,
        rule=rule,
        severity=severity,
        cursor=_one(request, "cursor"),
        limit=PAGE,
    )
    base = {
        "region": region or "",
        "department": department or "",
        "rule": rule or "",
        "severity": severity or "",
    }
    return render(
        request,
        "quality_findings.html",
        {
            "rows": rows,
            "rule": RULES_BY_ID.get(rule or ""),
            "base": base,
            "next_cursor": next_cursor,
            "edit_link": edit_link,
            "severity_labels": {s.value: SEVERITY_LABELS[s] for s in Severity},
            "findings_link": charts.findings_link,
        },
    )


@router.get("/quality/rules")
def rules_page(request: Request) -> Response:
    return render(
        request,
        "quality_rules.html",
        {"rules": RULES, "severity_labels": {s.value: SEVERITY_LABELS[s] for s in Severity}},
    )


@router.get("/editor/quality")
def editor_quality(request: Request, session: ReadSession) -> Response:
    who = signed_in_as(request, session)
    departments = list(who.principal.departments)
    chosen = _one(request, "department") or (departments[0] if departments else None)
    if chosen is not None and departments and chosen not in departments:
        raise InvalidInput.field(
            ["query", "department"], "not a department of your key", "department.scope"
        )
    if chosen is not None:
        check_filters(session, department=chosen)
    scope = Scope(department=chosen, region=None if chosen else who.principal.region_prefix)
    context = board_context(session, scope)
    rows, _ = list_findings(session, scope, limit=500)
    names = dict(
        session.execute(
            select(Department.credit_code, Department.name).where(
                col(Department.credit_code).in_(departments)
            )
        ).all()
    )
    context.update(
        rows=rows,
        departments=[(d, names.get(d, d)) for d in departments],
        chosen=chosen,
        chosen_name=names.get(chosen or "", chosen or ""),
        edit_link=edit_link,
    )
    return workspace_page(request, "editor/quality.html", who, **context)
