"""Stored JSON judged by the text policy (:mod:`app.fields`): where in a value a refused
character sits, and how to show it on one line without printing the stored text itself.
Used by ``catalogue doctor`` and by the mirror and importers before they store what they
were sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.fields import violation

#: characters of the stored text shown around an offending character
CONTEXT = 40


@dataclass(frozen=True)
class Violation:
    """A string the policy refuses, found at ``path`` of a JSON value."""

    path: str
    rule: str
    offset: int
    text: str
    #: the string is a key of an object (at ``path``), not a value
    key: bool = False

    @property
    def point(self) -> str:
        return f"U+{ord(self.text[self.offset]):04X}"

    def context(self) -> str:
        return excerpt(self.text, self.offset)


def text_violations(value: Any, path: str = "") -> Iterator[Violation]:
    """Every string of a JSON value (keys too) that the policy refuses, judged multi-line,
    in document order. Iterative: a deeply nested value cannot exhaust the stack."""
    stack: list[tuple[str, Any, bool]] = [(path, value, False)]
    while stack:
        where, v, is_key = stack.pop()
        if isinstance(v, str):
            bad = violation(v)
            if bad is not None:
                yield Violation(where, bad[0], bad[1], v, is_key)
        elif isinstance(v, dict):
            children: list[tuple[str, Any, bool]] = []
            for k, item in v.items():
                inner = f"{where}.{k}" if where else str(k)
                children.append((inner, k, True))
                children.append((inner, item, False))
            stack.extend(reversed(children))
        elif isinstance(v, list):
            stack.extend(
                (f"{where}.{i}" if where else str(i), v[i], False)
                for i in range(len(v) - 1, -1, -1)
            )


def escape(text: str, *, quotes: bool = True) -> str:
    """``text`` safe to print on one line: line breaks and every character the policy
    refuses or a terminal would not show as escapes, and backslashes and double quotes too
    (for a value shown in quotes) unless ``quotes`` is false (a message of the database)."""
    out = []
    for ch in text:
        if quotes and ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch.isprintable() and violation(ch, multiline=False) is None:
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


def excerpt(text: str, offset: int, width: int = CONTEXT) -> str:
    """At most ``width`` characters of ``text`` around ``offset``, escaped; ``…`` marks
    what is left out."""
    start = max(0, offset - width // 2)
    end = min(len(text), start + width)
    start = max(0, end - width)
    return ("…" if start else "") + escape(text[start:end]) + ("…" if end < len(text) else "")
