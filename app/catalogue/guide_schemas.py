"""The guide (办事指南) of an implementation as the exchange format reads and writes it, and
the base of every exchange model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from app.catalogue.situation_schemas import (
    WHEN_FIELD,
    CommonSituation,
    Condition,
    Question,
    When,
)
from app.catalogue.situations import MAX_COMBINATIONS, TOO_MANY_COMBINATIONS, Situations
from app.fields import Line, Para, Pattern, Url

Text = Para(4000)
ShortText = Line(300)
CodeStr = Line(40)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- guide -------------------------------------------------------------------------


class TimeLimit(Strict):
    value: int = Field(ge=0, le=3650)
    unit: Literal["working_days", "natural_days", "hours"] = "working_days"
    note: Para(1000) | None = Field(default=None)


class ProcessStep(Strict):
    name: ShortText
    description: Para(2000) | None = Field(default=None)
    channel: Literal["online", "offline", "both"] = "both"
    time_limit: TimeLimit | None = None
    when: When = Field(**WHEN_FIELD)


class SituationalTimeLimit(Strict):
    """Time limits in a situation (e.g. 补领 takes longer); the first whose ``when`` holds
    replaces the guide's."""

    when: Condition
    legal_time_limit: TimeLimit | None = Field(default=None, exclude_if=lambda v: v is None)
    promised_time_limit: TimeLimit | None = Field(default=None, exclude_if=lambda v: v is None)


class Online(Strict):
    """网上办理."""

    available: bool
    depth: list[Literal["咨询", "收件", "预审", "受理", "结果反馈"]] = Field(default_factory=list)
    url: Url(500) | None = Field(default=None)


class Window(Strict):
    """办理窗口."""

    name: ShortText
    address: ShortText
    hours: ShortText
    phone: ShortText
    traffic: Line(500) | None = Field(default=None)
    map_url: Url(500) | None = Field(default=None)


class Channel(Strict):
    """A consultation (咨询) or complaint (监督投诉) channel."""

    phone: Line(100) | None = Field(default=None)
    address: Line(300) | None = Field(default=None)
    url: Url(500, contact=True) | None = Field(default=None)
    email: Line(200) | None = Field(default=None)
    note: Para(500) | None = Field(default=None)


class Attachment(Strict):
    name: ShortText
    url: Url(500) | None = Field(default=None)
    sha256: Pattern(r"^[0-9a-f]{64}$") | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="a file stored by the catalogue (GET /files/{sha256}); url is its link",
    )


class LegalCitation(Strict):
    """A citation of a legal basis record (GET /legal-bases/{id}) with its articles."""

    id: int = Field(ge=1, le=2_147_483_647, description="the legal basis (GET /legal-bases/{id})")
    articles: Line(200) | None = Field(default=None, description="e.g. 第五条、第九条")


class Result(Strict):
    """办理结果."""

    type: Literal["证照", "批文", "其他"] = "其他"
    name: ShortText
    sample: Attachment | None = None


class SpecialProcedure(Strict):
    """特别程序 (hearing, expert review…); its time does not count in the time limit."""

    name: ShortText
    time_limit: TimeLimit | None = None
    note: Para(1000) | None = Field(default=None)


class Remedies(Strict):
    """救济途径."""

    administrative_review: Para(1000) | None = Field(default=None)
    administrative_litigation: Para(1000) | None = Field(default=None)


class Faq(Strict):
    question: ShortText
    answer: Text


class Intermediary(Strict):
    """中介服务."""

    name: ShortText
    basis: Para(1000) | None = Field(default=None)


class Guide(Strict):
    """办事指南."""

    conditions: list[Text] = Field(min_length=1, max_length=100, description="受理条件")
    legal_time_limit: TimeLimit = Field(description="法定办结时限")
    promised_time_limit: TimeLimit = Field(description="承诺办结时限")
    process: list[ProcessStep] = Field(min_length=1, max_length=100, description="办理流程")
    online: Online
    visits: int = Field(ge=0, le=10, description="到办事现场次数; 0 = 全程网办")
    windows: list[Window] = Field(default_factory=list, max_length=500)
    consultation: list[Channel] = Field(default_factory=list, max_length=50, description="咨询方式")
    complaint: list[Channel] = Field(
        default_factory=list, max_length=50, description="监督投诉方式"
    )
    results: list[Result] = Field(default_factory=list, max_length=50, description="办理结果")
    charges_fee: bool = Field(default=False, description="是否收费")
    special_procedures: list[SpecialProcedure] = Field(default_factory=list, max_length=50)
    remedies: Remedies | None = None
    faq: list[Faq] = Field(default_factory=list, max_length=200, description="常见问题")
    intermediary_services: list[Intermediary] = Field(default_factory=list, max_length=50)
    joint_bodies: list[ShortText] = Field(
        default_factory=list, max_length=100, description="联办机构"
    )
    prerequisite_items: list[ShortText] = Field(
        default_factory=list, max_length=100, description="前置事项"
    )
    legal_basis: list[LegalCitation] = Field(
        default_factory=list,
        max_length=100,
        exclude_if=lambda v: not v,
        description="实施依据: the legal basis records this implementation cites",
    )
    situations: list[Question] = Field(
        default_factory=list,
        max_length=30,
        exclude_if=lambda v: not v,
        description="情形引导: the questions whose answers choose the materials, fees, steps "
        "and time limits (POST /items/{code}/checklist)",
    )
    common_situations: list[CommonSituation] = Field(
        default_factory=list,
        max_length=50,
        exclude_if=lambda v: not v,
        description="常用情形: named sets of answers",
    )
    time_limits: list[SituationalTimeLimit] = Field(
        default_factory=list,
        max_length=20,
        exclude_if=lambda v: not v,
        description="time limits that differ by situation",
    )

    @field_validator("situations")
    @classmethod
    def _combinations_bounded(cls, questions: list[Question]) -> list[Question]:
        # the count depends on the questions alone: a body is refused here, before its write
        # takes the database (the walk stops at the limit, so this costs milliseconds)
        if questions and Situations([q.model_dump() for q in questions]).count() > MAX_COMBINATIONS:
            raise PydanticCustomError("situation.too_many_combinations", TOO_MANY_COMBINATIONS)
        return questions
