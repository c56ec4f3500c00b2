"""Where a mirror stands in its source's feed: reading the next page from there, knowing
when the source's history is no longer the one the mirror followed (a restore from an
earlier backup, another instance at the same address), and the comparison that ends a pull.

A source answers 410 ``feed-position-unknown`` to a position beyond its head or of another
epoch. A restore followed by new writes gives seqs the mirror has read to other changes; the
mirror keeps the fingerprint of the last change it applied
(:func:`app.sync.epoch.fingerprint`) and, before each pull, reads that change again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlmodel import Session

from app.sync.digest import digest
from app.sync.epoch import fingerprint
from app.sync.reference import get_json
from app.sync.storable import MirrorError
from app.versionlog import SyncPosition

#: differing codes a pull names when the digests differ
NAMED = 5


def _get(client: httpx.Client, params: dict[str, Any]) -> httpx.Response:
    try:
        return client.get(
            "/api/v1/changes", params={k: v for k, v in params.items() if v is not None}
        )
    except httpx.HTTPError as exc:
        raise MirrorError(f"cannot reach {client.base_url}: {exc}") from exc


def history_changed(client: httpx.Client, mark: str) -> str | None:
    """Why the source's change at the fingerprint's seq is not the one read (None: it is)."""
    seq = int(mark.split(":", 1)[0])
    response = _get(client, {"after": seq - 1, "limit": 1})
    if response.status_code == 410:
        return str(response.json().get("detail"))
    if response.status_code != 200:
        raise MirrorError(f"GET /changes answered {response.status_code}: {response.text[:300]}")
    changes = response.json()["changes"]
    if not changes or changes[0]["seq"] != seq:
        return f"the source has no change at seq {seq}, which this copy applied"
    if fingerprint(changes[0]) != mark:
        return (
            f"the source's change at seq {seq} is not the one this copy applied "
            f"({changes[0]['kind']} {changes[0]['code']} v{changes[0]['version']})"
        )
    return None


def read_page(
    client: httpx.Client, position: SyncPosition, batch: int, region: str | None
) -> dict[str, Any] | str:
    """The page after the position; a str: why the source does not know the position."""
    response = _get(
        client,
        {"after": position.last_seq, "limit": batch, "region": region, "epoch": position.epoch},
    )
    if response.status_code == 410:
        return str(response.json().get("detail"))
    if response.status_code != 200:
        raise MirrorError(f"GET /changes answered {response.status_code}: {response.text[:300]}")
    return response.json()


def restart_line(reason: str, loaded: dict[str, Any]) -> str:
    """The one line a pull says when the source's history changed under it."""
    return (
        f"sync pull: the source's feed history changed ({reason}); re-snapshotted at seq "
        f"{loaded['seq']} (epoch {loaded['epoch']}): {loaded['repaired']} items repaired, "
        f"{loaded['removed']} removed, {loaded['loaded']} added. Next step: if the source "
        "was restored on purpose, run 'catalogue reindex' here and tell this copy's own "
        "followers to re-snapshot (its epoch changed); if not, find out why the source's "
        "history changed"
    )


def compare(
    client: httpx.Client,
    session_factory: Callable[[], Session],
    source: str,
    region: str | None,
    applied: int,
    seen: int,
    loaded: dict[str, Any] | None,
) -> dict[str, Any]:
    """The pull's outcome: both digests, and the first codes that differ if they do."""
    remote = get_json(client, "/api/v1/sync/digest", region=region)
    with session_factory() as session:
        local = digest(session, region=region)
        last_seq = (session.get(SyncPosition, source) or SyncPosition(source=source)).last_seq
    equal = local["hash"] == remote["hash"] and local["count"] == remote["count"]
    differing: list[str] = []
    if not equal:
        theirs = get_json(client, "/api/v1/sync/digest", region=region, items="true")["items"]
        with session_factory() as session:
            mine = digest(session, region=region, items=True)["items"]
        a = {i["code"]: i["hash"] for i in theirs}
        b = {i["code"]: i["hash"] for i in mine}
        differing = sorted(c for c in a.keys() | b.keys() if a.get(c) != b.get(c))[:NAMED]
    return {
        "applied": applied,
        "seen": seen,
        "last_seq": last_seq,
        "count": local["count"],
        "remote_count": remote["count"],
        "equal": equal,
        "differing": differing,
        "snapshot": loaded,
    }
