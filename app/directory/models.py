"""Regions (GB/T 2260), departments (by unified social credit code), code lists and the
shared material catalogue."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, utcnow


class Region(SQLModel, table=True):
    """行政区划. Codes change over time, hence the validity dates."""

    code: str = Field(primary_key=True, max_length=6)
    name: str = Field(max_length=100)
    #: 1 province, 2 prefecture, 3 county
    level: int
    kind: str = Field(default="", max_length=20)
    parent_code: str | None = Field(default=None, foreign_key="region.code", index=True)
    valid_from: date | None = None
    valid_to: date | None = None


class Department(SQLModel, table=True):
    """实施主体: an implementing body, identified by its unified social credit code."""

    credit_code: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=200)
    short_name: str | None = Field(default=None, max_length=100)
    region_code: str = Field(foreign_key="region.code", index=True)
    #: exercise level of the body (code list ``levels``): 2 province, 3 city, 4 county…
    level: str = Field(max_length=1)
    parent_credit_code: str | None = Field(default=None, foreign_key="department.credit_code")
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_by: str | None = Field(default=None, max_length=100)


class CodeListEntry(SQLModel, table=True):
    """One code of a code list (item types, levels, audiences, themes…): data, not enums."""

    __tablename__ = "code_list_entry"

    list_name: str = Field(primary_key=True, max_length=50)
    code: str = Field(primary_key=True, max_length=20)
    label: str = Field(max_length=100)
    position: int = 0
    note: str | None = None


class SharedMaterial(SQLModel, table=True):
    """共享材料目录: one description of a material that many items require."""

    __tablename__ = "shared_material"
    __table_args__ = (Index("ix_shared_material_name", "name"),)

    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    material_type: str = Field(max_length=20)
    form: str = Field(max_length=20)
    source: str = Field(max_length=2)
    issuer: str | None = Field(default=None, max_length=200)
    description: str | None = None
    #: an electronic licence (电子证照) type that can replace the paper material
    licence_type: str | None = Field(default=None, max_length=100)
