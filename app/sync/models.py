"""Sync bookkeeping: idempotent bulk requests and a mirror's position in a feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, utcnow


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a bulk request, returned again for a retry with the same
    ``Idempotency-Key`` (per API key)."""

    __tablename__ = "idempotency_record"

    key_name: str = Field(primary_key=True, max_length=100)
    idempotency_key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class SyncPosition(SQLModel, table=True):
    """Where a mirror stands in another instance's change feed."""

    __tablename__ = "sync_position"

    source: str = Field(primary_key=True, max_length=500)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class BulkOutcome(SQLModel, table=True):
    """The items a bulk request body left at which version, by the body's SHA-256: the same
    body sent again (a city resending its list) is answered ``unchanged`` without parsing it
    while every item is still at that version. Kept only for bodies whose every item
    applied; older than :data:`app.sync.service.OUTCOME_DAYS` they are pruned."""

    __tablename__ = "bulk_outcome"

    request_hash: str = Field(primary_key=True, max_length=64)
    #: ``[[code, version], ...]`` in the order of the body's items
    items: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), index=True)
    )
