"""Sign-in sessions of the editor's pages and CSRF tokens of every form.

A session is a signed cookie, no table: ``<key prefix>.<itsdangerous token>``, the token
holding the key's name, a random session id and the session's CSRF token, signed with a
secret derived from the key's stored hash (and the ``session_secret`` setting,
``CATALOGUE_SESSION_SECRET``, when set, which a production deployment should set: then a
copy of the database alone forges nothing).
Every request looks the key up again (one indexed query, as an API call does), so revoking
the key ends its sessions at once, in every worker. The cookie expires after
:data:`MAX_AGE`; signing out drops it and revokes its id in this process until then.

The key itself is read once, from the sign-in form's body, and never written anywhere: not
into the cookie, a page, a URL or a log.

CSRF: every form carries a token; a signed-in form the session's, any other the random
``sc_csrf`` cookie's (double submit). Both cookies are HttpOnly and SameSite=Strict, and
Secure when the request came over TLS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from app.config import get_settings
from app.errors import Forbidden
from app.security import ApiKey, Principal, authenticate

COOKIE = "sc_session"
CSRF_COOKIE = "sc_csrf"
CSRF_FIELD = "csrf"
MAX_AGE = 8 * 3600
SALT = "page-session"
PATH = "/editor"


@dataclass(frozen=True)
class PageSession:
    principal: Principal
    sid: str
    csrf: str


class _Revoked:
    """Session ids signed out in this process, forgotten when they would have expired."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, sid: str) -> None:
        with self._lock:
            now = time.time()
            self._until = {s: t for s, t in self._until.items() if t > now}
            self._until[sid] = now + MAX_AGE

    def __contains__(self, sid: str) -> bool:
        return self._until.get(sid, 0) > time.time()


REVOKED = _Revoked()


def _serializer(secret_hash: str) -> URLSafeTimedSerializer:
    pepper = get_settings().session_secret.get_secret_value()
    key = hashlib.sha256(f"{pepper}\x00{secret_hash}".encode()).hexdigest()
    return URLSafeTimedSerializer(key, salt=SALT)


def _key_row(db: Session, prefix: str) -> ApiKey | None:
    return db.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()


def sign_in(db: Session, secret: str) -> tuple[str, PageSession]:
    """The cookie value for a valid key (401 otherwise, from :func:`authenticate`)."""
    principal = authenticate(db, "Bearer " + secret.strip())
    row = _key_row(db, secret.strip().split("_", 2)[1])
    assert row is not None  # authenticate found it
    session = PageSession(principal, secrets.token_urlsafe(16), secrets.token_urlsafe(24))
    token = _serializer(row.secret_hash).dumps({"n": row.name, "s": session.sid, "c": session.csrf})
    return f"{row.prefix}.{token}", session


def current(db: Session, request: Request) -> PageSession | None:
    """The request's session, or None (absent, expired, forged, signed out, key revoked)."""
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
    if data.get("n") != row.name or data.get("s") in REVOKED:
        return None
    principal = Principal(
        name=row.name,
        role=row.role,
        departments=tuple(row.departments or ()),
        region_prefix=row.region_prefix,
    )
    return PageSession(principal, data["s"], data["c"])


def _secure(request: Request) -> bool:
    # the scope's scheme, as request.url's, without building the URL (a cached page's cost)
    return request.scope.get("scheme") == "https"


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        path=PATH,
        httponly=True,
        secure=_secure(request),
        samesite="strict",
    )


def sign_out(response: Response, request: Request, session: PageSession | None) -> None:
    if session is not None:
        REVOKED.add(session.sid)
    response.delete_cookie(
        COOKIE, path=PATH, httponly=True, secure=_secure(request), samesite="strict"
    )


def csrf_token(request: Request, session: PageSession | None) -> tuple[str, bool]:
    """The token forms carry, and whether the ``sc_csrf`` cookie must be set with it."""
    if session is not None:
        return session.csrf, False
    found = request.cookies.get(CSRF_COOKIE)
    if found and 20 <= len(found) <= 64:
        return found, False
    return secrets.token_urlsafe(24), True


def set_csrf_cookie(response: Response, request: Request, token: str) -> None:
    # written out: the token is URL-safe base64, and SimpleCookie costs a page's render
    secure = "; Secure" if _secure(request) else ""
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
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form's security token is missing or stale: reload the page")
