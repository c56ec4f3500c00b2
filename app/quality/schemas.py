"""What the quality API answers (标准管理): rules, the board, findings, same-service pairs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class RuleOut(BaseModel):
    """质量规则."""

    id: str
    standard: str
    severity: str
    title: str
    description: str
    fix: str


class RuleCount(BaseModel):
    rule: str
    title: str
    severity: str
    count: int


class TallyOut(BaseModel):
    """A scope's or a department's score and counts (an item starts at 100 points; an error
    takes 20, a warning 5; the score is the items' mean)."""

    items: int
    items_with_findings: int
    score: float
    by_severity: dict[str, int]
    by_rule: list[RuleCount]


class DepartmentTally(TallyOut):
    code: str
    name: str
    region: str | None = None


class DayCounts(BaseModel):
    day: str
    error: int
    warning: int
    info: int


class BoardOut(TallyOut):
    """质量看板 of a region (and those below it) or a department."""

    region: str | None = None
    department: str | None = None
    departments: list[DepartmentTally]
    history: list[DayCounts]


class FindingOut(BaseModel):
    """质量问题: one rule's finding in one field of one item."""

    item: str
    name: str
    department: str
    region: str
    rule: str
    severity: str
    field: str
    label: str
    message: str
    since: datetime | None
    edit: str


class FindingPage(BaseModel):
    items: list[FindingOut]
    next_cursor: str | None = None


class DuplicateOut(BaseModel):
    """名称不同但内容相同: two implementations that look like one service."""

    a: str
    b: str
    a_name: str
    b_name: str
    score: float
    evidence: list[str]
