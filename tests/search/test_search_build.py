"""The indexer's documents read in batches (one query a batch, as a full build does) are
those of the item-by-item read (``GET /items/{code}``'s representation), on SQLite and
PostgreSQL: a scheduled event that took effect, and a code without an item, included."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import select, update
from sqlmodel import Session

from app import clock
from app.catalogue.models import Implementation
from app.catalogue.reads import SessionSnapshots, get_item_json
from app.search.analysis import Analyzer
from app.search.backends.embedded import TantivyBackend
from app.search.indexer import Indexer
from app.search.service import SearchService
from app.search.text import add_user_words, words
from app.versionlog import RecordVersion


def test_batched_documents_are_the_item_by_item_ones(session: Session, tmp_path: Path) -> None:
    svc = SearchService(TantivyBackend(tmp_path / "index"))
    indexer = Indexer(svc)
    codes = list(session.exec(select(Implementation.code).order_by(Implementation.code)).scalars())
    assert len(codes) > 50
    # the newest version of one item stops being in force yesterday: composed as of today
    session.execute(
        update(RecordVersion)
        .where(RecordVersion.kind == "item", RecordVersion.code == codes[3])
        .values(next_change=clock.today() - timedelta(days=1))
    )
    entries: dict = {}
    docs, gone = indexer.documents(session, [*codes, "NO-SUCH-ITEM"], entries)
    expected = [
        svc.document(session, orjson.loads(get_item_json(SessionSnapshots(session), c)[1]))
        for c in codes
    ]
    assert docs == expected
    assert gone == [("NO-SUCH-ITEM", 1 << 40)]
    assert entries  # every entry read once for the batch (and the next ones)
    session.rollback()


def test_cached_segmentation_follows_the_user_dictionary() -> None:
    """Segmentations are cached by text: a word taught later changes what comes back."""
    text = "犇犇码头渡运许可"
    before = words(text)
    assert words(text) == before  # (from the cache)
    assert add_user_words(["犇犇码头"]) == 1
    after = words(text)
    assert "犇犇码头" in after and after != before
    analyzer = Analyzer()
    fields = analyzer.document_fields(text)
    assert "犇犇码头" in fields["name_t"].split()
    assert "犇犇码头" in fields["prefix"].split()
