"""Search bookkeeping: the indexer's position in the change log, the synonym table
(versioned: every PUT appends a version) and recorded zero/low-result queries."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Float, Index, Integer
from sqlmodel import Field, SQLModel

from app.dbtypes import JSONType, UTCDateTime, utcnow


class SearchPosition(SQLModel, table=True):
    """The last change-log ``seq`` an index has applied (one row per index name)."""

    __tablename__ = "search_position"

    name: str = Field(primary_key=True, max_length=200)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    #: the day up to which scheduled lifecycle changes (effective dating) were re-indexed
    swept_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class SynonymSet(SQLModel, table=True):
    """One version of the synonym table: groups of equivalent terms, applied at query time."""

    __tablename__ = "search_synonym_set"

    version: int = Field(primary_key=True)
    groups: list[list[str]] = Field(default_factory=list, sa_column=Column(JSONType))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_by: str | None = Field(default=None, max_length=100)


class SearchGap(SQLModel, table=True):
    """A query that found nothing or little (no personal data: query, region, time)."""

    __tablename__ = "search_gap"
    __table_args__ = (Index("ix_search_gap_query", "query", "region"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    query: str = Field(max_length=200)
    region: str | None = Field(default=None, max_length=12)
    hits: int
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class SearchClick(SQLModel, table=True):
    """Which entry citizens opened for a normalised query: a weight that halves every
    ``CLICK_HALF_LIFE_DAYS`` (app/search/clicks.py) and grows by one per click. Nothing
    personal: no address, session, key or time of a single click is kept."""

    __tablename__ = "search_click"

    query: str = Field(primary_key=True, max_length=100)
    basic_code: str = Field(primary_key=True, max_length=12)
    weight: float = Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
