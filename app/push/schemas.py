"""What the webhook endpoints read and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.catalogue.history import ADJUSTMENT_EVENTS
from app.fields import Line, Pattern, Seq
from app.push.models import SubscriptionStatus

#: the events a subscription may ask for: what every version records (``event``)
EVENTS = ("create", "revise", *ADJUSTMENT_EVENTS)


def _known_events(events: list[str] | None) -> list[str] | None:
    if events is None:
        return None
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise PydanticCustomError(
            "subscription.event",
            "unknown event(s) {unknown}: one of {known}",
            {"unknown": ", ".join(unknown), "known": ", ".join(EVENTS)},
        )
    return list(dict.fromkeys(events))


EventName = Annotated[
    Line(20),  # type: ignore[valid-type]
    Field(json_schema_extra={"enum": list(EVENTS)}),
]


class SubscriptionIn(BaseModel):
    """A webhook: where to POST the change log's entries, the secret that signs them, and
    which of them (a region prefix, event kinds; null: all)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://platform.harbin.example/catalogue/hook",
                    "secret": "3f1c8b0e9d5a4e7f8a2b6c1d0e9f8a7b",
                    "region": "2301",
                    "events": None,
                }
            ]
        },
    )

    url: Line(2000) = Field(description="http(s); a public address (see the settings)")
    secret: Line(200, min_length=16) = Field(
        description="signs every delivery (HMAC-SHA256); never shown again"
    )
    region: Pattern(r"^\d{2}(\d{2}){0,2}$") | None = Field(  # type: ignore[valid-type]
        default=None,
        description="a region code or its prefix (230100 or 2301: 哈尔滨 and below); "
        "entries and departments always come; null: every region",
    )
    events: (
        Annotated[
            list[EventName],
            Field(min_length=1, max_length=len(EVENTS)),
            AfterValidator(_known_events),
        ]
        | None
    ) = Field(default=None, description=f"events to deliver ({', '.join(EVENTS)}); null: all")


class SubscriptionOut(BaseModel):
    id: int
    url: str
    secret_hint: str = Field(description="the secret's last four characters")
    region: str | None
    events: list[str] | None
    status: SubscriptionStatus
    last_delivered_seq: int = Field(description="the last seq the receiver accepted")
    failures: int = Field(description="failed attempts in a row")
    failing_since: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    paused_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: Seq = Field(description="deliver again every change after this seq")


class DeliveryOut(BaseModel):
    id: int
    first_seq: int
    last_seq: int = Field(description="the batch's last_seq: the cursor once accepted")
    changes: int
    attempt: int = Field(description="1 for the first attempt at this position, then retries")
    status_code: int | None = Field(description="the receiver's answer; null: none")
    error: str | None
    duration_ms: int
    accepted: bool
    at: datetime
