"""Compression by the service itself (gzip, when the client accepts it): every text answer of
1 KiB or more — JSON, JSON-LD, CSV, NDJSON (the feed, the snapshot, exports streamed as
they are written), HTML — whatever proxy stands in front. The snapshot compresses about 26:1.

Formats that are compressed already (XLSX, ZIP, PDF, images) pass as they are. A streamed
answer is compressed chunk by chunk (each flushed), so it still streams; large chunks are
compressed off the event loop.

Entity tags: a gzip-coded answer is another representation of the same resource, so a
strong tag may not stand for both (RFC 9110 §8.8.3). For a client that accepts gzip every
``ETag`` is weak (``W/"12"``), whether its answer came coded or not (short, or a 304), so the
tag a client holds is the tag a 304 names; nginx weakens the tags of what it compresses
alike. ``If-None-Match`` compares weakly (§13.1.2) and ``If-Match`` takes ``W/"12"`` as the
version 12, so either form validates; caches keep the codings apart (``Vary:
Accept-Encoding``). Formats never compressed keep strong tags.
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

        accepts = next((v for k, v in scope["headers"] if k == b"accept-encoding"), b"")

        async def weak_tags(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                # for a client that takes gzip every tag is weak, whether this answer came
                # coded or not (short, or a 304): one tag for the resource's state, whatever
                # the size, and a 304 names the tag its 200 had
                weak = b"gzip" in accepts and not _binary(message.get("headers", []))
                message["headers"] = _coded(message.get("headers", []), weak)
            await send(message)

        await self.gzip(scope, receive, weak_tags)


def _coded(headers: list[tuple[bytes, bytes]], weak: bool) -> list[tuple[bytes, bytes]]:
    """The headers of an answer as it goes out: a gzip-coded one's ETag weak, and ``Vary``
    naming each header once (the caching layer and the compression both add
    ``Accept-Encoding``)."""
    gzipped = weak or any(k.lower() == b"content-encoding" and v == b"gzip" for k, v in headers)
    out = []
    for k, v in headers:
        name = k.lower()
        if name == b"etag" and gzipped and not v.startswith(b"W/"):
            v = b"W/" + v
        elif name == b"vary":
            seen: dict[bytes, bytes] = {}
            for token in v.split(b","):
                seen.setdefault(token.strip().lower(), token.strip())
            v = b", ".join(seen.values())
        out.append((k, v))
    return out


def _binary(headers: list[tuple[bytes, bytes]]) -> bool:
    """An answer of a format that is never compressed (its tag stays strong)."""
    kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    kind = kind.split(b";")[0].strip().decode("latin-1").lower()
    return bool(kind) and (
        kind in ALREADY_COMPRESSED or f"{kind.split('/')[0]}/*" in ALREADY_COMPRESSED
    )
