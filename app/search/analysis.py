"""The one analyzer every backend uses: text goes in, whitespace-separated tokens come out.

Index side (:meth:`Analyzer.document_fields`): item names and aliases are segmented with
rjieba (search mode, a user dictionary of the catalogue's own names), converted to
toneless pinyin per word and to initials; other text (department, region, themes) is
segmented only. Query side (:meth:`Analyzer.query_terms`): the same normalisation, stop
words dropped, pinyin of every 2–4 character run so that a homophone typo (身分证, 结昏证)
meets the intended word, Latin input read as pinyin or initials, and synonyms expanded.
Backends index the tokens with a whitespace tokenizer and score weighted term queries
(BM25), so the embedded index and Elasticsearch rank alike.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import opencc
import rjieba
from pypinyin import Style, lazy_pinyin

#: field → boost; the analyzed fields every backend indexes
FIELD_BOOSTS: dict[str, float] = {
    "name_t": 3.0,  # words of the official name
    "alias_t": 3.0,  # words of the aliases (俗称)
    "name_py": 1.5,  # toneless pinyin of each name/alias word, and of the whole name
    "name_in": 1.0,  # initials of each name/alias word, and of the whole name
    "name_c": 0.5,  # Han character bigrams of the name and aliases (recall across segmentation)
    "text_t": 0.5,  # department, region, type and theme labels
    "flags": 1.0,  # "primary": the item itself, not its renewal, change, cancellation…
}
#: weight of the "primary" flag for queries that name no follow-up operation
PRIMARY_BOOST = 1.0
#: follow-up operations on an item: a query without one prefers the item itself
FOLLOW_UPS = [
    "注销",
    "延续",
    "变更",
    "补办",
    "补领",
    "补发",
    "补证",
    "补换",
    "换证",
    "换领",
    "换发",
    "停业",
    "歇业",
    "恢复",
    "迁移",
    "转出",
    "转入",
    "转移",
    "查询",
    "年检",
    "挂失",
    "解挂",
    "撤销",
    "修改",
    "重置",
    "更正",
    "更名",
    "注册变更",
    "备案变更",
    "遗失",
    "丢失",
    "到期",
    "期满",
]
#: the field of suggestion prefixes (Chinese, pinyin, initials)
PREFIX_FIELD = "prefix"

#: filler words of questions (怎么办, 要什么手续…): never terms on their own
STOP_WORDS = frozenset(
    [
        "怎么",
        "怎样",
        "如何",
        "什么",
        "哪里",
        "哪儿",
        "在哪",
        "在哪里",
        "哪些",
        "需要",
        "要",
        "了",
        "的",
        "吗",
        "呢",
        "吧",
        "啊",
        "我",
        "我的",
        "想",
        "去",
        "个",
        "一个",
        "办",
        "办理",
        "手续",
        "流程",
        "可以",
        "能",
        "该",
        "请问",
        "怎么办",
        "需要",
        "材料",
        "有",
        "和",
        "与",
        "及",
        "或",
        "是",
        "给",
        "到",
        "在",
    ]
)

_HAN = re.compile(r"[\u3400-\u9fff]+")
_LATIN = re.compile(r"[a-z]+")
_WORD = re.compile(r"[\w\u3400-\u9fff]")

# rjieba's dictionary is process-wide: guard additions
_DICT_LOCK = threading.Lock()
_DICT_WORDS: set[str] = set()
_T2S = opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), traditional → simplified, lower case."""
    return _T2S.convert(unicodedata.normalize("NFKC", text)).lower().strip()


def add_user_words(words: Iterable[str]) -> int:
    """Teach the segmenter the catalogue's own names (and aliases)."""
    added = 0
    with _DICT_LOCK:
        for w in words:
            w = normalise(w)
            if 2 <= len(w) <= 30 and w not in _DICT_WORDS and not re.search(r"[\s()（）“”]", w):
                rjieba.add_word(w, None, None)
                _DICT_WORDS.add(w)
                added += 1
    return added


def words(text: str) -> list[str]:
    """Segment normalised text in search mode; punctuation and spaces dropped."""
    return [w for w in rjieba.cut_for_search(text) if _WORD.search(w) and w.strip()]


@functools.lru_cache(maxsize=200_000)
def pinyin(word: str) -> str:
    return "".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


@functools.lru_cache(maxsize=200_000)
def initials(word: str) -> str:
    return "".join(lazy_pinyin(word, style=Style.FIRST_LETTER, errors="ignore"))


def _has_han(word: str) -> bool:
    return _HAN.search(word) is not None


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
                if _has_han(t) and len(t) >= 2:
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


#: the vocabulary this catalogue ships with; admins replace it through PUT /synonyms
DEFAULT_SYNONYMS: list[list[str]] = [
    ["社保", "社会保障", "社会保险"],
    ["社保卡", "社会保障卡"],
    ["医保", "医疗保障", "医疗保险", "基本医疗保险"],
    ["公积金", "住房公积金"],
    ["低保", "最低生活保障"],
    ["个税", "个人所得税"],
    ["驾照", "驾驶证", "机动车驾驶证"],
    ["户口", "户籍"],
    ["落户", "户口迁入", "出生登记"],
    ["补办", "补领", "补证", "遗失补证"],
    ["丢了", "遗失", "补领"],
    ["换证", "换领", "期满换证"],
    ["身份证", "居民身份证"],
    ["结婚", "结婚登记"],
    ["离婚", "离婚登记"],
    ["结婚证", "婚姻登记", "结婚登记"],
    ["生孩子", "生育", "出生", "出生医学证明"],
    ["开店", "开公司", "办执照", "营业执照", "市场主体设立登记"],
    ["营业执照", "市场主体登记"],
    ["公司", "企业", "市场主体"],
    ["饭馆", "饭店", "餐馆", "餐饮", "食品经营许可"],
    ["退休", "退休申请", "养老金"],
    ["失业金", "失业保险金"],
    ["房产证", "不动产登记", "不动产权证"],
    ["买房", "购房", "购买自住住房"],
    ["租房", "租赁住房"],
    ["老人", "老年人", "高龄老人"],
    ["残疾证", "残疾人证"],
    ["当兵", "退役军人"],
    ["上学", "入学", "新生入学"],
    ["看病", "就医"],
    ["异地看病", "异地就医"],
    ["港澳通行证", "往来港澳通行证"],
    ["出国", "护照", "普通护照"],
    ["办厂", "企业投资项目"],
    ["开药店", "药品零售"],
    ["考驾照", "驾驶证初次申领"],
    ["出租车", "出租汽车"],
    ["当老师", "教师资格"],
    ["丧葬费", "丧葬补助金"],
    ["卖烟", "烟酒店", "烟草专卖零售"],
    ["密码忘了", "忘记密码", "密码重置"],
    ["上小学", "小学", "义务教育"],
    ["报名", "入学"],
    ["网约车", "网络预约出租汽车"],
    ["个体户", "个体工商户"],
]


@functools.cache
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (from pypinyin's readings of the CJK block)."""
    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for r in readings.split(","):
            decomposed = unicodedata.normalize("NFKD", r).replace("u\u0308", "v")
            out.add("".join(c for c in decomposed if not unicodedata.combining(c)))
    return frozenset(s for s in out if s.isascii() and s.isalpha())


def split_pinyin(text: str) -> list[str] | None:
    """``wufanzuijilu`` → ``[wu, fan, zui, ji, lu]`` (fewest syllables); None if it is not
    pinyin."""
    valid = _syllables()
    n = len(text)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            if text[i:j] in valid:
                cand = [*best[i], text[i:j]]  # type: ignore[misc]
                if best[j] is None or len(cand) < len(best[j]):  # type: ignore[arg-type]
                    best[j] = cand
    return best[n]


def _grams(run: str, sizes: tuple[int, ...] = (2, 3, 4)) -> list[str]:
    return [run[i : i + n] for n in sizes for i in range(len(run) - n + 1)]


class Analyzer:
    """Shared by every backend. ``stop`` adds corpus words too common to discriminate."""

    def __init__(self, stop: Iterable[str] = ()) -> None:
        self._cache: dict[tuple[str, int, int], QueryTerms] = {}
        self.stop = set(STOP_WORDS) | set(stop)

    @property
    def stop(self) -> set[str]:
        return self._stop

    @stop.setter
    def stop(self, value: set[str]) -> None:  # (``analyzer.stop |= …`` comes here too)
        self._stop = value
        self._cache = {}

    # --- index side ------------------------------------------------------------------

    def document_fields(
        self, name: str, aliases: Iterable[str] = (), text: Iterable[str] = ()
    ) -> dict[str, str]:
        """The analyzed fields of one item, each a whitespace-joined token string."""
        name_n = normalise(name)
        alias_n = [normalise(a) for a in aliases if a and a.strip()]
        name_words = words(name_n)
        alias_words = [w for a in alias_n for w in words(a)]
        py: list[str] = []
        ini: list[str] = []
        for w in [*name_words, *alias_words, name_n, *alias_n]:
            if _has_han(w):
                py.append(pinyin(w))
                if len(w) >= 2:
                    ini.append(initials(w))
            elif _LATIN.fullmatch(w):
                py.append(w)
        chars = [g for p in [name_n, *alias_n] for r in _HAN.findall(p) for g in _grams(r, (2,))]
        text_words = [w for t in text if t for w in words(normalise(t))]
        primary = not any(v in name_n for v in FOLLOW_UPS)
        return {
            "flags": "primary" if primary else "",
            "name_t": " ".join(name_words),
            "alias_t": " ".join(alias_words),
            "name_py": " ".join(py),
            "name_in": " ".join(ini),
            "name_c": " ".join(chars),
            "text_t": " ".join(text_words),
            PREFIX_FIELD: " ".join(sorted(self.prefixes(name_n, alias_n))),
        }

    def prefixes(self, name: str, aliases: Iterable[str]) -> set[str]:
        """Suggestion keys: prefixes of the name and aliases, of each of their words, and of
        their pinyin and initials."""
        keys: set[str] = set()
        for phrase in [name, *aliases]:
            phrase = re.sub(r"\s+", "", phrase)
            units = [phrase, *[w for w in words(phrase) if len(w) >= 2]]
            for unit in units:
                han = _has_han(unit)
                for variant in (unit, pinyin(unit) if han else "", initials(unit) if han else ""):
                    for i in range(1, min(len(variant), 24) + 1):
                        keys.add(variant[:i])
        return {k for k in keys if k.strip()}

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
        latin = _LATIN.findall(qn)
        for token in latin:
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
        for run in _HAN.findall(qn):
            all_words = words(run)
            kept = [w for w in all_words if w not in self.stop] or [
                w for w in all_words if len(w) > 1
            ]
            if any(len(w) > 1 for w in kept):  # single characters only when nothing else
                kept = [w for w in kept if len(w) > 1]
            for w in kept:
                out.add("name_t", w, 1.0)
                out.add("alias_t", w, 1.0)
                out.add("text_t", w, 1.0)
                out.add("name_py", pinyin(w), 0.8, fuzzy=True)
                out.words.append(w)
                if synonyms:
                    expansions |= synonyms.expand(w)
            # homophone typos: the pinyin of every 2–4 character stretch (身分证 → shenfenzheng)
            for gram in _grams(run):
                if gram in self.stop or all(c in self.stop for c in gram):
                    continue
                p = pinyin(gram)
                out.add("name_py", p, 0.6, fuzzy=True)
                out.pinyins.add(p)
                if synonyms:  # 社宝卡 sounds like 社保卡
                    expansions |= synonyms.expand(gram) | synonyms.expand(p)
            for g in _grams(run, (2,)):
                if g not in self.stop:
                    out.add("name_c", g, 1.0, fuzzy=True)
        for term in sorted(spelled):  # as if typed in Chinese
            for w in words(term):
                if w not in self.stop:
                    out.add("name_t", w, 1.0)
                    out.add("alias_t", w, 1.0)
                    out.words.append(w)
        for exp in sorted(expansions - spelled):
            for w in words(exp):
                if w in self.stop:
                    continue
                out.add("name_t", w, 0.6)
                out.add("alias_t", w, 0.6)
                out.words.append(w)
        said = qn + " " + " ".join(out.words)
        if out.terms and not any(v in said for v in FOLLOW_UPS):
            out.prefer.append(("flags", "primary", PRIMARY_BOOST))
        return out


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


@functools.lru_cache(maxsize=20_000)
def _name_words(name: str, vocabulary: int) -> tuple[str, tuple[str, ...]]:
    """A stored name, normalised, and its words: a page of hits segments the same names
    again and again (``vocabulary``: the user dictionary's size, so that words added later
    segment it anew)."""
    name_n = normalise(name)
    return name_n, tuple(words(name_n))


def highlight(name: str, q: QueryTerms) -> list[str]:
    """The name with the words that matched wrapped in <em> (by text or by pinyin)."""
    name_n, name_words = _name_words(name, len(_DICT_WORDS))
    spans: list[tuple[int, int]] = []
    targets = {w for w in q.words if len(w) >= 1}
    for w in name_words:
        if w in targets or (_has_han(w) and len(w) >= 2 and pinyin(w) in q.pinyins):
            start = name_n.find(w)
            while start >= 0:
                spans.append((start, start + len(w)))
                start = name_n.find(w, start + 1)
    if not spans:
        return []
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:  # positions of the normalised name map 1:1 onto the stored one
        out.append(name[pos:s] + "<em>" + name[s:e] + "</em>")
        pos = e
    out.append(name[pos:])
    return ["".join(out)]
