"""Catalogue entries (基本目录), implementations (实施清单) with their materials and fees,
the version log and the change log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from app.dbtypes import JSONType, UTCDateTime, utcnow

# the version log and the change log live below the catalogue: every aggregate writes them


class CatalogueEntry(SQLModel, table=True):
    """基本目录事项: the item as defined once, identified by its 12-digit basic code."""

    __tablename__ = "catalogue_entry"

    basic_code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=300, index=True)
    item_type: str = Field(max_length=2, index=True)
    domain: str = Field(max_length=2, index=True)
    #: 主项 of a 子项
    parent_basic_code: str | None = Field(default=None, foreign_key="catalogue_entry.basic_code")
    #: 设定依据: [{law, article, text, url}]
    legal_basis: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType))
    #: 业务办理项: [{code, name, kind}]
    handling_items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType))
    #: 俗称 that citizens use; indexed for search with the entry's implementations
    aliases: list[str] | None = Field(default=None, sa_column=Column(JSONType))
    #: the name in English (optional); search matches English queries against it
    name_en: str | None = Field(default=None, max_length=300)
    #: the code a local platform gives the item (四川 ``511A0138000000``…), kept on import
    local_basic_code: str | None = Field(default=None, max_length=100, index=True)
    status: str = Field(default="1", max_length=2)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_by: str | None = Field(default=None, max_length=100)


class Implementation(SQLModel, table=True):
    """实施清单事项: one body's delivery of a catalogue entry in one region."""

    __table_args__ = (
        Index("ix_implementation_region_code", "region_code", "code"),
        Index("ix_implementation_department_code", "department_code", "code"),
        Index("ix_implementation_updated_at", "updated_at"),
    )

    code: str = Field(primary_key=True, max_length=31)
    basic_code: str = Field(foreign_key="catalogue_entry.basic_code", index=True)
    department_code: str = Field(foreign_key="department.credit_code")
    region_code: str = Field(foreign_key="region.code")
    level: str = Field(max_length=1)
    #: power source, body nature, case type and guide are null while the item is 待完善
    #: (imported from a listing that does not say them)
    power_source: str | None = Field(default=None, max_length=2)
    body_nature: str | None = Field(default=None, max_length=2)
    entrusting_department: str | None = Field(default=None, max_length=18)
    audience: list[str] = Field(default_factory=list, sa_column=Column(JSONType))
    themes: list[str] = Field(default_factory=list, sa_column=Column(JSONType))
    case_type: str | None = Field(default=None, max_length=2)
    status: str = Field(default="1", max_length=2, index=True)
    #: 办事指南, validated by ``app.catalogue.schemas.Guide``
    guide: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    local_code: str | None = Field(default=None, max_length=100)
    source_system: str | None = Field(default=None, max_length=100)
    #: the implementation whose delegation (下放/委托) created this one
    delegated_from: str | None = Field(default=None, max_length=31)
    handover_date: date | None = None
    #: sha256 of what the sender controls (``app.catalogue.documents.content_hash``)
    content_hash: str | None = Field(default=None, max_length=64)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_by: str | None = Field(default=None, max_length=100)


class ItemMaterial(SQLModel, table=True):
    """申请材料 of one implementation. ``code`` = implementation code + 3-digit sequence and
    stays with the material when the list is reordered."""

    __tablename__ = "item_material"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    implementation_code: str = Field(foreign_key="implementation.code", index=True)
    position: int
    shared_material_code: str | None = Field(
        default=None, foreign_key="shared_material.code", index=True
    )
    name: str = Field(max_length=300)
    material_type: str = Field(max_length=20)
    form: str = Field(max_length=20)
    originals: int = 0
    copies: int = 0
    paper_size: str | None = Field(default=None, max_length=20)
    necessity: str = Field(max_length=2)
    source: str = Field(max_length=2)
    source_note: str | None = None
    blank_form: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    sample: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    #: 填写说明 as a file (``instructions`` is the 填报须知 text)
    instructions_file: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    instructions: str | None = None
    acceptance_standard: str | None = None
    legal_basis: str | None = None
    signature_requirement: str | None = None
    applies_when: str | None = None
    licence_type: str | None = Field(default=None, max_length=100)
    options: list[str] | None = Field(default=None, sa_column=Column(JSONType))
    when: Any = Field(default=None, sa_column=Column(JSONType))


class ItemFee(SQLModel, table=True):
    """收费 of one implementation."""

    __tablename__ = "item_fee"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    implementation_code: str = Field(foreign_key="implementation.code", index=True)
    position: int
    name: str = Field(max_length=300)
    standard: str
    legal_basis: str
    waivable: bool = False
    waiver_basis: str | None = None
    amount: float | None = None
    when: Any = Field(default=None, sa_column=Column(JSONType))


class IssuedCode(SQLModel, table=True):
    """Every basic or implementation code ever issued: a code is never issued twice."""

    __tablename__ = "issued_code"

    code: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=20)
    issued_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
