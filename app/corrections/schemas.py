"""What a correction's endpoints read and answer."""

from __future__ import annotations

import types
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.catalogue.schemas import ItemOut
from app.corrections.models import CorrectionStatus
from app.fields import Line, Para, Pattern

#: a field of an item as a path: names and list indexes, ``guide.windows.0.phone``
FIELD_PATH = r"^[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\d{1,4}))*$"
TEXT_LIMIT = 2000
#: the largest body a report may have (bytes): the text, a suggestion and a contact,
#: JSON-escaped, fit several times over
BODY_LIMIT = 64 * 1024


def _unwrap(annotation: Any) -> Any:
    """``X | None``, ``Annotated[X, ...]`` → ``X`` (what a path segment descends into)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            inner = [a for a in get_args(annotation) if a is not type(None)]
            if len(inner) != 1:
                return Any
            annotation = inner[0]
        else:
            return annotation


def _field_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("correction.field", message)


def check_field_path(path: str) -> str:
    """The path names a field of an item's representation (``GET /items/{code}``): each
    name one of its model's fields, each number an element of a list. Below a free-form
    part (a dict) anything goes."""
    current: Any = ItemOut
    parts = path.split(".")
    for i, part in enumerate(parts):
        current = _unwrap(current)
        where = ".".join(parts[:i]) or "the item"
        if part.isdigit():
            if get_origin(current) is not list:
                raise _field_error(f"{where} is not a list: {part} names no element")
            current = get_args(current)[0] if get_args(current) else Any
        elif isinstance(current, type) and issubclass(current, BaseModel):
            found = current.model_fields.get(part)
            if found is None:
                raise _field_error(f"{where} has no field {part!r}")
            current = found.annotation
        elif get_origin(current) is list:
            raise _field_error(f"{where} is a list: name an element by its number, e.g. {where}.0")
        else:
            return path  # a free-form value: its inside is not described
    return path


FieldPath = Annotated[
    Pattern(FIELD_PATH),
    Field(max_length=200),
    AfterValidator(check_field_path),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CorrectionIn(Strict):
    """A report: what is wrong with the item, and optionally what it should say."""

    field: FieldPath | None = Field(
        default=None,
        description="the field it concerns, as a path of the item's representation: "
        "`guide.windows` (a window's address, phone, hours), `guide.windows.0.phone`, "
        "`materials.2.name`, `fees.0.standard`…; null: the item as a whole",
        examples=["guide.windows.0.phone"],
    )
    suggested: Para(TEXT_LIMIT) | None = Field(
        default=None, description="what the field should say"
    )
    text: Para(TEXT_LIMIT) = Field(description="what is wrong (at most 2,000 characters)")
    contact: Line(200) | None = Field(
        default=None,
        description="how the department may reach you (phone, e-mail): shown to the item's "
        "department only, never published, erased after the retention period",
    )


class CorrectionCreated(BaseModel):
    ticket: str = Field(description="keep it: it is the only way to the status")
    status_url: str = Field(description="the public status: GET it, no key needed")


ReplyStatus = Literal["accepted", "rejected", "duplicate"]


class ReplyIn(Strict):
    status: ReplyStatus
    reply: Para(TEXT_LIMIT) = Field(description="the answer the reporter reads (public)")
    change_request: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None,
        description="the change request that fixes it (of the same item); left out: kept, "
        "null: unlinked",
    )


class ToChangeRequestIn(Strict):
    note: Para(500) | None = Field(
        default=None,
        description="why (kept by the published version, which is public): never the "
        "ticket, which opens the report (422); default `纠错: <field>`",
    )
    submit: bool = Field(default=True, description="submit it for review at once")


class CorrectionStatusOut(BaseModel):
    """The public status of a ticket: no personal data (no contact, no text)."""

    ticket: str
    item: str
    field: str | None
    status: CorrectionStatus
    reply: str | None
    change_request: int | None = Field(description="the change request that fixes it")
    fixed_version: int | None = Field(
        description="the item's version that published the fix, once approved"
    )
    created_at: datetime
    replied_at: datetime | None


class CorrectionOut(BaseModel):
    """A correction as its department's editors and its region's reviewers read it."""

    ticket: str
    status_url: str
    item: str
    department: str
    region: str
    field: str | None
    suggested: str | None
    text: str
    contact: str | None = Field(
        description="shown to the editors of the item's department only (null for others)"
    )
    has_contact: bool = Field(description="a contact was given and is still kept")
    contact_erased: bool = Field(description="the contact was erased after the retention")
    status: CorrectionStatus
    reply: str | None
    replied_by: str | None
    replied_at: datetime | None
    change_request: int | None
    fixed_version: int | None
    created_at: datetime
