"""Material files (规范表格、填写说明、示范文本), stored once by their SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, utcnow


class StoredFile(SQLModel, table=True):
    """One file's bytes, in the database so that every instance serves them."""

    __tablename__ = "stored_file"

    sha256: str = Field(primary_key=True, max_length=64)
    #: the name it was first uploaded under (Content-Disposition)
    name: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    created_by: str | None = Field(default=None, max_length=100)
