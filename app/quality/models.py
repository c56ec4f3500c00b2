"""标准管理 tables: the findings of the quality rules on each item, and their counts by day.

A finding is one row per item × rule × field: recomputed when the item is written, removed
when the item is fixed, so a count is never doubled. ``quality_day`` keeps, per day and
department, how many findings of each rule there were (written when a department's findings
change and by a whole-catalogue evaluation); a day without a row reads as the day before.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, utcnow


class Severity(StrEnum):
    """严重程度: an error must be fixed before release, a warning should be, info is advice."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_LABELS = {Severity.ERROR: "错误", Severity.WARNING: "警告", Severity.INFO: "提示"}


class QualityFinding(SQLModel, table=True):
    """质量问题: what a rule found wrong in one field of one item."""

    __tablename__ = "quality_finding"
    __table_args__ = (UniqueConstraint("item_code", "rule", "field", name="uq_quality_finding"),)

    id: int | None = Field(default=None, primary_key=True)
    item_code: str = Field(max_length=31, index=True)
    #: the item's name, department and region when the finding was made (for lists and
    #: scopes without a join)
    item_name: str = Field(max_length=300)
    department_code: str = Field(max_length=18, index=True)
    region_code: str = Field(max_length=6, index=True)
    rule: str = Field(max_length=20, index=True)
    severity: str = Field(max_length=10)
    #: the field's path in the item representation (``guide.consultation``)
    field: str = Field(max_length=200)
    #: the field's Chinese label (``咨询方式``)
    label: str = Field(max_length=200)
    message: str
    since: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class QualityDay(SQLModel, table=True):
    """质量趋势: a department's findings of one rule on one day."""

    __tablename__ = "quality_day"

    day: date = Field(primary_key=True)
    department_code: str = Field(primary_key=True, max_length=18)
    rule: str = Field(primary_key=True, max_length=20)
    region_code: str = Field(max_length=6, index=True)
    severity: str = Field(max_length=10)
    count: int = 0
