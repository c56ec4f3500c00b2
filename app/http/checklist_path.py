"""``POST /api/v1/items/{code}/checklist`` answered before the router: the edge has checked
the body (size, media type, encoding); here it is parsed by the same model, the stored
snapshot read on the async read path and the checklist computed by the same rules. FastAPI's
routing and body machinery cost twice the checklist itself (bench/checklist.py). Anything
but the plain success (a bad body, an unknown code, answers that do not fit, ``as_of``, a
test's reader) goes on to the route, which answers it as every other error."""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import ValidationError

from app.catalogue import situations
from app.catalogue.effective import in_force
from app.catalogue.situation_schemas import ChecklistIn
from app.errors import DomainError
from app.http.deps import etag
from app.http.edge import replay_body
from app.http.responses import send_json

CHECKLIST_PATH = re.compile(r"/api/v1/items/([0-9A-Za-z]{1,40})/checklist")
#: parsed representations by their stored bytes (a version's bytes never change), with
#: what their checklists start from; bounded
_PARSED: dict[str | bytes, situations.Prepared] = {}
_PARSED_MAX = 256


def prepared(body: str | bytes) -> situations.Prepared:
    """The representation parsed and prepared once per stored version (never mutated)."""
    found = _PARSED.get(body)
    if found is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        found = _PARSED[body] = situations.Prepared(orjson.loads(body))
    return found


def parsed(body: str | bytes) -> dict[str, Any]:
    return prepared(body).doc


class ChecklistPath:
    """ASGI middleware inside the edge (see the module's docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["query_string"]
            or (match := CHECKLIST_PATH.fullmatch(scope["path"])) is None
        ):
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        answer = await self._answer(scope, match.group(1), messages)
        if answer is None:
            await self.app(scope, replay_body(messages, receive), send)
            return
        version, content = answer
        await send_json(send, content, [(b"etag", etag(version).encode())])

    @staticmethod
    async def _answer(scope: dict[str, Any], code: str, messages: list[Any]) -> Any:
        reader = getattr(scope["app"].state, "snapshots", None)
        if not hasattr(reader, "alatest_with_time"):
            return None
        raw = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        try:
            body = ChecklistIn.model_validate_json(raw or b"{}")
        except ValidationError:
            return None
        found = await reader.alatest_with_time("item", code)
        if found is None:
            return None
        version, snapshot, next_change = found[0], found[1], found[2]
        if not in_force(next_change):
            return None  # computed from the log: the route's path
        try:
            return version, prepared(snapshot).checklist_json(body.answers)
        except DomainError:
            return None
