"""Legal basis representations (法律法规及政策文件)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.fields import Line, ReadOnly, Url, VersionNumber
from app.legal.models import LegalStatus


class LegalBasisIn(BaseModel):
    """A law, regulation or policy document as an administrator writes it."""

    model_config = ConfigDict(extra="forbid")

    number: Line(100) | None = Field(default=None, description="文号, e.g. 国发〔2016〕55号")
    title: Line(300) = Field(description="标题, e.g. 《中华人民共和国护照法》")
    issuer: Line(200) | None = Field(default=None, description="制定机关")
    issued_on: date | None = Field(default=None, description="发布日期")
    effective_on: date | None = Field(default=None, description="施行日期")
    amended_on: date | None = Field(default=None, description="修订日期 (the latest)")
    repealed_on: date | None = Field(default=None, description="废止日期")
    url: Url(500) | None = None
    status: LegalStatus = Field(default=LegalStatus.IN_FORCE, description="时效性")
    # what GET shows besides: accepted back when unchanged (``version`` is a precondition)
    id: ReadOnly
    version: VersionNumber | None = Field(default=None, exclude=True, description="as If-Match")
    updated_at: ReadOnly
    updated_by: ReadOnly


class LegalBasisOut(BaseModel):
    id: int
    number: str | None = None
    title: str
    issuer: str | None = None
    issued_on: date | None = None
    effective_on: date | None = None
    amended_on: date | None = None
    repealed_on: date | None = None
    url: str | None = None
    status: LegalStatus
    version: int
    updated_at: datetime | None = None
    updated_by: str | None = None


class LegalBasisTaskOut(BaseModel):
    """An item whose citation of an amended or repealed document needs its department."""

    id: int
    item: str = Field(description="the item's code")
    department: str
    region: str
    legal_basis: int
    title: str
    number: str | None = None
    status: LegalStatus
    reason: str = Field(description="amended | repealed")
    since: date | None = Field(description="the day it was amended or repealed")
    created_at: datetime
