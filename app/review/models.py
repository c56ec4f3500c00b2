"""Change requests and what was done with them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Declared
from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.dbtypes import JSONType, UTCDateTime, utcnow
from app.fields import Line


class RequestStatus(StrEnum):
    """draft → submitted → approved | rejected | withdrawn; a rejected one can be edited
    (it is a draft again) and submitted once more."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class RequestKind(StrEnum):
    CREATE = "create"
    EDIT = "edit"
    CANCEL = "cancel"
    SUSPEND = "suspend"
    RESUME = "resume"
    DELEGATE = "delegate"
    ACCEPT = "accept"
    RECLAIM = "reclaim"
    MERGE = "merge"
    SPLIT = "split"
    REINSTATE = "reinstate"
    #: 俗称: names for the item's catalogue entry (search finds it by them), e.g. from the
    #: search gaps; approved by a reviewer of the province, since the entry is the province's
    ALIAS = "alias"


class ChangeRequest(SQLModel, table=True):
    """变更申请: one proposed change of an item, with its reason (the change note)."""

    __tablename__ = "change_request"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    #: the item changed (null for a create until it is published)
    item_code: str | None = Field(default=None, max_length=31)
    department_code: str = Field(max_length=18)
    region_code: str = Field(max_length=6)
    author: str = Field(max_length=100)
    status: str = Field(default=RequestStatus.DRAFT, max_length=20)
    note: str | None = None
    #: the full implementation (create, edit) or the lifecycle event's body
    body: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    #: an edit as a JSON merge patch over the published item
    patch: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    #: the published version the draft was made on (rebase moves it)
    base_version: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    published_code: str | None = Field(default=None, max_length=31)
    published_version: int | None = None


class ReviewAction(SQLModel, table=True):
    """Who did what to a change request, when and why (readable by the department and the
    reviewers)."""

    __tablename__ = "review_action"

    id: int | None = Field(default=None, primary_key=True)
    change_request_id: int = Field(foreign_key="change_request.id", index=True)
    action: str = Field(max_length=20)
    actor: str = Field(max_length=100)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    reason: str | None = None


class AliasProposal(BaseModel):
    """The body of an ``alias`` request: names citizens use for the item (俗称)."""

    model_config = ConfigDict(extra="forbid")

    aliases: list[Line(50)] = Declared(min_length=1, max_length=10)
    #: the search that found nothing, when the proposal comes from the search gaps
    query: Line(100) | None = None
