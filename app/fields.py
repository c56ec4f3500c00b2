"""The field types every input is built from: one text policy, bounded dates and numbers.

Text policy (applied to every string a client or a file sends, at the model boundary):

* normalised to NFC (a decomposed é and the precomposed one are the same text; CJK
  compatibility ideographs become the unified ones);
* refused, with the field's path and the rule: NUL (``text.nul``); C0 and C1 control
  characters, ANSI escapes among them (``text.control``; tab and newline are allowed in
  multi-line text only, a CR LF becomes LF); bidirectional overrides and marks such as
  U+202E (``text.bidi``); zero-width characters such as U+200B and U+FEFF
  (``text.invisible``); lone surrogates and non-characters (``text.encoding``).

``Line`` is a one-line value (names, phones, addresses), ``Para`` a multi-line one (the
guide's texts). Both strip surrounding whitespace. ``Url`` is a link the pages put in an
``href``: a one-line value that is an ``http(s)://host…`` address (``url.scheme``,
``url.host``), or also ``tel:`` / ``mailto:`` where a contact channel's link is meant;
never ``javascript:``, ``data:`` or a relative address. :func:`violation` is the same check for
text that is already stored (``catalogue doctor``) or arrives from another instance (the
mirror).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

#: every character the policy refuses in any text; tab, LF and CR are judged separately
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_LINE_BREAKS = re.compile("[\t\n\r]")

RULES = {
    "text.nul": "NUL characters are not allowed",
    "text.control": "control characters (C0/C1, ANSI escapes) are not allowed",
    "text.line_break": "a one-line value cannot hold tabs or line breaks",
    "text.bidi": "bidirectional overrides and marks are not allowed (they make text read "
    "differently from what it is)",
    "text.invisible": "zero-width and other invisible characters are not allowed",
    "text.encoding": "lone surrogates and non-characters are not text",
}


def _rule_of(char: str) -> str:
    point = ord(char)
    if point == 0:
        return "text.nul"
    if point < 0xA0:
        return "text.control"
    if 0x200E <= point <= 0x200F or 0x202A <= point <= 0x202E or 0x2066 <= point <= 0x2069:
        return "text.bidi"
    if 0xD800 <= point <= 0xDFFF or point >= 0xFDD0 and point != 0xFEFF:
        return "text.encoding"
    return "text.invisible"


def violation(value: str, *, multiline: bool = True) -> tuple[str, int, str] | None:
    """The first character of ``value`` the policy refuses: ``(rule, offset, message)``."""
    found = _REFUSED.search(value)
    if found is None and not multiline:
        found = _LINE_BREAKS.search(value)
        if found is not None:
            return "text.line_break", found.start(), RULES["text.line_break"]
    if found is None:
        if multiline and "\r" in value.replace("\r\n", ""):
            return "text.control", value.index("\r"), RULES["text.control"]
        return None
    rule = _rule_of(found.group())
    return rule, found.start(), RULES[rule]


def _policy(multiline: bool) -> Any:
    def check(value: str) -> str:
        # every character the policy refuses (and tab, CR, LF) is one str.isprintable is
        # not: most text is judged by that one pass at C speed
        if value.isprintable():
            if value.isascii() or unicodedata.is_normalized("NFC", value):
                return value
            return unicodedata.normalize("NFC", value)
        if multiline and "\r\n" in value:
            value = value.replace("\r\n", "\n")
        bad = violation(value, multiline=multiline)
        if bad is not None:
            rule, offset, message = bad
            raise PydanticCustomError(
                rule,
                "{message}: U+{point} at offset {offset}",
                {"message": message, "point": f"{ord(value[offset]):04X}", "offset": offset},
            )
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        return value

    return AfterValidator(check)


_ONE_LINE = _policy(multiline=False)
_MULTI_LINE = _policy(multiline=True)


def Line(max_length: int = 300, *, min_length: int = 1) -> Any:  # noqa: N802 (a type)
    """A one-line text of at most ``max_length`` characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        _ONE_LINE,
    ]


def Para(max_length: int = 4000, *, min_length: int = 1) -> Any:  # noqa: N802 (a type)
    """A multi-line text of at most ``max_length`` characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        _MULTI_LINE,
    ]


WEB_SCHEMES = ("http", "https")
#: a contact channel's link may also dial or write
CONTACT_SCHEMES = (*WEB_SCHEMES, "tel", "mailto")


def _link_policy(schemes: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        scheme, colon, rest = value.partition(":")
        if not colon or scheme.lower() not in schemes or not rest:
            raise PydanticCustomError(
                "url.scheme",
                "a link is an address that starts with {schemes}",
                {"schemes": ", ".join(f"{s}:" for s in schemes)},
            )
        if scheme.lower() in WEB_SCHEMES:
            try:
                host = urlsplit(value).hostname
            except ValueError:
                host = None
            if not rest.startswith("//") or not host:
                raise PydanticCustomError(
                    "url.host", "a web link names its host: https://host/path"
                )
        return value

    return AfterValidator(check)


_WEB_LINK = _link_policy(WEB_SCHEMES)
_CONTACT_LINK = _link_policy(CONTACT_SCHEMES)


def Url(max_length: int = 500, *, contact: bool = False) -> Any:  # noqa: N802 (a type)
    """A link of at most ``max_length`` characters: ``http(s)://host…``; with ``contact``,
    also ``tel:`` and ``mailto:``. The one type of every stored link."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        _ONE_LINE,
        _CONTACT_LINK if contact else _WEB_LINK,
        Field(json_schema_extra={"format": "uri"}),
    ]


def Pattern(pattern: str) -> Any:  # noqa: N802 (a type)
    """A code of a fixed shape (digits, letters): the pattern leaves no room for other text."""
    return Annotated[str, StringConstraints(strip_whitespace=True, pattern=pattern)]


# --- dates and numbers ---------------------------------------------------------------

#: the days a catalogue date may name: far enough for any decision, near enough that
#: date arithmetic (the next day, a year on) never leaves what the databases store
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
#: the largest seq, version or count a parameter may carry (a signed 64-bit integer)
MAX_INT = 2**63 - 1
MAX_VERSION = 2**31 - 1

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_day(value: Any) -> Any:
    # a date is written YYYY-MM-DD: pydantic alone would take 0 for 1970-01-01
    if isinstance(value, str) and not _ISO_DAY.match(value):
        raise PydanticCustomError("date.format", "a date is written YYYY-MM-DD")
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("date.format", "a date is written YYYY-MM-DD")
    return value


def _in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise PydanticCustomError(
            "date.range",
            "a date must lie between {first} and {last}",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


def _iso_instant(value: Any) -> Any:
    if not isinstance(value, str) or not _ISO_INSTANT.match(value):
        raise PydanticCustomError(
            "datetime.format", "a timestamp is written YYYY-MM-DDTHH:MM:SS with an offset"
        )
    return value


def _instant_in_range(value: datetime) -> datetime:
    _in_range(value.date())
    return value


_ISO_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)

Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_range)]
Instant = Annotated[datetime, BeforeValidator(_iso_instant), AfterValidator(_instant_in_range)]
Seq = Annotated[int, Field(ge=0, le=MAX_INT)]
VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION)]


# --- fields the catalogue assigns ------------------------------------------------

#: a field the catalogue assigns, shown by GET: sent back unchanged it is ignored, sent
#: changed it is refused (422 ``read_only``), so that what GET returns can be written back
ReadOnly = Annotated[Any, Field(default=None, exclude=True, description="read-only")]


def read_only_errors(
    data: BaseModel, names: tuple[str, ...], current: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The read-only fields ``data`` sent that differ from ``current`` (the representation
    GET returns now; None for a new record, which has none of them yet)."""
    errors = []
    for name in names:
        if name not in data.model_fields_set:
            continue
        value = getattr(data, name)
        if current is None:
            if value is not None:
                msg = f"{name} is assigned by the catalogue; leave it out"
                errors.append({"loc": ["body", name], "msg": msg, "type": "read_only"})
        elif _as_json(value) != _as_json(current.get(name)):
            msg = f"{name} is read-only: it is {current.get(name)!r}"
            errors.append({"loc": ["body", name], "msg": msg, "type": "read_only"})
    return errors


def _as_json(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value)) if value is not None else None
