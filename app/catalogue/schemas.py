"""The exchange format: what the API reads and writes and what ``schemas/`` publishes.

Field names follow ``domain.md`` in English snake_case. Code-list values (item type, level,
audience…) are checked against the code lists in the database by the service, since those
lists are data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from app.catalogue.guide_schemas import (
    Attachment,
    CodeStr,
    Guide,
    ShortText,
    Strict,
    Text,
)
from app.catalogue.situation_schemas import (
    WHEN_FIELD,
    SituationId,
    When,
)
from app.fields import Line, Para, Pattern, ReadOnly, Url, VersionNumber

# --- catalogue entry ---------------------------------------------------------------


class LegalProvision(Strict):
    """One provision of the legal basis (设定依据)."""

    law: ShortText = Field(
        description="Name of the law or regulation, e.g. 《中华人民共和国护照法》"
    )
    article: Line(100) | None = Field(default=None, description="e.g. 第五条")
    text: Para(4000) | None = Field(default=None, description="Text of the provision")
    url: Url(500) | None = Field(default=None)
    id: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        exclude_if=lambda v: v is None,
        description="the legal basis record cited (GET /legal-bases/{id}); free text alone "
        "stays valid for older data",
    )


class HandlingItem(Strict):
    """业务办理项: a way of handling the item (新设/变更/延续/注销…)."""

    code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    name: ShortText
    kind: Literal["新设", "变更", "延续", "注销", "其他"] = "新设"


class CatalogueEntryIn(Strict):
    """A catalogue entry (基本目录事项) as written by a catalogue administrator."""

    basic_code: Annotated[str, StringConstraints(pattern=r"^\d{12}$")] | None = Field(
        default=None, description="12 digits; generated when absent, validated when given"
    )
    name: ShortText
    item_type: CodeStr = Field(description="code list item_types, e.g. 01 行政许可")
    domain: Annotated[str, StringConstraints(pattern=r"^\d{2}$")] = Field(
        description="code list domains"
    )
    parent_basic_code: Annotated[str, StringConstraints(pattern=r"^\d{12}$")] | None = Field(
        default=None, description="the main item (主项) of a sub item (子项)"
    )
    legal_basis: list[LegalProvision] = Field(min_length=1, max_length=100)
    handling_items: list[HandlingItem] = Field(default_factory=list, max_length=50)
    aliases: list[Line(50)] = Field(
        default_factory=list,
        max_length=30,
        description="俗称: what citizens call the item (驾照, 社保卡…); search finds it by these",
    )
    name_en: Line(300) | None = Field(
        default=None,
        description="the name in English (optional): English search queries match it",
    )
    local_basic_code: Line(100) | None = Field(
        default=None,
        description="the code a local platform gives the item (四川 511A0138000000…); "
        "a PUT that leaves it out keeps it, null clears it",
    )
    # what GET shows besides: accepted back when unchanged (``version`` is a precondition)
    version: VersionNumber | None = Field(default=None, exclude=True, description="as If-Match")
    status: ReadOnly
    created_at: ReadOnly
    updated_at: ReadOnly
    updated_by: ReadOnly


ENTRY_READ_ONLY = ("status", "created_at", "updated_at", "updated_by")


class CatalogueEntryOut(CatalogueEntryIn):
    basic_code: str
    legal_basis: list[LegalProvision] = Field(
        default_factory=list, description="empty while the entry is 待完善 (status 7)"
    )
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = None


# --- materials and fees ------------------------------------------------------------


class MaterialIn(Strict):
    """申请材料."""

    code: CodeStr | None = Field(
        default=None, description="kept across edits; assigned (implementation code + 3 digits)"
    )
    name: ShortText
    shared_material: CodeStr | None = Field(
        default=None, description="code in the shared material catalogue (GET /materials)"
    )
    material_type: CodeStr = Field(description="code list material_types: 原件/复印件/原件和复印件")
    form: CodeStr = Field(description="code list material_forms: 纸质/电子/纸质和电子")
    originals: int = Field(default=0, ge=0, le=100)
    copies: int = Field(default=0, ge=0, le=100)
    paper_size: Line(20) | None = Field(default=None)
    necessity: CodeStr = Field(
        description="code list material_necessity: 1 必要, 2 非必要, 3 容缺后补"
    )
    source: CodeStr = Field(description="code list material_sources: 10 申请人自备…")
    source_note: Para(1000) | None = Field(default=None)
    blank_form: Attachment | None = None
    sample: Attachment | None = None
    instructions_file: Attachment | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="填写说明 as a file (POST /items/{code}/materials/{material}/files, "
        "kind instructions); instructions is the 填报须知 text",
    )
    instructions: Para(4000) | None = Field(default=None, description="填报须知")
    acceptance_standard: Para(4000) | None = Field(default=None)
    legal_basis: Para(4000) | None = Field(default=None)
    signature_requirement: Para(1000) | None = Field(default=None)
    applies_when: Para(1000) | None = Field(default=None, description="材料情形")
    licence_type: Line(100) | None = Field(default=None, description="电子证照")
    options: list[SituationId] = Field(
        default_factory=list,
        max_length=40,
        exclude_if=lambda v: not v,
        description="the situation options that require it (any of them); none: always",
    )
    when: When = Field(**WHEN_FIELD)

    position: int | None = Field(
        default=None, ge=1, le=1000, exclude=True, description="read-only: its place in the list"
    )


class MaterialOut(MaterialIn):
    code: str
    position: int


class FeeIn(Strict):
    """收费."""

    code: CodeStr | None = None
    name: ShortText
    standard: Text
    legal_basis: Text
    waivable: bool = False
    waiver_basis: Para(2000) | None = Field(default=None)
    amount: float | None = Field(
        default=None,
        ge=0,
        le=1e9,
        exclude_if=lambda v: v is None,
        description="元, where the standard fixes the amount",
    )
    when: When = Field(**WHEN_FIELD)

    position: int | None = Field(
        default=None, ge=1, le=1000, exclude=True, description="read-only: its place in the list"
    )


class FeeOut(FeeIn):
    code: str
    position: int


# --- implementation ----------------------------------------------------------------


def _code_of(value: Any) -> Any:
    """A department or region as GET returns it (``{"code", "name"}``) or as its code."""
    if isinstance(value, dict) and "code" in value:
        return value["code"]
    return value


class ShownAs(BaseModel):
    """A department or region as GET shows it (``{"code", "name"}``): accepted where its
    code is asked for, so that a GET body can be sent back (the name is not read)."""

    code: str
    name: str | None = None


CREDIT_CODE = r"^[0-9A-Z]{18}$"
#: an implementation's code (事项编码): credit code + level + basic code
ITEM_CODE = r"^[0-9A-Z]{18}\d{13}$"
#: fields of ``ImplementationIn`` that only GET fills (``version`` is a precondition)
READ_ONLY_FIELDS = (
    "status",
    "domain",
    "delegated_from",
    "handover_date",
    "lifecycle",
    "scheduled",
    "upcoming",
    "created_at",
    "updated_at",
    "updated_by",
)


class ImplementationIn(Strict):
    """An implementation (实施清单事项) as written by its department's editor. The body GET
    returns can be sent back as it is: department and region may be the ``{code, name}``
    objects GET shows, and the fields the catalogue assigns (status, dates, lifecycle,
    positions…) are accepted when unchanged."""

    code: Pattern(ITEM_CODE) | None = Field(
        default=None,
        description="31 characters: credit code + level + basic code. Built when absent.",
    )
    basic_code: Pattern(r"^\d{12}$")
    department: Annotated[
        Pattern(CREDIT_CODE),
        BeforeValidator(_code_of, json_schema_input_type=Pattern(CREDIT_CODE) | ShownAs),
    ] = Field(description="unified social credit code of the implementing body")
    region: Annotated[
        Pattern(r"^\d{6}$"),
        BeforeValidator(_code_of, json_schema_input_type=Pattern(r"^\d{6}$") | ShownAs),
    ]
    level: CodeStr = Field(description="code list levels: 2 省级, 3 市级, 4 县级…")
    power_source: CodeStr = Field(default="1", description="code list power_sources")
    body_nature: CodeStr = Field(default="1", description="code list body_natures")
    entrusting_department: Pattern(CREDIT_CODE) | None = None
    audience: list[CodeStr] = Field(min_length=1, max_length=20, description="code list audiences")
    themes: list[CodeStr] = Field(
        default_factory=list, max_length=50, description="code list themes"
    )
    case_type: CodeStr = Field(description="code list case_types: 1 即办件, 2 承诺件")
    guide: Guide
    materials: list[MaterialIn] = Field(default_factory=list, max_length=300)
    fees: list[FeeIn] = Field(default_factory=list, max_length=100)
    local_code: Line(100) | None = Field(default=None)
    source_system: Line(100) | None = Field(default=None)
    # 四级四同: shown from the catalogue entry; given here they must agree with it.
    name: Line(300) | None = Field(default=None, description="read-only, from the catalogue entry")
    item_type: CodeStr | None = Field(
        default=None, description="read-only, from the catalogue entry"
    )
    legal_basis: list[LegalProvision] | None = Field(
        default=None, max_length=100, description="read-only, from the catalogue entry"
    )
    version: VersionNumber | None = Field(
        default=None,
        exclude=True,
        description="the version you read: if the item has moved on since, the write is "
        "refused (412, or conflict in a bulk write), as with If-Match",
    )
    change_note: Para(500) | None = Field(
        default=None,
        exclude=True,
        description="why this change is made (kept in the version, shown by /versions)",
    )
    status: ReadOnly
    domain: ReadOnly
    delegated_from: ReadOnly
    handover_date: ReadOnly
    lifecycle: ReadOnly
    scheduled: ReadOnly
    upcoming: ReadOnly
    created_at: ReadOnly
    updated_at: ReadOnly
    updated_by: ReadOnly


class LifecycleEvent(BaseModel):
    event: str
    status: str
    effective_date: date
    decision: dict[str, Any] | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None
    version: int


class Ref(BaseModel):
    code: str
    name: str


class Successor(BaseModel):
    """An item that takes over when a scheduled event takes effect."""

    code: str
    name: str | None = Field(description="the item's name (its catalogue entry's)")
    region: str | None = Field(description="its region's GB/T 2260 code")


class Upcoming(BaseModel):
    """A decided change that has not taken effect yet, as people are told of it."""

    event: str = Field(description="cancel, suspend, delegate, merge, split…")
    effective_date: date
    decision: dict[str, Any] | None = None
    successors: list[Successor] = Field(
        default_factory=list,
        description="the items that take over: a merge's surviving item, a delegation's "
        "receiving implementations, a split's new items",
    )


class ItemOut(BaseModel):
    """An implementation as citizens and cities read it: catalogue fields, guide, materials
    and fees inline."""

    code: str
    version: int
    status: str
    basic_code: str
    name: str
    item_type: str
    domain: str
    legal_basis: list[LegalProvision]
    department: Ref
    region: Ref
    level: str
    power_source: str | None = Field(description="null while the item is 待完善")
    body_nature: str | None = Field(description="null while the item is 待完善")
    entrusting_department: str | None = None
    audience: list[str]
    themes: list[str]
    case_type: str | None = Field(description="null while the item is 待完善")
    guide: Guide | None = Field(
        description="办事指南; null while the item is 待完善 (status 7: imported from a listing "
        "without guide, legal basis or materials, completed by a PUT of the full item)"
    )
    materials: list[MaterialOut]
    fees: list[FeeOut]
    local_code: str | None = None
    source_system: str | None = None
    delegated_from: str | None = Field(
        default=None, description="the implementation whose delegation created this one"
    )
    handover_date: date | None = None
    lifecycle: LifecycleEvent | None = Field(
        default=None, description="the lifecycle event in force (cancel, merge, delegate…)"
    )
    scheduled: list[LifecycleEvent] = Field(
        default_factory=list, description="lifecycle events decided but not yet in force"
    )
    upcoming: list[Upcoming] = Field(
        default_factory=list,
        description="the same, as people are told of them: what changes on which day, by "
        "which decision, and which items take over (empty when nothing is scheduled)",
    )
    created_at: datetime
    updated_at: datetime
    updated_by: str | None = None


class ItemSummary(BaseModel):
    code: str
    version: int
    status: str
    basic_code: str
    name: str
    item_type: str
    department: str
    region: str
    level: str
    updated_at: datetime


EXCHANGE_MODELS: dict[str, type[BaseModel]] = {
    "implementation": ImplementationIn,
    "item": ItemOut,
    "catalogue-entry": CatalogueEntryIn,
    "material": MaterialIn,
    "fee": FeeIn,
}


class VersionMeta(BaseModel):
    """One version of an item: who, when, why, under which decision."""

    version: int
    event: str
    decision: dict[str, Any] | None = None
    reason: str | None = None
    key: str | None = None
    recorded_at: datetime
    effective_date: date | None = None
    status_after: str | None = None
    details: dict[str, Any] | None = None
    approved_by: str | None = Field(default=None, description="the reviewer who approved it")
    channel: str | None = Field(
        default=None, description="direct, sync (a city platform's list) or review"
    )
    change_request: int | None = Field(default=None, description="the request it published")


class VersionOut(BaseModel):
    meta: VersionMeta
    item: ItemOut


class Change(BaseModel):
    path: list[str | int]
    label: str = Field(
        default="",
        description="the field as people read it: its label, a thing of a list by its name "
        "(材料「居民户口簿」 原件份数, 窗口「南岗区户政服务大厅」 电话)",
    )
    op: Literal["added", "removed", "changed"]
    from_: Any = Field(default=None, alias="from")
    to: Any = None
    from_text: str | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="``from`` as people read it, where it reads otherwise (是/否, 工作日)",
    )
    to_text: str | None = Field(default=None, exclude_if=lambda v: v is None)

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class DiffOut(BaseModel):
    code: str
    from_: VersionMeta = Field(alias="from")
    to: VersionMeta
    changes: list[Change]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Adjustment(VersionMeta):
    """动态调整公示: one lifecycle event, as published."""

    id: int
    code: str
    name: str
    department: str
    region: str
