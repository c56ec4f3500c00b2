"""The national coding rules, in one place (一事一码).

* Basic code 基本编码, 12 digits: owner (2: ``00`` national or a province prefix) + item type
  (2) + domain (2) + main item sequence (3) + sub item sequence (3, ``000`` = none).
  The layout is reconstructed from real codes (GB/T 39554.1-2020 was not available).
* Implementation code 实施编码, 31 characters: the implementing body's unified social credit
  code (18) + exercise level (1) + basic code (12).
* Unified social credit code (GB 32100-2015): registration authority and category (1–2,
  digits or letters: ``A1`` 军队事业单位, ``N2`` 村级集体经济组织, ``Y1``…), region (3–8,
  digits), organisation code (9–17) and check character (18), all upper case from the
  code's alphabet; both check characters are verified: the organisation code's own
  (GB 11714, position 17) and the final one (MOD 31-3, ``stdnum.cn.uscc.calc_check_digit``).
  ``stdnum.cn.uscc.validate`` itself is not used: it wants digits in positions 1–8 and so
  refuses valid codes whose registration authority or category is a letter.
* Region code (GB/T 2260): 6 digits, must exist and be valid on the date.

Everything here is pure: the callers pass what they looked up in the database. Each rule
raises :class:`CodeError` whose ``rule`` names the rule broken.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from stdnum.cn import uscc

BASIC_CODE = re.compile(
    r"^(?P<owner>\d{2})(?P<type>\d{2})(?P<domain>\d{2})(?P<main>\d{3})(?P<sub>\d{3})$"
)
REGION_CODE = re.compile(r"^\d{6}$")
LEVELS = frozenset("123456")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: GB 32100 characters: digits and upper-case letters without I, O, S, V, Z
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class CodeError(ValueError):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


# --- unified social credit code -------------------------------------------------------


def organisation_check_digit(org8: str) -> str:
    """GB 11714 check digit of the 8-character organisation code body."""
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(org8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def organisation_code(value: str) -> str | None:
    """``value`` as a GB 11714 organisation code (9 characters, also written ``XXXXXXXX-X``)
    with a valid check digit, or None. GB 32100 puts it in positions 9-17 of the credit code."""
    if len(value) == 10 and value[8] == "-":
        value = value[:8] + value[9]
    if len(value) != 9 or any(c not in _ORG_ALPHABET for c in value):
        return None
    return value if organisation_check_digit(value[:8]) == value[8] else None


@functools.lru_cache(maxsize=65_536)  # a batch names the same few departments again and again
def validate_credit_code(code: str) -> str:
    """Return the credit code if valid, else raise ``CodeError`` (rule ``credit_code.*``)."""
    if not isinstance(code, str) or len(code) != 18:
        raise CodeError("credit_code.length", "a unified social credit code has 18 characters")
    if any(c not in USCC_ALPHABET for c in code) or not code[2:8].isdigit():
        raise CodeError(
            "credit_code.format",
            f"invalid unified social credit code {code!r}: upper-case characters of "
            f"{USCC_ALPHABET} (no I, O, S, V, Z), with the 6-digit region code in positions 3-8",
        )
    if uscc.calc_check_digit(code[:17]) != code[17]:
        raise CodeError(
            "credit_code.check_digit",
            f"invalid unified social credit code {code!r}: the check character is not "
            f"{uscc.calc_check_digit(code[:17])!r}",
        )
    org = code[8:17]
    if any(c not in _ORG_ALPHABET for c in org) or organisation_check_digit(org[:8]) != org[8]:
        raise CodeError(
            "credit_code.organisation_check_digit",
            f"the organisation code {org} in {code!r} fails its GB 11714 check digit",
        )
    return code


def make_credit_code(registration: str, category: str, region: str, org8: str) -> str:
    """Build a credit code from its parts, computing both check digits."""
    body = f"{registration}{category}{region}{org8}{organisation_check_digit(org8)}"
    return body + uscc.calc_check_digit(body)


# --- basic code ----------------------------------------------------------------------


@dataclass(frozen=True)
class BasicCode:
    owner: str
    item_type: str
    domain: str
    main: str
    sub: str

    @property
    def main_item(self) -> str:
        """The basic code of the main item (主项) this code belongs to."""
        return f"{self.owner}{self.item_type}{self.domain}{self.main}000"


def parse_basic_code(code: str) -> BasicCode:
    m = BASIC_CODE.match(code or "")
    if not m:
        raise CodeError("basic_code.layout", f"a basic code has 12 digits, got {code!r}")
    return BasicCode(m["owner"], m["type"], m["domain"], m["main"], m["sub"])


def validate_basic_code(
    code: str,
    *,
    item_type: str | None = None,
    domain: str | None = None,
    parent: str | None = None,
) -> BasicCode:
    """Layout; the embedded item type (and domain) must match the entry's; a sub item's
    code must extend its main item's."""
    parsed = parse_basic_code(code)
    if parsed.main == "000":
        raise CodeError("basic_code.layout", "the main item sequence cannot be 000")
    if item_type is not None and parsed.item_type != item_type.zfill(2):
        raise CodeError(
            "basic_code.item_type",
            f"basic code {code} embeds item type {parsed.item_type}, the entry is {item_type}",
        )
    if domain is not None and parsed.domain != domain:
        raise CodeError(
            "basic_code.domain",
            f"basic code {code} embeds domain {parsed.domain}, the entry is {domain}",
        )
    if parent is not None and (parsed.sub == "000" or parsed.main_item != parent):
        raise CodeError(
            "basic_code.sub_item",
            f"a sub item of {parent} has a code {parent[:9]}NNN with NNN > 000",
        )
    return parsed


def next_basic_code(
    owner: str,
    item_type: str,
    domain: str,
    issued: Iterable[str],
    *,
    parent: str | None = None,
) -> str:
    """The next basic code for a locally added item (owner = province prefix), never one in
    ``issued`` (every code issued so far, also of items since removed)."""
    issued = set(issued)
    if parent is not None:
        head = parent[:9]
        used = [int(c[9:]) for c in issued if c.startswith(head)]
        seq = max(used, default=0) + 1
        if seq > 999:
            raise CodeError("basic_code.exhausted", f"no sub item sequence left under {parent}")
        return f"{head}{seq:03d}"
    head = f"{owner}{item_type.zfill(2)}{domain}"
    used = [int(c[6:9]) for c in issued if c.startswith(head)]
    seq = max(used, default=0) + 1
    if seq > 999:
        raise CodeError("basic_code.exhausted", f"no main item sequence left under {head}")
    return f"{head}{seq:03d}000"


# --- implementation code -------------------------------------------------------------


@dataclass(frozen=True)
class ImplementationCode:
    credit_code: str
    level: str
    basic_code: str


def implementation_code(credit_code: str, level: str, basic_code: str) -> str:
    return f"{credit_code}{level}{basic_code}"


def parse_implementation_code(code: str) -> ImplementationCode:
    if not isinstance(code, str) or len(code) != 31:
        raise CodeError("implementation_code.layout", "an implementation code has 31 characters")
    return ImplementationCode(code[:18], code[18], code[19:])


def validate_implementation_code(
    code: str,
    *,
    basic_code_exists: bool | None = None,
    department_level: str | None = None,
) -> ImplementationCode:
    """Credit code with both check digits, level digit, embedded basic code (that exists,
    when the caller says), level consistent with the implementing department's."""
    parsed = parse_implementation_code(code)
    try:
        validate_credit_code(parsed.credit_code)
    except CodeError as exc:
        raise CodeError(exc.rule, f"implementation code {code}: {exc.message}") from None
    if parsed.level not in LEVELS:
        raise CodeError("implementation_code.level", f"level digit {parsed.level!r} is not 1-6")
    try:
        parse_basic_code(parsed.basic_code)
    except CodeError as exc:
        raise CodeError(exc.rule, f"implementation code {code}: {exc.message}") from None
    if basic_code_exists is False:
        raise CodeError(
            "implementation_code.basic_code",
            f"implementation code {code} embeds basic code {parsed.basic_code}, not in the catalogue",
        )
    if department_level is not None and parsed.level != department_level:
        raise CodeError(
            "implementation_code.level",
            f"implementation code {code} has level {parsed.level}, "
            f"its department exercises level {department_level}",
        )
    return parsed


# --- region code ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegionFacts:
    code: str
    valid_from: date | None
    valid_to: date | None


def validate_region_code(code: str, region: RegionFacts | None, on: date) -> str:
    if not REGION_CODE.match(code or ""):
        raise CodeError("region_code.layout", f"a GB/T 2260 region code has 6 digits, got {code!r}")
    if region is None:
        raise CodeError("region_code.unknown", f"region {code} is not in GB/T 2260")
    if (region.valid_from and on < region.valid_from) or (
        region.valid_to and on >= region.valid_to
    ):
        raise CodeError("region_code.not_valid", f"region {code} is not valid on {on.isoformat()}")
    return code
