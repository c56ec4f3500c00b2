"""Situations (情形引导) and the one-time checklist (一次告知).

An implementation's guide may ask questions (``guide.situations``), each with options; an
option may reveal follow-up questions (补发 → 损毁 / 遗失 / 被盗). A material may list the
``options`` that require it (none: always required; several: any of them) and, like fees,
process steps and situational time limits, hold a ``when`` condition over option ids
(``{"all": [...]}``, ``{"any": [...]}``, ``{"not": ...}``). The checklist is what one set of
answers yields. Everything here works on the stored representation (plain dicts), so the
same rules judge an input, a past version and the published feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import combinations as subsets
from itertools import islice
from typing import Any

import orjson

from app.catalogue import published
from app.errors import InvalidInput, field_error

#: at most this many reachable combinations of answers per item (each is a checklist an
#: editor must be able to check; beyond it the questions are a form, not a situation)
MAX_COMBINATIONS = 256
TOO_MANY_COMBINATIONS = f"more than {MAX_COMBINATIONS} combinations of answers can be reached"
#: a condition nested deeper than this is not something an editor can read
MAX_DEPTH = 6


def answer_count(question: dict[str, Any]) -> int:
    """The answers one question admits, counted without listing them: each option of a single
    choice, each non-empty subset of a multiple one (2^n - 1), and none when optional."""
    n = len(question["options"])
    return (2**n - 1 if question.get("multiple") else n) + (not question.get("required", True))


# --- conditions --------------------------------------------------------------------


def holds(condition: Any, chosen: set[str]) -> bool:
    """Whether a stored condition holds for the chosen option ids."""
    if condition is None:
        return True
    if isinstance(condition, str):
        return condition in chosen
    if "all" in condition:
        return all(holds(c, chosen) for c in condition["all"])
    if "any" in condition:
        return any(holds(c, chosen) for c in condition["any"])
    return not holds(condition["not"], chosen)


def _leaves(condition: Any, loc: list[str | int], depth: int = 1) -> Iterator[tuple[Any, list]]:
    """(option id or ``None`` for too deep, its path) of every leaf of a stored condition."""
    if depth > MAX_DEPTH:
        yield None, loc
        return
    if isinstance(condition, str):
        yield condition, loc
        return
    op = next(iter(condition))
    parts = condition[op] if op != "not" else [condition[op]]
    for i, part in enumerate(parts):
        yield from _leaves(part, [*loc, op, i] if op != "not" else [*loc, op], depth + 1)


def requirement(row: dict[str, Any]) -> Any:
    """The one condition under which a material (tied to ``options``, any of them), fee or
    step (``when``) applies; None: always. The checklist filters by it and the full guide
    says it in words (app/catalogue/material_conditions.py), so the two never disagree."""
    options = list(row.get("options") or ())
    tied: Any = None if not options else options[0] if len(options) == 1 else {"any": options}
    when = row.get("when")
    if tied is None or when is None:
        return when if tied is None else tied
    return {"all": [tied, when]}


def applies(row: dict[str, Any], chosen: set[str]) -> bool:
    """Whether a material, fee or step applies to the chosen option ids."""
    return holds(requirement(row), chosen)


# --- structure ---------------------------------------------------------------------


class Situations:
    """The questions of one item, indexed (from the stored or dumped guide)."""

    def __init__(self, questions: list[dict[str, Any]]) -> None:
        self.questions = questions
        self.by_id = {q["id"]: q for q in questions}
        self.option_question = {o["id"]: q["id"] for q in questions for o in q["options"]}
        self.options = {o["id"]: o for q in questions for o in q["options"]}
        revealed = {r for q in questions for o in q["options"] for r in o.get("reveals", ())}
        self.roots = [q["id"] for q in questions if q["id"] not in revealed]

    def _choices(self, question: dict[str, Any]) -> Iterator[tuple[str, ...]]:
        ids = [o["id"] for o in question["options"]]
        if not question.get("required", True):
            yield ()
        if not question.get("multiple"):
            yield from ((i,) for i in ids)
            return
        for size in range(1, len(ids) + 1):
            yield from subsets(ids, size)

    def _revealed(self, picked: Iterable[str], seen: set[str]) -> list[str]:
        out: list[str] = []
        for option in picked:
            for q in self.options[option].get("reveals", ()):
                if q not in seen and q not in out and q in self.by_id:
                    out.append(q)
        return out

    def _walk(
        self, pending: list[str], answers: dict[str, tuple[str, ...]]
    ) -> Iterator[dict[str, tuple[str, ...]]]:
        # lazy: every choice leads to at least one complete set of answers, so a caller that
        # stops after n sets has made at most n × (questions) steps
        if not pending:
            yield answers
            return
        question, rest = self.by_id[pending[0]], pending[1:]
        seen = {*answers, *pending}
        for picked in self._choices(question):
            more = self._revealed(picked, seen)
            yield from self._walk([*rest, *more], {**answers, question["id"]: picked})

    def count(self, limit: int = MAX_COMBINATIONS) -> int:
        """The reachable sets of answers, counted up to ``limit + 1`` (then: too many). The
        questions always asked give a floor first (every set of their answers is reachable),
        so a form of many options is refused without a walk; the walk stops at limit + 1."""
        floor = 1
        for root in self.roots:
            floor *= answer_count(self.by_id[root])
            if floor > limit:
                return limit + 1
        return sum(1 for _ in islice(self._walk(list(self.roots), {}), limit + 1))

    def combinations(self, limit: int = MAX_COMBINATIONS) -> list[dict[str, tuple[str, ...]]]:
        """Every reachable set of answers (question → options), at most ``limit + 1`` of
        them (more than ``limit``: too many; the walk stops there)."""
        return list(islice(self._walk(list(self.roots), {}), limit + 1))

    def asked(self, answers: dict[str, list[str]]) -> list[str]:
        """The questions these answers lead to, in the order they are asked."""
        order = list(self.roots)
        i = 0
        while i < len(order):
            picked = [o for o in answers.get(order[i], ()) if o in self.options]
            if picked:
                order.extend(self._revealed(picked, set(order)))
            i += 1
        return order


def chosen_options(answers: dict[str, Any]) -> set[str]:
    return {o for picked in answers.values() for o in picked}


def answer_errors(
    situations: Situations,
    answers: dict[str, list[str]],
    loc: list[str | int],
    asked: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every unanswered, unknown or not-asked question and every bad option of
    ``answers`` (``asked``: the questions they lead to, when already known)."""
    errors = []
    asked = situations.asked(answers) if asked is None else asked
    for qid, picked in answers.items():
        where = [*loc, qid]
        question = situations.by_id.get(qid)
        if question is None:
            errors.append(field_error(where, f"no question {qid!r}", "situation.unknown_question"))
            continue
        if qid not in asked:
            errors.append(
                field_error(
                    where,
                    f"question {qid!r} is only asked after another answer",
                    "situation.not_asked",
                )
            )
        own = [o["id"] for o in question["options"]]
        for j, option in enumerate(picked):
            if option not in own:
                errors.append(
                    field_error(
                        [*where, j],
                        f"{option!r} is not an option of {qid!r} (one of {', '.join(own)})",
                        "situation.unknown_option",
                    )
                )
        if not question.get("multiple") and len(picked) > 1:
            errors.append(field_error(where, "choose one option", "situation.single_choice"))
        if len(set(picked)) != len(picked):
            errors.append(field_error(where, "an option is given twice", "situation.repeated"))
    for qid in asked:
        question = situations.by_id[qid]
        if question.get("required", True) and not answers.get(qid):
            errors.append(
                field_error(
                    [*loc, qid],
                    f"unanswered: {question['question']}",
                    "situation.unanswered",
                )
            )
    return errors


def _structure_errors(situations: Situations, loc: list[str | int]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    seen_q: set[str] = set()
    seen_o: set[str] = set()
    for i, q in enumerate(situations.questions):
        where = [*loc, i]
        if q["id"] in seen_q:
            errors.append(field_error([*where, "id"], "question ids are unique", "situation.id"))
        seen_q.add(q["id"])
        if len(q["options"]) < 2 and not q.get("multiple"):
            errors.append(
                field_error(
                    [*where, "options"],
                    "a single choice needs at least two options",
                    "situation.too_few_options",
                )
            )
        for j, o in enumerate(q["options"]):
            if o["id"] in seen_o or o["id"] in situations.by_id:
                errors.append(
                    field_error(
                        [*where, "options", j, "id"],
                        "option ids are unique among the item's questions and options",
                        "situation.id",
                    )
                )
            seen_o.add(o["id"])
            for k, target in enumerate(o.get("reveals", ())):
                at = [*where, "options", j, "reveals", k]
                if target == q["id"]:
                    errors.append(
                        field_error(
                            at, "an option cannot reveal its own question", "situation.reveals_own"
                        )
                    )
                elif target not in situations.by_id:
                    errors.append(
                        field_error(at, f"no question {target!r}", "situation.unknown_question")
                    )
    reachable = set(situations.asked({q: list(situations.option_question) for q in seen_q}))
    for i, q in enumerate(situations.questions):
        if q["id"] not in reachable:
            errors.append(
                field_error(
                    [*loc, i],
                    "no answer leads to this question (it is revealed only from a loop)",
                    "situation.orphan",
                )
            )
    return errors


def _condition_errors(
    situations: Situations, guide: dict[str, Any], materials: list, fees: list, body: list
) -> tuple[list[dict[str, Any]], set[str]]:
    """Unknown options and too deep conditions; also the options the conditions use."""
    places: list[tuple[Any, list]] = []
    for i, m in enumerate(materials):
        at = [*body, "materials", i]
        places += [(o, [*at, "options", j]) for j, o in enumerate(m.get("options") or ())]
    conditioned = [
        *(([*body, "materials", i], m) for i, m in enumerate(materials)),
        *(([*body, "fees", i], f) for i, f in enumerate(fees)),
        *(([*body, "guide", "process", i], s) for i, s in enumerate(guide.get("process") or ())),
        *(
            ([*body, "guide", "time_limits", i], t)
            for i, t in enumerate(guide.get("time_limits") or ())
        ),
    ]
    for at, row in conditioned:
        if row.get("when") is not None:
            places += _leaves(row["when"], [*at, "when"])
    errors: list[dict[str, Any]] = []
    used: set[str] = set()
    for option, at in places:
        if option is None:
            errors.append(field_error(at, f"nested deeper than {MAX_DEPTH}", "situation.depth"))
        elif option not in situations.options:
            errors.append(
                field_error(
                    at, f"no option {option!r} in guide.situations", "situation.unknown_option"
                )
            )
        else:
            used.add(option)
    return errors, used


def check_item(content: dict[str, Any], body: list[str | int]) -> list[dict[str, Any]]:
    """Every error in an implementation's situations and conditions (its JSON dump)."""
    guide = content.get("guide") or {}
    materials, fees = content.get("materials") or [], content.get("fees") or []
    situations = Situations(guide.get("situations") or [])
    errors = _structure_errors(situations, [*body, "guide", "situations"])
    cond_errors, used = _condition_errors(situations, guide, materials, fees, body)
    errors += cond_errors
    if errors or not situations.questions:
        return errors
    for i, q in enumerate(situations.questions):
        if not any(o["id"] in used or o.get("reveals") for o in q["options"]):
            errors.append(
                field_error(
                    [*body, "guide", "situations", i],
                    f"no answer to {q['question']!r} changes the checklist (no material, fee, "
                    "step or time limit depends on it, and it reveals no question)",
                    "situation.orphan",
                )
            )
    for i, common in enumerate(guide.get("common_situations") or ()):
        at = [*body, "guide", "common_situations", i, "answers"]
        errors += answer_errors(situations, common["answers"], at)
    if situations.count() > MAX_COMBINATIONS:
        errors.append(
            field_error(
                [*body, "guide", "situations"],
                TOO_MANY_COMBINATIONS,
                "situation.too_many_combinations",
            )
        )
        return errors
    for answers in situations.combinations():
        chosen = chosen_options(answers)
        if not any(applies(m, chosen) for m in materials):
            said = "; ".join(
                f"{situations.by_id[q]['question']} {'/'.join(a) or '-'}"
                for q, a in answers.items()
            )
            errors.append(
                field_error(
                    [*body, "materials"],
                    f"these answers leave no material to bring: {said}",
                    "situation.empty_checklist",
                )
            )
            break
    return errors


# --- the checklist -----------------------------------------------------------------


def questions_of(doc: dict[str, Any]) -> dict[str, Any]:
    """GET /items/{code}/situations: the questions and the common situations."""
    guide = doc.get("guide") or {}
    return {
        "code": doc["code"],
        "version": doc["version"],
        "name": doc["name"],
        "situations": guide.get("situations") or [],
        "common_situations": guide.get("common_situations") or [],
    }


#: answer sets kept per stored version (an item has at most 256 reachable combinations)
ANSWERED_MAX = 64


class Prepared:
    """What every checklist of one stored representation starts from, worked out once: the
    questions indexed, and each material, fee and step as the checklist shows it (without
    its condition) beside the condition that chooses it."""

    def __init__(self, doc: dict[str, Any]) -> None:
        guide = doc.get("guide") or {}
        self.doc = doc
        self.guide = guide
        self.situations = Situations(guide.get("situations") or [])
        self.unknown = published.unknown_parts(doc)  # 未公布: the same for every answer
        self.materials = [
            (
                m.get("options") or (),
                requirement(m),
                {k: v for k, v in m.items() if k not in ("options", "when")},
                bool(m.get("licence_type")),
            )
            for m in doc["materials"]
        ]
        self.fees = [
            (f.get("when"), {k: v for k, v in f.items() if k != "when"}) for f in doc["fees"]
        ]
        self.process = [
            (step.get("when"), {k: v for k, v in step.items() if k != "when"})
            for step in guide.get("process") or ()
        ]
        #: checklists already answered, as JSON, by their answers (a version never changes,
        #: and most citizens answer as the common situations do); bounded
        self.answered: dict[tuple[tuple[str, tuple[str, ...]], ...], bytes] = {}

    def checklist_json(self, answers: dict[str, list[str]]) -> bytes:
        """:func:`checklist` of this representation as JSON, kept for the next asker with
        the same answers (an error is not kept: it raises every time)."""
        key = tuple(sorted((q, tuple(v)) for q, v in answers.items()))
        found = self.answered.get(key)
        if found is None:
            if len(self.answered) >= ANSWERED_MAX:
                self.answered.clear()
            found = self.answered[key] = orjson.dumps(checklist(self.doc, answers, self))
        return found


def checklist(
    doc: dict[str, Any], answers: dict[str, list[str]], prepared: Prepared | None = None
) -> dict[str, Any]:
    """一次告知: what a citizen in this situation brings and pays, how long it takes, the
    steps and where to go. 422 naming every unanswered or unknown question. ``prepared``:
    :class:`Prepared` of ``doc``, when the caller keeps it."""
    p = prepared or Prepared(doc)
    guide, situations = p.guide, p.situations
    asked = situations.asked(answers)
    errors = answer_errors(situations, answers, ["body", "answers"], asked)
    if errors:
        raise InvalidInput("the answers do not fit the item's questions", errors=errors)
    chosen = chosen_options(answers)
    labels = {o: situations.options[o]["label"] for o in chosen}
    materials = [
        {
            **shown,
            "from_licence_library": licence,
            "because": [labels[o] for o in options if o in chosen],
        }
        for options, required, shown, licence in p.materials
        if holds(required, chosen)
    ]
    fees = [shown for when, shown in p.fees if holds(when, chosen)]
    amounts = [f.get("amount") for f in fees]
    unknown = p.unknown
    legal, promised = guide.get("legal_time_limit"), guide.get("promised_time_limit")
    for limit in guide.get("time_limits") or ():
        if holds(limit["when"], chosen):
            legal = limit.get("legal_time_limit") or legal
            promised = limit.get("promised_time_limit") or promised
            break
    return {
        "code": doc["code"],
        "version": doc["version"],
        "name": doc["name"],
        "department": doc["department"],
        "answers": {q: answers[q] for q in asked if q in answers},
        "situation": [
            {
                "question": situations.by_id[q]["question"],
                "answer": [situations.options[o]["label"] for o in answers.get(q, ())],
            }
            for q in asked
        ],
        "materials": materials,
        "fees": fees,
        # the sum when the standard fixes every amount (else each fee's text says it); never
        # 0 for fees the catalogue does not know yet (待完善)
        "fee_total": None if None in amounts or "fees" in unknown else sum(amounts),
        "legal_time_limit": legal,
        "promised_time_limit": promised,
        "process": [shown for when, shown in p.process if holds(when, chosen)],
        "windows": guide.get("windows") or [],
        "online": guide.get("online"),
        "visits": guide.get("visits"),
        "unknown": unknown,
    }
