"""The one analyzer every backend uses: text goes in, whitespace-separated tokens come out.

Index side (:meth:`Analyzer.document_fields`): item names and aliases are segmented with
rjieba (search mode, a user dictionary of the catalogue's own names), converted to
toneless pinyin per word and to initials; other text (department, region, themes) is
segmented only. Query side (:meth:`Analyzer.query_terms`): the same normalisation, stop
words dropped, pinyin of every 2–4 character run so that a homophone typo (身分证, 结昏证)
meets the intended word, Latin input read as pinyin or initials, and synonyms expanded.
Beside the name: the department's shortcuts (人社, 市监: ``dept_t``), the main item's name
(``group_t``), the guide's results and materials (``guide_t``), its conditions and FAQ
(``more_t``, low weight), the item's action (新办, 补办, 换领…: ``action``) and its English
name (``en_t``). English queries are read through the glossary (:mod:`.english`), everyday
words through a thesaurus restricted to the catalogue's vocabulary (:mod:`.thesaurus`).
Backends index the tokens with a whitespace tokenizer and score weighted term queries
(BM25), so the embedded index and Elasticsearch rank alike.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.search.english import en_words, read_english
from app.search.text import (
    HAN,
    LATIN,
    add_user_words,
    dictionary_generation,
    grams,
    has_han,
    initials,
    name_words_of,
    normalise,
    pinyin,
    split_pinyin,
    words,
)
from app.search.thesaurus import EMPTY, Thesaurus
from app.search.vocabulary import (
    FOLLOW_UPS,
    STOP_WORDS,
    abbreviation_meanings,
    actions_in,
    department_shortcuts,
    everyday_meanings,
)

#: field → boost; the analyzed fields every backend indexes
FIELD_BOOSTS: dict[str, float] = {
    "name_t": 3.0,  # words of the official name
    "alias_t": 3.0,  # words of the aliases (俗称)
    "name_py": 1.5,  # toneless pinyin of each name/alias word, and of the whole name
    "name_in": 1.0,  # initials of each name/alias word, and of the whole name
    "name_c": 0.5,  # Han character bigrams of the name and aliases (recall across segmentation)
    "text_t": 0.5,  # department, region, type and theme labels
    "dept_t": 3.0,  # the department's shortcuts (人社, 市监, 公积金中心: data/departments.txt)
    "group_t": 1.0,  # words of the main item's (主项, group) name
    "guide_t": 0.5,  # words of the guide's results and materials
    "more_t": 0.15,  # words of the guide's conditions and FAQ
    "action": 1.5,  # the item's actions (新办, 补办, 换领, 变更, 注销, 延续)
    "en_t": 2.0,  # stems of the English name (name_en)
    "flags": 1.0,  # "primary": the item itself, not its renewal, change, cancellation…
}
#: the weight of a synonym (the admins' table) of a query word or of what it spells
SYNONYM_WEIGHT = 0.6
#: the share of that weight for a fragment of a longer word of the synonym (市场 of 市场主体)
FRAGMENT_SHARE = 0.5
#: the weight of a thesaurus expansion (a hand-written synonym weighs 0.6, the word 1.0)
THESAURUS_WEIGHT = 0.4
#: the weight of the catalogue's words for an everyday word of the query (data/everyday.txt)
EVERYDAY_WEIGHT = 0.8
#: weight of the full words of an abbreviation (data/abbreviations.txt): what it means exactly
#: (a fragment of one of them: ``FRAGMENT_SHARE`` of it)
ABBREVIATION_WEIGHT = 1.0
#: the weight of the catalogue word a homophone typo misspells (农要 → 农药)
TYPO_WEIGHT = 0.9
#: fields a query's Han words are looked up in besides the name (weight 1 × field boost)
CONTEXT_FIELDS = ("group_t", "guide_t", "more_t")
#: weight of the "primary" flag for queries that name no follow-up operation
PRIMARY_BOOST = 1.0
#: the field of suggestion prefixes (Chinese, pinyin, initials)
PREFIX_FIELD = "prefix"


@dataclass
class QueryTerms:
    """Weighted terms per analyzed field; ``words`` are what to highlight."""

    terms: dict[tuple[str, str], float] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    pinyins: set[str] = field(default_factory=set)
    #: scoring-only terms: they rank what matched, never make a match
    prefer: list[tuple[str, str, float]] = field(default_factory=list)
    #: recall terms (pinyin of character stretches, bigrams): needed when the words and
    #: their pinyin find little (a typo), costly when they find much (a common word)
    fuzzy: set[tuple[str, str]] = field(default_factory=set)
    #: the synonym table these terms were expanded with (the analyzer's cache checks it)
    synonyms: Synonyms | None = field(default=None, repr=False, compare=False)

    def add(self, fld: str, token: str, weight: float, fuzzy: bool = False) -> None:
        if not token:
            return
        key = (fld, token)
        new = key not in self.terms
        if self.terms.get(key, 0.0) < weight:
            self.terms[key] = weight
        if not fuzzy:  # fuzzy only while every source of the term is
            self.fuzzy.discard(key)
        elif new:
            self.fuzzy.add(key)

    def weighted(self, core_only: bool = False) -> list[tuple[str, str, float]]:
        """(field, token, boost) for the backends' term queries, in a stable order."""
        return [
            (f, t, round(FIELD_BOOSTS[f] * w, 4))
            for (f, t), w in sorted(self.terms.items())
            if f in FIELD_BOOSTS and not (core_only and (f, t) in self.fuzzy)
        ]

    @property
    def has_fuzzy(self) -> bool:
        return bool(self.fuzzy)

    def __bool__(self) -> bool:
        return bool(self.terms)


class Synonyms:
    """Groups of equivalent terms, looked up by text, toneless pinyin and initials."""

    def __init__(self, groups: Iterable[Iterable[str]], version: int = 0) -> None:
        self.version = version
        self.by_key: dict[str, set[str]] = {}
        #: pinyin or initials → the Han terms they spell (``jiehun`` → 结婚)
        self.spelled: dict[str, set[str]] = {}
        for group in groups:
            terms = {normalise(t) for t in group if t and t.strip()}
            for t in terms:
                others = terms - {t}
                self.by_key.setdefault(t, set()).update(others)
                if has_han(t) and len(t) >= 2:
                    self.by_key.setdefault(pinyin(t), set()).update(terms)
                    self.spelled.setdefault(pinyin(t), set()).add(t)
                    if len(t) >= 3:
                        self.by_key.setdefault(initials(t), set()).update(terms)
                        self.spelled.setdefault(initials(t), set()).add(t)

    def expand(self, key: str) -> set[str]:
        return self.by_key.get(key, set())

    def literal(self, key: str) -> set[str]:
        """The Han terms that ``key`` (Latin input) spells: what the citizen typed, read as
        Chinese, as opposed to the rest of their synonym groups."""
        return self.spelled.get(key, set())


@dataclass
class ItemContext:
    """What the catalogue knows of an item beyond its name and aliases (all optional)."""

    departments: list[str] = field(default_factory=list)  # the department's name, short name
    groups: list[str] = field(default_factory=list)  # the main item's (主项) name
    guide: list[str] = field(default_factory=list)  # names of results and materials
    more: list[str] = field(default_factory=list)  # conditions, FAQ questions and answers
    actions: list[str] = field(default_factory=list)  # 业务办理项 names and kinds (as actions)
    name_en: str = ""


def department_keys(names: Iterable[str]) -> list[str]:
    """The shortcuts (data/departments.txt) whose forms one of a department's names holds."""
    return list(_department_keys(tuple(names)))


@functools.lru_cache(maxsize=65_536)
def _department_keys(names: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`department_keys`, once per department (performance only)."""
    normed = [normalise(n) for n in names if n]
    return tuple(k for k, forms in department_shortcuts().items()
                 if any(f in n for f in forms for n in normed))  # fmt: skip


@functools.lru_cache(maxsize=8_192)
def _joined_words(parts: tuple[str, ...], generation: int) -> str:
    """The words of ``parts``, space-joined, once per ``parts`` and user dictionary
    ``generation`` (performance only: a guide's materials and conditions repeat)."""
    return " ".join(w for p in parts if p for w in words(normalise(p)))


@functools.lru_cache(maxsize=32_768)
def _prefix_field(name: str, aliases: tuple[str, ...], generation: int) -> str:
    """:meth:`Analyzer.prefixes`, sorted and space-joined (the ``prefix`` field; no key
    holds a space), once per name and user dictionary ``generation`` (performance only:
    the items of one catalogue entry share their name; a string, not a set, kept)."""
    keys: set[str] = set()
    for phrase in [name, *aliases]:
        phrase = re.sub(r"\s+", "", phrase)
        units = [phrase, *[w for w in words(phrase) if len(w) >= 2]]
        for unit in units:
            han = has_han(unit)
            for variant in (unit, pinyin(unit) if han else "", initials(unit) if han else ""):
                for i in range(1, min(len(variant), 24) + 1):
                    keys.add(variant[:i])
    return " ".join(sorted(k for k in keys if k.strip()))


@functools.cache
def _shortcut_forms() -> list[tuple[str, str]]:
    """(form, shortcut), longest form first: the query side's scan."""
    pairs = [(f, k) for k, forms in department_shortcuts().items() for f in forms]
    return sorted(pairs, key=lambda fk: -len(fk[0]))


class Analyzer:
    """Shared by every backend. ``stop`` adds corpus words too common to discriminate;
    ``thesaurus`` expands query words to catalogue words (see :func:`corpus_analyzer`)."""

    def __init__(self, stop: Iterable[str] = (), thesaurus: Thesaurus | None = None) -> None:
        self._cache: dict[tuple[str, int, int], QueryTerms] = {}
        self._thesaurus = EMPTY if thesaurus is None else thesaurus
        self.stop = set(STOP_WORDS) | set(stop)

    @property
    def stop(self) -> set[str]:
        return self._stop

    @stop.setter
    def stop(self, value: set[str]) -> None:  # (``analyzer.stop |= …`` comes here too)
        self._stop = value
        self._cache = {}

    @property
    def thesaurus(self) -> Thesaurus:
        return self._thesaurus

    @thesaurus.setter
    def thesaurus(self, value: Thesaurus) -> None:
        self._thesaurus = value
        self._cache = {}

    # --- index side ------------------------------------------------------------------

    def document_fields(
        self,
        name: str,
        aliases: Iterable[str] = (),
        text: Iterable[str] = (),
        context: ItemContext | None = None,
    ) -> dict[str, str]:
        """The analyzed fields of one item, each a whitespace-joined token string."""
        ctx = context or ItemContext()
        name_n = normalise(name)
        alias_n = [normalise(a) for a in aliases if a and a.strip()]
        name_words = name_words_of(name_n)
        alias_words = [w for a in alias_n for w in name_words_of(a)]
        py: list[str] = []
        ini: list[str] = []
        for w in [*name_words, *alias_words, name_n, *alias_n]:
            if has_han(w):
                py.append(pinyin(w))
                if len(w) >= 2:
                    ini.append(initials(w))
            elif LATIN.fullmatch(w):
                py.append(w)
        chars = [g for p in [name_n, *alias_n] for r in HAN.findall(p) for g in grams(r, (2,))]
        text_words = [w for t in text if t for w in words(normalise(t))]
        primary = not any(v in name_n for v in FOLLOW_UPS)
        actions = actions_in(name_n)
        for a in ctx.actions:
            actions += [a] if a in _ACTION_NAMES else actions_in(normalise(a))

        def joined(parts: Iterable[str]) -> str:
            return _joined_words(tuple(parts), dictionary_generation())

        return {
            "flags": "primary" if primary else "",
            "name_t": " ".join(name_words),
            "alias_t": " ".join(alias_words),
            "name_py": " ".join(py),
            "name_in": " ".join(ini),
            "name_c": " ".join(chars),
            "text_t": " ".join(text_words),
            "dept_t": " ".join(department_keys(ctx.departments)),
            "group_t": joined(ctx.groups),  # the main item has its own name here
            "guide_t": joined(ctx.guide),
            "more_t": joined(ctx.more),
            "action": " ".join(dict.fromkeys(actions)),
            "en_t": " ".join(en_words(ctx.name_en)) if ctx.name_en else "",
            PREFIX_FIELD: _prefix_field(name_n, tuple(alias_n), dictionary_generation()),
        }

    def prefixes(self, name: str, aliases: Iterable[str]) -> set[str]:
        """Suggestion keys: prefixes of the name and aliases, of each of their words, and of
        their pinyin and initials."""
        joined = _prefix_field(name, tuple(aliases), dictionary_generation())
        return set(joined.split(" ")) if joined else set()

    # --- query side ------------------------------------------------------------------

    def query_terms(self, q: str, synonyms: Synonyms | None = None) -> QueryTerms:
        """The analysed query; the last few thousand are kept (per synonym table): callers
        must not change what they get."""
        key = (q, id(synonyms), synonyms.version if synonyms else -1)
        cached = self._cache.get(key)
        if cached is not None and (synonyms is None or cached.synonyms is synonyms):
            return cached
        out = self._query_terms(q, synonyms)
        out.synonyms = synonyms
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[key] = out
        return out

    def _query_terms(self, q: str, synonyms: Synonyms | None) -> QueryTerms:
        qn = normalise(q)
        out = QueryTerms()
        expansions: set[str] = set()
        #: Han terms the Latin input spells (jiehundengji → 结婚登记): words of the query
        spelled: set[str] = set()
        latin = LATIN.findall(qn)
        english = read_english(latin)
        for stem in english.stems:
            out.add("en_t", stem, 1.0)
        spelled.update(english.chinese)
        if synonyms:  # business licence → 营业执照 → 市场主体登记
            for term in english.chinese:
                expansions |= synonyms.expand(term)
        for token in latin:
            if english.chinese and token in english.consumed:
                continue  # an English word of the glossary (or a filler next to one)
            out.add("name_py", token, 1.0)
            out.add("name_in", token, 1.0)
            out.pinyins.add(token)
            if synonyms:
                expansions |= synonyms.expand(token)
                spelled |= synonyms.literal(token)
            syllables = split_pinyin(token) if len(token) > 3 else None
            if syllables and len(syllables) > 1:  # pinyin of several words typed in one go
                for n in (2, 3, 4):
                    for i in range(len(syllables) - n + 1):
                        gram = "".join(syllables[i : i + n])
                        out.add("name_py", gram, 0.6, fuzzy=True)
                        out.pinyins.add(gram)
                        if synonyms:
                            expansions |= synonyms.expand(gram)
                            spelled |= synonyms.literal(gram)
        compact = re.sub(r"\s+", "", qn)
        if synonyms and compact:
            expansions |= synonyms.expand(compact)
        said_words: list[str] = []
        corrected = compact  # the query with its homophone typos read as meant (公斯 → 公司)
        for run in HAN.findall(qn):
            all_words = words(run)
            kept = [w for w in all_words if w not in self.stop] or [
                w for w in all_words if len(w) > 1
            ]
            if any(len(w) > 1 for w in kept):  # single characters only when nothing else
                kept = [w for w in kept if len(w) > 1]
            said_words += [w for w in all_words if w not in self.stop]
            for w in kept:
                self._add_word(out, w, 1.0)
                out.add("name_py", pinyin(w), 0.8, fuzzy=True)
                if synonyms:
                    expansions |= synonyms.expand(w)
            # homophone typos: the pinyin of every 2–4 character stretch (身分证 → shenfenzheng)
            for gram in grams(run):
                if gram in self.stop or all(c in self.stop for c in gram):
                    continue
                p = pinyin(gram)
                out.add("name_py", p, 0.6, fuzzy=True)
                out.pinyins.add(p)
                if synonyms:  # 社宝卡 sounds like 社保卡
                    expansions |= synonyms.expand(gram) | synonyms.expand(p)
            for g in grams(run, (2,)):
                if g not in self.stop:
                    out.add("name_c", g, 1.0, fuzzy=True)
            for typo, fixed in self._add_corrections(out, run, all_words):
                corrected = corrected.replace(typo, fixed)
        for term in sorted(spelled):  # as if typed in Chinese
            for w in words(term):
                if w not in self.stop:
                    self._add_word(out, w, 1.0, context=False)
        for exp in sorted(expansions - spelled):
            cut = words(exp)
            for w in cut:
                if w in self.stop:
                    continue
                # a fragment of a longer word of the synonym (市场, 场主, 主体 of 市场主体) is
                # recall, not meaning: together they would outweigh the word itself
                part = any(w != o and w in o for o in cut)
                weight = SYNONYM_WEIGHT * (FRAGMENT_SHARE if part else 1.0)
                out.add("name_t", w, weight)
                out.add("alias_t", w, weight)
                out.words.append(w)
        # everyday words: the thesaurus, only towards the catalogue's own words
        for w in dict.fromkeys(w for w in said_words if len(w) >= 2):
            for exp in self._thesaurus.expand(w):
                if exp not in self.stop:
                    out.add("name_t", exp, THESAURUS_WEIGHT)
                    out.add("alias_t", exp, THESAURUS_WEIGHT)
                    out.words.append(exp)
        # data/abbreviations.txt (居保 → 城乡居民基本养老保险): the full words, as if typed;
        # their fragments (城乡, 居民 of 城乡居民) at a synonym's share, not as words: one
        # abbreviation typed outweighed the action typed after it (职工医保 + 参保)
        for meant in abbreviation_meanings(corrected):
            cut = [w for w in words(normalise(meant)) if w not in self.stop]
            for w in cut:
                part = any(w != o and w in o for o in cut)
                weight = ABBREVIATION_WEIGHT * (FRAGMENT_SHARE if part else 1.0)
                self._add_word(out, w, weight, context=False)
        # data/everyday.txt (驾校 → 机动车驾驶员培训), in the query as meant: 公斯改名 is read
        # as 公司改名 (a company's change of name), not as 改名 (a person's)
        for meant in everyday_meanings(corrected):
            for w in words(normalise(meant)):
                if w not in self.stop:
                    self._add_word(out, w, EVERYDAY_WEIGHT, context=False)
        said = qn + " " + " ".join(out.words)
        for form, key in _shortcut_forms():  # 人社, 市监局, 公积金中心: who does it
            if form in compact:
                out.add("dept_t", key, 1.0)
        for action in actions_in(said):  # a qualifier: the variant that does it
            out.add("action", action, 1.0)
        if out.terms and not any(v in said for v in FOLLOW_UPS):
            out.prefer.append(("flags", "primary", PRIMARY_BOOST))
        return out

    def _add_corrections(
        self, out: QueryTerms, run: str, run_words: list[str]
    ) -> list[tuple[str, str]]:
        """Homophone typos (农要 for 农药, 遗矢 for 遗失) as the catalogue words they misspell,
        at ``TYPO_WEIGHT`` and not as recall terms: the rest of a query (经营许可证丢了)
        finds enough for the recall terms (pinyin) never to be asked, so the misspelled word
        would be lost. Candidates: the query's words, two single characters side by side (a
        word cut apart), and 3–4 character stretches (身分证 → 身份证). Returns the (typo,
        first reading) pairs, for the everyday table to read the corrected query."""
        if not self._thesaurus.vocabulary:
            return []
        found: list[tuple[str, str]] = []
        singles = [  # (not with a filler: 住要 is not 主要)
            a + b
            for a, b in zip(run_words, run_words[1:], strict=False)
            if len(a) == 1 and len(b) == 1 and a not in self.stop and b not in self.stop
        ]
        candidates = [*run_words, *singles, *grams(run, (3, 4))]
        for cand in dict.fromkeys(c for c in candidates if len(c) >= 2 and c not in self.stop):
            fixes = [f for f in self._thesaurus.corrected(cand) if f not in self.stop]
            for fixed in fixes:
                self._add_word(out, fixed, TYPO_WEIGHT)
            if fixes and not any(cand in w and cand != w for w in run_words):
                found.append((cand, fixes[0]))  # (not 保户 of 五保户: a fragment of a word)
        return found

    @staticmethod
    def _add_word(out: QueryTerms, w: str, weight: float, context: bool = True) -> None:
        out.add("name_t", w, weight)
        out.add("alias_t", w, weight)
        out.add("text_t", w, weight)
        if context:
            for f in CONTEXT_FIELDS:
                out.add(f, w, weight)
        out.words.append(w)


#: actions by their canonical word (an ``ItemContext.actions`` entry may be one already)
_ACTION_NAMES = frozenset(["新办", "补办", "换领", "变更", "注销", "延续"])


def corpus_stop_words(names: Iterable[str], share: float = 0.3, floor: int = 50) -> set[str]:
    """Words in more than ``share`` of the names (with at least ``floor`` names): they carry
    no meaning for ranking (stop words by document frequency)."""
    df: Counter[str] = Counter()
    n = 0
    for name in names:
        n += 1
        df.update(set(words(normalise(name))))
    if n < floor:
        return set()
    return {w for w, c in df.items() if c / n > share}


def corpus_analyzer(names: Iterable[str], extra_words: Iterable[str] = ()) -> Analyzer:
    """The analyzer of a corpus: its names (and ``extra_words``: aliases) taught to the
    segmenter, its too-common words as stop words, and the thesaurus restricted to the
    words its names and aliases hold."""
    from app.search.thesaurus import catalogue_thesaurus

    names = list(names)
    extra = list(extra_words)
    add_user_words([*names, *extra])
    vocabulary = {w for n in [*names, *extra] for w in words(normalise(n))}
    return Analyzer(stop=corpus_stop_words(names), thesaurus=catalogue_thesaurus(vocabulary))
