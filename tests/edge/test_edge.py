"""Safe at the edge: each class of hole found by trying the API as an attacker and as a
careless client would, on SQLite and PostgreSQL. Every refusal is asserted with its status,
its problem type and that nothing was written (row counts and the feed's head unchanged)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app import clock
from app.catalogue.models import Implementation
from app.codes.rules import implementation_code
from app.directory.models import Department
from tests.conftest import Keys, department_at
from tests.helpers import API, counts, error_at, new_item_body, problem, writable

TODAY = clock.today()
PROBLEMS = "https://service-catalogue.example/problems/"


def _event(**extra: Any) -> dict[str, Any]:
    return {
        "decision": {"number": "黑政规〔2026〕9号", "title": "关于调整行政权力事项的决定"},
        "reason": "测试",
        "effective_date": TODAY.isoformat(),
        **extra,
    }


def _item(session: Session, level: str | None = None) -> Implementation:
    query = select(Implementation).where(Implementation.status == "1")
    if level:
        query = query.where(Implementation.level == level)
    return session.execute(query.order_by(Implementation.code)).scalars().first()


def _head(client: TestClient) -> int:
    return client.get(f"{API}/changes", params={"limit": 1}).json()["head_seq"]


@pytest.fixture
def unchanged(client: TestClient, session: Session) -> Iterator[None]:
    """The test's refusals leave every table and the feed as they were."""
    before, head = counts(session), _head(client)
    yield
    assert counts(session) == before
    assert _head(client) == head


# --- 1. the key before the body; limits -------------------------------------------


def test_no_key_is_refused_before_the_body_is_read(client: TestClient, unchanged: None) -> None:
    # a malformed body of 2 MB: without a key the answer is 401, not 413 nor 422
    body = problem(
        client.post(
            f"{API}/items", content=b"{" * (2 << 20), headers={"content-type": "application/json"}
        ),
        401,
    )
    assert body["type"] == PROBLEMS + "unauthorized"
    problem(client.post(f"{API}/sync/items", content=b"{}\n" * 1000), 401)


def test_bodies_over_the_limit_are_413(client: TestClient, keys: Keys, unchanged: None) -> None:
    admin = {**keys.admin(), "content-type": "application/json"}
    body = problem(
        client.post(f"{API}/items", content=b" " * (1 << 20) + b"{}", headers=admin), 413
    )
    assert body["type"] == PROBLEMS + "too-large" and body["limit"] == 1 << 20
    ndjson = {**admin, "content-type": "application/x-ndjson"}
    problem(client.post(f"{API}/sync/items", content=b"{}\n" * (7 << 20), headers=ndjson), 413)
    # within the bulk limit but more items than a batch holds: counted before parsing
    many = problem(client.post(f"{API}/sync/items", content=b"{}\n" * 1001, headers=ndjson), 422)
    assert error_at(many, ["body"])["type"] == "bulk.size"


# --- 2. NUL and other text the databases or readers must never see ------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("居民\x00身份证", "text.nul"),
        ("\x1b[31m红色\x1b[0m", "text.control"),
        ("证件\u202e件证", "text.bidi"),
        ("身份\u200b证", "text.invisible"),
        ("两行\n名称", "text.line_break"),
    ],
)
def test_text_policy_refuses_with_the_path_and_rule(
    client: TestClient, session: Session, keys: Keys, unchanged: None, text: str, rule: str
) -> None:
    item = _item(session)
    headers = keys.admin()
    body = writable(client, item.code)
    body["materials"][0]["name"] = text
    resp = problem(client.put(f"{API}/items/{item.code}", json=body, headers=headers), 422)
    assert error_at(resp, ["body", "materials", 0, "name"])["type"] == rule
    # the same text in a bulk write is a rejected item, its path starting with its index
    bulk = client.post(f"{API}/sync/items", json=[body], headers=headers).json()
    assert bulk["rejected"] == 1
    assert bulk["items"][0]["errors"][0]["loc"] == [0, "materials", 0, "name"]
    assert bulk["items"][0]["errors"][0]["type"] == rule


def test_multi_line_text_keeps_line_breaks_and_is_stored_nfc(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    body = writable(client, item.code)
    decomposed = unicodedata.normalize("NFD", "Café 须知")
    body["guide"]["conditions"][0] = "第一条\r\n第二条\t" + decomposed
    resp = client.put(f"{API}/items/{item.code}", json=body, headers=keys.admin())
    assert resp.status_code == 200, resp.text
    stored = client.get(f"{API}/items/{item.code}").json()["guide"]["conditions"][0]
    assert stored == "第一条\n第二条\t" + unicodedata.normalize("NFC", decomposed)


@pytest.mark.parametrize(
    "url",
    [
        "/items/%00",
        "/items?region=23%00",
        "/items?%00=1",
        "/changes?region=2301%1b",
        "/search?q=%E2%80%AE%E8%AF%81",
    ],
)
def test_nul_or_controls_in_a_path_or_query_are_422(client: TestClient, url: str) -> None:
    body = problem(client.get(API + url), 422)
    assert body["errors"][0]["type"].startswith("text.")
    assert body["errors"][0]["loc"][0] in ("path", "query")


# --- 3, 4. who decides, and where a delegation goes -----------------------------------

EVENTS = ("cancel", "suspend", "resume", "delegate", "accept", "reclaim", "merge", "split")


@pytest.mark.parametrize("event", EVENTS)
def test_sync_keys_cannot_run_lifecycle_events(
    client: TestClient, session: Session, keys: Keys, unchanged: None, event: str
) -> None:
    item = _item(session)
    body = problem(
        client.post(
            f"{API}/items/{item.code}/{event}",
            json=_event(),
            headers=keys.sync(item.region_code),
        ),
        403,
    )
    assert body["type"] == PROBLEMS + "out-of-scope" and "lifecycle" in body["detail"]


def _city_and_other_county(session: Session) -> tuple[Implementation, Department, Department]:
    """A 哈尔滨 city item, a county body under 哈尔滨 and one under 大庆."""
    item = _item(session, "3")
    assert item.region_code.startswith("2301"), item.region_code
    own = department_at(session, "4", "2301")
    other = department_at(session, "4", "2306")
    return item, own, other


def test_delegation_stays_in_the_delegating_bodys_region(
    client: TestClient, session: Session, keys: Keys, unchanged: None
) -> None:
    item, _, other = _city_and_other_county(session)
    body = problem(
        client.post(
            f"{API}/items/{item.code}/delegate",
            json=_event(
                mode="delegate",
                handover_date=TODAY.isoformat(),
                to=[{"department": other.credit_code, "region": other.region_code}],
            ),
            headers=keys.editor(item.department_code),
        ),
        422,
    )
    assert error_at(body, ["body", "to", 0, "department"])["type"] == "delegation.outside_region"


def test_a_reclaimed_item_is_reinstated_under_its_own_code(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item, own, _ = _city_and_other_county(session)
    editor = keys.editor(item.department_code)
    delegated = client.post(
        f"{API}/items/{item.code}/delegate",
        json=_event(
            mode="delegate",
            handover_date=TODAY.isoformat(),
            to=[{"department": own.credit_code, "region": own.region_code}],
        ),
        headers=editor,
    )
    assert delegated.status_code == 200, delegated.text
    (county_code,) = delegated.json()["created"]
    assert (
        client.post(f"{API}/items/{item.code}/reclaim", json=_event(), headers=editor).status_code
        == 200
    )
    assert client.get(f"{API}/items/{county_code}").json()["status"] == "3"

    # the county body implements the item again: never a new code, never refused forever
    county = keys.editor(own.credit_code)
    body = writable(client, county_code)
    again = problem(client.post(f"{API}/items", json={**body, "code": None}, headers=county), 409)
    assert again["type"] == PROBLEMS + "code-already-issued"
    assert f"/items/{county_code}/reinstate" in again["detail"]
    assert again["status"] == 409 and again["item_status"] == "3"
    back = client.post(f"{API}/items/{county_code}/reinstate", json=_event(), headers=county)
    assert back.status_code == 200, back.text
    assert back.json()["status_after"] == "1"
    doc = client.get(f"{API}/items/{county_code}").json()
    assert doc["status"] == "1" and doc["lifecycle"]["event"] == "reinstate"
    assert implementation_code(own.credit_code, own.level, item.basic_code) == county_code


# --- 5, 6. no 500, no silent empty answer ------------------------------------------


def test_bad_parameters_are_422_naming_them(
    client: TestClient, session: Session, unchanged: None
) -> None:
    code = _item(session).code
    huge = "99999999999999999999"
    cases = {
        f"/changes?after={huge}": ["query", "after"],
        f"/items/{code}/versions/{huge}": ["path", "number"],
        f"/items/{code}/diff?from=1&to={huge}": ["query", "to"],
        f"/items/{code}?as_of=9999-12-31": ["query", "as_of"],
        "/items?as_of=0": ["query", "as_of"],
        f"/items/{code}/versions?cursor=YWJj": ["query", "cursor"],
        "/adjustments?cursor=YWJj": ["query", "cursor"],
        "/items?cursor=%21%21%21%21": ["query", "cursor"],
        "/regions?cursor=@@": ["query", "cursor"],
        "/items?region=999999": ["query", "region"],
        "/items?department=91230000MA00000000": ["query", "department"],
        "/changes?region=999999": ["query", "region"],
        "/sync/digest?region=999999": ["query", "region"],
        "/adjustments?region=999999": ["query", "region"],
        "/adjustments?type=bogus": ["query", "type"],
        "/adjustments?since=0": ["query", "since"],
        "/items?updated_since=0": ["query", "updated_since"],
    }
    for url, loc in cases.items():
        body = problem(client.get(API + url), 422)
        assert error_at(body, loc), url


def test_bulk_items_of_the_wrong_shape_are_rejected_items(
    client: TestClient, keys: Keys, unchanged: None
) -> None:
    headers = {**keys.admin(), "Idempotency-Key": "shape-1"}
    for _ in range(2):  # the retry under the same key answers the same
        resp = client.post(f"{API}/sync/items", json=[{"code": 5}, {}], headers=headers)
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        assert [i["result"] for i in items] == ["rejected", "rejected"]
        assert items[0]["code"] is None
        assert error_at(items[0], [0, "code"])["type"] == "string_type"


def test_a_lone_surrogate_is_refused(client: TestClient, keys: Keys, unchanged: None) -> None:
    resp = client.put(
        f"{API}/synonyms",
        content=b'{"groups": [["\\ud800", "a"]]}',
        headers={**keys.admin(), "content-type": "application/json"},
    )
    assert error_at(problem(resp, 422), ["body", "groups", 0, 0])


# --- 7. sizes -------------------------------------------------------------------------


def test_lists_and_items_have_bounds(
    client: TestClient, session: Session, keys: Keys, unchanged: None
) -> None:
    item = _item(session)
    admin = keys.admin()
    body = writable(client, item.code)
    for n in (10_000, 101):
        body["guide"]["conditions"] = ["条件"] * n
        resp = problem(client.put(f"{API}/items/{item.code}", json=body, headers=admin), 422)
        assert error_at(resp, ["body", "guide", "conditions"])["type"] == "too_long"

    # a new item whose representation would pass 1 MB, sent in a bulk body
    dept = department_at(session, "4")
    big = new_item_body(session, client, dept)
    window = {"name": "窗" * 300, "address": "址" * 300, "hours": "时" * 300, "phone": "1" * 300}
    big["guide"]["windows"] = [window] * 450
    result = client.post(f"{API}/sync/items", json=[big], headers=admin).json()
    assert result["items"][0]["result"] == "rejected"
    assert result["items"][0]["errors"][0]["type"] == "item.too_large"


# --- 9. HTTP semantics ----------------------------------------------------------------


def test_http_semantics(client: TestClient, session: Session, keys: Keys, unchanged: None) -> None:
    item = _item(session)
    admin = keys.admin()
    body = writable(client, item.code)
    body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
    url = f"{API}/items/{item.code}"
    stale = problem(client.put(url, json=body, headers={**admin, "If-Match": '"stale-0"'}), 412)
    assert stale["type"] == PROBLEMS + "stale-version"

    for media, content in (
        ("text/plain", b"hello"),
        ("application/x-www-form-urlencoded", b"a=b"),
        ("application/xml", b"<item/>"),
    ):
        resp = problem(
            client.put(url, content=content, headers={**admin, "content-type": media}), 415
        )
        assert "application/json" in resp["detail"] and "application/json" in resp["accepted"]

    not_allowed = client.delete(url, headers=admin)
    assert not_allowed.status_code == 405
    assert set(not_allowed.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "PUT"}

    lines = orjson.dumps(body) + b"\n" + b'{"code": ' + b"\n"
    bad = problem(
        client.post(
            f"{API}/sync/items",
            content=lines,
            headers={**admin, "content-type": "application/x-ndjson"},
        ),
        422,
    )
    assert error_at(bad, ["body", 1])["msg"].startswith("line 2:")

    # malformed, without a key: 401 first
    problem(client.put(url, content=b"{", headers={"content-type": "application/json"}), 401)


def test_a_refused_change_of_a_cancelled_item_keeps_status_for_http(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    editor = keys.editor(item.department_code)
    cancelled = client.post(f"{API}/items/{item.code}/cancel", json=_event(), headers=editor)
    assert cancelled.status_code == 200, cancelled.text
    refused = problem(
        client.patch(f"{API}/items/{item.code}", json={"guide": {"visits": 1}}, headers=editor),
        409,
    )
    assert refused["status"] == 409 and refused["item_status"] == "3"


# --- 10. what GET returns can be written back ---------------------------------------


def test_get_body_can_be_put_and_patched_back(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    admin = keys.admin()
    url = f"{API}/items/{item.code}"
    doc = client.get(url).json()
    same = client.put(url, json=doc, headers=admin)
    assert same.status_code == 200, same.text
    assert same.json()["version"] == doc["version"]  # unchanged: no new version
    assert client.patch(url, json={"materials": doc["materials"]}, headers=admin).status_code == 200

    edited = dict(doc, guide={**doc["guide"], "visits": (doc["guide"]["visits"] + 1) % 3})
    saved = client.put(url, json=edited, headers=admin)
    assert saved.status_code == 200 and saved.json()["version"] == doc["version"] + 1

    before = counts(session)
    current = client.get(url).json()
    for change, loc in (
        ({"status": "3"}, ["body", "status"]),
        ({"created_at": "2020-01-01T00:00:00Z"}, ["body", "created_at"]),
        (
            {"materials": [dict(current["materials"][0], position=99)]},
            ["body", "materials", 0, "position"],
        ),
    ):
        body = problem(client.put(url, json={**current, **change}, headers=admin), 422)
        assert error_at(body, loc)["type"] == "read_only"
    stale = problem(
        client.put(url, json={**current, "version": doc["version"]}, headers=admin), 412
    )
    assert stale["current_version"] == current["version"]
    assert counts(session) == before


# --- 11. readiness ----------------------------------------------------------------


@pytest.fixture
def unmigrated_app(
    db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app on a database no migration ran on, of the kind of ``db_url``."""
    from app.config import get_settings
    from app.db import get_engine
    from app.main import create_app
    from tests.conftest import _postgres_database

    databases = (
        iter([f"sqlite:///{tmp_path / 'empty.db'}"])
        if db_url.startswith("sqlite")
        else _postgres_database()
    )
    monkeypatch.setenv("CATALOGUE_DATABASE_URL", next(databases))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield client
    finally:
        get_engine().dispose()
        monkeypatch.undo()
        get_settings.cache_clear()
        get_engine.cache_clear()
        for _ in databases:
            pass


def test_an_unmigrated_database_is_not_ready(unmigrated_app: TestClient) -> None:
    assert unmigrated_app.get("/healthz").status_code == 200  # the process is up
    ready = unmigrated_app.get("/readyz")
    assert ready.status_code == 503
    assert "database" in ready.json()["checks"] and ready.json()["checks"]["database"] != "ok"
    resp = unmigrated_app.get(f"{API}/items")
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_entries_and_departments_round_trip_too(
    client: TestClient, session: Session, keys: Keys
) -> None:
    admin = keys.admin()
    item = _item(session)
    for url in (
        f"{API}/catalogue-entries/{item.basic_code}",
        f"{API}/departments/{item.department_code}",
    ):
        doc = client.get(url).json()
        saved = client.put(url, json=doc, headers=admin)
        assert saved.status_code == 200, (url, saved.text)
        current = client.get(url).json()
        changed = problem(
            client.put(url, json={**current, "updated_by": "someone else"}, headers=admin), 422
        )
        assert error_at(changed, ["body", "updated_by"])["type"] == "read_only"
        stale = {**current, "version": current["version"] + 5}
        problem(client.put(url, json=stale, headers=admin), 412)


def test_an_idempotency_key_is_bounded(client: TestClient, keys: Keys, unchanged: None) -> None:
    for bad in ("k" * 201, "a key with spaces"):
        resp = client.post(
            f"{API}/sync/items", json=[], headers={**keys.admin(), "Idempotency-Key": bad}
        )
        assert error_at(problem(resp, 422), ["header", "idempotency-key"])


def test_a_bulk_item_naming_a_code_with_a_nul_is_rejected(
    client: TestClient, keys: Keys, unchanged: None
) -> None:
    # found by schemathesis on PostgreSQL: the unvalidated row's code was looked up
    row = {"department": "000000000000000000", "level": "\x00", "basic_code": "000000000000"}
    resp = client.post(
        f"{API}/sync/items", json=[row, {"code": "A" * 18 + "\x00" * 13}], headers=keys.admin()
    )
    assert resp.status_code == 200, resp.text
    assert [i["result"] for i in resp.json()["items"]] == ["rejected", "rejected"]
