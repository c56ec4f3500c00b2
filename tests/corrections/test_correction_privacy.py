"""A correction's ticket opens its report (status, reply): it is given to the reporter and
to nobody else. The change request made from the correction is published with a reason
anyone reads (the item's versions, the change feed), so that reason names the field, never
the ticket; the link from the ticket to the fix stays with those who may see it. Both
databases."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.search.indexer import Indexer
from tests.conftest import Keys
from tests.corrections.test_corrections import (
    by_ticket,
    inbox,
    item_with_windows,
    public_answers,
    reported,
)
from tests.helpers import API, error_at, problem

pytest_plugins = ["tests.search_support"]


def test_the_ticket_is_in_no_public_answer_but_its_own(
    client: TestClient, session: Session, keys: Keys, embedded: Indexer
) -> None:
    item = item_with_windows(session)
    editor = keys.editor(item.department_code)
    reviewer = keys.make("reviewer", region=item.region_code[:2] + "0000")
    ticket = reported(
        client,
        item.code,
        field="guide.windows.0.phone",
        suggested="0451-86669999",
        text="窗口电话已停用",
    )["ticket"]
    answer = client.post(
        f"{API}/corrections/{ticket}/reply",
        json={"status": "accepted", "reply": "已核实，将更正"},
        headers=editor,
    )
    assert answer.status_code == 200, answer.text

    # an editor's own note that carries the ticket would publish it: refused, nothing made
    leaky = client.post(
        f"{API}/corrections/{ticket}/change-request",
        json={"note": f"按纠错 {ticket} 更正电话"},
        headers=editor,
    )
    assert error_at(problem(leaky, 422), ["body", "note"])["type"] == "correction.note_ticket"
    assert client.get(f"{API}/corrections/{ticket}").json()["change_request"] is None

    made = client.post(f"{API}/corrections/{ticket}/change-request", headers=editor)
    assert made.status_code == 201, made.text
    cr = made.json()
    assert ticket not in made.text and cr["note"] == "纠错: guide.windows.0.phone"
    approved = client.post(f"{API}/change-requests/{cr['id']}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.text
    version = approved.json()["published"]["version"]
    embedded.run_once(session)

    # the published version's reason is public: in the history and the feed, without it
    history = client.get(f"{API}/items/{item.code}/versions").json()["items"]
    newest = next(v for v in history if v["version"] == version)
    assert newest["reason"] == "纠错: guide.windows.0.phone"
    own = f"{API}/corrections/{ticket}"
    scanned = 0
    for url, body in public_answers(client, item.code, ticket):
        if url != own:
            scanned += 1
            assert ticket not in body, f"the ticket in {url}"
    assert scanned > 5

    # the reporter (who holds the ticket) still reads the resolution, and the department's
    # editors find the fix from their inbox
    status = client.get(own).json()
    assert status["status"] == "accepted" and status["reply"] == "已核实，将更正"
    assert status["change_request"] == cr["id"] and status["fixed_version"] == version
    mine = by_ticket(inbox(client, editor, item=item.code), ticket)
    assert mine is not None
    assert mine["change_request"] == cr["id"] and mine["fixed_version"] == version
