"""Every problem a page shows, said in the reader's language and naming the field by its
label (「是否收费」应为“是”：本事项列有收费项目), never by its path. The API keeps its
``loc`` paths and English ``msg``; a page holds each error as a :class:`Problem` and says it
when it is rendered (:func:`speaking`, set by :func:`app.pages.web.render_html`), in the
wording of :mod:`app.wording.problem_texts` and :mod:`app.wording.problem_rules`."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.catalogue import labels
from app.catalogue.statuses import STATUS_LABELS, STATUS_LABELS_EN
from app.directory.models import Department, Region
from app.directory.service import CodeLists
from app.errors import PROBLEM_BASE, DomainError
from app.wording import i18n, problem_rules, problem_rules_api, problem_texts, problem_types
from app.wording.i18n import Lang
from app.wording.problem_texts import FIELD_FALLBACK, WHOLE_FALLBACK, Wording

WORDINGS: dict[str, Wording] = {
    rule: wording if isinstance(wording, tuple) else (wording,)
    for table in (
        problem_texts.FIELDS,
        problem_texts.PYDANTIC,
        problem_types.TYPES,
        problem_rules.ITEM,
        problem_rules.SITUATIONS,
        problem_rules.DECISIONS,
        problem_rules_api.REVIEW,
        problem_rules_api.API,
        problem_rules_api.STANDARDS,
    )
    for rule, wording in table.items()
}
#: rules named by a prefix and a variable part, worded as one
FAMILIES = ("code_list.", "item-", "import.")

#: where a path of the HTTP layer starts before the fields it names
ENVELOPES = ("body", "patch")
#: the forms' fields that are not an item's, by the page's own label (i18n)
FORM_LABELS = {
    "decision": "decision",
    "decision.number": "editor.decision.number",
    "decision.title": "editor.decision.title",
    "decision.url": "editor.decision.url",
    "reason": "reason",
    "effective_date": "editor.effective",
    "mode": "delegate.mode",
    "handover_date": "delegate.handover",
    "to": "delegate.to",
    "to.*.department": "delegate.department",
    "to.*.region": "delegate.region",
    "into": "problem.into",
    "into.*.basic_code": "split.basic_code",
    "kind": "editor.kinds",
    "note": "editor.note",
    "situations_json": "editor.situations",
    "field": "correction.field",
    "text": "correction.text",
    "suggested": "correction.suggested",
    "contact": "correction.contact",
    "item": "editor.alias.for",
    "query": "editor.query",
    "url": "problem.url",
    "reply": "editor.reply",
    "status": "editor.status",
    "change_request": "editor.requests",
}
#: query and path parameters, by the page's own label
PARAMETER_LABELS = {
    "status": "editor.status",
    "type": "event",
    "since": "adjustments.since",
    "request": "editor.requests",
    "request_id": "editor.requests",
    "action": "problem.action",
    "code": "item.code",
    "cursor": "problem.cursor",
    "as_of": "as_of.label",
    "correction": "ticket.number",
}
CJK = re.compile(r"[\u4e00-\u9fff]")
#: a label's own aside, left out where it names a field in a sentence: 决定链接（选填）
_ASIDE = re.compile(r"（[^）]*）$| \([^)]*\)$")


class Names(Protocol):
    """What a problem's codes are called (None: not known, the code is shown)."""

    def department(self, code: str) -> str | None: ...
    def region(self, code: str) -> str | None: ...
    def level(self, code: str) -> str | None: ...


class NoNames:
    def department(self, code: str) -> str | None:
        return None

    def region(self, code: str) -> str | None:
        return None

    def level(self, code: str) -> str | None:
        return None


class StoredNames:
    """Names read from the database when a problem first needs one (errors are rare: the
    page's render opens a session only then)."""

    def __init__(self, opener: Callable[[], Any]) -> None:
        self._opener = opener
        self._found: dict[tuple[str, str], str | None] = {}

    def _lookup(self, kind: str, code: str, read: Callable[[Session], str | None]) -> str | None:
        if (kind, code) not in self._found:
            try:
                with self._opener() as session:
                    self._found[kind, code] = read(session)
            except SQLAlchemyError:  # a name is a courtesy: the code says it too
                self._found[kind, code] = None
        return self._found[kind, code]

    def department(self, code: str) -> str | None:
        return self._lookup(
            "department", code, lambda s: getattr(s.get(Department, code), "name", None)
        )

    def region(self, code: str) -> str | None:
        return self._lookup("region", code, lambda s: getattr(s.get(Region, code), "name", None))

    def level(self, code: str) -> str | None:
        return self._lookup("level", code, lambda s: CodeLists(s).label("levels", code))


@dataclass(frozen=True)
class _Speaker:
    lang: Lang
    names: Names


_SPEAKER: ContextVar[_Speaker | None] = ContextVar("problems_speaker", default=None)


@contextmanager
def speaking(lang: Lang, names: Names) -> Iterator[None]:
    """Problems rendered inside say themselves in ``lang``: a template prints a
    :class:`Problem` as it prints text (``{{ m }}``, ``msgs | join``)."""
    token = _SPEAKER.set(_Speaker(lang, names))
    try:
        yield
    finally:
        _SPEAKER.reset(token)


class Problem:
    """One problem a page shows: an entry of a problem's ``errors`` (``loc``, ``msg``,
    ``type`` and pydantic's ``ctx``), or a problem itself (its type, ``detail``, extras)."""

    __slots__ = ("ctx", "loc", "msg", "rule")

    def __init__(
        self,
        rule: str,
        msg: str,
        loc: Sequence[str | int] = (),
        ctx: dict[str, Any] | None = None,
    ) -> None:
        self.rule, self.msg, self.loc, self.ctx = rule, msg, tuple(loc), ctx or {}

    @classmethod
    def entry(cls, error: dict[str, Any]) -> Problem:
        return cls(
            str(error.get("type") or ""),
            str(error.get("msg") or ""),
            error.get("loc") or (),
            error.get("ctx"),
        )

    @classmethod
    def whole(cls, exc: DomainError) -> Problem:
        ctx = {**exc.extra, "status": exc.status}
        if isinstance(exc.extra.get("retry_after"), int):  # said in minutes, at least one
            ctx["minutes"] = max(1, math.ceil(exc.extra["retry_after"] / 60))
        return cls(problem_type(exc), exc.detail, (), ctx)

    def text(self, lang: Lang | None = None, names: Names | None = None) -> str:
        """What the problem says in ``lang`` (else the page's being rendered, else zh-Hans)."""
        speaker = _SPEAKER.get()
        lang = lang or (speaker.lang if speaker else Lang.HANS)
        names = names or (speaker.names if speaker else NoNames())
        said = self._said(Lang.EN if lang == Lang.EN else Lang.HANS, names)
        return i18n.to_traditional(said) if lang == Lang.HANT else said

    def _said(self, lang: Lang, names: Names) -> str:
        i = i18n.pick(lang)
        for say in wording(self.rule, bool(self.loc), self.ctx.get("status")):
            found: dict[str, Any] = {}
            if say.read is None and not self.loc and _for_people(self.msg):
                return self.msg  # a page's own refusal, written in the page's language
            if say.read is not None:
                m = say.read.search(self.msg)
                if m is None:
                    continue
                found = m.groupdict()
            params = {k: shown(k, v, lang, names) for k, v in {**self.ctx, **found}.items()}
            params["field"] = field_label(self.loc, lang)
            try:
                return (say.en if i else say.hans).format(**params)
            except (KeyError, IndexError):
                continue  # a parameter this error does not carry: the next wording
        return ""

    def __str__(self) -> str:
        return self.text()

    def __html__(self) -> str:
        return str(escape(self.text()))

    def __repr__(self) -> str:
        return f"Problem({self.rule!r}, {self.msg!r}, {list(self.loc)!r})"


def _for_people(detail: str) -> bool:
    """Whether a problem's detail is written in Chinese already (a page's own refusal, in
    the page's language), not the API's English."""
    hans = len(CJK.findall(detail))
    return hans > 0 and hans >= len(re.findall(r"[A-Za-z]", detail))


def problem_type(exc: DomainError) -> str:
    """The problem's type as the catalogue names it (``four-same``); a refusal of the page
    layer without one is named by its status (``http.413``)."""
    if exc.type.startswith(PROBLEM_BASE):
        return exc.type.removeprefix(PROBLEM_BASE)
    return f"http.{exc.status}"


def wording(rule: str, field: bool = True, status: int | None = None) -> Wording:
    """The wording of ``rule``; said generically when the catalogue has none (the test of
    the catalogue sees that every rule has one)."""
    found = WORDINGS.get(rule)
    if found is None:
        family = next((f for f in FAMILIES if rule.startswith(f)), None)
        found = WORDINGS.get(family + "*") if family else None
    if found is None and not field:
        found = WORDINGS.get(f"http.{status}")
    return (*(found or ()), FIELD_FALLBACK if field else WHOLE_FALLBACK)


def known(rule: str) -> bool:
    """Whether the catalogue words ``rule`` (itself or its family)."""
    return rule in WORDINGS or any(rule.startswith(f) and f + "*" in WORDINGS for f in FAMILIES)


# --- parameters ----------------------------------------------------------------------------

_QUOTED = re.compile(r"'([^']*)'")


def shown(name: str, value: Any, lang: Lang, names: Names) -> str:
    """A parameter as the reader reads it, by its name (see :mod:`.problem_texts`)."""
    i = i18n.pick(lang)
    text = str(value)
    if name.startswith("department"):
        return names.department(text) or text
    if name.startswith("region"):
        return names.region(text) or text
    if name.startswith("level"):
        return names.level(text) or text
    if name == "item_status":
        labelled = {str(k): (STATUS_LABELS[k], STATUS_LABELS_EN[k]) for k in STATUS_LABELS}
        return labelled.get(text, (text, text))[i]
    if name == "request_status":
        return i18n.REQUEST_STATUS.get(text, (text, text))[i]
    if name == "correction_status":
        return i18n.MESSAGES.get(f"status.{text}", (text, text))[i]
    if name.startswith("event"):
        return i18n.EVENTS.get(text, (text, text))[i]
    if name == "day":
        return i18n.format_day(text, i) if re.match(r"^\d{4}-\d{2}-\d{2}", text) else text
    if name == "fields":
        return _joined([labels.label(f.strip(), lang) for f in text.split(",")], lang)
    if name == "values":
        # pydantic's "'a', 'b' or 'c'" and the catalogue's "a, b": the values themselves
        found = _QUOTED.findall(text) or [v.strip() for v in text.split(",")]
        return _joined(found, lang)
    return text


def _joined(values: list[str], lang: Lang) -> str:
    return (", " if lang == Lang.EN else "、").join(values)


# --- the field a problem is about ----------------------------------------------------------


def _message(key: str, lang: Lang) -> str:
    return _ASIDE.sub("", i18n.MESSAGES[key][i18n.pick(lang)])


def field_label(loc: Sequence[str | int], lang: Lang) -> str:
    """The label of the field at ``loc``: a form's own field by the page's label, an item's
    by :func:`app.catalogue.labels.label` (as deep as the table knows it), a checklist's
    answer by its question, anything else as 该项."""
    path = list(loc)
    if path and path[0] in ("query", "path"):
        key = PARAMETER_LABELS.get(str(path[-1]))
        return _message(key, lang) if key else _message("problem.this", lang)
    while path and path[0] in ENVELOPES:
        path.pop(0)
    if not path:
        return _message("problem.this", lang)
    if path[0] == "answers" and len(path) > 1:
        return i18n.MESSAGES["problem.question"][i18n.pick(lang)].format(x=path[1])
    shape = ".".join("*" if isinstance(p, int) else str(p) for p in path)
    if shape in FORM_LABELS:
        return _message(FORM_LABELS[shape], lang)
    if path[0] == "into" and len(path) > 2 and isinstance(path[1], int):
        # a new item of a split: its own fields, after which one it is
        first = _message("split.into", lang) + labels.nth(path[1], lang)
        return f"{first} {_item_label(path[2:], lang) or ''}".strip()
    return _item_label(path, lang) or _message("problem.this", lang)


def _item_label(path: list[str | int], lang: Lang) -> str | None:
    for end in range(len(path), 0, -1):
        if labels.node(path[:end]) is not None:
            return labels.label(path[:end], lang)
    return None
