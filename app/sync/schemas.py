"""What city platforms exchange with the province."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.catalogue.schemas import ImplementationIn


class FeedChange(BaseModel):
    """One entry of the change feed, with the full state at that version."""

    seq: int
    kind: Literal["item", "entry", "department", "material", "legal"] = Field(
        description="item: an implementation; entry: a catalogue entry; department; "
        "material: a material of the shared catalogue; legal: a legal basis (GET "
        "/legal-bases/{id})"
    )
    code: str
    version: int
    operation: str = Field(
        description="what was recorded: the event (create, revise, cancel…), or "
        "takes_effect on the day a scheduled event took effect"
    )
    event: str = Field(
        description="the event; for takes_effect, the event that took effect (cancel, "
        "delegate…), whose version is in details"
    )
    recorded_at: datetime
    effective_date: date | None = Field(
        default=None, description="the day it takes (for takes_effect: took) effect"
    )
    decision: dict[str, Any] | None = Field(
        default=None, description="the decision (文号, title, link) of a lifecycle event"
    )
    reason: str | None = None
    key: str | None = None
    status_after: str | None = None
    details: dict[str, Any] | None = None
    next_change: date | None = None
    approved_by: str | None = Field(default=None, description="who approved it (review)")
    channel: str | None = Field(default=None, description="direct, sync or review")
    change_request: int | None = None
    item: dict[str, Any] | None = Field(
        default=None, description="kind item: the implementation as GET /items/{code} returned it"
    )
    record: dict[str, Any] | None = Field(
        default=None,
        description="kind entry, department or material: its representation (as GET "
        "/catalogue-entries/{basic_code}, /departments/{credit_code}, /materials/{code})",
    )


class ChangePage(BaseModel):
    changes: list[FeedChange]
    last_seq: int = Field(description="ask again with after=last_seq")
    head_seq: int = Field(description="the newest change's seq: how far behind you are")
    epoch: str = Field(
        description="the feed's history identity: another value means another history (a "
        "restore, another instance); send it back as ?epoch= to be told (410)"
    )


class BulkItemIn(ImplementationIn):
    """An item of a bulk upsert: an implementation, and optionally the version its sender
    last saw (if the item has moved on since, the answer is ``conflict``)."""

    # ``version``, the version its sender last saw, is ImplementationIn's


class ItemResult(BaseModel):
    index: int
    code: str | None = None
    result: Literal["created", "updated", "unchanged", "conflict", "rejected"]
    version: int | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BulkResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    conflict: int
    rejected: int
    items: list[ItemResult]


class DigestPart(BaseModel):
    key: str
    count: int
    hash: str
    first_code: str | None = None
    last_code: str | None = None


class Digest(BaseModel):
    region: str | None = None
    department: str | None = None
    code_from: str | None = None
    code_to: str | None = None
    count: int
    hash: str
    parts: list[DigestPart] = Field(
        default_factory=list, description="the same by department or by code range (drill down)"
    )
    items: list[dict[str, Any]] | None = Field(
        default=None, description="code, version and hash of each item (with items=true)"
    )
