"""Field-level differences between two versions of an item (or an item and a proposal), as a
reviewer reads them: each row has the field's ``label`` beside its ``path``, and the things
of a list (materials, fees, windows, steps, situations, FAQ, channels…) are matched by their
identity and named by their name, so a changed phone is one row
``窗口「南岗区户政服务大厅」 电话`` and an added window one ``added`` row.

Materials, fees, situations and their options are matched by code or id (their path holds
it; a proposed material has no code until it is published: ``new-N`` by its place);
windows, steps, FAQ and the like by name or question (their path holds the position in the
version they are in); consultation and complaint channels, which have no name, by place.
"""

from __future__ import annotations

from collections import Counter
from difflib import SequenceMatcher
from typing import Any

from app.catalogue import labels
from app.catalogue.labels import F

#: how the things of a list are matched (by field path, positions left out): a field
#: holding their identity, or None to match them by place
_IDENTITY: dict[tuple[str, ...], str | None] = {
    ("materials",): "code",
    ("fees",): "code",
    ("legal_basis",): None,
    ("handling_items",): "code",
    ("guide", "process"): "name",
    ("guide", "windows"): "name",
    ("guide", "consultation"): None,
    ("guide", "complaint"): None,
    ("guide", "results"): "name",
    ("guide", "special_procedures"): "name",
    ("guide", "faq"): "question",
    ("guide", "intermediary_services"): "name",
    ("guide", "situations"): "id",
    ("guide", "situations", "options"): "id",
    ("guide", "common_situations"): "name",
    ("guide", "time_limits"): None,
}
#: identities that are the thing's code, kept in the path in place of a position
_KEYED = {"code", "id"}
#: the field that names a thing for a reader, where it is not its identity
_NAMED_BY = {
    ("guide", "situations"): ("question",),
    ("guide", "situations", "options"): ("label",),
    ("guide", "consultation"): ("phone", "url", "email", "address"),
    ("guide", "complaint"): ("phone", "url", "email", "address"),
    ("legal_basis",): ("law",),
}
#: values read as a whole: a condition over options, a common situation's answers
_WHOLE = ("when", "answers")
#: the fields of a thing that say nothing to a reader of a change (a material's place: a
#: reordered list of materials is not a change)
_HIDDEN = {("materials",): ("code", "position"), ("fees",): ("code", "position")}


_GONE = object()


def diff(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    skip: tuple[str, ...] = (),
    lang: str = "zh-Hans",
) -> list[dict[str, Any]]:
    """The changes from ``before`` to ``after``: ``{path, label, op, from, to}`` (and
    ``from_text``/``to_text`` where a value reads otherwise: 是/否, 工作日…)."""
    out: list[dict[str, Any]] = []
    a = {k: v for k, v in before.items() if k not in skip}
    b = {k: v for k, v in after.items() if k not in skip}
    _Walk(lang, out).object([], (), labels.ITEM, [], a, b)
    return out


class _Walk:
    def __init__(self, lang: str, out: list[dict[str, Any]]) -> None:
        self.lang = lang
        self.out = out

    # --- rows ------------------------------------------------------------------------

    def row(
        self, path: list[Any], words: list[str], op: str, old: Any = None, new: Any = None
    ) -> None:
        row: dict[str, Any] = {"path": path, "label": self.joined(words), "op": op}
        if op != "added":
            row["from"] = old
        if op != "removed":
            row["to"] = new
        for side, value in (("from", old), ("to", new)):
            text = labels.value_text(path, value, self.lang) if side in row else None
            if text is not None:
                row[f"{side}_text"] = text
        self.out.append(row)

    def joined(self, words: list[str]) -> str:
        return labels.sep(self.lang).join(w for w in words if w)

    # --- values ----------------------------------------------------------------------

    def value(
        self,
        path: list[Any],
        schema: tuple[str, ...],
        field: F | None,
        words: list[str],
        a: Any,
        b: Any,
    ) -> None:
        if a == b:
            return
        if schema and schema[-1] in _WHOLE:
            self.row(path, words, "changed", a, b)
        elif isinstance(a, dict) and isinstance(b, dict):
            self.object(path, schema, field, words, a, b)
        elif isinstance(a, list) and isinstance(b, list) and schema in _IDENTITY:
            self.things(path, schema, field, words, a, b)
        elif (
            isinstance(a, list)
            and isinstance(b, list)
            and field is not None
            and all(not isinstance(v, dict | list) for v in (*a, *b))
        ):
            self.scalars(path, field, words, a, b)
        else:
            self.row(path, words, "changed", a, b)

    def object(
        self,
        path: list[Any],
        schema: tuple[str, ...],
        field: F | None,
        words: list[str],
        a: dict[str, Any],
        b: dict[str, Any],
    ) -> None:
        order = {k: n for n, k in enumerate(field.fields)} if field is not None else {}
        # the fields in the order the guide reads (the table's), others after by name
        for key in sorted(set(a) | set(b), key=lambda k: (order.get(k, len(order)), str(k))):
            inner = field.fields.get(key) if field is not None else None
            if field is not None and field.transparent and inner is not None:
                here = [*words[:-1]]  # 办事指南 受理条件 reads 受理条件
            else:
                here = list(words)
            here.append(inner.name(self.lang) if inner is not None else str(key))
            at = [*path, key]
            old, new = a.get(key, _GONE), b.get(key, _GONE)
            if _nothing(old) and _nothing(new):
                continue  # left out and null or empty say the same (a body sent without nulls)
            if old is _GONE or new is _GONE:
                # a part added or removed as a whole is shown part by part (a new item's
                # windows one by one), a value as it is
                whole = new if old is _GONE else old
                if isinstance(whole, dict) or (
                    isinstance(whole, list) and (*schema, key) in _IDENTITY
                ):
                    empty = type(whole)()
                    old, new = (empty, new) if old is _GONE else (old, empty)
                elif old is _GONE:
                    self.row(at, here, "added", new=new)
                    continue
                else:
                    self.row(at, here, "removed", old=old)
                    continue
            self.value(at, (*schema, key), inner, here, old, new)

    # --- lists -----------------------------------------------------------------------

    def things(
        self,
        path: list[Any],
        schema: tuple[str, ...],
        field: F | None,
        words: list[str],
        a: list[Any],
        b: list[Any],
    ) -> None:
        """A list of things, element by element, matched by identity."""
        identity = _IDENTITY[schema]
        hidden = _HIDDEN.get(schema, ())
        keys_a, keys_b = _keys(a, identity, schema), _keys(b, identity, schema)
        where_a = {k: i for i, k in enumerate(keys_a)}
        where_b = {k: i for i, k in enumerate(keys_b)}
        owner = words[:-1]  # a thing is named by itself: 材料「…」, not 申请材料 材料「…」

        def at(key: Any, i: int) -> list[Any]:
            return [*path, key[0] if identity in _KEYED else i]

        def named(element: Any) -> list[str]:
            return [*owner, labels.thing(schema, _name(element, schema), self.lang)]

        def shown(element: Any) -> Any:
            if isinstance(element, dict) and hidden:
                return {k: v for k, v in element.items() if k not in hidden}
            return element

        for i, key in enumerate(keys_a):
            if key not in where_b:
                self.row(at(key, i), named(a[i]), "removed", old=shown(a[i]))
        for j, key in enumerate(keys_b):
            if key not in where_a:
                self.row(at(key, j), named(b[j]), "added", new=shown(b[j]))
                continue
            old, new = a[where_a[key]], b[j]
            self.value(at(key, j), schema, field, named(new), shown(old), shown(new))
        common_a = [k for k in keys_a if k in where_b]
        common_b = [k for k in keys_b if k in where_a]
        if common_a != common_b and schema not in _HIDDEN:
            order = "order" if self.lang == "en" else "顺序"
            self.row(
                path,
                [*words, order],
                "changed",
                [_name(a[where_a[k]], schema) for k in common_a],
                [_name(b[where_b[k]], schema) for k in common_b],
            )

    def scalars(
        self, path: list[Any], field: F, words: list[str], a: list[Any], b: list[Any]
    ) -> None:
        """A list of values (受理条件, 服务对象…): what was added, removed or replaced, by
        place."""
        for tag, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            if tag == "replace" and i2 - i1 == j2 - j1:
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                    self.row([*path, j], _nth(words, j, self.lang), "changed", a[i], b[j])
                continue
            for i in range(i1, i2):
                self.row([*path, i], _nth(words, i, self.lang), "removed", old=a[i])
            for j in range(j1, j2):
                self.row([*path, j], _nth(words, j, self.lang), "added", new=b[j])


def _nothing(value: Any) -> bool:
    return value is _GONE or value is None or value == [] or value == {}


def _nth(words: list[str], n: int, lang: str) -> list[str]:
    return [*words[:-1], words[-1] + labels.nth(n, lang)] if words else [labels.nth(n, lang)]


def _name(element: Any, schema: tuple[str, ...]) -> str | None:
    """How a reader knows a thing: its name (a question's text, a channel's phone…)."""
    if not isinstance(element, dict):
        return None if element is None else str(element)
    for key in _NAMED_BY.get(schema, ("name", "question")):
        if element.get(key):
            return str(element[key])
    return None


def _keys(rows: list[Any], identity: str | None, schema: tuple[str, ...]) -> list[tuple[Any, int]]:
    """Each row's identity and its occurrence (two windows of one name stay two); rows
    without an identity (a proposed material, a channel) by place."""
    seen: Counter[Any] = Counter()
    keys: list[tuple[Any, int]] = []
    for n, row in enumerate(rows, start=1):
        ident = row.get(identity) if identity and isinstance(row, dict) else None
        if ident is None:
            ident = f"new-{n}" if identity in _KEYED else n
        keys.append((ident, seen[ident]))
        seen[ident] += 1
    return keys
