"""Request dependencies: sessions, the caller's key, conditional-request headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.db import read_session, write_session
from app.security import Principal, authenticate

ReadSession = Annotated[Session, Depends(read_session)]

# scope="function": commit before the response is sent, so a failed commit is a 5xx
WriteSession = Annotated[Session, Depends(write_session, scope="function")]


async def current_principal(
    request: Request,
    session: WriteSession,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    """The caller's key: checked by the edge before the body was read (``app.http.edge``), or
    here for an operation without a body. Async: a write whose key the edge checked makes no
    hop to a worker thread for it."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = await run_in_threadpool(authenticate, session, authorization)
    request.state.key_name = principal.name  # for the access log and metrics
    return principal


Caller = Annotated[Principal, Depends(current_principal)]


#: what ``If-Match`` names when none of its tags is a version of ours: it matches no
#: version, so the write's precondition is false (412), as RFC 9110 §13.1.1 says
NO_VERSION = -1


async def expected_version(  # async: pure parsing, no hop to a worker thread
    if_match: Annotated[
        str | None,
        Header(description="The version you read (ETag); a stale one gets 412"),
    ] = None,
) -> int | None:
    """Parse ``If-Match``: ``"3"``, ``W/"3"`` or ``3``; ``*`` means any version. A tag that
    is not one of our versions matches nothing."""
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 10:
        return NO_VERSION
    return int(value)


ExpectedVersion = Annotated[int | None, Depends(expected_version)]


def etag(version: int) -> str:
    return f'"{version}"'


def not_modified(if_none_match: str | None, version: int) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag(version) in tags


#: the id of a row in a path (a change request, a subscription, an import): an integer the
#: database's INTEGER holds, so a larger one is a 422, never a database error
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
