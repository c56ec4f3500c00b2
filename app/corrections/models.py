"""Corrections (纠错) reported by anyone, and what the department answered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, utcnow


class CorrectionStatus(StrEnum):
    """new → accepted | rejected | duplicate (a reply may be revised)."""

    NEW = "new"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class Correction(SQLModel, table=True):
    """纠错: one report of a problem with an item, by anyone, with its answer."""

    __tablename__ = "correction"
    __table_args__ = (
        Index("ix_correction_department", "department_code", "status"),
        Index("ix_correction_region", "region_code", "status"),
        Index("ix_correction_item", "item_code"),
        Index("ix_correction_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: the public handle: random (secrets.token_urlsafe), never sequential
    ticket: str = Field(max_length=43, unique=True)
    item_code: str = Field(max_length=31)
    #: the item's department and region when it was reported: who answers it
    department_code: str = Field(max_length=18)
    region_code: str = Field(max_length=6)
    #: the field it concerns, as a path (``guide.windows.0.phone``); null: the item
    field: str | None = Field(default=None, max_length=200)
    suggested: str | None = Field(default=None, sa_column=Column(Text))
    text: str = Field(sa_column=Column(Text, nullable=False))
    #: personal data: shown to the department's editors only; erased after the retention
    contact: str | None = Field(default=None, max_length=200)
    contact_erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    status: str = Field(default=CorrectionStatus.NEW, max_length=20)
    reply: str | None = Field(default=None, sa_column=Column(Text))
    replied_by: str | None = Field(default=None, max_length=100)
    replied_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    #: the change request that fixed it
    change_request_id: int | None = Field(default=None, foreign_key="change_request.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
