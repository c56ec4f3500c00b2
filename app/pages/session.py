"""Sign-in sessions of the editor's pages, CSRF tokens of every form, the pages' cookies.

A session is a row of ``page_session`` (:class:`app.security.KeySession`: the SHA-256 of a
random session id, the key, the expiry) and a signed cookie ``<key prefix>.<itsdangerous
token>``, the token holding the key's name, the session id and the session's CSRF token,
signed with a secret derived from the key's stored hash (and the ``session_secret``
setting, ``CATALOGUE_SESSION_SECRET``, when set, which a production deployment should set:
then a copy of the database alone forges nothing).
Every request looks the key and the row up (two indexed queries), so signing out (the row
deleted), revoking or deleting the key ends a session at once, in every worker and across
restarts. The cookie and the row expire after :data:`MAX_AGE`; expired rows are pruned
when someone signs in.

The key itself is read once, from the sign-in form's body, and never written anywhere: not
into the cookie, a page, a URL or a log.

CSRF: every form carries a token; a signed-in form the session's, any other the random
``sc_csrf`` cookie's (double submit). A token is URL-safe base64 of a fixed length range;
a cookie that is not one is replaced, never echoed into a page. Every cookie of the pages
is set by :func:`set_cookie`: HttpOnly, SameSite, and Secure when the client came over TLS
(directly or at a trusted proxy: :mod:`app.http.forwarded`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from app.config import get_settings
from app.dbtypes import utcnow
from app.errors import Forbidden
from app.http.forwarded import is_https
from app.security import ApiKey, KeySession, Principal, authenticate

COOKIE = "sc_session"
CSRF_COOKIE = "sc_csrf"
CSRF_FIELD = "csrf"
MAX_AGE = 8 * 3600
SALT = "page-session"
PATH = "/editor"
#: what :func:`secrets.token_urlsafe` makes (24 bytes: 32 characters), with some room
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class PageSession:
    principal: Principal
    sid: str
    csrf: str


def _serializer(secret_hash: str) -> URLSafeTimedSerializer:
    pepper = get_settings().session_secret.get_secret_value()
    key = hashlib.sha256(f"{pepper}\x00{secret_hash}".encode()).hexdigest()
    return URLSafeTimedSerializer(key, salt=SALT)


def _row_id(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _key_row(db: Session, prefix: str) -> ApiKey | None:
    return db.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()


def sign_in(db: Session, secret: str) -> tuple[str, PageSession]:
    """The cookie value for a valid key (401 otherwise, from :func:`authenticate`); the
    session's row is added to ``db`` (a write session), expired ones are pruned."""
    principal = authenticate(db, "Bearer " + secret.strip())
    row = _key_row(db, secret.strip().split("_", 2)[1])
    assert row is not None and row.id is not None  # authenticate found it
    session = PageSession(principal, secrets.token_urlsafe(16), secrets.token_urlsafe(24))
    now = utcnow()
    db.execute(delete(KeySession).where(KeySession.expires_at <= now))  # type: ignore[arg-type]
    db.add(
        KeySession(
            id=_row_id(session.sid),
            key_id=row.id,
            created_at=now,
            expires_at=now + timedelta(seconds=MAX_AGE),
        )
    )
    db.flush()
    token = _serializer(row.secret_hash).dumps({"n": row.name, "s": session.sid, "c": session.csrf})
    return f"{row.prefix}.{token}", session


def current(db: Session, request: Request) -> PageSession | None:
    """The request's session, or None (absent, expired, forged, signed out, key revoked
    or deleted)."""
    value = request.cookies.get(COOKIE)
    if not value or "." not in value:
        return None
    prefix, token = value.split(".", 1)
    row = _key_row(db, prefix)
    if row is None or row.revoked_at is not None:
        return None
    try:
        data = _serializer(row.secret_hash).loads(token, max_age=MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return None
    sid, csrf = data.get("s"), data.get("c")
    if data.get("n") != row.name or not isinstance(sid, str) or not _is_token(csrf):
        return None
    live = db.execute(
        select(KeySession.id).where(
            KeySession.id == _row_id(sid),
            KeySession.key_id == row.id,
            KeySession.expires_at > utcnow(),
        )
    ).first()
    if live is None:
        return None
    principal = Principal(
        name=row.name,
        role=row.role,
        departments=tuple(row.departments or ()),
        region_prefix=row.region_prefix,
    )
    return PageSession(principal, sid, csrf)


def set_cookie(
    response: Response,
    request: Request,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    path: str = "/",
    samesite: Literal["lax", "strict"] = "lax",
) -> None:
    """A cookie of the pages: never read by a script (HttpOnly), Secure when the client
    came over TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=is_https(request),
        samesite=samesite,
    )


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    set_cookie(response, request, COOKIE, value, max_age=MAX_AGE, path=PATH, samesite="strict")


def sign_out(
    response: Response, request: Request, db: Session, session: PageSession | None
) -> None:
    """Ends the session for good (its row deleted from ``db``, a write session) and drops
    the cookie."""
    if session is not None:
        db.execute(delete(KeySession).where(KeySession.id == _row_id(session.sid)))  # type: ignore[arg-type]
    response.delete_cookie(
        COOKIE, path=PATH, httponly=True, secure=is_https(request), samesite="strict"
    )


def _is_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN.match(value) is not None


def csrf_token(request: Request, session: PageSession | None) -> tuple[str, bool]:
    """The token forms carry, and whether the ``sc_csrf`` cookie must be set with it. Only
    a well-formed token is ever returned: pages put it in as it is."""
    if session is not None:
        return session.csrf, False
    found = request.cookies.get(CSRF_COOKIE)
    if _is_token(found):
        return found, False  # type: ignore[return-value]
    return secrets.token_urlsafe(24), True


def set_csrf_cookie(response: Response, request: Request, token: str) -> None:
    # written out: the token is URL-safe base64, and SimpleCookie costs a page's render
    secure = "; Secure" if is_https(request) else ""
    response.raw_headers.append(
        (
            b"set-cookie",
            f"{CSRF_COOKIE}={token}; HttpOnly; Path=/; SameSite=strict{secure}".encode(),
        )
    )


def check_csrf(request: Request, form: dict[str, list[str]], session: PageSession | None) -> None:
    """403 unless the form's token is the session's (signed in) or the cookie's."""
    sent = (form.get(CSRF_FIELD) or [""])[0]
    expected = session.csrf if session is not None else request.cookies.get(CSRF_COOKIE, "")
    # both well-formed first: compare_digest refuses non-ASCII text (a 500, not a 403)
    if not _is_token(sent) or not _is_token(expected) or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form's security token is missing or stale: reload the page")
