"""Per-client rate limits at the edge: reports of errors (纠错) and search clicks.

A limited operation's route (:class:`RateLimitedRoute`) counts the request before FastAPI
parses its body or opens a session, so a refused request costs a dictionary lookup and its
answer: 429 with ``Retry-After``, sent after up to a second (:data:`TARPIT_SECONDS`), so a
client that ignores ``Retry-After`` is slowed to one request a second per connection. The
windows live in the process, not the database (a flood costs the database nothing), so with
N workers a client gets up to N times the limit. The client is the direct peer, or the one
a proxy of ``CATALOGUE_TRUSTED_PROXIES`` forwarded (:mod:`app.http.forwarded`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.config import get_settings
from app.http.edge import problem
from app.http.forwarded import client_host

#: how long a refused request waits for its 429 (at most; never longer than Retry-After)
TARPIT_SECONDS = 1.0
#: the OpenAPI content of a problem answer
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")


def parse_rate(spec: str) -> list[tuple[int, float]]:
    """``"5/minute,50/day"`` → ``[(5, 60), (50, 86400)]``: at most N in any window of that
    length. Units: second, minute, hour, day (or s, m, h, d; ``10/5m`` is 10 in 5
    minutes). Empty: no limit."""
    limits = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        found = _RATE.match(part.lower())
        if not found or found.group(3) not in _UNITS or int(found.group(1)) < 1:
            raise ValueError(f"{part!r} is not a rate such as 5/minute or 50/day")
        count, many, unit = found.groups()
        limits.append((int(count), (int(many) if many else 1) * _UNITS[unit]))
    return sorted(limits, key=lambda limit: limit[1])


def client_key(host: str | None) -> str:
    """Whom a report is counted against: the client's address (an IPv6 address by its
    /64, which one host usually holds whole). Behind a reverse proxy it is the client's
    only where the proxy is trusted (``CATALOGUE_TRUSTED_PROXIES``, app/http/forwarded.py)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    """Sliding windows per client, in memory (one per worker process: with N workers a
    client gets up to N times the limit).

    Each client keeps the times of its last accepted requests, as many as the largest
    limit counts; a request is refused while any window holds its count already, and
    ``Retry-After`` says when the oldest hit of the fullest window leaves it. Refused
    requests are not counted (a client that waits as told gets through). At most
    ``max_clients`` are remembered, the least recently seen forgotten first."""

    def __init__(
        self, limits: list[tuple[int, float]], *, max_clients: int = 20_000, clock: Any = None
    ) -> None:
        self.limits = limits
        self.longest = max((s for _, s in limits), default=0.0)
        self.depth = max((n for n, _ in limits), default=0)
        self.max_clients = max_clients
        self.clock = clock or time.monotonic
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a request of ``key``; None when allowed, else the seconds to wait."""
        if not self.limits:
            return None
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque(maxlen=self.depth)
            else:
                self._hits.move_to_end(key)
            wait = 0.0
            for count, seconds in self.limits:
                if len(hits) >= count and hits[-count] > now - seconds:
                    wait = max(wait, hits[-count] + seconds - now)
            if wait == 0:
                hits.append(now)
            self._forget(now)
            return wait or None

    def _forget(self, now: float) -> None:
        """Drop clients whose every hit has left the longest window, and the least
        recently seen beyond ``max_clients``."""
        while len(self._hits) > 1:
            key, hits = next(iter(self._hits.items()))
            if len(self._hits) <= self.max_clients and hits and hits[-1] > now - self.longest:
                break
            del self._hits[key]

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))


@dataclass(frozen=True)
class Limit:
    """One limited kind of request: its setting, where the app keeps its limiter, and how
    its 429 reads."""

    #: the setting's attribute (``corrections_rate``); its variable is CATALOGUE_ + upper
    setting: str
    #: the attribute of ``app.state`` holding the limiter
    state: str
    #: the 429's title and what the detail counts (``reports``)
    title: str
    counted: str

    @property
    def variable(self) -> str:
        return f"CATALOGUE_{self.setting.upper()}"

    def rate(self) -> str:
        return str(getattr(get_settings(), self.setting))

    def from_settings(self) -> RateLimiter:
        try:
            return RateLimiter(parse_rate(self.rate()))
        except ValueError as exc:
            raise ValueError(f"{self.variable}: {exc}") from None

    def install(self, app: Any) -> None:
        """At the start: a wrong rate stops it."""
        setattr(app.state, self.state, self.from_settings())

    def limiter(self, app: Any) -> RateLimiter:
        found = getattr(app.state, self.state, None)
        if found is None:  # an app run without its lifespan
            found = self.from_settings()
            setattr(app.state, self.state, found)
        return found

    async def refuse(self, request: Request) -> Response | None:
        """None when the client may go on; else the 429, after up to a second."""
        wait = self.limiter(request.app).hit(client_of(request))
        if wait is None:
            return None
        # a client that ignores Retry-After is answered slowly: a sleeping coroutine costs
        # nothing, and its next request waits for this answer
        await asyncio.sleep(min(wait, TARPIT_SECONDS))
        after = RateLimiter.retry_after(wait)
        detail = (f"this address has sent as many {self.counted} as it may for now "
                  f"({self.rate()}); retry in {after} s")  # fmt: skip
        body = problem(429, "rate-limited", self.title, detail, retry_after=int(after))
        return problem_response(429, body, {"Retry-After": after})


REPORTS = Limit("corrections_rate", "correction_limiter", "Too many reports", "reports")
CLICKS = Limit("search_clicks_rate", "click_limiter", "Too many clicks", "clicks")


def client_of(request: Request) -> str:
    """Whom the rate limits count the request against (through trusted proxies only)."""
    return client_key(client_host(request))


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str]) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


class RateLimitedRoute(APIRoute):
    """A route whose requests pass :attr:`limit` before FastAPI parses the body or resolves
    a dependency (a session among them). The edge has checked the body's size
    (``x-body-limit``), media type and encoding before."""

    limit: ClassVar[Limit]

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            refusal = await self.limit.refuse(request)
            return refusal if refusal is not None else await handler(request)

        return checked
