"""What the item and checklist pages tell a citizen about the effective day: the day viewed
(``?as_of``), the decisions still to take effect (the document's ``upcoming``), the event
in force and who handles the item since, and whether it can be applied for here at all
(待承接, 暂停, 已取消, 已下放, 已合并). Everything is read as ``GET /api/v1/items/{code}``
answers it: this item's document, and those of the items it points to."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from app.catalogue import history
from app.catalogue.reads import SnapshotReader, get_item_json
from app.catalogue.statuses import ItemStatus
from app.errors import InvalidInput, NotFound
from app.fields import FIRST_DAY, LAST_DAY, Day
from app.pages.web import page_lang
from app.wording import i18n

#: statuses under which the item takes no applications here: the page says so at the top
#: and offers no online link (the guide stays readable)
BLOCKED = frozenset(
    {
        ItemStatus.SUSPENDED,
        ItemStatus.CANCELLED,
        ItemStatus.PENDING,
        ItemStatus.DELEGATED,
        ItemStatus.MERGED,
    }
)
_DAY = TypeAdapter(Day)


def as_of(request: Request) -> date | None:
    """``?as_of=YYYY-MM-DD``, checked as the API checks it (the same type); a malformed
    one is a 422 naming the field, in the page's language."""
    if "as_of" not in request.query_params:
        return None
    try:
        return _DAY.validate_python(request.query_params["as_of"])
    except ValidationError as exc:
        # the entry as the API words it (its rule, message and values), said in the page's
        # language where the page renders problems; the detail in the page's language
        found = exc.errors(include_url=False)[0]
        entry = {"loc": ["query", "as_of"], "msg": found["msg"], "type": found["type"]}
        if found.get("ctx"):
            entry["ctx"] = found["ctx"]
        t = i18n.translator(page_lang(request))
        detail = (
            t("as_of.range", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
            if found["type"] == "date.range"
            else t("as_of.invalid")
        )
        raise InvalidInput(detail, errors=[entry]) from None


def read_item(request: Request, code: str, on: date | None = None) -> dict[str, Any]:
    """The item in force today (or on ``on``), by the API's read; a day before the item
    existed is a 404 saying so."""
    snapshots = request.app.state.snapshots
    try:
        return _doc(snapshots, code, on)
    except NotFound:
        if on is None:
            raise
        _doc(snapshots, code)  # an unknown code: the service's own 404
        lang = page_lang(request)
        text = i18n.translator(lang)("as_of.before", date=i18n.format_day(on, i18n.pick(lang)))
        raise NotFound(text) from None


def _doc(snapshots: SnapshotReader, code: str, on: date | None = None) -> dict[str, Any]:
    return orjson.loads(get_item_json(snapshots, code, on)[1])


def view(request: Request, doc: dict[str, Any], on: date | None) -> dict[str, Any]:
    """What the top of the page announces (see templates/effective.html)."""
    snapshots = request.app.state.snapshots
    status = doc.get("status")
    blocked = status in BLOCKED
    in_force = doc.get("lifecycle")
    return {
        "as_of": on,
        "blocked": ItemStatus(status).name.lower() if blocked else None,
        "pending": _pending(snapshots, doc) if status == ItemStatus.PENDING else None,
        "in_force": _announced(snapshots, in_force, in_force) if in_force else None,
        "upcoming": [
            _announced(snapshots, u, _scheduled_as(doc, u)) for u in doc.get("upcoming") or ()
        ],
    }


def _announced(
    snapshots: SnapshotReader, event: dict[str, Any], recorded: dict[str, Any] | None
) -> dict[str, Any]:
    """An event as a sentence needs it: its word (委托 for a delegation of that mode), day,
    decision and the items that take over. ``recorded`` is the event as the version log
    holds it (with its details), when known."""
    given = event.get("successors")
    refs = given if given is not None else [{"code": c} for c in _successor_codes(recorded)]
    return {
        "word": _word(event["event"], recorded),
        "date": event["effective_date"],
        "decision": event.get("decision"),
        "successors": [_office(snapshots, ref) for ref in refs],
    }


def _word(event: str, recorded: dict[str, Any] | None) -> str:
    """The event's word: a delegation of mode entrust reads 委托."""
    mode = ((recorded or {}).get("details") or {}).get("mode")
    return "entrust" if event == "delegate" and mode == "entrust" else event


def _successor_codes(event: dict[str, Any] | None) -> list[str]:
    """The items that take over, from an event as a document shows it (``lifecycle``,
    ``scheduled``), by the catalogue's own reading of its details."""
    if not event:
        return []
    return history.successor_codes(
        history.Event(
            event["version"],
            event["event"],
            event["status"],
            date.fromisoformat(event["effective_date"]),
            event.get("decision"),
            event.get("reason"),
            event.get("details"),
        )
    )


def _scheduled_as(doc: dict[str, Any], upcoming: dict[str, Any]) -> dict[str, Any] | None:
    """The scheduled event an ``upcoming`` entry announces (its details: the mode)."""
    return next(
        (
            s
            for s in doc.get("scheduled") or ()
            if s["event"] == upcoming["event"] and s["effective_date"] == upcoming["effective_date"]
        ),
        None,
    )


def _office(snapshots: SnapshotReader, ref: dict[str, Any]) -> dict[str, Any]:
    """An item another one points to, named as a citizen looks for it: its department,
    region and name."""
    try:
        doc = _doc(snapshots, ref["code"])
    except NotFound:
        return {"code": ref["code"], "name": ref.get("name") or ref["code"], "department": ""}
    return _named(doc)


def _named(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": doc["code"],
        "name": doc["name"],
        "department": doc["department"]["name"],
        "region": doc["region"]["name"],
        "open": doc.get("status") not in BLOCKED,
    }


def _pending(snapshots: SnapshotReader, doc: dict[str, Any]) -> dict[str, Any]:
    """A receiving item not accepted yet: who delegated it, from which day, by what
    decision, and whether the delegating item still takes applications."""
    code = doc.get("delegated_from")
    found: dict[str, Any] = {"source": None, "word": "delegate", "date": doc.get("handover_date")}
    if not code:
        return found
    try:
        delegating = _doc(snapshots, code)
    except NotFound:
        return found
    found["source"] = _named(delegating)
    events = [delegating.get("lifecycle"), *(delegating.get("scheduled") or ())]
    event = next(
        (
            e
            for e in events
            if e and e["event"] == "delegate" and doc["code"] in _successor_codes(e)
        ),
        None,
    )
    if event is not None:
        found["word"] = _word("delegate", event)
        found["decision"] = event.get("decision")
        found["date"] = found["date"] or event["effective_date"]
    return found
