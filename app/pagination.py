"""Paging shared by every list: opaque cursors, the next page, prefix ranges."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlmodel import col

from app.errors import InvalidInput


def with_prefix(column: Any, prefix: str) -> tuple[Any, Any]:
    """``column`` starts with ``prefix``, as a range an index can serve (SQLite will not use
    an index for LIKE 'prefix%'). Codes are ASCII, so "~" sorts after every character."""
    return col(column) >= prefix, col(column) < prefix + "~"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a ``next_cursor`` carries; anything else is a 422 naming the cursor (never
    the first page again, which a client would read as the end)."""
    if not cursor:
        return None
    try:
        key = base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode()
    except (ValueError, UnicodeDecodeError):
        key = None
    if not key or not key.isprintable() or len(cursor) > 200:
        raise InvalidInput.field(["query", "cursor"], "not a cursor of this API", "cursor")
    return key


def decode_number_cursor(cursor: str | None) -> int | None:
    """A cursor that carries a row number (versions, adjustments)."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not key.isdigit() or len(key) > 18:
        raise InvalidInput.field(["query", "cursor"], "not a cursor of this API", "cursor")
    return int(key)


def page(rows: list[Any], limit: int, key: str) -> tuple[list[Any], str | None]:
    """Rows were fetched with ``limit + 1``: trim and build the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(getattr(rows[-1], key))
    return rows, None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a list: its items and the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = None
