"""The situations (情形引导) part of the editor's item form, without JavaScript: each
question a row (``guide.situations.0.question``), its options rows inside it
(``guide.situations.0.options.1.label``), and for each option the materials it requires
ticked (``guide.situations.0.options.1.materials`` = the material rows' places in the
form). The common situations (常用情形) and the time limits by situation stay one JSON
text, an advanced field few items need.

A material's options can be ticked at the material too: where the two disagree, the side
that was changed from what the form was filled from wins (a tick changed at the material
and left alone at the option is the material's)."""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson

from app.pages.web import first

SITUATIONS = "guide.situations"
#: edited as JSON text (the advanced field): the common situations and situational limits
ADVANCED_KEYS = ("common_situations", "time_limits")
ADVANCED_FIELD = "situations_json"
#: a new question: answered once, by one option; shown with two empty options
NEW_QUESTION: dict[str, Any] = {"required": True, "multiple": False}
NEW_OPTIONS = 2
_IDS = re.compile(r"[\s,，、;；]+")


def _indexes(form: dict[str, list[str]], prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d{{1,3}})\.")
    return sorted({int(m.group(1)) for key in form if (m := pattern.match(key))})


def _text(form: dict[str, list[str]], name: str) -> str | None:
    return first(form, name).strip() or None


def _origin(form: dict[str, list[str]], at: str, count: int) -> int | None:
    value = first(form, f"{at}.from").strip()
    return int(value) if value.isdigit() and int(value) < count else None


def _set(row: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        row.pop(key, None)
    else:
        row[key] = value


class Questions:
    """The questions a submitted form describes, each with its options, where each row came
    from, and which materials each option's ticks name."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        #: per question kept: (its base place or None, its options' base places)
        self.origins: list[tuple[int | None, list[int | None]]] = []
        #: per question kept: how many empty option rows to show again
        self.blank_options: list[int] = []
        self.blank_questions = 0
        #: (question place, option place) → the material form rows ticked
        self.ticks: dict[tuple[int, int], set[int]] = {}


def questions_from(form: dict[str, list[str]], base: list[Any]) -> Questions:
    """The questions of the form, over ``base`` (the questions it was filled from)."""
    out = Questions()
    if f"{SITUATIONS}.shown" not in form:
        out.rows = copy.deepcopy(base)  # a form without the part leaves it as it was
        out.origins = [(n, list(range(len(q.get("options") or [])))) for n, q in enumerate(base)]
        out.blank_options = [0] * len(base)
        return out
    for i in _indexes(form, SITUATIONS):
        at = f"{SITUATIONS}.{i}"
        if first(form, f"{at}.remove") == "on":
            continue
        origin = _origin(form, at, len(base))
        row = copy.deepcopy(base[origin]) if origin is not None else {}
        for key in ("id", "question"):
            _set(row, key, _text(form, f"{at}.{key}"))
        row["required"] = first(form, f"{at}.required") == "on"
        row["multiple"] = first(form, f"{at}.multiple") == "on"
        old_options = row.get("options") if isinstance(row.get("options"), list) else []
        options: list[dict[str, Any]] = []
        option_origins: list[int | None] = []
        blanks = 0
        ticks: dict[int, set[int]] = {}
        for j in _indexes(form, f"{at}.options"):
            oat = f"{at}.options.{j}"
            if first(form, f"{oat}.remove") == "on":
                continue
            o_origin = _origin(form, oat, len(old_options))
            option = copy.deepcopy(old_options[o_origin]) if o_origin is not None else {}
            for key in ("id", "label"):
                _set(option, key, _text(form, f"{oat}.{key}"))
            reveals = [r for r in _IDS.split(first(form, f"{oat}.reveals")) if r]
            _set(option, "reveals", reveals or None)
            if o_origin is None and not (option.get("id") or option.get("label") or reveals):
                blanks += 1
                continue
            if f"{oat}.materials.shown" in form:
                ticks[len(options)] = {
                    int(v) for v in form.get(f"{oat}.materials", []) if v.strip().isdigit()
                }
            options.append(option)
            option_origins.append(o_origin)
        row["options"] = options
        if origin is None and not (row.get("id") or row.get("question") or options):
            out.blank_questions += 1
            continue
        for place, ticked in ticks.items():
            out.ticks[(len(out.rows), place)] = ticked
        out.rows.append(row)
        out.origins.append((origin, option_origins))
        out.blank_options.append(blanks)
    return out


def tick_materials(
    questions: Questions,
    materials: list[dict[str, Any]],
    material_rows: list[int],
    base_materials: list[Any],
    material_origins: list[int | None],
) -> None:
    """Set each material's ``options`` from the options' ticks where the material's own
    were left as they were (see the module's note)."""
    for (q, o), ticked in questions.ticks.items():
        option_id = questions.rows[q]["options"][o].get("id")
        if not isinstance(option_id, str):
            continue
        for k, material in enumerate(materials):
            origin = material_origins[k] if k < len(material_origins) else None
            was = origin is not None and option_id in (base_materials[origin].get("options") or [])
            now = option_id in (material.get("options") or [])
            if now != was:
                continue  # changed at the material: the material's tick stands
            if (material_rows[k] in ticked) == now:
                continue
            chosen = [x for x in material.get("options") or [] if x != option_id]
            if not now:
                chosen.append(option_id)
            _set(material, "options", chosen or None)


def questions_shown(
    values: dict[str, Any], questions: Questions | None, add: str | None
) -> list[tuple[dict[str, Any], Any, list[tuple[dict[str, Any], Any]]]]:
    """The question rows as the form shows them: (question, its base place or '', its
    option rows (option, base place or '')), then the empty ones asked for."""
    rows = (values.get("guide") or {}).get("situations") or []
    if not isinstance(rows, list):
        rows = []
    shown = []
    for n, q in enumerate(rows):
        if not isinstance(q, dict):
            continue
        origin, option_origins = (
            questions.origins[n]
            if questions and n < len(questions.origins)
            else (n, list(range(len(q.get("options") or []))))
        )
        options = [
            (
                o,
                option_origins[m]
                if m < len(option_origins) and option_origins[m] is not None
                else "",
            )
            for m, o in enumerate(q.get("options") or [])
            if isinstance(o, dict)
        ]
        extra = questions.blank_options[n] if questions and n < len(questions.blank_options) else 0
        if add == f"{SITUATIONS}.{n}.options":
            extra += 1
        options += [({}, "") for _ in range(extra)]
        shown.append((q, "" if origin is None else origin, options))
    new = (questions.blank_questions if questions else 0) + (1 if add == SITUATIONS else 0)
    for _ in range(new):
        shown.append((dict(NEW_QUESTION), "", [({}, "") for _ in range(NEW_OPTIONS)]))
    return shown


def is_add(add: str | None) -> bool:
    """Whether ``add`` asks for a question row or an option row of one."""
    return add == SITUATIONS or bool(
        add and re.fullmatch(rf"{SITUATIONS}\.\d{{1,3}}\.options", add)
    )


def advanced_from(
    form: dict[str, list[str]], guide: dict[str, Any], errors: list[dict[str, Any]]
) -> None:
    """The common situations and situational time limits from their JSON text."""
    if ADVANCED_FIELD not in form:
        return
    raw = first(form, ADVANCED_FIELD).strip()
    parsed: Any = {}
    if raw:
        try:
            parsed = orjson.loads(raw)
            if not isinstance(parsed, dict) or set(parsed) - set(ADVANCED_KEYS):
                raise ValueError(f"an object with only {', '.join(ADVANCED_KEYS)}")
        except ValueError as exc:
            errors.append(
                {
                    "loc": [ADVANCED_FIELD],
                    "msg": f"not a JSON object with {', '.join(ADVANCED_KEYS)}: {exc}",
                    "type": "json_invalid",
                }
            )
            return
    for key in ADVANCED_KEYS:
        if parsed.get(key):
            guide[key] = parsed[key]
        else:
            guide.pop(key, None)


def advanced_text(item: dict[str, Any]) -> str:
    guide = item.get("guide") or {}
    shown = {k: guide[k] for k in ADVANCED_KEYS if guide.get(k)}
    if not shown:
        return ""
    return orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode()


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
