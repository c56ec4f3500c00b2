"""The client and its scheme behind trusted proxies (app/http/forwarded.py): headers believed only
from a peer of CATALOGUE_TRUSTED_PROXIES, the right-most untrusted address of the chain,
Forwarded as well as X-Forwarded-For/-Proto, and uvicorn's proxy middleware (what
`catalogue serve` runs) resolving every chain the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.config import get_settings
from app.http.forwarded import client_and_scheme, trusted_proxies, uvicorn_options
from tests.conftest import app_on

PROXIES = "10.0.0.0/24, 2001:db8:1::/48, 192.0.2.10"


@pytest.fixture
def trust(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def set_(value: str) -> None:
        monkeypatch.setenv("CATALOGUE_TRUSTED_PROXIES", value)
        get_settings.cache_clear()

    yield set_
    monkeypatch.delenv("CATALOGUE_TRUSTED_PROXIES", raising=False)
    get_settings.cache_clear()


def scope(peer: str, *headers: tuple[str, str], scheme: str = "http") -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": scheme,
        "client": (peer, 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }


XFF = "X-Forwarded-For"
XFP = "X-Forwarded-Proto"


def test_nobody_is_trusted_by_default(trust: Any) -> None:
    trust("")
    spoofed = scope("127.0.0.1", (XFF, "203.0.113.9"), (XFP, "https"))
    assert client_and_scheme(spoofed) == ("127.0.0.1", "http")
    assert client_and_scheme(scope("127.0.0.1", scheme="https")) == ("127.0.0.1", "https")


def test_the_right_most_untrusted_address_of_a_trusted_peer(trust: Any) -> None:
    trust(PROXIES)
    # what the client wrote itself stays left of what the proxies appended
    chain = scope("10.0.0.2", (XFF, "198.51.100.1, 203.0.113.5, 10.0.0.7"), (XFP, "https"))
    assert client_and_scheme(chain) == ("203.0.113.5", "https")
    # a peer outside the setting names nobody, whatever it sends
    assert client_and_scheme(scope("10.0.1.2", (XFF, "203.0.113.5"), (XFP, "https"))) == (
        "10.0.1.2",
        "http",
    )
    # two header lines are one list; ports and brackets are dropped
    split = scope("192.0.2.10", (XFF, "198.51.100.1"), (XFF, "203.0.113.5:4711"))
    assert client_and_scheme(split) == ("203.0.113.5", "http")
    v6 = scope("2001:db8:1::5", (XFF, "[2001:db8:9::1]:443"))
    assert client_and_scheme(v6)[0] == "2001:db8:9::1"
    # a peer written as an IPv4-mapped IPv6 address is the IPv4 one
    assert client_and_scheme(scope("::ffff:10.0.0.2", (XFF, "203.0.113.5")))[0] == "203.0.113.5"
    # every hop trusted: the left-most is the client; no header: the peer itself
    assert client_and_scheme(scope("10.0.0.2", (XFF, "10.0.0.9, 10.0.0.8")))[0] == "10.0.0.9"
    assert client_and_scheme(scope("10.0.0.2", (XFP, "https"))) == ("10.0.0.2", "https")
    # only http or https is a scheme; the proxy's own value is the right-most
    assert client_and_scheme(scope("10.0.0.2", (XFP, "gopher")))[1] == "http"
    assert client_and_scheme(scope("10.0.0.2", (XFP, "http, https")))[1] == "https"


def test_forwarded_rfc_7239(trust: Any) -> None:
    trust(PROXIES)
    one = scope("10.0.0.2", ("Forwarded", "for=198.51.100.17;proto=https;by=10.0.0.2"))
    assert client_and_scheme(one) == ("198.51.100.17", "https")
    chain = scope(
        "10.0.0.2",
        ("Forwarded", 'for=192.0.2.99;proto=http, for="[2001:db8:9::17]:4711";proto=https'),
        ("Forwarded", "for=10.0.0.8;proto=http"),
    )
    assert client_and_scheme(chain) == ("2001:db8:9::17", "https")
    # a Forwarded the client wrote, passed on by nginx beside its X-Forwarded-For, names
    # nobody (X-Forwarded-For wins, as in uvicorn)
    injected = scope("10.0.0.2", ("Forwarded", "for=198.51.100.1"), (XFF, "203.0.113.1"))
    assert client_and_scheme(injected) == ("203.0.113.1", "http")
    assert client_and_scheme(scope("10.0.1.1", ("Forwarded", "for=1.2.3.4;proto=https"))) == (
        "10.0.1.1",
        "http",
    )


def test_a_wrong_setting_stops_the_start(trust: Any, session: Session) -> None:
    with pytest.raises(ValueError, match="'nginx' is not an address"):
        trusted_proxies("10.0.0.1, nginx")
    trust("10.0.0.0/33")
    with pytest.raises(ValueError, match="CATALOGUE_TRUSTED_PROXIES"), TestClient(app_on(session)):
        pass


CHAINS = [
    ("10.0.0.2", [(XFF, "198.51.100.1, 203.0.113.5, 10.0.0.7"), (XFP, "https")]),
    ("10.0.0.2", [(XFF, "10.0.0.9, 10.0.0.8")]),
    ("10.0.0.2", [(XFF, "203.0.113.5:4711"), (XFP, "http")]),
    ("192.0.2.10", [(XFF, "2001:db8:9::1")]),
    ("10.0.1.2", [(XFF, "203.0.113.5"), (XFP, "https")]),
    ("127.0.0.1", [(XFF, "203.0.113.5"), (XFP, "https")]),
    ("10.0.0.2", [("Forwarded", "for=198.51.100.1;proto=https"), (XFF, "203.0.113.5")]),
]


@pytest.mark.parametrize("setting", ["", PROXIES])
def test_uvicorn_resolves_every_chain_as_the_app_does(trust: Any, setting: str) -> None:
    """`catalogue serve` runs uvicorn with these options: its view of the client (its
    logs, request.client) is the app's, and the app reading the headers again after it
    changes nothing."""
    trust(setting)
    options = uvicorn_options(setting)
    if not setting:
        assert options == {"proxy_headers": False}
        return
    assert options["proxy_headers"] is True
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    middleware = ProxyHeadersMiddleware(app, trusted_hosts=options["forwarded_allow_ips"])
    for peer, headers in CHAINS:
        original = scope(peer, *headers)
        expected = client_and_scheme(original)
        asyncio.run(middleware(dict(original), None, None))  # type: ignore[arg-type]
        after = seen.pop()
        assert (after["client"][0], after["scheme"]) == expected, (peer, headers)
        assert client_and_scheme(after) == expected, (peer, headers)
