"""``when`` conditions (app.catalogue.situation_schemas) as one line of text an editor can
type: option ids joined by ``and``, ``or``, ``not`` and parentheses (``minor and not
guardian``), ``and`` binding tighter than ``or``. The JSON form (``{"all": [...]}``) is
taken too. This is notation only: the write path judges the ids (unknown options, depth)."""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_LENGTH = 1000
_TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z0-9_.-]+)|(\S))")
KEYWORDS = ("and", "or", "not")


class ConditionSyntax(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, int]]:
    out = []
    for m in _TOKEN.finditer(text):
        if m.group(4):
            raise ConditionSyntax(
                f"“{m.group(4)}” at {m.start(4) + 1}: use option ids, and, or, not, ( )"
            )
        value = m.group(1) or m.group(2) or m.group(3)
        if value:
            out.append((value, m.start()))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def take(self) -> str:
        value = self.peek()
        if value is None:
            raise ConditionSyntax("the condition ends too early: an option id is missing")
        self.at += 1
        return value

    def either(self) -> Any:
        terms = [self.both()]
        while self.peek() == "or":
            self.take()
            terms.append(self.both())
        return terms[0] if len(terms) == 1 else {"any": terms}

    def both(self) -> Any:
        factors = [self.factor()]
        while self.peek() == "and":
            self.take()
            factors.append(self.factor())
        return factors[0] if len(factors) == 1 else {"all": factors}

    def factor(self) -> Any:
        self.depth += 1
        if self.depth > 50:  # far beyond what the schema allows; it says how deep it may be
            raise ConditionSyntax("the condition is nested too deeply")
        value = self.take()
        if value == "not":
            found: Any = {"not": self.factor()}
        elif value == "(":
            found = self.either()
            if self.take() != ")":
                raise ConditionSyntax("a “(” is not closed")
        elif value in (")", "and", "or"):
            raise ConditionSyntax(f"“{value}” where an option id belongs")
        else:
            found = value
        self.depth -= 1
        return found


def parse(text: str) -> Any:
    """The condition ``text`` says (None for an empty one); :class:`ConditionSyntax` when
    it says nothing readable."""
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_LENGTH:
        raise ConditionSyntax(f"at most {MAX_LENGTH} characters")
    if text[0] in '{["':
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ConditionSyntax(f"not JSON: {exc}") from None
    parser = _Parser(text)
    found = parser.either()
    if parser.peek() is not None:
        raise ConditionSyntax(f"“{parser.peek()}” follows a complete condition (and / or missing?)")
    return found


def text_of(condition: Any, inside: str = "") -> str:
    """The line of text for a stored condition (what :func:`parse` reads back)."""
    if condition is None:
        return ""
    if isinstance(condition, str):
        return condition  # an option id, or text that did not parse, shown as typed
    if isinstance(condition, dict) and len(condition) == 1:
        key, value = next(iter(condition.items()))
        if key == "not":
            return "not " + text_of(value, "not")
        if key in ("all", "any") and isinstance(value, list) and value:
            joined = f" {'and' if key == 'all' else 'or'} ".join(text_of(v, key) for v in value)
            # or inside and, anything compound after not: parentheses keep the meaning
            needs = len(value) > 1 and (inside == "not" or (key == "any" and inside == "all"))
            return f"({joined})" if needs else joined
    return orjson.dumps(condition).decode()  # not a condition: the write path says why
