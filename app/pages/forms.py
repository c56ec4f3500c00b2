"""The editor's item form: the item's input (``item_input``) as form fields named by their
paths (``materials.0.originals``), and back. Values are passed on as typed; the API's own
models judge them, and their errors come back by the same paths, next to the fields.

Lists (materials, fees, windows, steps, channels, FAQ) are rows: each carries the place of
the row it was filled from (``materials.3.from``), so that what the form does not show of
a row (a material's code, its attachments) is kept also after rows were removed or added
and the form shown again; a row ticked ``remove`` is left out; a new row left empty is no
row. Without JavaScript, 添加一行 is a submit button (``add=<list>``) that shows the form
again, as typed, with one more empty row of that list."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.pages import conditions
from app.pages import situation_form as situation_rows
from app.pages.web import first

MATERIAL_SELECTS = ("material_type", "form", "necessity", "source")
MATERIAL_FREE = (
    "name",
    "paper_size",
    "source_note",
    "applies_when",
    "acceptance_standard",
    "legal_basis",
    "signature_requirement",
    "instructions",
    "licence_type",
)
MATERIAL_TEXT = (*MATERIAL_FREE[:1], *MATERIAL_SELECTS, *MATERIAL_FREE[1:])
MATERIAL_NUMBERS = ("originals", "copies")
FEE_TEXT = ("name", "standard", "legal_basis", "waiver_basis")
WINDOW_TEXT = ("name", "address", "hours", "phone", "traffic", "map_url")
STEP_TEXT = ("name", "description")
CHANNEL_TEXT = ("phone", "address", "url", "email", "note")
FAQ_TEXT = ("question", "answer")
RESULT_TYPES = ("证照", "批文", "其他")
SPECIAL_TEXT = ("name", "note")
INTERMEDIARY_TEXT = ("name", "basis")
REMEDIES = ("administrative_review", "administrative_litigation")
#: lists of one line each, edited as a text of lines
LINE_LISTS = ("joint_bodies", "prerequisite_items")
TIME_LIMITS = ("legal_time_limit", "promised_time_limit")
UNITS = ("working_days", "natural_days", "hours")
STEP_CHANNELS = ("both", "online", "offline")
DEPTHS = ("咨询", "收件", "预审", "受理", "结果反馈")
SITUATIONS_FIELD = situation_rows.ADVANCED_FIELD
#: a new material row starts as the most common kind: one paper original the applicant brings
NEW_MATERIAL = {
    "originals": 1,
    "copies": 0,
    "material_type": "原件",
    "form": "纸质",
    "necessity": "1",
    "source": "10",
}
NEW_STEP = {"channel": "both"}
_INTEGER = re.compile(r"^[+-]?\d{1,9}$")
_NUMBER = re.compile(r"^[+-]?\d{1,12}(\.\d{1,6})?$")


@dataclass(frozen=True)
class Section:
    """A part of the form, in the order the guide reads; a list's rows can be added."""

    key: str
    title: str  # an i18n key
    rows: str | None = None  # the list's path
    #: error paths shown in this section
    paths: tuple[str, ...] = field(default_factory=tuple)


SECTIONS = (
    Section("basic", "form.basic", paths=("audience", "case_type", "guide.visits")),
    Section("legal_basis", "guide.legal_basis", paths=("legal_basis",)),
    Section("conditions", "guide.conditions", paths=("guide.conditions",)),
    Section("materials", "guide.materials", "materials", ("materials",)),
    Section("process", "guide.process", "guide.process", ("guide.process",)),
    Section(
        "special",
        "guide.special",
        "guide.special_procedures",
        ("guide.special_procedures",),
    ),
    Section("results", "guide.results", "guide.results", ("guide.results",)),
    Section("limits", "guide.when", paths=tuple(f"guide.{t}" for t in TIME_LIMITS)),
    Section("fees", "guide.fees", "fees", ("fees", "guide.charges_fee")),
    Section("windows", "form.windows", "guide.windows", ("guide.windows",)),
    Section("consultation", "guide.consultation", "guide.consultation", ("guide.consultation",)),
    Section("complaint", "form.complaint", "guide.complaint", ("guide.complaint",)),
    Section("remedies", "guide.remedies", paths=("guide.remedies",)),
    Section("online", "guide.online", paths=("guide.online",)),
    Section(
        "intermediary",
        "form.intermediary",
        "guide.intermediary_services",
        ("guide.intermediary_services",),
    ),
    Section("related", "form.related", paths=tuple(f"guide.{k}" for k in LINE_LISTS)),
    Section(
        "situations",
        "form.situations",
        paths=(
            SITUATIONS_FIELD,
            situation_rows.SITUATIONS,
            *(f"guide.{k}" for k in situation_rows.ADVANCED_KEYS),
        ),
    ),
    Section("faq", "guide.faq", "guide.faq", ("guide.faq",)),
)
LISTS = {s.rows: s for s in SECTIONS if s.rows}
#: open when the form is first shown: the part edited most
OPEN_FIRST = frozenset({"materials"})


@dataclass
class Filled:
    """What a submitted form describes: the item input, the form's own errors, for each
    list the base row each of its rows came from, and how many empty rows to show."""

    values: dict[str, Any]
    errors: list[dict[str, Any]]
    origins: dict[str, list[int | None]]
    blanks: dict[str, int]
    #: each list's rows' places in the submitted form (the options tick materials by them)
    places: dict[str, list[int]] = field(default_factory=dict)
    #: the situation questions as submitted (None: as first shown)
    questions: situation_rows.Questions | None = None


def _text(form: dict[str, list[str]], name: str, *, lines: bool = False) -> str | None:
    value = first(form, name)
    if lines:
        value = value.replace("\r\n", "\n")
    value = value.strip()
    return value or None


def _integer(form: dict[str, list[str]], name: str) -> Any:
    value = first(form, name).strip()
    return int(value) if _INTEGER.match(value) else value  # the model says what is wrong


def _number(form: dict[str, list[str]], name: str) -> Any:
    value = first(form, name).strip()
    if not value:
        return None
    return float(value) if _NUMBER.match(value) else value


def _checked(form: dict[str, list[str]], name: str) -> bool:
    return first(form, name) == "on"


def _put(row: dict[str, Any], key: str, value: Any) -> None:
    """Set a field; an empty one only where the row had it (an unchanged row stays equal
    to what it was filled from)."""
    if value is None and key not in row:
        return
    row[key] = value


def _indexes(form: dict[str, list[str]], prefix: str) -> list[int]:
    found = set()
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d{{1,3}})\.")
    for key in form:
        m = pattern.match(key)
        if m:
            found.add(int(m.group(1)))
    return sorted(found)


def _origin(form: dict[str, list[str]], at: str, i: int, count: int) -> int | None:
    """The base row a form row was filled from: its ``from`` field (empty: a new row), or
    its own place for a form without them."""
    if f"{at}.from" not in form:
        return i if i < count else None
    value = first(form, f"{at}.from").strip()
    return int(value) if value.isdigit() and int(value) < count else None


def _when(
    row: dict[str, Any], form: dict[str, list[str]], at: str, errors: list[dict[str, Any]]
) -> None:
    """The row's ``when`` from its line of text; unchanged text keeps the stored condition
    as it was (``(a and b) and c`` reads back flatter, which is no change to make)."""
    text = first(form, f"{at}.when").strip()
    if text == conditions.text_of(row.get("when")):
        return
    try:
        condition = conditions.parse(text)
    except conditions.ConditionSyntax as exc:
        errors.append(
            {"loc": [*at.split("."), "when"], "msg": str(exc), "type": "situation.condition"}
        )
        row["when"] = text  # shown again as typed
        return
    if condition is None:
        row.pop("when", None)
    else:
        row["when"] = condition


Builder = Callable[[dict[str, Any], str], None]


def _rows_of(
    form: dict[str, list[str]],
    prefix: str,
    base: list[dict[str, Any]],
    build: Builder,
    blank: Callable[[dict[str, Any]], bool],
    filled: Filled,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    origins: list[int | None] = []
    places: list[int] = []
    blanks = 0
    for i in _indexes(form, prefix):
        at = f"{prefix}.{i}"
        if _checked(form, f"{at}.remove"):
            continue
        origin = _origin(form, at, i, len(base))
        row = copy.deepcopy(base[origin]) if origin is not None else {}
        build(row, at)
        if origin is None and blank(row):
            blanks += 1  # an empty new row: shown again, written nowhere
            continue
        rows.append(row)
        origins.append(origin)
        places.append(i)
    filled.origins[prefix] = origins
    filled.places[prefix] = places
    filled.blanks[prefix] = blanks
    return rows


def _empty(*names: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: not any(row.get(n) not in (None, "", [], {}) for n in names)


def _time_limit(form: dict[str, list[str]], at: str, old: Any, *, optional: bool) -> Any:
    value = first(form, f"{at}.value").strip()
    note = _text(form, f"{at}.note", lines=True)
    if optional and not value and not note:
        return None
    limit = dict(old) if isinstance(old, dict) else {}
    limit["value"] = _integer(form, f"{at}.value")
    limit["unit"] = first(form, f"{at}.unit", "working_days")
    _put(limit, "note", note)
    return limit


def from_form(base: dict[str, Any], form: dict[str, list[str]]) -> Filled:
    """The item input the form describes, over ``base`` (what it was filled from), and the
    form's own errors (a situations text that is not JSON, a condition that does not
    parse)."""
    item = copy.deepcopy(base)
    filled = Filled(item, [], {}, {})
    errors = filled.errors
    guide = item["guide"] = item.get("guide") or {}  # none yet while the item is 待完善

    # 基本信息
    if "case_type" in form:
        item["case_type"] = first(form, "case_type").strip() or None
    for name in ("audience", "themes"):
        if f"{name}.shown" in form:  # ticked boxes only: none ticked sends no field at all
            item[name] = [a for a in form.get(name, []) if a.strip()]
    guide["visits"] = _integer(form, "guide.visits")
    # 受理条件
    text = _text(form, "guide.conditions", lines=True)
    guide["conditions"] = [c.strip() for c in (text or "").split("\n") if c.strip()]
    # 办理时限
    for name in TIME_LIMITS:
        guide[name] = _time_limit(form, f"guide.{name}", guide.get(name), optional=False)
    guide["charges_fee"] = _checked(form, "guide.charges_fee")
    guide["online"] = {
        "available": _checked(form, "guide.online.available"),
        "depth": [d for d in DEPTHS if d in form.get("guide.online.depth", [])],
        "url": _text(form, "guide.online.url"),
    }

    def material(row: dict[str, Any], at: str) -> None:
        for f in MATERIAL_TEXT:
            _put(row, f, _text(form, f"{at}.{f}", lines=True))
        for f in MATERIAL_NUMBERS:
            row[f] = _integer(form, f"{at}.{f}")
        # the options ticked (the item's option ids): none means always required
        options = [o for o in form.get(f"{at}.options", []) if o.strip()]
        if options:
            row["options"] = list(dict.fromkeys(options))
        else:
            row.pop("options", None)
        _when(row, form, at, errors)

    def fee(row: dict[str, Any], at: str) -> None:
        for f in FEE_TEXT:
            _put(row, f, _text(form, f"{at}.{f}", lines=True))
        row["waivable"] = _checked(form, f"{at}.waivable")
        _when(row, form, at, errors)
        amount = _number(form, f"{at}.amount")
        if amount is None:
            row.pop("amount", None)
        else:
            row["amount"] = amount

    def texts(names: tuple[str, ...]) -> Builder:
        def build(row: dict[str, Any], at: str) -> None:
            for f in names:
                _put(row, f, _text(form, f"{at}.{f}", lines=True))

        return build

    def step(row: dict[str, Any], at: str) -> None:
        texts(STEP_TEXT)(row, at)
        row["channel"] = first(form, f"{at}.channel", "both")
        _put(
            row,
            "time_limit",
            _time_limit(form, f"{at}.time_limit", row.get("time_limit"), optional=True),
        )
        _when(row, form, at, errors)

    def result(row: dict[str, Any], at: str) -> None:
        row["type"] = first(form, f"{at}.type", "其他")
        _put(row, "name", _text(form, f"{at}.name"))
        sample = dict(row.get("sample") or {})
        for key in ("name", "url"):
            _put(sample, key, _text(form, f"{at}.sample.{key}"))
        if sample.get("name") or sample.get("url"):
            row["sample"] = sample
        elif "sample" in row:
            row["sample"] = None  # as stored: none

    def special(row: dict[str, Any], at: str) -> None:
        texts(SPECIAL_TEXT)(row, at)
        _put(
            row,
            "time_limit",
            _time_limit(form, f"{at}.time_limit", row.get("time_limit"), optional=True),
        )

    item["materials"] = _rows_of(
        form,
        "materials",
        base.get("materials") or [],
        material,
        _empty(*MATERIAL_FREE, "options", "when"),
        filled,
    )
    item["fees"] = _rows_of(
        form, "fees", base.get("fees") or [], fee, _empty(*FEE_TEXT, "amount", "when"), filled
    )
    old = base.get("guide") or {}
    for prefix, build, names in (
        ("guide.windows", texts(WINDOW_TEXT), WINDOW_TEXT),
        ("guide.process", step, (*STEP_TEXT, "time_limit", "when")),
        ("guide.consultation", texts(CHANNEL_TEXT), CHANNEL_TEXT),
        ("guide.complaint", texts(CHANNEL_TEXT), CHANNEL_TEXT),
        ("guide.faq", texts(FAQ_TEXT), FAQ_TEXT),
        ("guide.results", result, ("name", "sample")),
        ("guide.special_procedures", special, (*SPECIAL_TEXT, "time_limit")),
        ("guide.intermediary_services", texts(INTERMEDIARY_TEXT), INTERMEDIARY_TEXT),
    ):
        key = prefix.split(".", 1)[1]
        guide[key] = _rows_of(form, prefix, old.get(key) or [], build, _empty(*names), filled)
    for key in LINE_LISTS:
        if f"guide.{key}" in form:
            text = _text(form, f"guide.{key}", lines=True) or ""
            guide[key] = [line.strip() for line in text.split("\n") if line.strip()]
    if "guide.remedies.shown" in form:
        remedies = dict(old.get("remedies") or {})
        for key in REMEDIES:
            _put(remedies, key, _text(form, f"guide.remedies.{key}", lines=True))
        if any(remedies.get(k) for k in REMEDIES):
            guide["remedies"] = remedies
        else:
            guide.pop("remedies", None)

    questions = situation_rows.questions_from(form, old.get("situations") or [])
    filled.questions = questions
    if questions.rows:
        guide["situations"] = questions.rows
    else:
        guide.pop("situations", None)
    situation_rows.tick_materials(
        questions,
        item["materials"],
        filled.places.get("materials", []),
        base.get("materials") or [],
        filled.origins.get("materials", []),
    )
    situation_rows.advanced_from(form, guide, errors)
    return filled


def list_at(values: dict[str, Any], prefix: str) -> list[Any]:
    """The list a form's rows stand for: ``guide.windows`` → the guide's windows."""
    holder = (values.get("guide") or {}) if prefix.startswith("guide.") else values
    rows = holder.get(prefix.removeprefix("guide."))
    return rows if isinstance(rows, list) else []


def filled_from(values: dict[str, Any]) -> Filled:
    """A form first shown: each row from its own place, no empty rows."""
    return Filled(
        values,
        [],
        {prefix: list(range(len(list_at(values, prefix)))) for prefix in LISTS},
        {prefix: 0 for prefix in LISTS},
    )


def rows_shown(filled: Filled, add: str | None) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Each list's rows as the form shows them: (row, where it came from: a base row's
    place or '' for a new one), then its empty rows, one more for the list added to."""
    shown: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for prefix in LISTS:
        origins = filled.origins.get(prefix) or []
        out: list[tuple[dict[str, Any], Any]] = [
            (row, origins[n] if n < len(origins) and origins[n] is not None else "")
            for n, row in enumerate(list_at(filled.values, prefix))
            if isinstance(row, dict)
        ]
        empty = NEW_MATERIAL if prefix == "materials" else NEW_STEP if "process" in prefix else {}
        extra = filled.blanks.get(prefix, 0) + (1 if add == prefix else 0)
        out += [(dict(empty), "") for _ in range(extra)]
        shown[prefix] = out
    return shown


def sections_with_errors(errors: dict[str, list[str]]) -> set[str]:
    """The sections holding a field that has an error."""
    return {
        s.key
        for key in errors
        for s in SECTIONS
        if any(key == p or key.startswith(p + ".") for p in s.paths)
    }


def sections_open(errors: dict[str, list[str]], add: str | None, asked: str | None) -> set[str]:
    """The sections shown unfolded: those with an error, the one a row was added to, the
    one asked for (``?open=``), and the materials."""
    opened = set(OPEN_FIRST) | sections_with_errors(errors)
    if add in LISTS:
        opened.add(LISTS[add].key)
    elif situation_rows.is_add(add):
        opened.add("situations")
    if asked in {s.key for s in SECTIONS}:
        opened.add(asked)  # type: ignore[arg-type]
    return opened


def merge_patch_between(before: Any, after: Any) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns ``before`` into ``after`` (lists whole)."""
    patch: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        if key not in after:
            patch[key] = None
        elif key not in before:
            patch[key] = after[key]
        elif isinstance(before[key], dict) and isinstance(after[key], dict):
            inner = merge_patch_between(before[key], after[key])
            if inner:
                patch[key] = inner
        elif before[key] != after[key]:
            patch[key] = after[key]
    return patch


#: the rows' fields whose errors come at paths below them (``materials.0.when.all.1``)
_NESTED = re.compile(
    r"^((?:materials|fees|guide\.process)\.\d{1,3}\.(?:options|when)"
    r"|guide\.situations\.\d{1,3}\.options\.\d{1,3}\.reveals)\.(.+)$"
)


def fold_errors(errors: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Errors of a condition's or an options list's parts shown at the field itself (each
    problem names the option it is about: 选项“x”不在本事项的情形中)."""
    folded: dict[str, list[Any]] = {}
    for key, msgs in errors.items():
        m = _NESTED.match(key)
        folded.setdefault(m.group(1) if m else key, []).extend(msgs)
    return folded
