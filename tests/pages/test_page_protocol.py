"""HTTP of the pages themselves: a method a page does not take (405 with ``Allow`` listing
what it does take, RFC 9110), HEAD as GET without the body, and the session secret
setting (``CATALOGUE_SESSION_SECRET``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import get_settings
from tests.conftest import Keys
from tests.helpers import API, writable
from tests.pages.test_pages import _html, sign_in


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/items/{code}", "GET, HEAD"),
        ("POST", "/search", "GET, HEAD"),
        ("PUT", "/", "GET, HEAD"),
        ("DELETE", "/items/{code}/correction", "GET, HEAD, POST"),
        ("PATCH", "/editor/items/{code}/lifecycle", "GET, HEAD, POST"),
        ("GET", "/editor/requests/1/approve", "POST"),
    ],
)
def test_a_method_the_page_does_not_take_lists_those_it_does(
    client: TestClient, passport: str, method: str, path: str, allow: str
) -> None:
    resp = client.request(method, path.format(code=passport), headers={"Accept": "text/html"})
    assert resp.status_code == 405
    assert resp.headers["allow"] == allow
    assert resp.headers["content-type"].startswith("text/html")  # a page, as pages fail
    assert "unsafe-inline" not in resp.headers["content-security-policy"]


def test_the_api_keeps_its_own_allow(client: TestClient, passport: str) -> None:
    resp = client.delete(f"/api/v1/items/{passport}")
    assert resp.status_code == 405 and "PUT" in resp.headers["allow"]


def test_head_is_the_page_without_its_body(client: TestClient, passport: str) -> None:
    page = client.get(f"/items/{passport}")
    head = client.head(f"/items/{passport}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == page.headers["content-type"]
    assert client.head("/items/nothing-like-this").status_code == 404


@pytest.fixture
def session_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CATALOGUE_SESSION_SECRET", raising=False)
    get_settings.cache_clear()


def test_the_session_secret_setting_signs_the_sessions(
    client: TestClient,
    keys: Keys,
    session: Session,
    passport: str,
    monkeypatch: pytest.MonkeyPatch,
    session_secret: None,
) -> None:
    monkeypatch.setenv("CATALOGUE_SESSION_SECRET", "first secret")
    get_settings.cache_clear()
    assert get_settings().session_secret.get_secret_value() == "first secret"
    assert "first secret" not in repr(get_settings())  # never printed with the settings
    sign_in(client, keys.editor(passport[:18]))
    assert passport in _html(client.get("/editor"))  # signed in
    monkeypatch.setenv("CATALOGUE_SESSION_SECRET", "another secret")
    get_settings.cache_clear()
    # the cookie signed with the old secret no longer signs anyone in
    assert "editor/login" in _html(client.get("/editor"))


def test_a_kept_page_never_shows_an_older_version(
    client: TestClient, keys: Keys, passport: str
) -> None:
    first = _html(client.get(f"/items/{passport}"))
    assert "原件 1 份" in first
    assert _html(client.get(f"/items/{passport}")) == first  # kept, same visitor's token
    assert client.head(f"/items/{passport}").headers["content-length"] == str(len(first.encode()))
    body = writable(client, passport)
    body["materials"][0]["originals"] = 4
    resp = client.put(f"{API}/items/{passport}", json=body, headers=keys.admin())
    assert resp.status_code == 200, resp.text
    assert "原件 4 份" in _html(client.get(f"/items/{passport}"))  # at once after the write
