"""A copy built from nothing but a migrated database: `catalogue sync pull` reads the
reference data (regions, code lists), then the feed, which carries every department,
shared material, catalogue entry and implementation, the seed's included. Afterwards the
copy answers byte for byte what the province answers, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app import clock
from app.codes.rules import make_credit_code
from app.migrate import upgrade
from app.security import create_key
from bench.common import server
from tests.conftest import _postgres_database, build_database
from tests.helpers import run_cli

API = "/api/v1"


class Source:
    """The province: seeded, then edited through the API, served by uvicorn."""

    def __init__(self, url: str, client: httpx.Client, admin: str) -> None:
        self.url, self.client = url, client
        self.admin = {"Authorization": f"Bearer {admin}"}

    def write(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        resp = self.client.request(method, f"{API}{path}", headers=self.admin, **kw)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()


def edit_after_the_seed(source: Source) -> None:
    """Changes of every kind the feed carries, made after the seed: a department renamed
    (its items get a version) and one added, an entry added and one revised, an item
    edited and one cancelled."""
    depts = source.client.get(f"{API}/departments", params={"limit": 1000}).json()["items"]
    city = next(d for d in depts if d["level"] == "3")
    source.write(
        "PUT", f"/departments/{city['credit_code']}", json={**city, "name": city["name"] + "本级"}
    )
    source.write(
        "POST",
        "/departments",
        json={
            "credit_code": make_credit_code("1", "1", city["region_code"], "MB999999"),
            "name": "哈尔滨市数据局",
            "region_code": city["region_code"],
            "level": "3",
            "parent_credit_code": None,
        },
    )
    entries = source.client.get(f"{API}/catalogue-entries", params={"limit": 2}).json()["items"]
    source.write(
        "POST",
        "/catalogue-entries",
        json={
            "name": "公共数据开放申请",
            "item_type": entries[0]["item_type"],
            "domain": entries[0]["domain"],
            "legal_basis": entries[0]["legal_basis"],
        },
    )
    revised = {**entries[1], "aliases": [*entries[1]["aliases"], "数据开放"]}
    source.write("PUT", f"/catalogue-entries/{revised['basic_code']}", json=revised)
    items = source.client.get(f"{API}/items", params={"limit": 2}).json()["items"]
    source.write("PATCH", f"/items/{items[0]['code']}", json={"guide": {"visits": 0}})
    source.write(
        "POST",
        f"/items/{items[1]['code']}/cancel",
        json={
            "decision": {"number": "黑政规〔2026〕12号", "title": "关于取消部分政务服务事项的决定"},
            "reason": "取消",
            "effective_date": clock.today().isoformat(),
        },
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    url = f"sqlite:///{tmp_path_factory.mktemp('province') / 'province.db'}"
    # the seeded template's copy and a key made in-process: the CLI this module checks is
    # `sync pull`, and each CLI start costs seconds of imports
    engine = build_database(url)
    with Session(engine) as session:
        secret = create_key(session, name="ops", role="admin")
        session.commit()
    engine.dispose()
    with server(url) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        src = Source(f"http://127.0.0.1:{port}", client, secret)
        edit_after_the_seed(src)
        yield src


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database that was only migrated: no reference data, no seed."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'city.db'}"
        else:
            databases = _postgres_database()
            url = next(databases)
            stack.callback(lambda: next(databases, None))  # drops it
        upgrade(url)  # in-process, as `catalogue migrate` runs it
        yield url


def every_row(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    """Every row of a list, first to last."""
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        resp = client.get(f"{API}{path}", params=params)
        assert resp.status_code == 200, resp.text
        rows += resp.json()["items"]
        params["cursor"] = resp.json()["next_cursor"]
        if not params["cursor"]:
            return rows


def feed(client: httpx.Client) -> list[dict[str, Any]]:
    changes, after = [], 0
    while True:
        page = client.get(f"{API}/changes", params={"after": after, "limit": 1000}).json()
        changes += page["changes"]
        if page["last_seq"] == after:
            return changes
        after = page["last_seq"]


def test_the_feed_holds_every_record_of_the_catalogue_the_seeds_included(
    source: Source,
) -> None:
    c = source.client
    in_feed = {(ch["kind"], ch["code"]) for ch in feed(c)}
    held = {
        ("department", d["credit_code"])
        for d in c.get(f"{API}/departments", params={"limit": 1000}).json()["items"]
    }
    held |= {
        ("material", m["code"])
        for m in c.get(f"{API}/materials", params={"limit": 1000}).json()["items"]
    }
    held |= {
        ("entry", e["basic_code"])
        for e in c.get(f"{API}/catalogue-entries", params={"limit": 1000}).json()["items"]
    }
    held |= {
        ("item", i["code"])
        for i in c.get(f"{API}/sync/digest", params={"items": True}).json()["items"]
    }
    assert len(held) > 500 and in_feed == held
    seeded = c.get(f"{API}/changes", params={"after": 0, "limit": 1}).json()["changes"][0]
    assert seeded["kind"] == "department" and seeded["key"] == "seed"
    assert seeded["record"]["credit_code"]


def test_a_pull_into_a_migrated_database_ends_identical(source: Source, migrated: str) -> None:
    # every version copied (--history): the copy's own feed is compared with the source's
    pulled = run_cli(migrated, "sync", "pull", "--from", source.url, "--batch", "200", "--history")
    assert pulled.returncode == 0, pulled.stderr + pulled.stdout
    assert "digests equal" in pulled.stdout

    again = run_cli(migrated, "sync", "pull", "--from", source.url)
    assert again.returncode == 0 and "applied 0 of 0 changes" in again.stdout, again.stdout

    p = source.client
    with server(migrated) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as city:
        mine, theirs = (x.get(f"{API}/sync/digest", params={"items": True}) for x in (city, p))
        assert mine.content == theirs.content
        codes = [i["code"] for i in theirs.json()["items"]]
        assert len(codes) > 350
        for code in codes:
            here, there = city.get(f"{API}/items/{code}"), p.get(f"{API}/items/{code}")
            assert here.status_code == there.status_code == 200
            assert here.content == there.content, code
        # equal as JSON: an entry's legal basis is JSONB on PostgreSQL, which orders the
        # keys of its objects its own way (the versions in the feed are kept as text)
        for path in ("/departments", "/materials", "/catalogue-entries", "/regions"):
            rows = every_row(p, path)
            assert every_row(city, path) == rows and rows, path
        names = p.get(f"{API}/code-lists").json()
        assert city.get(f"{API}/code-lists").json() == names and len(names) > 10
        for name in names:
            assert city.get(f"{API}/code-lists/{name}").content == (
                p.get(f"{API}/code-lists/{name}").content
            ), name
        # the copy's own feed is the province's: a copy of the copy is the same again
        assert feed(city) == feed(p)
        assert city.get("/readyz").status_code == 200
