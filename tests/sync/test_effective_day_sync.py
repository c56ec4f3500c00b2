"""The day a decision takes effect, downstream (SQLite and PostgreSQL, the clock moved with
``clock.frozen``): a webhook subscriber receives the ``takes_effect`` entry naming the
event, and a mirror pulled before and after the day (``catalogue sync pull``'s
``mirror.pull``) ends with the source's digest and byte-identical items, recording no day of
its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app import clock
from app.catalogue.effective import Effects
from app.db import for_writing, make_engine
from app.http.readpath import ReadPath
from app.migrate import upgrade
from app.search.indexer import wait_for
from app.sync import mirror
from tests.catalogue.test_lifecycle import decision
from tests.conftest import _postgres_database
from tests.effective_support import World, active_items
from tests.helpers import API, committing_app
from tests.webhook_support import Receiver, allowing, dispatching, subscribe

pytest_plugins = ["tests.effective_support", "tests.webhook_support"]


@pytest.fixture
def empty_engine(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database that was only migrated (the mirror), of the kind of ``db_url``."""
    databases = (
        iter([f"sqlite:///{tmp_path_factory.mktemp('mirror') / 'mirror.db'}"])
        if db_url.startswith("sqlite")
        else _postgres_database()
    )
    url = next(databases)
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    for _ in databases:  # drops the PostgreSQL database
        pass


def through(client: TestClient) -> httpx.MockTransport:
    """An httpx transport answered by the source app in this process (its clock frozen
    with the test's)."""

    def answer(request: httpx.Request) -> httpx.Response:
        got = client.request(
            request.method,
            request.url.raw_path.decode(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            content=request.content,
        )
        headers = {
            k: v
            for k, v in got.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        }
        return httpx.Response(got.status_code, headers=headers, content=got.content)

    return httpx.MockTransport(answer)


def test_a_mirror_across_the_day_ends_equal_and_byte_identical(
    world: World, empty_engine: Engine, tmp_path: Path
) -> None:
    cancelled, merged, survivor = active_items(world.engine, "4", 3)
    day = clock.today() + timedelta(days=7)
    world.decide(cancelled.code, "cancel", day)
    world.decide(merged.code, "merge", day, into=survivor.code)

    def pull() -> dict[str, object]:
        return mirror.pull(
            lambda: Session(for_writing(empty_engine)),
            "http://testserver",
            transport=through(world.client),
            history=True,  # the scheduled decisions' versions too: the day is computed
        )

    assert pull()["equal"]
    copy = committing_app(empty_engine, ReadPath(empty_engine, keep=2, most=2))
    codes = [cancelled.code, merged.code, survivor.code]
    with TestClient(copy) as local:

        def same() -> None:
            for code in codes:
                theirs = world.item(code)
                ours = local.get(f"{API}/items/{code}", headers={"Accept-Encoding": "identity"})
                assert ours.content == theirs.content
                assert ours.headers["etag"] == theirs.headers["etag"]

        same()
        with clock.frozen(clock.start_of(day) + timedelta(seconds=2)):
            same()  # both compute the day's state from the same log, with the same tag
            assert Effects(empty_engine).run_once() == 0  # a mirror records no day itself
            assert Effects(world.engine).run_once() == 2
            result = pull()
            assert result["equal"] and result["applied"] == 2
            same()
            assert local.get(f"{API}/items/{cancelled.code}").json()["status"] == "3"
            mine = local.get(f"{API}/changes", params={"after": 0, "limit": 1000})
            last = mine.json()["head_seq"]
            tail = local.get(f"{API}/changes", params={"after": last - 2}).json()["changes"]
            theirs = world.changes_after(world.head() - 2)
            for ours_, source in zip(tail, theirs, strict=True):
                assert {k: v for k, v in ours_.items() if k != "seq"} == {
                    k: v for k, v in source.items() if k != "seq"
                }
            assert local.get(f"{API}/sync/digest").json()["hash"] == world.digest()
    copy.state.snapshots.close()


def test_a_subscriber_hears_of_the_day_once(
    world: World,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    (item,) = active_items(world.engine, "4", 1)
    day = clock.today() + timedelta(days=5)
    world.decide(item.code, "suspend", day)
    with allowing(monkeypatch, "127.0.0.1"):
        sub = subscribe(world.client, world.admin, receiver.url)  # from the head on
    head = world.head()
    assert sub["last_delivered_seq"] == head
    with (
        dispatching(world.engine),
        clock.frozen(clock.start_of(day) - timedelta(seconds=1)) as move,
    ):
        assert Effects(world.engine).run_once() == 0
        move(clock.start_of(day))
        assert Effects(world.engine).run_once() == 1
        assert wait_for(lambda: receiver.last_seq() > head)
    heard = [c for c in receiver.accepted_changes() if c["seq"] > head]
    assert [(c["code"], c["operation"], c["event"]) for c in heard] == [
        (item.code, "takes_effect", "suspend")
    ]
    assert heard[0]["effective_date"] == day.isoformat() and heard[0]["decision"] == decision()
    assert heard[0]["item"]["status"] == "2"
