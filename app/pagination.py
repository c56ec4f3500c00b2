"""Paging shared by every list: opaque cursors, the next page, prefix ranges."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlmodel import col

from app.errors import InvalidInput


def with_prefix(column: Any, prefix: str) -> tuple[Any, Any]:
    """``column`` starts with ``prefix``, as a range an index can serve (SQLite will not use
    an index for LIKE 'prefix%'). Codes are ASCII, so "~" sorts after every character."""
    return col(column) >= prefix, col(column) < prefix + "~"


#: a cursor carries its key behind a keyed checksum of it, so that a cursor this API did not
#: issue (made up, cut short, from elsewhere) is told from one it did. Not a secret: a forged
#: cursor only starts a page at another key, which the list's own query bounds anyway.
_MARK_KEY = b"service-catalogue/cursor/1"
_MARK_BYTES = 6
#: the longest cursor read (the keys are codes and row numbers: well below)
MAX_CURSOR = 200


def _mark(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=_MARK_BYTES, key=_MARK_KEY).digest()


def encode_cursor(key: str) -> str:
    raw = key.encode()
    return base64.urlsafe_b64encode(_mark(raw) + raw).decode().rstrip("=")


def _not_ours() -> InvalidInput:
    return InvalidInput.field(["query", "cursor"], "not a cursor of this API", "cursor")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a ``next_cursor`` carries; anything else (a cursor this API did not issue)
    is a 422 naming the cursor (never the first page again, nor an empty one, which a
    client would read as the end). Every list reads its cursor here."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR:
        raise _not_ours()
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    except ValueError:
        raise _not_ours() from None
    mark, body = raw[:_MARK_BYTES], raw[_MARK_BYTES:]
    if not body or not hmac.compare_digest(mark, _mark(body)):
        raise _not_ours()
    try:
        key = body.decode()
    except UnicodeDecodeError:
        raise _not_ours() from None
    if not key.isprintable():
        raise _not_ours()
    return key


def decode_number_cursor(cursor: str | None) -> int | None:
    """A cursor that carries a row number (versions, adjustments)."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not key.isdigit() or len(key) > 18:
        raise _not_ours()
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
