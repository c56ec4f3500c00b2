"""An item's public history (``/items/{code}/history``): its versions newest first, each
with its time in the province, what happened in words (新增, 修改, 取消, 下放…), the
decision it was taken by, its change note, and which fields it changed (by their labels).
The same versions as ``GET /api/v1/items/{code}/versions``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from app.catalogue import history
from app.catalogue.models import Implementation
from app.catalogue.schemas import ITEM_CODE
from app.directory.service import CodeLists
from app.errors import NotFound
from app.http.deps import ReadSession
from app.pages import changes
from app.pages.web import LABELS, PageRoute, page_lang, render
from app.wording import i18n

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: the newest versions shown (the API pages through all of them)
SHOWN = 200
#: changed fields named per version; more are counted
FIELDS_NAMED = 8
#: content edits are 修改 on this page (调整 is the word of the lifecycle's adjustments)
REVISE = ("修改", "changed")


@dataclass(frozen=True)
class Entry:
    version: int
    at: str
    event: str
    effective_date: Any
    decision: dict[str, Any] | None
    note: str | None
    reviewed: bool
    fields: list[str]
    more: int


def event_words(event: str, details: dict[str, Any] | None, i: int) -> str:
    """What happened, as people say it: a delegation by its mode (下放 or 委托), the day a
    scheduled decision took effect by that decision (下放生效)."""
    details = details or {}
    if event == "takes_effect":
        inner = event_words(str(details.get("event") or ""), details, i)
        return i18n.MESSAGES["history.took_effect"][i].format(event=inner)
    if event == "revise":
        return REVISE[i]
    if event == "delegate" and details.get("mode") == "entrust":
        event = "entrust"
    return i18n.EVENTS.get(event, (event, event))[i]


def _changed(
    before: dict[str, Any] | None, after: dict[str, Any], lang: str, codes: CodeLists
) -> list[str]:
    """What a version changed, each thing by its label: 新增 材料「居民户口簿」, 电话…"""
    if before is None:
        return []
    shown = [
        r.label if r.op == "changed" else f"{r.op_text} {r.label}"
        for r in changes.rows(history.diff(before, after), lang, codes)
    ]
    return list(dict.fromkeys(shown))


@router.get("/items/{code}/history")
def history_page(request: Request, session: ReadSession, code: str) -> Response:
    item = session.get(Implementation, code) if re.fullmatch(ITEM_CODE, code) else None
    if item is None:
        raise NotFound(f"no implementation {code}")
    # the newest versions and the one before them (what the first shown changed)
    after = item.version - SHOWN - 1
    versions = history.list_versions(session, code, after if after > 0 else None, SHOWN + 1)
    docs = [orjson.loads(v.snapshot) for v in versions]
    lang = page_lang(request)
    i = i18n.pick(lang)
    codes = LABELS.of(session)
    entries: list[Entry] = []
    for n in range(max(0, len(versions) - SHOWN), len(versions)):
        v = versions[n]
        fields = _changed(docs[n - 1], docs[n], lang, codes) if n and v.event != "create" else []
        entries.append(
            Entry(
                version=v.version,
                at=changes.moment(v.recorded_at),
                event=event_words(v.event, v.details, i),
                effective_date=v.effective_date
                if v.status_after or v.event == "takes_effect"
                else None,
                decision=v.decision,
                note=v.reason,
                reviewed=v.approved_by is not None,
                fields=fields[:FIELDS_NAMED],
                more=max(0, len(fields) - FIELDS_NAMED),
            )
        )
    entries.reverse()
    return render(
        request,
        "history.html",
        {"item": docs[-1], "entries": entries, "total": item.version, "shown": SHOWN},
    )
