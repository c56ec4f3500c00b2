"""English queries: read through the glossary (data/glossary.txt) into the catalogue's Chinese
words, and matched against the entries' optional ``name_en``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from app.search.vocabulary import glossary

#: words of English questions that say nothing about the service
EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "my",
        "i",
        "me",
        "how",
        "do",
        "does",
        "can",
        "get",
        "getting",
        "need",
        "want",
        "where",
        "what",
        "is",
        "are",
        "and",
        "or",
        "in",
        "on",
        "with",
        "from",
        "about",
        "please",
    ]
)
_EN_WORD = re.compile(r"[a-z][a-z'-]*")
#: the longest glossary phrase, in words
_MAX_PHRASE = 4


#: British spellings → American ones, as word endings (both sides are stemmed alike)
_SPELLINGS = (("isation", "ization"), ("ence", "ense"), ("our", "or"), ("tre", "ter"))


def en_stem(word: str) -> str:
    """A crude stem, the same on both sides: lower case, ``'s`` and a plural (``s``, ``ies``)
    dropped, British endings spelled as American ones (licence → license, notarisation →
    notarization, labour → labor, centre → center)."""
    w = word.lower().removesuffix("'s")
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us")):
        w = w[:-1]
    for british, american in _SPELLINGS:
        if len(w) > len(british) + 2 and w.endswith(british):
            w = w[: -len(british)] + american
            break
    return w


def en_phrase(text: str) -> str:
    """A glossary key as it is looked up: the stems of its words, space-joined (job fairs
    and job fair are one key)."""
    return " ".join(en_stem(w) for w in text.split())


def en_words(text: str) -> list[str]:
    """The stems of an English name (``name_en``) for the ``en_t`` field."""
    return [en_stem(w) for w in _EN_WORD.findall(text.lower()) if w not in EN_STOP]


@dataclass
class EnglishReading:
    """What an English query says: Chinese words (through the glossary), the stems to match
    ``name_en`` with, and the Latin tokens the glossary consumed (not read as pinyin)."""

    chinese: list[str] = field(default_factory=list)
    stems: list[str] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)


@functools.cache
def _stemmed_glossary() -> dict[str, tuple[str, ...]]:
    """The glossary keyed by :func:`en_phrase`: a phrase matches in any inflection."""
    out: dict[str, tuple[str, ...]] = {}
    for key, chinese in glossary().items():
        out.setdefault(en_phrase(key), chinese)
    return out


def read_english(latin: list[str]) -> EnglishReading:
    """Longest glossary phrases first (driving licence before licence), each word stemmed
    (job fairs, notarisation, subsidies)."""
    table = glossary()
    stemmed = _stemmed_glossary()
    out = EnglishReading()
    tokens = [t for t in latin if t]
    i = 0
    while i < len(tokens):
        for n in range(min(_MAX_PHRASE, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + n])
            found = table.get(phrase) or stemmed.get(en_phrase(phrase))
            if found:
                out.chinese += [w for w in found if w not in out.chinese]
                out.consumed.update(tokens[i : i + n])
                i += n
                break
        else:
            if tokens[i] in EN_STOP:
                out.consumed.add(tokens[i])
            i += 1
    out.stems = [en_stem(t) for t in tokens if t not in EN_STOP]
    return out
