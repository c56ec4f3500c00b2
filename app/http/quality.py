"""The quality API (标准管理): rules, the board, the findings (JSON and XLSX), same-service
pairs. Thin: reads through :mod:`app.quality.board` and :mod:`app.quality.duplicates`."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.directory.service import check_filters
from app.errors import InvalidInput, field_error
from app.exports.formulas import neutralise
from app.http.deps import ReadSession
from app.quality import duplicates
from app.quality.board import Scope, board, list_findings
from app.quality.models import QualityFinding, Severity
from app.quality.rule_set import RULES, RULES_BY_ID
from app.quality.schemas import BoardOut, DuplicateOut, FindingOut, FindingPage, RuleOut

router = APIRouter(prefix="/api/v1", tags=["quality"])

Region = Annotated[
    str | None, Query(description="region code or prefix; includes the regions under it")
]
Dept = Annotated[str | None, Query(description="department credit code")]
RuleQ = Annotated[str | None, Query(description="rule id (GET /quality/rules)")]
SeverityQ = Annotated[str | None, Query(description="error, warning or info")]
ItemQ = Annotated[str | None, Query(description="implementation code", max_length=31)]
#: the XLSX carries at most this many findings (a city's are far fewer)
XLSX_LIMIT = 100_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def edit_link(code: str) -> str:
    return f"/editor/items/{code}/edit"


def finding_out(f: QualityFinding) -> FindingOut:
    return FindingOut(
        item=f.item_code,
        name=f.item_name,
        department=f.department_code,
        region=f.region_code,
        rule=f.rule,
        severity=f.severity,
        field=f.field,
        label=f.label,
        message=f.message,
        since=f.since,
        edit=edit_link(f.item_code),
    )


def check_query(
    session: ReadSession,
    region: str | None,
    department: str | None,
    rule: str | None = None,
    severity: str | None = None,
) -> Scope:
    """Unknown filters are 422s naming the parameter, never an empty answer."""
    errors = []
    if rule is not None and rule not in RULES_BY_ID:
        errors.append(field_error(["query", "rule"], f"unknown rule {rule!r}", "rule.unknown"))
    if severity is not None and severity not in {s.value for s in Severity}:
        errors.append(
            field_error(
                ["query", "severity"], "severity is error, warning or info", "severity.enum"
            )
        )
    if errors:
        raise InvalidInput("invalid quality filter", errors=errors)
    check_filters(session, region=region, department=department)
    return Scope(region=region, department=department)


@router.get("/quality/rules", response_model=list[RuleOut])
def quality_rules() -> list[RuleOut]:
    """The quality rules: id, the standard each comes from, severity, what it checks, how
    to fix a finding."""
    return [
        RuleOut(
            id=r.id,
            standard=r.standard,
            severity=r.severity.value,
            title=r.title,
            description=r.description,
            fix=r.fix,
        )
        for r in RULES
    ]


@router.get("/quality", response_model=BoardOut)
def quality_board(session: ReadSession, region: Region = None, department: Dept = None) -> BoardOut:
    """The board of a scope: score, findings by rule and severity, each department below
    it, and the counts by day."""
    scope = check_query(session, region, department)
    return BoardOut.model_validate(board(session, scope))


@router.get("/quality/findings", response_model=FindingPage)
def quality_findings(
    session: ReadSession,
    region: Region = None,
    department: Dept = None,
    rule: RuleQ = None,
    severity: SeverityQ = None,
    item: ItemQ = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FindingPage:
    """The findings in a scope, filtered; ``next_cursor`` pages on."""
    scope = check_query(session, region, department, rule, severity)
    rows, next_cursor = list_findings(
        session, scope, rule=rule, severity=severity, item=item, cursor=cursor, limit=limit
    )
    return FindingPage(items=[finding_out(f) for f in rows], next_cursor=next_cursor)


@router.get(
    "/exports/quality.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}}},
)
def quality_xlsx(
    session: ReadSession,
    region: Region = None,
    department: Dept = None,
    rule: RuleQ = None,
    severity: SeverityQ = None,
) -> Response:
    """The findings as a workbook a department works through: one row per finding, with
    the field's label, the message, how to fix it and the link to the edit form."""
    # openpyxl is imported with the first workbook, not by every start
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    scope = check_query(session, region, department, rule, severity)
    rows, _ = list_findings(session, scope, rule=rule, severity=severity, limit=XLSX_LIMIT)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("质量问题")
    headers = [
        "实施编码",
        "事项名称",
        "实施主体",
        "规则",
        "严重程度",
        "字段",
        "问题",
        "修改建议",
        "发现时间",
        "修改链接",
    ]
    widths = [34, 30, 20, 26, 10, 24, 50, 50, 20, 50]
    for i, w in enumerate(widths):
        sheet.column_dimensions[chr(65 + i)].width = w
    sheet.freeze_panes = "A2"
    head = []
    for h in headers:
        cell = WriteOnlyCell(sheet, value=h)
        cell.font = Font(bold=True)
        head.append(cell)
    sheet.append(head)
    severities = {"error": "错误", "warning": "警告", "info": "提示"}
    for f in sorted(rows, key=lambda r: (r.item_code, r.rule, r.field)):
        rule = RULES_BY_ID.get(f.rule)
        sheet.append(
            [
                neutralise(v)
                for v in (
                    f.item_code,
                    f.item_name,
                    f.department_code,
                    f"{f.rule} {rule.title if rule else ''}",
                    severities.get(f.severity, f.severity),
                    f.label,
                    f.message,
                    rule.fix if rule else "",
                    f.since.strftime("%Y-%m-%d %H:%M") if f.since else "",
                    edit_link(f.item_code),
                )
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": 'attachment; filename="quality.xlsx"'},
    )


@router.get("/quality/duplicates", response_model=list[DuplicateOut])
def quality_duplicates(
    session: ReadSession,
    region: Region = None,
    min_score: Annotated[float, Query(ge=0, le=1)] = duplicates.THRESHOLD,
) -> list[DuplicateOut]:
    """名称不同但内容相同: pairs of implementations in different regions or departments
    whose materials, legal basis, conditions and outcome match while names or entries
    differ, best first, with the evidence."""
    check_filters(session, region=region)
    return [DuplicateOut(**p) for p in duplicates.pairs(session, region, min_score)]
