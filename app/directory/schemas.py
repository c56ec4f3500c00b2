"""Directory representations."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.fields import Line, Para, Pattern, ReadOnly, VersionNumber


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: int
    kind: str
    parent_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class RegionDetail(RegionOut):
    parent: RegionOut | None = None
    children: list[RegionOut] = Field(default_factory=list)


class DepartmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_code: Pattern(r"^[0-9A-Z]{18}$")
    name: Line(200)
    short_name: Line(100) | None = None
    region_code: Pattern(r"^\d{6}$")
    level: Line(40) = Field(description="code list levels")
    parent_credit_code: Pattern(r"^[0-9A-Z]{18}$") | None = None
    # what GET shows besides: accepted back when unchanged (``version`` is a precondition)
    version: VersionNumber | None = Field(default=None, exclude=True, description="as If-Match")
    updated_at: ReadOnly
    updated_by: ReadOnly


DEPARTMENT_READ_ONLY = ("updated_at", "updated_by")


class DepartmentOut(DepartmentIn):
    model_config = ConfigDict(from_attributes=True)

    version: int
    updated_at: datetime
    updated_by: str | None = None


class CodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    label: str
    note: str | None = None


class CodeListOut(BaseModel):
    name: str
    codes: list[CodeOut]


class SharedMaterialIn(BaseModel):
    """A material of the shared catalogue as it is loaded (``catalogue seed``)."""

    model_config = ConfigDict(extra="forbid")

    code: Pattern(r"^[0-9A-Za-z_-]{1,40}$")
    name: Line(200)
    material_type: Line(20) = Field(description="code list material_types")
    form: Line(20) = Field(description="code list material_forms")
    source: Line(2) = Field(description="code list material_sources")
    issuer: Line(200) | None = None
    description: Para(4000) | None = None
    licence_type: Line(100) | None = None


class SharedMaterialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    material_type: str
    form: str
    source: str
    issuer: str | None = None
    description: str | None = None
    licence_type: str | None = None
