"""How a change reads on a page: a diff row named by its label (材料「居民户口簿」 原件份数)
with its values as people read them (是/否, 15个工作日, a window by its fields' labels), a
lifecycle proposal as its decision, date and receiving bodies, and times in the province's
zone. The API's diff carries ``label`` beside ``path``; a row without one is named here
from :mod:`app.catalogue.labels`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlmodel import Session

from app import clock
from app.catalogue import labels as field_labels
from app.directory.service import CodeLists
from app.pages import conditions
from app.pages.web import time_limit
from app.review import rebase
from app.review.models import ChangeRequest, RequestKind, RequestStatus
from app.wording import i18n

#: fields holding a code of a code list, read by its label (必要, 申请人自备)
CODED = {
    "necessity": "material_necessity",
    "source": "material_sources",
    "case_type": "case_types",
    "audience": "audiences",
    "level": "levels",
    "power_source": "power_sources",
    "body_nature": "body_natures",
    "themes": "themes",
}
#: a change's operation in words (zh-Hans, en)
OPS = {"added": ("新增", "added"), "removed": ("删除", "removed"), "changed": ("修改", "changed")}
EMPTY = "—"


def moment(value: datetime | str | None) -> str:
    """A timestamp in the province's zone, the zone implied by the format: 2026-12-06 19:23."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored timestamps are UTC
    return clock.local(value).strftime("%Y-%m-%d %H:%M")


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def readable(value: Any, path: Sequence[Any], lang: str, codes: CodeLists | None = None) -> str:
    """A value of the field at ``path`` as people read it (a code by its code list's label
    where ``codes`` are given)."""
    if _blank(value):
        return EMPTY
    last = next((p for p in reversed(path) if isinstance(p, str)), "")
    if last == "when" and isinstance(value, dict | str):
        return conditions.text_of(value)
    if isinstance(value, str) and codes is not None and last in CODED:
        return codes.label(CODED[last], value) or value
    if isinstance(value, bool | str):
        return field_labels.value_text(path, value, lang) or str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        if "value" in value and set(value) <= {"value", "unit", "note"}:
            return time_limit(value, 1 if lang == "en" else 0)
        sep = ", " if lang == "en" else "，"
        colon = ": " if lang == "en" else "："
        return sep.join(
            f"{field_labels.field_label([*path, k], lang)}{colon}"
            f"{readable(v, [*path, k], lang, codes)}"
            for k, v in value.items()
            if not _blank(v) and k not in ("code", "position")
        )
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            sep = "; " if lang == "en" else "、"
            return sep.join(readable(v, path, lang, codes) for v in value)
        return "\n".join(readable(v, [*path, n], lang, codes) for n, v in enumerate(value))
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class Row:
    """One change as a page shows it."""

    label: str
    op: str  # added, removed, changed (the row's class)
    op_text: str
    before: str
    after: str
    path: str  # for the API reader: the row's data-path


def rows(changes: list[dict[str, Any]], lang: str, codes: CodeLists | None = None) -> list[Row]:
    i = 1 if lang == "en" else 0
    shown = []
    for c in changes:
        path = list(c.get("path") or [])
        label = c.get("label") or field_labels.label(path, lang)
        before = c.get("from_text") or readable(c.get("from"), path, lang, codes)
        after = c.get("to_text") or readable(c.get("to"), path, lang, codes)
        op = str(c.get("op") or "changed")
        shown.append(
            Row(
                label=label,
                op=op,
                op_text=OPS.get(op, (op, op))[i],
                before=before if "from" in c else "",
                after=after if "to" in c else "",
                path=".".join(str(p) for p in path),
            )
        )
    return shown


def request_changes(session: Session, cr: ChangeRequest, lang: str) -> list[dict[str, Any]]:
    """What the request changes (the API's diff, labelled in ``lang``: against the published
    item while open, once approved what its version changed); a withdrawn one nothing."""
    if cr.status == RequestStatus.WITHDRAWN:
        return []
    return rebase.diff(session, cr, lang)


def proposal(
    cr: ChangeRequest,
    lang: str,
    departments: dict[str, str],
    regions: dict[str, str],
    items: dict[str, str],
) -> list[tuple[str, str]]:
    """A lifecycle request's body as (label, text) pairs: the decision, the dates, the
    receiving bodies and the item merged into by name (``items``: code → how it reads)."""
    t = i18n.translator(i18n.Lang(lang) if lang in i18n.Lang._value2member_map_ else i18n.Lang.HANS)
    body = cr.body or {}
    decision = body.get("decision") or {}
    pairs: list[tuple[str, str]] = []
    if decision:
        pairs.append((t("editor.decision.number"), decision.get("number") or EMPTY))
        pairs.append((t("editor.decision.title"), decision.get("title") or EMPTY))
        if decision.get("url"):
            pairs.append((t("editor.decision.url"), decision["url"]))
    if body.get("reason"):
        pairs.append((t("reason"), body["reason"]))
    if body.get("effective_date"):
        pairs.append((t("editor.effective"), body["effective_date"]))
    if body.get("mode"):
        pairs.append((t("delegate.mode"), t(f"delegate.mode.{body['mode']}")))
    if body.get("handover_date"):
        pairs.append((t("delegate.handover"), body["handover_date"]))
    for target in body.get("to") or ():
        d, r = target.get("department", ""), target.get("region", "")
        pairs.append((t("delegate.to"), f"{departments.get(d, d)}（{regions.get(r, r)}）· {d}"))
    into = body.get("into")
    if isinstance(into, str):
        pairs.append((t("merge.into"), items.get(into, into)))
    elif isinstance(into, list):
        for entry in into:
            pairs.append((t("split.into"), str(entry.get("basic_code") or EMPTY)))
    if cr.kind == RequestKind.ACCEPT:
        for w in (body.get("guide") or {}).get("windows") or ():
            pairs.append(
                (
                    field_labels.thing(["guide", "windows"], w.get("name"), lang),
                    readable(w, ["guide", "windows", 0], lang),
                )
            )
    return pairs
