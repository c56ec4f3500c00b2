"""The change feed, bulk upserts and digests (domain.md §6), as the routers, the mirror and the
importers use them. The code lives by concern: :mod:`app.sync.feed` (the feed),
:mod:`app.sync.bulk` (parsing, idempotency and the batch), :mod:`app.sync.bulk_write` (what
a batch does to each item) and :mod:`app.sync.digest`."""

from __future__ import annotations

from app.sync.bulk import (  # noqa: F401
    MAX_BATCH,
    OUTCOME_DAYS,
    apply_bulk,
    bulk_upsert,
    collector_paused,
    parse_items,
    remember,
    replay,
    request_hash,
    upsert_valid,
    validate_body,
)
from app.sync.bulk_write import (  # noqa: F401
    RESULTS,
    Stored,
    apply_valid,
    known_items,
    rejected,
    sent_code,
    unchanged_as_sent,
)
from app.sync.digest import (  # noqa: F401
    digest,
    item_hashes,
)
from app.sync.feed import (  # noqa: F401
    MAX_PAGE_BYTES,
    head_seq,
    read_changes,
)

__all__ = [
    "MAX_BATCH",
    "MAX_PAGE_BYTES",
    "OUTCOME_DAYS",
    "RESULTS",
    "Stored",
    "apply_bulk",
    "apply_valid",
    "bulk_upsert",
    "collector_paused",
    "digest",
    "head_seq",
    "item_hashes",
    "known_items",
    "parse_items",
    "read_changes",
    "rejected",
    "remember",
    "replay",
    "request_hash",
    "sent_code",
    "unchanged_as_sent",
    "upsert_valid",
    "validate_body",
]
