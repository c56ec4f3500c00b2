"""The feed's history identity: every page carries ``epoch``; a position this history never
had (beyond the head, another epoch) is a 410 ``feed-position-unknown`` saying to
re-snapshot; a region-filtered page moves to the head it read up to; ``region`` is a code
or a prefix in every filter, as keys take it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlmodel import Session

from app.catalogue.models import Implementation
from tests.conftest import Keys
from tests.helpers import API

PROBLEM = "https://service-catalogue.example/problems/feed-position-unknown"


def head(client: TestClient) -> dict:
    return client.get(f"{API}/changes", params={"after": 0, "limit": 1}).json()


def test_every_page_carries_the_epoch_and_a_foreign_position_is_a_410(
    client: TestClient, session: Session
) -> None:
    first = head(client)
    epoch, top = first["epoch"], first["head_seq"]
    assert len(epoch) >= 16 and top > 0
    tail = client.get(f"{API}/changes", params={"after": top, "epoch": epoch})
    assert tail.status_code == 200
    assert tail.json() == {"changes": [], "last_seq": top, "head_seq": top, "epoch": epoch}

    beyond = client.get(f"{API}/changes", params={"after": top + 1})
    assert beyond.status_code == 410
    assert beyond.headers["content-type"].startswith("application/problem+json")
    body = beyond.json()
    assert body["type"] == PROBLEM and "snapshot" in body["detail"]
    assert body["head_seq"] == top and body["epoch"] == epoch

    other = client.get(f"{API}/changes", params={"after": 1, "epoch": "f" * 32})
    assert other.status_code == 410 and other.json()["type"] == PROBLEM

    # another instance (a database minted anew) has another epoch: the old one is refused
    session.execute(text("UPDATE feed_epoch SET epoch = 'another-history'"))
    session.flush()
    assert head(client)["epoch"] == "another-history"
    old = client.get(f"{API}/changes", params={"after": 1, "epoch": epoch})
    assert old.status_code == 410


def test_a_region_filtered_page_moves_to_the_head_it_read(
    client: TestClient, session: Session, keys: Keys
) -> None:
    top = head(client)["head_seq"]
    # a change outside 哈尔滨 (2301): the filtered page holds nothing, yet moves on
    outside = session.execute(
        select(Implementation.code).where(~Implementation.region_code.startswith("2301"))  # type: ignore[attr-defined]
    ).scalar()
    assert outside
    visits = client.get(f"{API}/items/{outside}").json()["guide"]["visits"]
    resp = client.patch(
        f"{API}/items/{outside}",
        json={"guide": {"visits": (visits + 1) % 4}},
        headers=keys.admin(),
    )
    assert resp.status_code == 200, resp.text
    page = client.get(f"{API}/changes", params={"after": top, "region": "2301"}).json()
    assert page["changes"] == [] and page["last_seq"] == page["head_seq"] == top + 1
    unfiltered = client.get(f"{API}/changes", params={"after": top}).json()
    assert [c["code"] for c in unfiltered["changes"]] == [outside]


def test_region_is_a_code_or_a_prefix_in_every_filter(client: TestClient) -> None:
    for path in ("/changes", "/sync/digest", "/items"):
        by_code = client.get(f"{API}{path}", params={"region": "230100"})
        by_prefix = client.get(f"{API}{path}", params={"region": "2301"})
        assert by_code.status_code == by_prefix.status_code == 200, (path, by_prefix.text)
        a, b = by_code.json(), by_prefix.json()
        if path == "/sync/digest":
            a.pop("region"), b.pop("region")
        assert a == b, path
    assert client.get(f"{API}/sync/digest", params={"region": "2301"}).json()["count"] > 0
    snap = client.get(f"{API}/sync/snapshot", params={"region": "2301"})
    assert snap.status_code == 200
    assert (
        snap.content.split(b"\n", 1)[1]
        == (
            client.get(f"{API}/sync/snapshot", params={"region": "230100"}).content.split(b"\n", 1)[
                1
            ]
        )
    )
    for bad in ("9999", "23x1", "2"):
        for path in ("/changes", "/sync/digest", "/sync/snapshot"):
            resp = client.get(f"{API}{path}", params={"region": bad})
            assert resp.status_code == 422, (path, bad, resp.text)
            assert resp.json()["errors"][0]["loc"] == ["query", "region"]
