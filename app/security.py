"""API keys, roles and scopes.

A key is ``sc_<prefix>_<secret>``. Only the SHA-256 of the whole key is stored: the secret is
256 random bits, so a slow password hash would add latency to every write and no safety.
Roles: ``admin`` (everything), ``reviewer`` (approves or rejects change requests of items
within its region prefix: the 政务服务管理机构), ``editor`` (implementations of its
departments, optionally within a region prefix), ``sync`` (implementations within its
region prefix).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, ForeignKey, Integer, bindparam, delete
from sqlmodel import Field, Session, SQLModel, select

from app.dbtypes import JSONType, UTCDateTime, utcnow
from app.errors import Forbidden, InvalidInput, NotFound, Unauthorized

ROLES = ("admin", "reviewer", "editor", "sync")


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    prefix: str = Field(max_length=16, unique=True)
    secret_hash: str = Field(max_length=64)
    role: str = Field(max_length=10)
    departments: list[str] = Field(default_factory=list, sa_column=Column(JSONType))
    region_prefix: str | None = Field(default=None, max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class KeySession(SQLModel, table=True):
    """A page session signed in with a key (app/pages/session.py): the row is what makes
    its cookie valid, in every worker and across restarts; signing out, revoking or
    deleting the key removes it."""

    __tablename__ = "page_session"

    #: the SHA-256 of the session id the cookie carries (a copy of the table names none)
    id: str = Field(primary_key=True, max_length=64)
    key_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("api_key.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


@dataclass(frozen=True)
class Principal:
    """Who makes a request: the key's name, role and scopes."""

    name: str
    role: str
    departments: tuple[str, ...] = ()
    region_prefix: str | None = None
    #: set when an approved change request writes as its author: who approved it, which
    approved_by: str | None = None
    change_request: int | None = None

    @property
    def channel(self) -> str:
        """How a write of this principal came (kept in the version)."""
        if self.approved_by:
            return "review"
        return "sync" if self.role == "sync" else "direct"

    def require_reviewer_of(self, region: str) -> None:
        """May this key approve or reject a change of an item in ``region``?"""
        if self.role == "admin":
            return
        if self.role != "reviewer":
            raise Forbidden(f"key {self.name!r} ({self.role}) does not review change requests")
        if not region.startswith(self.region_prefix or "-"):
            raise Forbidden(
                f"key {self.name!r} reviews regions {self.region_prefix}*, not {region}"
            )

    def require_admin(self) -> None:
        if self.role != "admin":
            raise Forbidden(f"key {self.name!r} ({self.role}) may not change this; admin only")

    def require_role(self, roles: tuple[str, ...]) -> None:
        if self.role not in roles:
            raise Forbidden(
                f"key {self.name!r} ({self.role}) may not do this: {', '.join(roles)} only"
            )

    def require_decision_role(self) -> None:
        """Lifecycle decisions (cancel, suspend, delegate…) belong to the implementing
        department's editor or an admin: a city platform's sync key may not take them."""
        if self.role == "sync":
            raise Forbidden(
                f"key {self.name!r} is a sync key: lifecycle decisions (cancel, suspend, "
                "delegate…) belong to the implementing department's editor or an admin"
            )

    def require_item_scope(self, department: str, region: str, *, decision: bool = False) -> None:
        """May this key write an implementation of ``department`` in ``region``? A
        ``decision`` (a lifecycle event: cancel, delegate…) belongs to the implementing
        department's editor or an admin, never to a sync key."""
        if self.role == "admin":
            return
        if decision:
            self.require_decision_role()
        if self.role == "editor" and department not in self.departments:
            raise Forbidden(
                f"key {self.name!r} edits departments {list(self.departments)}, not {department}"
            )
        if self.region_prefix and not region.startswith(self.region_prefix):
            raise Forbidden(
                f"key {self.name!r} is limited to regions {self.region_prefix}*, not {region}"
            )
        if self.role not in ("editor", "sync"):
            raise Forbidden(f"role {self.role!r} may not write implementations")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def region_prefix(code: str) -> str:
    """``230100`` → ``2301``: the prefix shared by a region and everything under it."""
    code = code.rstrip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def create_key(
    session: Session,
    *,
    name: str,
    role: str,
    departments: list[str] | None = None,
    region: str | None = None,
) -> str:
    """Create a key and return its secret, which is never stored nor shown again."""
    if role not in ROLES:
        raise InvalidInput.field(["role"], f"role must be one of {', '.join(ROLES)}", "role")
    if role == "editor" and not departments:
        raise InvalidInput.field(
            ["departments"], "an editor key needs at least one department", "scope"
        )
    if role in ("sync", "reviewer") and not region:
        raise InvalidInput.field(["region"], f"a {role} key needs a region prefix", "scope")
    if session.exec(select(ApiKey).where(ApiKey.name == name)).first():
        raise InvalidInput.field(["name"], f"a key named {name!r} exists", "unique")
    prefix = secrets.token_hex(4)
    secret = f"sc_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(
            name=name,
            prefix=prefix,
            secret_hash=_hash(secret),
            role=role,
            departments=list(departments or []),
            region_prefix=region_prefix(region) if region else None,
        )
    )
    session.flush()
    return secret


def revoke_key(session: Session, name: str) -> None:
    key = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
    if key is None:
        raise NotFound(f"no key named {name!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
    # its pages' sessions end with it (a deleted key's go by the foreign key's cascade)
    session.execute(delete(KeySession).where(KeySession.key_id == key.id))  # type: ignore[arg-type]


def list_keys(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "name": k.name,
            "role": k.role,
            "departments": k.departments,
            "region_prefix": k.region_prefix,
            "created_at": k.created_at.isoformat() if k.created_at else None,
            "revoked": k.revoked_at is not None,
        }
        for k in session.exec(select(ApiKey).order_by(ApiKey.name))
    ]


_KEY_BY_PREFIX = select(*ApiKey.__table__.c).where(  # type: ignore[attr-defined]
    ApiKey.prefix == bindparam("prefix")
)


def authenticate(db: Session | Connection, authorization: str | None) -> Principal:
    """The principal of an ``Authorization: Bearer <key>`` header, or 401. One indexed
    lookup: the edge runs it before a request's body is read."""
    secret, prefix = bearer_key(authorization)
    return key_principal(db.execute(_KEY_BY_PREFIX, {"prefix": prefix}).first(), secret)


def bearer_key(authorization: str | None) -> tuple[str, str]:
    """(the secret, its prefix: the key's row) of an ``Authorization`` header, or 401."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("this endpoint needs an API key: Authorization: Bearer <key>")
    secret = authorization[len("Bearer ") :].strip()
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != "sc":
        raise Unauthorized("malformed API key")
    return secret, parts[1]


#: the columns of a key :func:`key_principal` reads, in this order
KEY_COLUMNS = ("name", "role", "departments", "region_prefix", "revoked_at", "secret_hash")


def key_principal(key: Any | None, secret: str) -> Principal:
    """The principal of the stored key ``key`` (a row with :data:`KEY_COLUMNS`, or None)
    that ``secret`` was sent for, or 401."""
    if (
        key is None
        or key.revoked_at is not None
        or not hmac.compare_digest(key.secret_hash, _hash(secret))
    ):
        raise Unauthorized("unknown or revoked API key")
    departments = key.departments
    if isinstance(departments, str):  # SQLite's JSON read by the driver: text
        departments = json.loads(departments)
    return Principal(
        name=key.name,
        role=key.role,
        departments=tuple(departments or ()),
        region_prefix=key.region_prefix,
    )
