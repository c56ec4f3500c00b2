"""The exchange format of situations (情形引导): questions, options, conditions, common
situations, and what the checklist (一次告知) answers. The rules are in
:mod:`app.catalogue.situations`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.catalogue.situations import MAX_COMBINATIONS, answer_count
from app.fields import Line, Pattern

SituationId = Pattern(r"^[A-Za-z0-9_.-]{1,40}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "option"
    if isinstance(value, BaseModel):
        return {AllOf: "all", AnyOf: "any", NotOf: "not"}.get(type(value))
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in ("all", "any", "not") else None
    return None


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1, max_length=20)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1, max_length=20)


class NotOf(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    not_: Condition = Field(alias="not")


Condition = Annotated[
    Annotated[SituationId, Tag("option")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")],
    Discriminator(
        _condition_kind,
        custom_error_type="situation.condition",
        custom_error_message='a condition is an option id, {"all": [...]}, {"any": [...]} '
        'or {"not": ...}',
    ),
]
for _model in (AllOf, AnyOf, NotOf):
    _model.model_rebuild()

#: ``when`` on a material, fee, step or time limit: absent means always
When = Condition | None
WHEN_FIELD: dict[str, Any] = {
    "default": None,
    "exclude_if": lambda v: v is None,
    "description": "condition over option ids; absent: always",
}


class Option(_Strict):
    """An answer to a question (选项)."""

    id: SituationId = Field(description="unique among all the item's options")
    label: Line(100)
    reveals: list[SituationId] = Field(
        default_factory=list,
        max_length=20,
        exclude_if=lambda v: not v,
        description="questions asked only when this option is chosen",
    )


class Question(_Strict):
    """A question of the situation (情形要素)."""

    id: SituationId
    question: Line(200)
    required: bool = True
    multiple: bool = Field(default=False, description="several options may be chosen")
    options: list[Option] = Field(min_length=1, max_length=20)

    @field_validator("options")
    @classmethod
    def _answers_bounded(cls, options: list[Option], info: ValidationInfo) -> list[Option]:
        # a multiple choice has 2^n - 1 answers: refused here, by its size, before any walk
        shape = {
            "options": options,
            **{k: info.data[k] for k in ("required", "multiple") if k in info.data},
        }
        answers = answer_count(shape)
        if answers > MAX_COMBINATIONS:
            raise PydanticCustomError(
                "situation.too_many_combinations",
                "{n} options of a multiple choice make {answers} answers, more than the "
                "{most} combinations of answers an item may have",
                {"n": len(options), "answers": answers, "most": MAX_COMBINATIONS},
            )
        return options


class CommonSituation(_Strict):
    """常用情形: a named, saved set of answers."""

    name: Line(100)
    answers: dict[SituationId, list[SituationId]] = Field(max_length=50)


# --- what the API answers ----------------------------------------------------------

Answers = Annotated[
    dict[SituationId, list[SituationId]],
    Field(max_length=50, description="question id → the chosen option ids"),
]


class ChecklistIn(_Strict):
    answers: Answers = Field(default_factory=dict)


class SituationsOut(BaseModel):
    code: str
    version: int
    name: str
    situations: list[Question]
    common_situations: list[CommonSituation]


class Answered(BaseModel):
    question: str
    answer: list[str] = Field(description="the labels of the chosen options")


class ChecklistMaterial(BaseModel):
    """A material to bring, as the item lists it (code lists as codes: GET /code-lists)."""

    model_config = ConfigDict(extra="allow")

    code: str
    name: str
    material_type: str
    form: str
    originals: int
    copies: int
    necessity: str
    source: str
    source_note: str | None = None
    blank_form: dict[str, Any] | None = None
    sample: dict[str, Any] | None = None
    from_licence_library: bool = Field(
        description="an electronic licence (电子证照) the window fetches itself"
    )
    because: list[str] = Field(description="the chosen options that require it")


class ChecklistOut(BaseModel):
    """一次告知: one complete list for one situation."""

    code: str
    version: int
    name: str
    department: dict[str, str]
    answers: dict[str, list[str]]
    situation: list[Answered]
    materials: list[ChecklistMaterial]
    fees: list[dict[str, Any]]
    fee_total: float | None = Field(
        description="元; null when a fee's amount is given only as text, or the fees are "
        "unknown (see unknown)"
    )
    legal_time_limit: dict[str, Any] | None
    promised_time_limit: dict[str, Any] | None
    process: list[dict[str, Any]]
    windows: list[dict[str, Any]]
    online: dict[str, Any] | None
    visits: int | None
    unknown: list[str] = Field(
        default_factory=list,
        description="the parts the catalogue has not published (an item 待完善): shown as "
        "unknown, never as none; fee_total is null when fees is among them",
    )
