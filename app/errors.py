"""Domain errors. Services raise these; the API turns them into problem+json (RFC 9457).

They carry no FastAPI import so that services stay framework-free.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://service-catalogue.example/problems/"


class DomainError(Exception):
    status: int = 400
    type: str = "about:blank"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        type: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        if type:
            self.type = PROBLEM_BASE + type
        self.extra = extra or {}

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class NotFound(DomainError):
    status = 404
    title = "Not found"
    type = PROBLEM_BASE + "not-found"


class InvalidInput(DomainError):
    """422: a field breaks a rule. ``errors`` hold ``loc``, ``msg``, ``type`` per field."""

    status = 422
    title = "Invalid input"
    type = PROBLEM_BASE + "validation"

    @classmethod
    def field(cls, loc: list[str | int], msg: str, rule: str) -> InvalidInput:
        return cls(msg, errors=[field_error(loc, msg, rule)])


class RuleViolation(DomainError):
    """409: a rule of the domain refused the change (``type`` names the rule)."""

    status = 409
    title = "Refused by a catalogue rule"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"
    type = PROBLEM_BASE + "stale-version"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    type = PROBLEM_BASE + "unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    type = PROBLEM_BASE + "out-of-scope"


class UnsupportedMediaType(DomainError):
    """415: the content is of a kind the operation does not read (sniffed, not named)."""

    status = 415
    title = "Unsupported media type"
    type = PROBLEM_BASE + "unsupported-media-type"


class TooManyRequests(DomainError):
    """429: the caller has as much under way as it may; ``retry_after`` seconds to wait
    (the HTTP layer sends it as ``Retry-After``)."""

    status = 429
    title = "Too many requests"
    type = PROBLEM_BASE + "rate-limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after


def field_error(loc: list[str | int], msg: str, rule: str) -> dict[str, Any]:
    """One entry of a problem's ``errors``: where, what is wrong, which rule."""
    return {"loc": loc, "msg": msg, "type": rule}
