"""Every webhook delivery carries the feed's epoch, as GET /changes does, and a
subscription of a region moves past the changes of other regions (a filtered batch that
holds nothing advances its cursor to the head it read). A real receiver, the dispatcher in a
thread (tests/webhook_support.py)."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from tests.helpers import API
from tests.webhook_support import (
    Receiver,
    dispatching,
    head,
    key,
    live_codes,
    make_changes,
    sub_of,
    subscribe,
    until,
)

pytest_plugins = ["tests.webhook_support"]


def test_deliveries_carry_the_epoch_and_a_region_passes_the_others(
    api: TestClient, hook_engine: Engine, receiver: Receiver
) -> None:
    admin = key(hook_engine, "admin")
    epoch = api.get(f"{API}/changes", params={"limit": 1}).json()["epoch"]
    everything = subscribe(api, admin, receiver.url)
    harbin = subscribe(api, admin, receiver.url, region="2301")
    with Session(hook_engine) as session:
        outside = session.execute(
            select(Implementation.code).where(
                ~Implementation.region_code.startswith("2301"),  # type: ignore[attr-defined]
                Implementation.status == "1",
            )
        ).scalar()
    assert outside
    make_changes(api, admin, live_codes(hook_engine, 3), 3)
    make_changes(api, admin, [outside], 2)
    top = head(api)
    with dispatching(hook_engine):
        until(lambda: receiver.last_seq() == top, "the unfiltered subscription's batches")
        until(
            lambda: sub_of(api, admin, harbin["id"])["last_delivered_seq"] == top,
            "the region's cursor at the head",
        )
    bodies = [orjson.loads(body) for _, _, body in receiver.requests]
    assert bodies and all(b["epoch"] == epoch for b in bodies)
    assert sub_of(api, admin, everything["id"])["last_delivered_seq"] == top
