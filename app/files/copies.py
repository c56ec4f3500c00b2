"""A mirror's copy of the material files its items name (the feed carries their hashes;
the bytes come from the source's GET /files/{sha256}, checked against the hash)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
from sqlmodel import Session

from app.files import service

log = logging.getLogger(__name__)


def copy_files(session_factory: Callable[[], Session], client: httpx.Client) -> int:
    """Fetch every referenced file this copy does not hold; returns how many were kept.
    A file the source no longer serves, or whose bytes are not what their hash says, is
    left out (logged) and asked for again at the next pull."""
    with session_factory() as session:
        wanted = service.missing(session, service.referenced_hashes(session))
    kept = 0
    for sha256 in sorted(wanted):
        try:
            resp = client.get(service.file_url(sha256))
        except httpx.HTTPError as exc:
            log.warning("file %s not copied: %s", sha256, exc)
            continue
        if resp.status_code != 200:
            log.warning("file %s not copied: the source answered %s", sha256, resp.status_code)
            continue
        name = _name(resp.headers.get("content-disposition", "")) or sha256
        with session_factory() as session:
            if service.keep_copy(session, sha256, resp.content, name):
                session.commit()
                kept += 1
            else:
                log.warning("file %s not copied: its bytes are not what the hash says", sha256)
    return kept


def _name(disposition: str) -> str | None:
    from urllib.parse import unquote

    for part in disposition.split(";"):
        part = part.strip()
        if part.startswith("filename*=UTF-8''"):
            return unquote(part.removeprefix("filename*=UTF-8''"))[:200]
    return None
