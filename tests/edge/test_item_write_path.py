"""A PATCH of an item answered before the router (``app.http.item_write_path``): a
published edit, a proposal and a refusal are answered there in one transaction, exactly as
the route answers them; what is not a plain request reaches the route with its body intact;
nothing refused is written."""

from __future__ import annotations

from typing import Any

import anyio
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.http.item_write_path import ItemWritePath
from app.review.models import ChangeRequest
from app.security import Principal
from tests.conftest import Keys
from tests.helpers import API, counts, error_at, problem, writable

ADMIN = Principal(name="admin-fast", role="admin")


def _code(session: Session) -> str:
    return (
        session.execute(
            select(Implementation.code)
            .where(Implementation.status == "1")
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )


def _through_the_fast_path(
    client: TestClient,
    code: str,
    body: bytes,
    *,
    principal: Principal = ADMIN,
    method: str = "PATCH",
    **headers: str,
) -> tuple[int, dict[str, str], bytes, list[bytes]]:
    """The fast path alone, over an inner app that records what reaches it (the route):
    (status, headers, body answered; the bodies the route was handed)."""
    reached: list[bytes] = []

    async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        reached.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": f"{API}/items/{code}",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            *((k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()),
        ],
        "state": {"principal": principal},
        "app": client.app,
    }
    anyio.run(ItemWritePath(route), scope, receive, send)
    start = sent[0]
    answered = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return start["status"], answered, b"".join(m.get("body", b"") for m in sent[1:]), reached


def test_a_published_edit_is_answered_before_the_router_as_the_route_answers_it(
    client: TestClient, session: Session
) -> None:
    code = _code(session)
    before = client.get(f"{API}/items/{code}")
    status, headers, body, reached = _through_the_fast_path(
        client, code, b'{"local_code": "FAST-1"}'
    )
    assert reached == [], "the route ran the edit too"
    assert status == 200
    after = client.get(f"{API}/items/{code}")
    assert after.json()["local_code"] == "FAST-1"
    assert after.json()["version"] == before.json()["version"] + 1
    # what the PATCH answered is what GET now reads, with the same tag
    assert headers["etag"].removeprefix("W/") == after.headers["etag"].removeprefix("W/")
    assert headers["content-type"] == "application/json"
    assert after.json() == orjson.loads(body)


def test_refusals_write_nothing_and_answer_as_the_route_does(
    client: TestClient, session: Session, keys: Keys
) -> None:
    code = _code(session)
    version = client.get(f"{API}/items/{code}").json()["version"]
    before = counts(session)
    for body in (b"[]", b'{"local_code": '):  # not an object, not JSON: the route says where
        status, _, _, reached = _through_the_fast_path(client, code, body)
        assert reached == [body], body  # handed on whole, once
    # a refusal of the write: rolled back, answered here as the route answers it
    refusals = [
        (b'{"local_code": "x\\u0000"}', {}, 422, ["body", "local_code"]),  # the text policy
        (b'{"guide": {"visits": "often"}}', {}, 422, ["body", "guide", "visits"]),
        (b'{"local_code": "S"}', {"if_match": '"0"'}, 412, None),  # not the version read
    ]
    for body, headers, expected, loc in refusals:
        status, answered, content, reached = _through_the_fast_path(client, code, body, **headers)
        assert (status, reached) == (expected, []), content
        assert answered["content-type"] == "application/problem+json"
        if loc is not None:
            assert loc in [e["loc"][: len(loc)] for e in orjson.loads(content)["errors"]]
    status, _, _, reached = _through_the_fast_path(client, "11" + code[2:-1] + "X", b"{}")
    assert (status, reached) == (404, [])
    assert counts(session) == before
    assert client.get(f"{API}/items/{code}").json()["version"] == version

    # and through the whole app, the route's answers, naming the field
    admin = keys.admin()
    url = f"{API}/items/{code}"
    error_at(
        problem(
            client.patch(url, content=b"[]", headers={**admin, "Content-Type": "application/json"}),
            422,
        ),
        ["body"],
    )
    nul = client.patch(url, json={"local_code": "x\u0000"}, headers=admin)
    assert problem(nul, 422)["errors"][0]["loc"][:2] == ["body", "local_code"]
    stale = client.patch(url, json={"local_code": "S"}, headers={**admin, "If-Match": '"0"'})
    problem(stale, 412)
    assert client.get(url).json()["version"] == version


def test_a_replacement_is_written_here_and_what_its_model_refuses_reaches_the_route(
    client: TestClient, session: Session, keys: Keys
) -> None:
    code = _code(session)
    body = writable(client, code)
    version = client.get(f"{API}/items/{code}").json()["version"]
    replaced = {**body, "local_code": "PUT-1"}
    status, headers, content, reached = _through_the_fast_path(
        client, code, orjson.dumps(replaced), method="PUT"
    )
    assert (status, reached) == (200, []), content
    after = client.get(f"{API}/items/{code}")
    assert after.json()["local_code"] == "PUT-1"
    assert after.json()["version"] == version + 1
    assert after.json() == orjson.loads(content)
    assert headers["etag"].removeprefix("W/") == after.headers["etag"].removeprefix("W/")

    # a body the model refuses goes on whole to the route, which says where; nothing written
    before = counts(session)
    refused = orjson.dumps({**replaced, "guide": {**body["guide"], "visits": "often"}})
    _, _, _, reached = _through_the_fast_path(client, code, refused, method="PUT")
    assert reached == [refused]
    assert counts(session) == before
    through_the_app = client.put(
        f"{API}/items/{code}",
        content=refused,
        headers={**keys.admin(), "Content-Type": "application/json"},
    )
    error_at(problem(through_the_app, 422), ["body", "guide", "visits"])
    # a refusal of the write itself is answered here: a stale If-Match
    status, answered, _, reached = _through_the_fast_path(
        client, code, orjson.dumps(replaced), method="PUT", if_match=f'"{version}"'
    )
    assert (status, reached, answered["content-type"]) == (412, [], "application/problem+json")
    assert client.get(f"{API}/items/{code}").json()["version"] == version + 1


@pytest.mark.usefixtures("review_on")
def test_an_editors_edit_under_review_is_proposed_once(
    client: TestClient, session: Session
) -> None:
    item = session.get(Implementation, _code(session))
    editor = Principal(name="editor-fast", role="editor", departments=(item.department_code,))
    proposals = session.execute(select(func.count()).select_from(ChangeRequest)).scalar_one()
    status, headers, _, reached = _through_the_fast_path(
        client, item.code, b'{"guide": {"visits": 2}}', principal=editor
    )
    assert (status, reached) == (202, [])
    assert headers["location"].startswith(f"{API}/change-requests/")
    session.expire_all()
    assert (
        session.execute(select(func.count()).select_from(ChangeRequest)).scalar_one()
        == proposals + 1
    )
