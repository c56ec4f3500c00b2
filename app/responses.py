"""Small helpers for responses built from stored JSON."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from app.deps import etag, not_modified


def json_bytes(
    content: str | bytes | dict[str, Any],
    *,
    version: int | None = None,
    status_code: int = 200,
    if_none_match: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON response with its ETag; 304 when the client already holds this version."""
    hdrs = dict(headers or {})
    if version is not None:
        hdrs["ETag"] = etag(version)
        if not_modified(if_none_match, version):
            return Response(status_code=304, headers=hdrs)
    if isinstance(content, dict):
        content = orjson.dumps(content)
    return Response(
        content=content, status_code=status_code, media_type="application/json", headers=hdrs
    )
