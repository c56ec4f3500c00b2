"""Legal bases (法律法规及政策文件) and the tasks their amendment or repeal gives."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, utcnow


class LegalStatus(StrEnum):
    """时效性 of a document."""

    IN_FORCE = "现行有效"
    AMENDED = "已修订"
    REPEALED = "已废止"


class TaskReason(StrEnum):
    """Why an item's citation needs its department's action."""

    AMENDED = "amended"
    REPEALED = "repealed"


class LegalBasis(SQLModel, table=True):
    """依据: a law, regulation or policy document that entries and items cite, by its id."""

    __tablename__ = "legal_basis"
    __table_args__ = (
        Index("ix_legal_basis_title", "title"),
        Index("ix_legal_basis_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: 文号, e.g. 国发〔2016〕55号 (a law has none)
    number: str | None = Field(default=None, max_length=100)
    title: str = Field(max_length=300)
    issuer: str | None = Field(default=None, max_length=200)
    issued_on: date | None = None
    effective_on: date | None = None
    amended_on: date | None = None
    repealed_on: date | None = None
    url: str | None = Field(default=None, max_length=500)
    status: str = Field(default=LegalStatus.IN_FORCE, max_length=10)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_by: str | None = Field(default=None, max_length=100)


class LegalBasisTask(SQLModel, table=True):
    """整改任务: an item cites a document amended or repealed since; open until the item
    no longer cites it (``cleared_at``)."""

    __tablename__ = "legal_basis_task"
    __table_args__ = (
        Index("ix_legal_basis_task_item_code", "item_code"),
        Index("ix_legal_basis_task_department", "department_code"),
        Index("ix_legal_basis_task_basis", "legal_basis_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    legal_basis_id: int = Field(
        sa_column=Column(Integer, ForeignKey("legal_basis.id", ondelete="CASCADE"), nullable=False)
    )
    legal_basis_version: int
    item_code: str = Field(max_length=31)
    department_code: str = Field(max_length=18)
    region_code: str = Field(max_length=6)
    reason: str = Field(max_length=10)
    #: the day the document was amended or repealed
    since: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    cleared_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
