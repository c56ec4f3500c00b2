"""The editor's item form: the item's input (``item_input``) as form fields named by their
paths (``materials.0.originals``), and back. Values are passed on as typed; the API's own
models judge them, and their errors come back by the same paths, next to the fields."""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson

from app.pages import conditions
from app.pages.web import first

MATERIAL_TEXT = (
    "name",
    "material_type",
    "form",
    "necessity",
    "source",
    "paper_size",
    "source_note",
    "applies_when",
    "acceptance_standard",
    "signature_requirement",
    "instructions",
    "licence_type",
)
MATERIAL_NUMBERS = ("originals", "copies")
FEE_TEXT = ("name", "standard", "legal_basis", "waiver_basis")
WINDOW_TEXT = ("name", "address", "hours", "phone", "traffic", "map_url")
TIME_LIMITS = ("legal_time_limit", "promised_time_limit")
DEPTHS = ("咨询", "收件", "预审", "受理", "结果反馈")
SITUATION_KEYS = ("situations", "common_situations", "time_limits")
SITUATIONS_FIELD = "situations_json"
_INTEGER = re.compile(r"^[+-]?\d{1,9}$")
_NUMBER = re.compile(r"^[+-]?\d{1,12}(\.\d{1,6})?$")


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


def _rows(form: dict[str, list[str]], prefix: str) -> list[int]:
    found = set()
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d{{1,3}})\.")
    for key in form:
        m = pattern.match(key)
        if m:
            found.add(int(m.group(1)))
    return sorted(found)


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


def from_form(
    base: dict[str, Any], form: dict[str, list[str]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The item input the form describes, over ``base`` (what it was filled from), and the
    form's own errors (a situations text that is not JSON, a condition that does not
    parse)."""
    item = copy.deepcopy(base)
    errors: list[dict[str, Any]] = []
    guide = item.setdefault("guide", {})
    conditions = _text(form, "guide.conditions", lines=True)
    guide["conditions"] = [c.strip() for c in (conditions or "").split("\n") if c.strip()]
    for name in TIME_LIMITS:
        guide[name] = {
            **(guide.get(name) or {}),
            "value": _integer(form, f"guide.{name}.value"),
            "unit": first(form, f"guide.{name}.unit", "working_days"),
            "note": _text(form, f"guide.{name}.note", lines=True),
        }
    guide["visits"] = _integer(form, "guide.visits")
    guide["charges_fee"] = _checked(form, "guide.charges_fee")
    guide["online"] = {
        "available": _checked(form, "guide.online.available"),
        "depth": [d for d in DEPTHS if d in form.get("guide.online.depth", [])],
        "url": _text(form, "guide.online.url"),
    }
    old_windows = guide.get("windows") or []
    windows = []
    for i in _rows(form, "guide.windows"):
        if _checked(form, f"guide.windows.{i}.remove"):
            continue
        row = dict(old_windows[i]) if i < len(old_windows) else {}
        for f in WINDOW_TEXT:
            row[f] = _text(form, f"guide.windows.{i}.{f}")
        if i >= len(old_windows) and not any(row.values()):
            continue  # the empty new row
        windows.append(row)
    guide["windows"] = windows

    old_materials = item.get("materials") or []
    materials = []
    for i in _rows(form, "materials"):
        if _checked(form, f"materials.{i}.remove"):
            continue
        row = dict(old_materials[i]) if i < len(old_materials) else {}
        for f in MATERIAL_TEXT:
            row[f] = _text(form, f"materials.{i}.{f}", lines=True)
        for f in MATERIAL_NUMBERS:
            row[f] = _integer(form, f"materials.{i}.{f}")
        # the options ticked (the item's option ids): none means always required
        options = [o for o in form.get(f"materials.{i}.options", []) if o.strip()]
        if options:
            row["options"] = list(dict.fromkeys(options))
        else:
            row.pop("options", None)
        _when(row, form, f"materials.{i}", errors)
        if i >= len(old_materials) and not row.get("name"):
            continue
        materials.append(row)
    item["materials"] = materials

    old_fees = item.get("fees") or []
    fees = []
    for i in _rows(form, "fees"):
        if _checked(form, f"fees.{i}.remove"):
            continue
        row = dict(old_fees[i]) if i < len(old_fees) else {}
        for f in FEE_TEXT:
            row[f] = _text(form, f"fees.{i}.{f}", lines=True)
        row["waivable"] = _checked(form, f"fees.{i}.waivable")
        _when(row, form, f"fees.{i}", errors)
        amount = _number(form, f"fees.{i}.amount")
        if amount is None:
            row.pop("amount", None)
        else:
            row["amount"] = amount
        if i >= len(old_fees) and not row.get("name"):
            continue
        fees.append(row)
    item["fees"] = fees

    raw = first(form, SITUATIONS_FIELD).strip()
    if raw:
        try:
            parsed = orjson.loads(raw)
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            errors.append(
                {
                    "loc": [SITUATIONS_FIELD],
                    "msg": f"not a JSON object with situations, common_situations, "
                    f"time_limits: {exc}",
                    "type": "json_invalid",
                }
            )
            parsed = {}
        for key in SITUATION_KEYS:
            if key in parsed:
                guide[key] = parsed[key]
    else:
        for key in SITUATION_KEYS:
            guide.pop(key, None)
    return item, errors


def situations_text(item: dict[str, Any]) -> str:
    guide = item.get("guide") or {}
    shown = {k: guide[k] for k in SITUATION_KEYS if guide.get(k)}
    if not shown:
        return ""
    return orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode()


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
_NESTED = re.compile(r"^((?:materials|fees)\.\d{1,3}\.(?:options|when))\.(.+)$")


def fold_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Errors of a condition's or an options list's parts shown at the field itself, each
    saying which part (``all.1: no option 'x'``)."""
    folded: dict[str, list[str]] = {}
    for key, msgs in errors.items():
        m = _NESTED.match(key)
        if m:
            folded.setdefault(m.group(1), []).extend(f"{m.group(2)}: {msg}" for msg in msgs)
        else:
            folded.setdefault(key, []).extend(msgs)
    return folded


def option_choices(item: dict[str, Any]) -> list[tuple[str, str]]:
    """The item's situation options as (id, "question: label") for the materials' options;
    the editor's form ticks those that require a material."""
    found = []
    situations = (item.get("guide") or {}).get("situations") or []
    for q in situations if isinstance(situations, list) else ():
        if not isinstance(q, dict):
            continue
        for o in q.get("options") or ():
            if isinstance(o, dict) and isinstance(o.get("id"), str):
                found.append((o["id"], f"{q.get('question', '')}：{o.get('label', '')}"))
    return found
