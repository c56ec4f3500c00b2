"""Behind a proxy, and sessions that end (app/http/forwarded.py, app/pages/session.py).

The client address every rate limit keys on and the scheme the pages' cookies follow come
from the proxies of CATALOGUE_TRUSTED_PROXIES only: without one a rotating X-Forwarded-For
gets no client more reports; with one, two clients behind it have a limit each. A CSRF
cookie that is not a token is replaced, never echoed. Sign-out, a revoked and a deleted
key end a session in another process (`catalogue serve`) and after a restart; expired
sessions are refused and pruned. Migration 0016 up and down. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, delete, inspect, select, update
from sqlmodel import Session

from app.config import get_settings
from app.db import for_writing, normalise_url
from app.dbtypes import utcnow
from app.http import rate_limits
from app.http.readpath import ReadPath
from app.migrate import downgrade, upgrade
from app.security import ApiKey, KeySession, create_key, revoke_key
from tests.conftest import Keys, _postgres_database, app_on
from tests.corrections.test_corrections import item_with_windows
from tests.helpers import API, committing_app
from tests.pages.test_pages import HARBIN, PASSPORT, _code, _html, csrf_of, sign_in
from tests.serve_support import database_url, served

PROXY = "10.0.0.2"
XFF = "X-Forwarded-For"
XFP = "X-Forwarded-Proto"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets CATALOGUE_* settings for the test (and a short tarpit: refusals answer fast)."""
    names: list[str] = []
    monkeypatch.setattr(rate_limits, "TARPIT_SECONDS", 0.01)

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"CATALOGUE_{name.upper()}", value)
            names.append(f"CATALOGUE_{name.upper()}")
        get_settings.cache_clear()

    yield set_
    for name in names:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()


# --- the client behind the proxy ------------------------------------------------------------


def _report(client: TestClient, code: str, headers: dict[str, str]) -> int:
    body = {"text": "电话打不通"}
    return client.post(f"{API}/items/{code}/corrections", json=body, headers=headers).status_code


def _page_report(client: TestClient, code: str, headers: dict[str, str]) -> int:
    token = csrf_of(_html(client.get(f"/items/{code}/correction", headers=headers)))
    form = {"csrf": token, "text": "电话打不通"}
    resp = client.post(
        f"/items/{code}/correction", data=form, headers=headers, follow_redirects=False
    )
    return 201 if resp.status_code == 303 else resp.status_code


def _click(client: TestClient, code: str, headers: dict[str, str]) -> int:
    resp = client.post(f"{API}/search/clicks", json={"q": "护照", "code": code}, headers=headers)
    return 201 if resp.status_code == 204 else resp.status_code


SENDS = {"api-correction": _report, "page-correction": _page_report, "search-click": _click}


@pytest.mark.parametrize("send", SENDS)
def test_no_trusted_proxy_a_rotating_x_forwarded_for_gets_no_more(
    session: Session, settings: Any, send: str
) -> None:
    settings(corrections_rate="2/minute", search_clicks_rate="2/minute", trusted_proxies="")
    code = item_with_windows(session).code
    with TestClient(app_on(session), client=("127.0.0.1", 40000)) as client:
        statuses = [
            SENDS[send](client, code, {XFF: f"198.51.100.{n}", XFP: "https"}) for n in range(5)
        ]
    assert statuses == [201, 201, 429, 429, 429]


@pytest.mark.parametrize("send", SENDS)
def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    session: Session, settings: Any, send: str
) -> None:
    settings(
        corrections_rate="2/minute", search_clicks_rate="2/minute", trusted_proxies="10.0.0.0/24"
    )
    code = item_with_windows(session).code
    app = app_on(session)
    with TestClient(app, client=(PROXY, 40000)) as proxy:
        first = [SENDS[send](proxy, code, {XFF: "203.0.113.1"}) for _ in range(3)]
        # what the first client writes itself is left of what the proxy appended
        forged = SENDS[send](proxy, code, {XFF: "198.51.100.7, 203.0.113.1"})
        # the second client's limit is untouched by the first's
        second = [SENDS[send](proxy, code, {XFF: "203.0.113.2"}) for _ in range(3)]
    assert (first, forged, second) == ([201, 201, 429], 429, [201, 201, 429])
    with TestClient(app, client=("192.0.2.50", 40000)) as direct:
        # a peer that is no trusted proxy is itself the client, whatever it forwards
        assert SENDS[send](direct, code, {XFF: "203.0.113.3"}) == 201
    with TestClient(app, client=(PROXY, 40000)) as proxy:
        assert SENDS[send](proxy, code, {XFF: "203.0.113.3"}) == 201
        assert SENDS[send](proxy, code, {XFF: "203.0.113.3"}) == 201
        assert SENDS[send](proxy, code, {XFF: "203.0.113.3"}) == 429


def _set_cookies(resp: Any) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in resp.headers.get_list("set-cookie")}


def test_https_at_a_trusted_proxy_makes_every_cookie_secure(
    session: Session, settings: Any, keys: Keys, passport: str
) -> None:
    settings(trusted_proxies="10.0.0.0/24")
    https = {XFF: "203.0.113.1", XFP: "https"}
    key = keys.editor(passport[:18])["Authorization"].removeprefix("Bearer ")
    app = app_on(session)
    for peer, secure in ((PROXY, True), ("192.0.2.50", False)):
        with TestClient(app, client=(peer, 40000)) as client:
            page = client.get("/?lang=zh-Hant&region=230100", headers=https)
            cookies = _set_cookies(page)
            assert set(cookies) == {"sc_csrf", "sc_lang", "sc_region"}, cookies
            token = cookies["sc_csrf"].split(";")[0].removeprefix("sc_csrf=")
            login = client.post(
                "/editor/login",
                data={"csrf": token, "key": key},
                headers={**https, "Cookie": f"sc_csrf={token}"},
                follow_redirects=False,
            )
            assert login.status_code == 303, login.text
            cookies |= _set_cookies(login)
            for header in cookies.values():
                assert ("; secure" in header.lower()) is secure, (peer, header)
                assert "httponly" in header.lower() and "samesite" in header.lower(), header
    # the same over a plain connection from the proxy: not Secure (a browser would drop it)
    with TestClient(app, client=(PROXY, 40000)) as client:
        plain = client.get("/", headers={XFF: "203.0.113.1", XFP: "http"})
        assert "secure" not in _set_cookies(plain)["sc_csrf"].lower()


HOSTILE = '"><script>alert(1)</script><b x="'


def test_a_hostile_csrf_cookie_is_replaced_never_echoed(session: Session, passport: str) -> None:
    with TestClient(app_on(session)) as client:
        for path in (f"/items/{passport}", f"/items/{passport}/correction", "/editor"):
            resp = client.get(path, headers={"Cookie": f"sc_csrf={HOSTILE}"})
            html = _html(resp)
            assert "<script>alert(1)" not in html and "alert(1)" not in html, path
            token = csrf_of(html)
            assert re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token)
            # a new cookie is issued with the token the form carries
            assert _set_cookies(resp)["sc_csrf"].startswith(f"sc_csrf={token};")
        # the hostile value sent as both cookie and field is no token: 403, not a report
        refused = client.post(
            f"/items/{passport}/correction",
            data={"csrf": HOSTILE, "text": "电话打不通"},
            headers={"Cookie": f"sc_csrf={HOSTILE}"},
        )
        assert refused.status_code == 403 and "alert(1)" not in refused.text
        # a token that is not ASCII is refused the same way (not a 500)
        odd = client.post(
            f"/items/{passport}/correction",
            data={"csrf": "令牌" * 12, "text": "电话打不通"},
            headers={"Cookie": f"sc_csrf={'a' * 32}"},
        )
        assert odd.status_code == 403


# --- sessions that end ------------------------------------------------------------------


def _editor_key(engine: Engine, name: str) -> str:
    with Session(for_writing(engine)) as db:
        code = _code(db, PASSPORT, HARBIN)
        secret = create_key(db, name=name, role="editor", departments=[code[:18]])
        db.commit()
    return secret


def _signed_in(client: httpx.Client | TestClient) -> bool:
    resp = client.get("/editor")
    assert resp.status_code in (200, 401), resp.text[:500]
    return "editor/login" not in resp.text


def _sign_in_over_http(client: httpx.Client, secret: str) -> None:
    login = client.get("/editor")
    resp = client.post("/editor/login", data={"csrf": csrf_of(login.text), "key": secret})
    assert resp.status_code in (200, 303), resp.text[:500]


def _sign_out(client: httpx.Client | TestClient) -> None:
    home = client.get("/editor").text
    out = client.post("/editor/logout", data={"csrf": csrf_of(home)}, follow_redirects=False)
    assert out.status_code == 303


def test_sign_out_ends_the_session_in_another_process_and_after_a_restart(
    own_engine: Engine, tmp_path: Path
) -> None:
    secret = _editor_key(own_engine, "editor-sessions")
    app = committing_app(own_engine, ReadPath(own_engine))
    with served(database_url(own_engine), tmp_path) as base, httpx.Client(base_url=base) as other:
        with TestClient(app) as here:
            sign_in(here, {"Authorization": f"Bearer {secret}"})
            cookie = here.cookies["sc_session"]
            other.cookies.set("sc_session", cookie, path="/editor")
            assert _signed_in(here) and _signed_in(other)  # one session, both processes
            _sign_out(here)
        assert not _signed_in(other)  # signed out here: refused by the other worker
        # and the other way round: signed in and out over there, refused here
        other.cookies.clear()
        _sign_in_over_http(other, secret)
        assert _signed_in(other)
        cookie = other.cookies["sc_session"]
        with TestClient(app) as here:
            here.cookies.set("sc_session", cookie, path="/editor")
            assert _signed_in(here)
            _sign_out(other)
            assert not _signed_in(here)
    # a restart: a new app on the same database knows neither session
    with TestClient(committing_app(own_engine, ReadPath(own_engine))) as restarted:
        restarted.cookies.set("sc_session", cookie, path="/editor")
        assert not _signed_in(restarted)
    with Session(own_engine) as db:
        assert db.execute(select(KeySession)).all() == []


def test_revoking_or_deleting_the_key_ends_its_sessions(
    session: Session, keys: Keys, passport: str
) -> None:
    app = app_on(session)
    for end in ("revoke", "delete"):
        headers = keys.editor(passport[:18])
        with TestClient(app) as client:
            sign_in(client, headers)
            assert _signed_in(client)
            prefix = headers["Authorization"].split("_")[1]
            key_id, name = session.execute(
                select(ApiKey.id, ApiKey.name).where(ApiKey.prefix == prefix)
            ).one()
            assert session.execute(select(KeySession).where(KeySession.key_id == key_id)).all()
            if end == "revoke":
                revoke_key(session, name)
            else:
                session.execute(delete(ApiKey).where(ApiKey.id == key_id))  # type: ignore[arg-type]
            session.commit()
            assert not _signed_in(client), end
            # the rows went with the key (revoked: deleted; deleted: the cascade)
            assert not session.execute(
                select(KeySession).where(KeySession.key_id == key_id)
            ).all(), end


def test_an_expired_session_is_refused_and_pruned(
    session: Session, keys: Keys, passport: str
) -> None:
    headers = keys.editor(passport[:18])
    with TestClient(app_on(session)) as client:
        sign_in(client, headers)
        assert _signed_in(client)
        session.execute(
            update(KeySession).values(expires_at=utcnow() - timedelta(seconds=1))  # type: ignore[arg-type]
        )
        session.commit()
        # the row says expired although the cookie's signature is still young
        assert not _signed_in(client)
        expired = session.execute(select(KeySession.id)).scalars().all()
        assert len(expired) == 1
    with TestClient(app_on(session)) as client:
        sign_in(client, headers)  # someone signs in: the expired row is pruned
        assert _signed_in(client)
    left = session.execute(select(KeySession.id)).scalars().all()
    assert len(left) == 1 and left[0] not in expired


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0016_up_and_down(backend: str, tmp_path: Path) -> None:
    databases = (
        iter([f"sqlite:///{tmp_path}/m.db"]) if backend == "sqlite" else _postgres_database()
    )
    url = next(databases)
    try:
        upgrade(url, "0016")
        engine = create_engine(normalise_url(url))
        assert {"ix_page_session_key_id", "ix_page_session_expires_at"} <= {
            i["name"] for i in inspect(engine).get_indexes("page_session")
        }
        foreign = inspect(engine).get_foreign_keys("page_session")
        assert [(f["referred_table"], f["options"].get("ondelete")) for f in foreign] == [
            ("api_key", "CASCADE")
        ]
        downgrade(url, "0015")
        assert "page_session" not in inspect(engine).get_table_names()
        upgrade(url, "0016")
        assert "page_session" in inspect(engine).get_table_names()
        engine.dispose()
    finally:
        for _ in databases:  # drops the PostgreSQL database
            pass
