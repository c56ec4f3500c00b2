"""Sync bookkeeping: idempotent bulk requests, the feed's epoch, import jobs (a mirror's
position in its source's feed is :class:`app.versionlog.SyncPosition`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from app.dbtypes import JSONType, UTCDateTime, utcnow


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


class FeedEpoch(SQLModel, table=True):
    """The feed's history identity (纪元): one row, minted with the database; another
    instance, or this one re-seeded from nothing, has another."""

    __tablename__ = "feed_epoch"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    epoch: str = Field(max_length=64)
    created_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class BulkOutcome(SQLModel, table=True):
    """The items a bulk request body left at which version, by the body's SHA-256: the same
    body sent again (a city resending its list) is answered ``unchanged`` without parsing it
    while every item is still at that version. Kept only for bodies whose every item
    applied; older than :data:`app.sync.bulk.OUTCOME_DAYS` they are pruned."""

    __tablename__ = "bulk_outcome"

    request_hash: str = Field(primary_key=True, max_length=64)
    #: ``[[code, version], ...]`` in the order of the body's items
    items: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), index=True)
    )


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    #: a cancel asked of a running job: its thread stops at its next check
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    DONE = "done"
    FAILED = "failed"


class ImportJob(SQLModel, table=True):
    """A file uploaded to ``POST /imports``: applied (or, in a dry run, only checked) in the
    background through the same path as ``catalogue import``; its progress and row report
    are read back with ``GET /imports/{id}``."""

    __tablename__ = "import_job"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=ImportStatus.QUEUED, max_length=10)
    filename: str = Field(max_length=200)
    format: str = Field(max_length=10)
    profile: str | None = Field(default=None, max_length=20)
    dry_run: bool = False
    key_name: str = Field(max_length=100, index=True)
    processed: int = 0
    #: created / updated / unchanged / conflict / rejected (listing: its own counts)
    counts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType))
    #: ``[{row, field, rule, message}]``, at most :data:`app.sync.import_jobs.MAX_REPORT`
    report: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONType))
    report_truncated: bool = False
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    #: the running process's last sign of life (every few seconds while it runs)
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
