"""Where a webhook may point: http(s) only, and never at a loopback, link-local, private
or otherwise non-public address (server-side request forgery), nor at an IPv6 address that
carries one (6to4, Teredo, NAT64…), unless the host is listed in
``CATALOGUE_WEBHOOK_ALLOW_HOSTS`` (host names, addresses or CIDR ranges).

The host is resolved and every address it resolves to is checked, when the subscription
is made and again before every delivery; the delivery then connects to the address that
was checked (the host name still goes in ``Host`` and in TLS's SNI and certificate check),
so a name that resolves elsewhere between the check and the connection (DNS rebinding)
reaches nothing it should not.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.errors import InvalidInput

# httpx (with the click, rich and pygments its command line loads) is imported by the
# functions using it: a process that never checks a webhook URL does not pay for it
if TYPE_CHECKING:
    import httpx

URL_LOC: list[str | int] = ["body", "url"]
#: getaddrinfo has no timeout of its own
RESOLVE_TIMEOUT = 3.0
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-resolve")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(Exception):
    """A URL breaks a rule: ``rule`` names it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message

    def as_input_error(self) -> InvalidInput:
        return InvalidInput.field(URL_LOC, self.message, self.rule)


@dataclass(frozen=True)
class AllowList:
    """``CATALOGUE_WEBHOOK_ALLOW_HOSTS``: comma-separated host names, addresses, CIDRs."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, setting: str) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip() for e in setting.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, address: IPAddress) -> bool:
        return any(address in n for n in self.networks if n.version == address.version)


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: httpx.URL
    address: str

    def request_url(self) -> httpx.URL:
        """The URL with the checked address in place of the host name."""
        return self.url.copy_with(host=self.address)

    def headers(self) -> dict[str, str]:
        return {"Host": self.url.netloc.decode("ascii")}

    def extensions(self) -> dict[str, str]:
        if self.url.scheme == "https":
            return {"sni_hostname": self.url.raw_host.decode("ascii")}
        return {}


def parse(url: str) -> httpx.URL:
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise AddressRefused("url.invalid", f"not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise AddressRefused(
            "url.scheme", f"a webhook URL is http or https, not {parsed.scheme or 'none'!r}"
        )
    if not parsed.raw_host:
        raise AddressRefused("url.host", "the URL names no host")
    if parsed.userinfo:
        raise AddressRefused(
            "url.userinfo",
            "credentials do not belong in the URL (it is shown to every reader of the "
            "subscription): the secret signs every delivery",
        )
    if parsed.fragment:
        raise AddressRefused("url.fragment", "a webhook URL has no #fragment")
    return parsed


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an address literal: itself)."""
    try:
        return [_address(host.strip("[]"))]
    except ValueError:
        pass

    def lookup() -> list[IPAddress]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [_address(str(info[4][0]).split("%", 1)[0]) for info in infos]

    try:
        found = _resolver.submit(lookup).result(timeout=RESOLVE_TIMEOUT)
    except FutureTimeout:
        raise AddressRefused(
            "url.unresolvable", f"{host} did not resolve within {RESOLVE_TIMEOUT:g} s"
        ) from None
    except (OSError, UnicodeError) as exc:
        raise AddressRefused("url.unresolvable", f"{host} does not resolve: {exc}") from None
    if not found:
        raise AddressRefused("url.unresolvable", f"{host} resolves to no address")
    return list(dict.fromkeys(found))


def _address(text: str) -> IPAddress:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address


#: NAT64's well-known prefix: 64:ff9b::a.b.c.d is a.b.c.d reached through a translator
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def carried(address: IPAddress) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with how: a packet to it reaches
    them through a translator or a tunnel (6to4 relays, Teredo servers)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped:
        return [("IPv4-mapped", address.ipv4_mapped)]
    if address in NAT64:
        return [("NAT64", low)]
    if address.sixtofour:
        return [("6to4", address.sixtofour)]
    if address.teredo:
        server, client = address.teredo
        return [("Teredo", server), ("Teredo", client)]
    if int(address) >> 32 == 0:
        return [("IPv4-compatible", low)]  # ::a.b.c.d, deprecated
    return []


def _own_kind(address: IPAddress) -> str | None:
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return kind
    return None if address.is_global else "non-public"


def kind_of(address: IPAddress) -> str | None:
    """Why an address is not public (None: it is): a loopback, private, site-local…
    address, or one that carries such an IPv4 address (6to4, Teredo, NAT64, IPv4-mapped
    or -compatible). A translated address (IPv4-mapped, NAT64) is judged by the IPv4
    address alone, as that is what it reaches."""
    inside = carried(address)
    translated = inside and inside[0][0] in ("IPv4-mapped", "NAT64")
    own = None if translated else _own_kind(address)
    if own is not None:
        return f"{own} address"
    for how, v4 in inside:
        kind = _own_kind(v4)
        if kind is not None:
            return f"{how} address carrying {v4}, a {kind} address"
    return None


def screen(url: httpx.URL, addresses: list[IPAddress], allow: AllowList) -> Target:
    """The target of a parsed URL whose host resolved to ``addresses``: every one of them
    public (or allowed), else :class:`AddressRefused`."""
    host = url.raw_host.decode("ascii").lower().rstrip(".")
    if host in allow.hosts:
        return Target(url, str(addresses[0]))
    for address in addresses:
        kind = kind_of(address)
        if kind is not None and not allow.allows(address):
            raise AddressRefused(
                "url.private_address",
                f"{host} resolves to {address}, a {kind}: webhooks go to public "
                "addresses only (CATALOGUE_WEBHOOK_ALLOW_HOSTS lists exceptions)",
            )
    return Target(url, str(addresses[0]))


def check(url: str, allow: AllowList) -> Target:
    """The URL's target, or :class:`AddressRefused` naming the rule it breaks."""
    parsed = parse(url)
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return screen(parsed, resolve(host, port), allow)


def check_input(url: str, allow: AllowList) -> None:
    """:func:`check` for a request: a refusal is a 422 naming ``body.url`` and the rule."""
    try:
        check(url, allow)
    except AddressRefused as exc:
        raise exc.as_input_error() from None
