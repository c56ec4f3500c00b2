"""The full list of an item's materials (申请材料) as the guide shows it: each with the
situation (情形) it is needed in, in the options' own words (仅在「补发：遗失」时需要).

The condition is :func:`app.catalogue.situations.requirement`, the very rule the one-time
checklist filters by; a material no set of answers reaches is left out, so the full list is
the union of every checklist the item's questions can give.
"""

from __future__ import annotations

from typing import Any

from app.catalogue.situations import (
    MAX_COMBINATIONS,
    Situations,
    chosen_options,
    holds,
    requirement,
)

#: how conditions read: catalogue text is Chinese, whatever the page's language
AND, OR = "且", "或"
NOT = "未选"


class Wording:
    """Option ids said as the citizen reads them: the option's label, after the label of
    the option that asks its question (「补发：遗失」)."""

    def __init__(self, situations: Situations) -> None:
        self.situations = situations
        self.revealed_by: dict[str, str] = {}
        for q in situations.questions:
            for o in q["options"]:
                for r in o.get("reveals") or ():
                    self.revealed_by.setdefault(r, o["id"])

    def option(self, option_id: str, said: frozenset[str] = frozenset()) -> str:
        """``said``: options the same sentence names already (no need to repeat them)."""
        option = self.situations.options.get(option_id)
        if option is None:
            return option_id
        question = self.situations.option_question[option_id]
        parent = self.revealed_by.get(question)
        if parent is None or parent in said:
            return option["label"]
        return f"{self.option(parent, said | {option_id})}：{option['label']}"

    def condition(
        self, condition: Any, inside: str = "", said: frozenset[str] = frozenset()
    ) -> str:
        """「a」或「b」, 「a」且未选「b」, with parentheses where the meaning needs them."""
        if isinstance(condition, str):
            return f"「{self.option(condition, said)}」"
        key, value = next(iter(condition.items()))
        if key == "not":
            return NOT + self.condition(value, "not", said)
        if key == "all":  # 「未满十六周岁」且未选「监护人陪同」: the asking option is said
            said = said | {v for v in value if isinstance(v, str)}
        parts = [self.condition(v, key, said) for v in value]
        text = (AND if key == "all" else OR).join(parts)
        compound = len(parts) > 1 and (inside == "not" or (key == "any" and inside == "all"))
        return f"（{text}）" if compound else text


def full_materials(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every material some set of answers asks for, as stored (without ``options`` and
    ``when``), with ``required_when``: the condition in words, None when always needed."""
    guide = doc.get("guide") or {}
    situations = Situations(guide.get("situations") or [])
    combinations = situations.combinations() if situations.questions else [{}]
    reach_all = len(combinations) > MAX_COMBINATIONS  # not a valid item: show everything
    chosen_sets = [chosen_options(answers) for answers in combinations]
    wording = Wording(situations)
    out = []
    for material in doc.get("materials") or ():
        required = requirement(material)
        if not reach_all and not any(holds(required, chosen) for chosen in chosen_sets):
            continue
        shown = {k: v for k, v in material.items() if k not in ("options", "when")}
        always = required is None or all(holds(required, chosen) for chosen in chosen_sets)
        shown["required_when"] = None if always else wording.condition(required)
        out.append(shown)
    return out
