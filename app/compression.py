"""Compression by the service itself (gzip, when the client accepts it): every text answer of
1 KiB or more — JSON, JSON-LD, CSV, NDJSON (the feed, the snapshot, exports streamed as
they are written), HTML — whatever proxy stands in front. The feed compresses about 13:1.

Formats that are compressed already (XLSX, ZIP, PDF, images) pass as they are. A streamed
answer is compressed chunk by chunk (each flushed), so it still streams; large chunks are
compressed off the event loop.

Entity tags: a gzip-coded answer is another representation of the same resource, so a
strong tag may not stand for both (RFC 9110 §8.8.3). Its ``ETag`` is made weak
(``W/"12"``); ``If-None-Match`` compares weakly (§13.1.2), so a client holding either
coding's tag gets its 304, and a cache never serves one coding's bytes as the other's (the
answers carry ``Vary: Accept-Encoding``).
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

#: answers shorter than this are sent as they are (gzip's header and a round of
#: compression cost more than they save)
MINIMUM_SIZE = 1024
#: zlib level 6: within a few per cent of 9's size at about a third of its time
LEVEL = 6
#: compressed already, or binary: compressing again gains nothing
ALREADY_COMPRESSED = (
    *DEFAULT_EXCLUDED_CONTENT_TYPES,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/pdf",
    "application/octet-stream",
    "image/*",
)


class Compression:
    """ASGI middleware: gzip as the module says, entity tags weakened when it applies."""

    def __init__(self, app: Any) -> None:
        self.gzip = GZipMiddleware(
            app,
            minimum_size=MINIMUM_SIZE,
            compresslevel=LEVEL,
            exclude_content_types=ALREADY_COMPRESSED,
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.gzip.app(scope, receive, send)
            return

        async def weak_tags(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if any(k.lower() == b"content-encoding" and v == b"gzip" for k, v in headers):
                    message["headers"] = [
                        (k, b"W/" + v if k.lower() == b"etag" and not v.startswith(b"W/") else v)
                        for k, v in headers
                    ]
            await send(message)

        await self.gzip(scope, receive, weak_tags)
