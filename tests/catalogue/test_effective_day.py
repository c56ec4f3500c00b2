"""The day a decision takes effect is an event everyone sees (SQLite and PostgreSQL, the
clock moved with ``clock.frozen``, never slept): a cancellation, a suspension, a merge and a
delegation with its acceptance, decided ahead, each get one version (``takes_effect``) and
one feed entry on their day in the province, not before; the item's ETag changes from
midnight on (a 304 for the old tag would keep 在用 in caches), search, ``/adjustments`` and
the digest follow; a duty started late records day by day in date order; a leader that dies
mid-batch loses and doubles nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app import clock
from app.catalogue.effective import Effects
from app.config import get_settings
from app.db import make_engine
from app.http.responses import http_date
from app.versionlog import RecordVersion
from tests.catalogue.test_lifecycle import city_departments, decision, provincial_item
from tests.effective_support import World, active_items, days_of
from tests.helpers import API, run_cli

pytest_plugins = ["tests.effective_support"]


def search_statuses(world: World, name: str, code: str) -> dict[str, str]:
    """The status each status filter finds ``code`` under when searching its name."""
    found = {}
    for status in ("1", "2", "3", "6"):
        resp = world.client.get(f"{API}/search", params={"q": name, "status": status, "limit": 50})
        assert resp.status_code == 200, resp.text
        for hit in resp.json()["hits"]:
            if hit["code"] == code:
                found[status] = hit["status"]
    return found


def test_each_decision_is_recorded_once_on_its_day_and_everything_follows(
    world: World, start: datetime
) -> None:
    cancelled, suspended, merged, survivor = active_items(world.engine, "4", 4)
    with Session(world.engine) as session:
        province = provincial_item(session)
        cities = city_departments(session, province.basic_code)[:2]
    day = clock.today() + timedelta(days=10)
    handover = day + timedelta(days=5)
    world.decide(cancelled.code, "cancel", day)
    world.decide(suspended.code, "suspend", day)
    world.decide(merged.code, "merge", day, into=survivor.code)
    receiving = world.decide(
        province.code,
        "delegate",
        day,
        mode="delegate",
        handover_date=handover.isoformat(),
        to=[{"department": d.credit_code, "region": d.region_code} for d in cities],
    )["created"]
    world.decide(receiving[0], "accept", clock.today())
    duty = Effects(world.engine)
    assert duty.run_once() == 0
    before = world.item(cancelled.code)
    version = before.json()["version"]
    assert before.headers["etag"] == f'"{version}"' and before.json()["status"] == "1"
    head, digest = world.head(), world.digest()
    name = before.json()["name"]
    assert search_statuses(world, name, cancelled.code) == {"1": "1"}

    with clock.frozen(clock.start_of(day) - timedelta(seconds=30)) as move:
        # the last seconds of the day before, in the province: nothing yet, and caches may
        # keep the representation no longer than until midnight
        assert duty.run_once() == 0
        last = world.item(cancelled.code)
        assert last.json()["status"] == "1" and last.headers["etag"] == f'"{version}"'
        assert last.headers["cache-control"] == "public, max-age=30, stale-while-revalidate=0"
        assert world.head() == head

        # midnight: before the duty has run, the state read is computed, with a tag of its
        # own; the version's tag no longer answers 304
        move(clock.start_of(day))
        computed = world.item(cancelled.code, **{"If-None-Match": f'"{version}"'})
        assert computed.status_code == 200 and computed.json()["status"] == "3"
        assert computed.json()["version"] == version
        assert computed.headers["etag"] == f'"{version}.{day:%Y%m%d}"'
        assert computed.headers["last-modified"] == http_date(clock.start_of(day))
        assert (
            world.item(cancelled.code, **{"If-None-Match": computed.headers["etag"]}).status_code
            == 304
        )

        assert duty.run_once() == 3
        assert duty.run_once() == 0  # exactly once
        entries = world.changes_after(head)
        assert [(c["code"], c["operation"], c["event"]) for c in entries] == sorted(
            [
                (cancelled.code, "takes_effect", "cancel"),
                (suspended.code, "takes_effect", "suspend"),
                (merged.code, "takes_effect", "merge"),
            ]
        )
        for c in entries:
            assert c["effective_date"] == day.isoformat() and c["decision"] == decision()
            assert (
                c["version"] == c["item"]["version"] and c["item"] == world.item(c["code"]).json()
            )
        assert {c["code"]: c["item"]["status"] for c in entries} == {
            cancelled.code: "3",
            suspended.code: "2",
            merged.code: "6",
        }

        now = world.item(cancelled.code)
        assert now.json()["version"] == version + 1 and now.headers["etag"] == f'"{version + 1}"'
        assert now.json()["upcoming"] == [] and now.json()["lifecycle"]["event"] == "cancel"
        for old in (f'"{version}"', computed.headers["etag"]):
            assert world.item(cancelled.code, **{"If-None-Match": old}).status_code == 200
        assert (
            world.item(cancelled.code, **{"If-None-Match": f'"{version + 1}"'}).status_code == 304
        )
        assert world.digest() != digest

        meta = world.client.get(f"{API}/items/{cancelled.code}/versions").json()["items"][-1]
        assert (meta["event"], meta["key"], meta["channel"]) == (
            "takes_effect",
            "scheduler",
            "schedule",
        )
        assert meta["details"]["event"] == "cancel" and meta["details"]["status"] == "3"

        listed = world.client.get(f"{API}/adjustments", params={"since": day.isoformat()}).json()[
            "items"
        ]
        assert {(a["code"], a["event"], a["details"]["event"]) for a in listed} == {
            (cancelled.code, "takes_effect", "cancel"),
            (suspended.code, "takes_effect", "suspend"),
            (merged.code, "takes_effect", "merge"),
        }
        only = world.client.get(
            f"{API}/adjustments", params={"since": day.isoformat(), "type": "cancel"}
        ).json()["items"]
        assert [(a["code"], a["event"]) for a in only] == [(cancelled.code, "takes_effect")]

        with Session(world.engine) as session:
            world.indexer.catch_up(session)
        assert search_statuses(world, name, cancelled.code) == {"3": "3"}

        # the delegation takes effect on the handover day: the delegating item hands over,
        # the receiving item that accepted takes cases, the other stays pending
        assert world.item(province.code).json()["status"] == "1"
        move(clock.start_of(handover))
        head = world.head()
        assert duty.run_once() == 2
        entries = world.changes_after(head)
        assert sorted((c["code"], c["event"], c["item"]["status"]) for c in entries) == sorted(
            [(province.code, "delegate", "5"), (receiving[0], "accept", "1")]
        )
        assert all(c["effective_date"] == handover.isoformat() for c in entries)
        assert world.item(receiving[1]).json()["status"] == "4"
        assert days_of(world.engine, receiving[1]) == []


@pytest.fixture
def shanghai(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default province's time zone, whatever the environment says."""
    monkeypatch.setenv("CATALOGUE_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_day_turns_at_midnight_in_the_province_not_in_utc(shanghai: None, world: World) -> None:
    with clock.frozen(datetime(2026, 12, 31, 15, 59, tzinfo=UTC)) as move:
        assert clock.today() == date(2026, 12, 31)
        move(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
        assert clock.today() == date(2027, 1, 1)
    assert clock.start_of(date(2027, 1, 1)) == datetime(2026, 12, 31, 16, tzinfo=UTC)

    (item,) = active_items(world.engine, "4", 1)
    day = clock.today() + timedelta(days=3)
    world.decide(item.code, "cancel", day)
    duty = Effects(world.engine)
    midnight = clock.start_of(day)
    assert midnight == datetime.combine(day - timedelta(days=1), time(16), UTC)
    with clock.frozen(midnight - timedelta(seconds=1)) as move:
        assert duty.run_once() == 0 and world.item(item.code).json()["status"] == "1"
        move(midnight)
        assert clock.now().date() == day - timedelta(days=1)  # still the day before in UTC
        assert duty.run_once() == 1 and world.item(item.code).json()["status"] == "3"
        assert [(e, on) for _, e, on, _ in days_of(world.engine, item.code)] == [("cancel", day)]


def test_a_write_in_the_first_minutes_records_the_day_first(world: World) -> None:
    (item,) = active_items(world.engine, "4", 1)
    day = clock.today() + timedelta(days=4)
    world.decide(item.code, "suspend", day)
    current = world.item(item.code).json()
    version, visits = current["version"], (current["guide"]["visits"] + 1) % 3
    with clock.frozen(clock.start_of(day) + timedelta(seconds=5)):
        # the version read before midnight is no longer the representation: 412
        stale = world.client.patch(
            f"{API}/items/{item.code}",
            json={"guide": {"visits": visits}},
            headers={**world.admin, "If-Match": f'"{version}"'},
        )
        assert stale.status_code == 412
        head = world.head()
        written = world.client.patch(
            f"{API}/items/{item.code}", json={"guide": {"visits": visits}}, headers=world.admin
        )
        assert written.status_code == 200, written.text
        assert written.json()["version"] == version + 2
        entries = world.changes_after(head)
        assert [(c["version"], c["operation"], c["event"]) for c in entries] == [
            (version + 1, "takes_effect", "suspend"),
            (version + 2, "revise", "revise"),
        ]
        assert Effects(world.engine).run_once() == 0


def test_a_duty_started_ten_days_late_records_day_by_day_in_date_order(world: World) -> None:
    a, b, c, survivor = active_items(world.engine, "4", 4)
    base = clock.today() + timedelta(days=3)
    world.decide(a.code, "suspend", base + timedelta(days=1))
    world.decide(a.code, "cancel", base + timedelta(days=5))
    world.decide(b.code, "cancel", base + timedelta(days=3))
    world.decide(c.code, "merge", base + timedelta(days=2), into=survivor.code)
    head = world.head()
    with clock.frozen(clock.start_of(base + timedelta(days=10)) + timedelta(hours=3)):
        assert Effects(world.engine, batch=2).run_once() == 4
        entries = world.changes_after(head)
    assert [(c_["code"], c_["event"], c_["effective_date"]) for c_ in entries] == [
        (a.code, "suspend", (base + timedelta(days=1)).isoformat()),
        (c.code, "merge", (base + timedelta(days=2)).isoformat()),
        (b.code, "cancel", (base + timedelta(days=3)).isoformat()),
        (a.code, "cancel", (base + timedelta(days=5)).isoformat()),
    ]
    first, second = entries[0]["item"], entries[3]["item"]
    assert (first["status"], second["status"]) == ("2", "3")
    assert second["version"] == first["version"] + 1
    # each day's version is the state on that day, not today's
    assert [u["event"] for u in first["upcoming"]] == ["cancel"] and second["upcoming"] == []


def _due_items(world: World, n: int) -> tuple[list[str], date]:
    items = active_items(world.engine, "4", n)
    day = clock.today() + timedelta(days=6)
    for item in items:
        world.decide(item.code, "cancel", day)
    return [i.code for i in items], day


def _recorded(engine: Engine, codes: list[str]) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(
            select(RecordVersion.code, func.count())
            .where(
                RecordVersion.kind == "item",
                RecordVersion.code.in_(codes),  # type: ignore[attr-defined]
                RecordVersion.event == "takes_effect",
            )
            .group_by(RecordVersion.code)
        ).all()
    return dict(rows)


class Died(Exception):
    pass


def test_a_leader_that_dies_mid_batch_loses_and_doubles_nothing(world: World, db_url: str) -> None:
    codes, day = _due_items(world, 5)
    url = world.engine.url.render_as_string(hide_password=False)
    first_engine, second_engine = make_engine(url), make_engine(url)

    def die(session: Session, rows: list[dict[str, Any]]) -> None:
        assert rows  # written, not committed: the process goes away here
        raise Died

    first = Effects(first_engine, batch=2, on_batch=die)
    second = Effects(second_engine, batch=2)
    try:
        with clock.frozen(clock.start_of(day) + timedelta(seconds=1)):
            assert first.lead() and not second.lead()  # one process leads
            with pytest.raises(Died):
                first.run_once()
            assert _recorded(world.engine, codes) == {}  # the batch rolled back
            first.leadership.release()  # its connection (or lock file) gone with it
            first_engine.dispose()
            assert second.lead()
            assert second.run_once() == 5
            restarted = Effects(make_engine(url))
            assert restarted.run_once() == 0
            restarted.engine.dispose()
        assert _recorded(world.engine, codes) == dict.fromkeys(codes, 1)
    finally:
        second.leadership.release()
        first_engine.dispose()
        second_engine.dispose()


def test_two_duties_at_once_record_each_day_once(world: World) -> None:
    codes, day = _due_items(world, 6)
    url = world.engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(2)]
    totals: list[int] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(2)

    def run(engine: Engine) -> None:
        try:
            gate.wait()
            totals.append(Effects(engine, batch=1).run_once())
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    try:
        with clock.frozen(clock.start_of(day) + timedelta(seconds=1)):
            threads = [threading.Thread(target=run, args=(e,)) for e in engines]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        assert not errors, errors
        assert sum(totals) == 6
        assert _recorded(world.engine, codes) == dict.fromkeys(codes, 1)
    finally:
        for e in engines:
            e.dispose()


def test_the_command_steps_aside_while_another_process_leads(world: World) -> None:
    url = world.engine.url.render_as_string(hide_password=False)
    leader = Effects(world.engine)
    assert leader.lead()
    try:
        aside = run_cli(url, "effects", "--once")
        assert aside.returncode == 0, aside.stderr
        assert "another process records scheduled effects now" in aside.stdout
    finally:
        leader.leadership.release()
    alone = run_cli(url, "effects", "--once")
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.strip() == "recorded 0 days of scheduled events"
