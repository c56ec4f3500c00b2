"""Where a webhook may point: only global addresses, and no IPv6 address that carries a
non-public IPv4 one (6to4, Teredo, NAT64, IPv4-mapped or -compatible). Each address of
the table as the URL's host (POST /subscriptions answers 422) and as what a host name
resolved to (the check made before every delivery); SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.push import addresses
from app.push.addresses import AddressRefused, AllowList
from tests.helpers import API
from tests.webhook_support import SECRET, allowing, key

pytest_plugins = ["tests.webhook_support"]

#: (address, what the refusal names)
REFUSED = [
    ("fec0::1", "site-local"),
    ("feff::1", "site-local"),
    ("2002:7f00:1::", "127.0.0.1, a loopback"),
    ("2002:a00:1::1", "10.0.0.1, a private"),
    ("2002:a9fe:a9fe::", "169.254.169.254"),
    ("2002:6440:1::", "100.64.0.1"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::7f00:1", "127.0.0.1, a loopback"),
    ("64:ff9b::c0a8:101", "192.168.1.1, a private"),
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "address"),  # Teredo
    ("2001:0:7f00:1:8000:63bf:f5ff:fffe", "address"),  # Teredo via 127.0.0.1
    ("::7f00:1", "address"),  # IPv4-compatible ::127.0.0.1
    ("::a00:1", "address"),  # IPv4-compatible ::10.0.0.1
    ("fd12:3456::1", "private"),
    ("fe80::1", "link-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("::", "address"),
    ("::1", "loopback"),
    ("2001:db8::1", "private"),  # documentation
    ("100::1", "address"),  # discard-only
    ("192.0.2.1", "private"),  # documentation
    ("198.18.0.1", "private"),  # benchmarking
    ("240.0.0.1", "address"),  # reserved
    ("224.0.0.251", "multicast"),
    ("100.64.0.1", "non-public"),
    ("0.0.0.0", "address"),
]
#: global addresses, a public IPv4 one carried by NAT64 among them (what DNS64 answers)
ALLOWED = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "64:ff9b::5db8:d70e"]


def _literal(address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:8080/hook"


@pytest.mark.parametrize(("address", "named"), REFUSED, ids=[a for a, _ in REFUSED])
def test_a_non_public_address_is_refused_as_the_urls_host(
    api: TestClient,
    hook_engine: Engine,
    address: str,
    named: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = key(hook_engine, "admin")
    with allowing(monkeypatch, ""):
        resp = api.post(
            f"{API}/subscriptions", json={"url": _literal(address), "secret": SECRET}, headers=admin
        )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    [error] = resp.json()["errors"]
    assert error["loc"] == ["body", "url"] and error["type"] == "url.private_address", error
    assert named in error["msg"], error


@pytest.mark.parametrize(("address", "named"), REFUSED, ids=[a for a, _ in REFUSED])
def test_a_non_public_address_is_refused_as_what_a_name_resolved_to(
    address: str, named: str
) -> None:
    url = httpx.URL("https://hooks.platform.example/catalogue")
    resolved = [ipaddress.ip_address(ALLOWED[0]), ipaddress.ip_address(address)]
    with pytest.raises(AddressRefused) as refused:
        addresses.screen(url, resolved, AllowList())  # one bad address of the two is enough
    assert refused.value.rule == "url.private_address"
    assert f"resolves to {address}" in refused.value.message or address.startswith("::ffff:")
    assert named in refused.value.message


@pytest.mark.parametrize("address", ALLOWED)
def test_a_global_address_is_taken(
    api: TestClient, hook_engine: Engine, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = key(hook_engine, "admin")
    with allowing(monkeypatch, ""):
        resp = api.post(
            f"{API}/subscriptions", json={"url": _literal(address), "secret": SECRET}, headers=admin
        )
    assert resp.status_code == 201, resp.text
    url = httpx.URL("https://hooks.platform.example/catalogue")
    target = addresses.screen(url, [ipaddress.ip_address(address)], AllowList())
    assert target.address == address and target.headers() == {"Host": "hooks.platform.example"}


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1", "017700000001", "localhost"])
def test_a_name_the_resolver_turns_into_loopback_is_refused(host: str) -> None:
    """Spellings of 127.0.0.1 that are no address literal: the system's resolver reads
    them, and the check judges what it answered."""
    with pytest.raises(AddressRefused) as refused:
        addresses.check(f"http://{host}:8080/hook", AllowList())
    assert refused.value.rule == "url.private_address"
    assert "loopback" in refused.value.message


def test_the_allow_setting_still_lets_a_listed_range_through() -> None:
    url = httpx.URL("http://hooks.internal.example/hook")
    allow = AllowList.parse("fec0::/10, 10.0.0.0/8")
    assert addresses.screen(url, [ipaddress.ip_address("fec0::1")], allow).address == "fec0::1"
    # a range of IPv4 addresses does not let in the 6to4 address that carries one of them
    with pytest.raises(AddressRefused):
        addresses.screen(url, [ipaddress.ip_address("2002:a00:1::1")], allow)
