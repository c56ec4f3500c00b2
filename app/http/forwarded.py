"""Who the client is, and which scheme it used, behind the proxies this deployment trusts.

``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``Forwarded`` (RFC 7239) are anyone's to
send: they are read only when the request's direct peer is one of the proxies in
``CATALOGUE_TRUSTED_PROXIES`` (addresses and CIDR ranges; empty, the default: nobody).
Each proxy appends the address it received the request from, so the chain is read from
the right: the client is the right-most address that is not a trusted proxy (what a
client wrote itself stays to the left of it and is never taken). When every hop is
trusted, the left-most is the client. ``Forwarded`` is read only without
``X-Forwarded-For``, which a proxy that appends it (nginx) always sends.

:func:`client_and_scheme` is the one place that decides: the rate limits key on its
address, the pages' cookies are ``Secure`` by its scheme. ``catalogue serve`` hands the
same setting to uvicorn (``forwarded_allow_ips``, or no proxy headers at all when it is
empty), so the server's view of the client agrees; reading the headers again after
uvicorn resolved them gives the same answer.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import Scope

from app.config import get_settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = frozenset({"http", "https"})


@lru_cache(maxsize=8)
def trusted_proxies(setting: str) -> tuple[IPNetwork, ...]:
    """``CATALOGUE_TRUSTED_PROXIES``: comma-separated addresses and CIDR ranges. A host name
    is refused rather than ignored: the peer is an address, a name would never match and
    the proxy would silently not be trusted."""
    networks = []
    for entry in (e.strip() for e in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            raise ValueError(
                f"CATALOGUE_TRUSTED_PROXIES: {entry!r} is not an address or a CIDR range "
                "(such as 10.0.0.5 or 172.30.240.0/24)"
            ) from None
    return tuple(networks)


def uvicorn_options(setting: str) -> dict[str, Any]:
    """uvicorn's proxy handling for the same setting: none when nobody is trusted (its
    default trusts 127.0.0.1, which would let any local process name the client)."""
    networks = trusted_proxies(setting)
    if not networks:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(map(str, networks))}


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy writes it: bare, ``1.2.3.4:5678``, ``[2001:db8::1]:443``, or
    quoted (``Forwarded``); None for ``unknown``, an obfuscated name or rubbish."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(value: str | None, networks: tuple[IPNetwork, ...]) -> bool:
    address = _address(value) if value else None
    return address is not None and any(address in n for n in networks)


def _hops(scope: Scope) -> tuple[list[tuple[str, str | None]], str | None]:
    """The chain of (address, scheme) the proxies recorded, oldest first, and the
    ``X-Forwarded-Proto`` sent with it. ``X-Forwarded-For`` wins when both are present
    (as in uvicorn): nginx always sets it, and passes a ``Forwarded`` the client wrote on
    untouched."""
    forwarded: list[str] = []
    forwarded_for: list[str] = []
    proto = None
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded_for.append(value.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            proto = value.decode("latin-1")
        elif name == b"forwarded":
            forwarded.append(value.decode("latin-1"))
    entries = [e.strip() for e in ",".join(forwarded_for).split(",")]
    if any(entries):
        return [(e, None) for e in entries if e], proto
    hops: list[tuple[str, str | None]] = []
    for element in ",".join(forwarded).split(","):
        pairs = dict(
            (k.strip().lower(), v.strip().strip('"'))
            for k, _, v in (p.partition("=") for p in element.split(";"))
        )
        if pairs.get("for"):
            hops.append((pairs["for"], pairs.get("proto", "").lower() or None))
    return hops, proto


def client_and_scheme(scope: Scope) -> tuple[str | None, str]:
    """The client's address and the scheme it used: the direct peer's and the
    connection's, unless the peer is a trusted proxy (see the module's docstring)."""
    client = scope.get("client")
    peer = client[0] if client else None
    scheme = scope.get("scheme", "http")
    networks = trusted_proxies(get_settings().trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return peer, scheme
    hops, proto = _hops(scope)
    found = hops[0] if hops else (peer or "", None)
    for hop in reversed(hops):
        if not _trusted(hop[0], networks):
            found = hop
            break
    # X-Forwarded-Proto: the right-most value, the one the trusted peer set (nginx: $scheme)
    last = proto.split(",")[-1].strip().lower() if proto is not None else found[1]
    if last in SCHEMES:
        scheme = last
    if not hops:
        return peer, scheme
    address = _address(found[0])
    return (str(address) if address else found[0][:100]), scheme


def client_host(connection: HTTPConnection) -> str | None:
    """The address rate limits count a request against."""
    return client_and_scheme(connection.scope)[0]


def is_https(connection: HTTPConnection) -> bool:
    """Whether the client reached us over TLS (directly or at a trusted proxy)."""
    return client_and_scheme(connection.scope)[1] == "https"
