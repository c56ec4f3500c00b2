"""The feed's history identity (纪元, ``epoch``) and the check of a reader's position in it.

The epoch is minted with the database (migration 0017) and never changes while its history
goes on; another instance has another. A restore from an earlier dump brings the epoch of
its history back with it, so the position a reader holds is checked as well: a cursor
beyond the head names a change this history never had (410). A restore followed by new
writes reuses seqs with other changes: the mirror keeps the :func:`fingerprint` of the
change at its position and compares it with the source's (docs/decisions/0008).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import Connection, text
from sqlmodel import Session

from app.errors import DomainError

_READ = text("SELECT epoch FROM feed_epoch WHERE id = 1")


class FeedPositionUnknown(DomainError):
    """410: the reader's position is not in this feed's history (a restore, another
    instance): start again from ``GET /sync/snapshot``."""

    status = 410
    title = "Feed position unknown"

    def __init__(self, detail: str, *, epoch: str, head_seq: int) -> None:
        super().__init__(
            detail + "; start again from GET /api/v1/sync/snapshot (a copy re-snapshots and "
            "continues with /changes?after=<the snapshot's seq>)",
            type="feed-position-unknown",
            extra={"epoch": epoch, "head_seq": head_seq},
        )


def current_epoch(db: Session | Connection) -> str:
    """This feed's epoch."""
    return db.execute(_READ).scalar_one_or_none() or ""


def check_position(db: Session | Connection, *, after: int, epoch: str | None, head: int) -> str:
    """This feed's epoch, once ``after`` (and ``epoch``, if the reader sent one) are known
    to be a place in its history; else :class:`FeedPositionUnknown`."""
    mine = current_epoch(db)
    if epoch is not None and epoch != mine:
        raise FeedPositionUnknown(
            f"epoch {epoch!r} is another history than this feed's ({mine!r})",
            epoch=mine,
            head_seq=head,
        )
    if after > head:
        raise FeedPositionUnknown(
            f"seq {after} is beyond this feed's head ({head}): the history it was read "
            "from is not this one (restored from an earlier backup, or another instance)",
            epoch=mine,
            head_seq=head,
        )
    return mine


def fingerprint(change: dict[str, Any]) -> str:
    """What a mirror keeps of the change at its position, to know the source's history is
    still the one it read: seq, record, version, when it was recorded and a hash of its
    state. The same change read twice gives the same fingerprint; the change a restored
    source writes at that seq gives another."""
    state = change.get("item") if change.get("kind") == "item" else change.get("record")
    body = state if isinstance(state, bytes) else orjson.dumps(state)
    return (
        f"{change['seq']}:{change['kind']}:{change['code']}:{change['version']}:"
        f"{change.get('recorded_at')}:{hashlib.sha256(body).hexdigest()[:32]}"
    )
