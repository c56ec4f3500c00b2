"""Webhook subscriptions and the log of their delivery attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from app.dbtypes import JSONType, UTCDateTime, utcnow


class SubscriptionStatus(StrEnum):
    """active → paused (after failing for ``CATALOGUE_WEBHOOK_PAUSE_AFTER``) → active
    (``POST /subscriptions/{id}/resume``)."""

    ACTIVE = "active"
    PAUSED = "paused"


class Subscription(SQLModel, table=True):
    """A city platform's webhook: the change log after ``last_delivered_seq``, filtered by
    region prefix and event, POSTed to ``url`` in seq order."""

    __tablename__ = "subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    #: kept as sent: it signs every delivery (never returned, never logged)
    secret: str = Field(max_length=200)
    #: a region code prefix (``2301``: 哈尔滨 and below); null: every region
    region: str | None = Field(default=None, max_length=12)
    #: the events delivered (``create``, ``revise``, ``cancel``…); null: every event
    events: list[str] | None = Field(default=None, sa_column=Column(JSONType))
    status: str = Field(default=SubscriptionStatus.ACTIVE, max_length=10)
    #: the cursor: the last seq the receiver accepted (or that was not for it)
    last_delivered_seq: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, default=0)
    )
    #: bumped by replay, resume: a delivery in flight under an older one moves no cursor
    epoch: int = 0
    #: failed attempts in a row, when the first of them was, when the next one is due
    failures: int = 0
    failing_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, max_length=300)
    paused_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    #: the key that created it
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )

    def public(self) -> dict[str, Any]:
        """What GET shows: everything but the secret, of which only a hint."""
        return {
            "id": self.id,
            "url": self.url,
            "secret_hint": secret_hint(self.secret),
            "region": self.region,
            "events": self.events,
            "status": self.status,
            "last_delivered_seq": self.last_delivered_seq,
            "failures": self.failures,
            "failing_since": self.failing_since,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error,
            "paused_at": self.paused_at,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def secret_hint(secret: str) -> str:
    return "…" + secret[-4:]


class WebhookDelivery(SQLModel, table=True):
    """One attempt to deliver a batch: accepted (2xx), refused (another status) or failed
    (no answer: ``error``)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_subscription", "subscription_id", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    subscription_id: int = Field(
        sa_column=Column(Integer, ForeignKey("subscription.id", ondelete="CASCADE"), nullable=False)
    )
    #: the seqs of the batch's first and last change, and the ``last_seq`` it carried
    first_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    changes: int
    #: 1 for the first attempt at this position, 2 for its first retry…
    attempt: int
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int
    accepted: bool
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
