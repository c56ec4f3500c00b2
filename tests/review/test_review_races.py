"""Two decisions on one change request at the same moment, in real concurrent transactions
(each request on its own connection of a committed database, started together at a
barrier): exactly one wins, the other is refused 409 ``change-request-state`` and leaves
no trace, and the item is published iff the approval won. On PostgreSQL the row lock of
the request decides; on SQLite the write transaction does.

One database serves every round (a new request each round), so that 20 rounds of each
race stay quick."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.corrections import service as corrections
from app.corrections.schemas import CorrectionIn
from app.db import for_writing
from app.http.readpath import ReadPath
from app.review.models import ChangeRequest, ReviewAction
from app.security import create_key
from tests.conftest import _postgres_database, build_database
from tests.helpers import API, committing_app

ROUNDS = 20
STATE_CONFLICT = "https://service-catalogue.example/problems/change-request-state"


class Served:
    def __init__(self, client: TestClient, engine: Engine) -> None:
        self.client, self.engine = client, engine
        with Session(engine) as session:
            item = session.execute(
                select(Implementation)
                .where(Implementation.status == "1", Implementation.region_code.startswith("23"))
                .order_by(Implementation.code)
                .limit(1)
            ).scalar_one()
            self.code, self.region = item.code, item.region_code
            department = item.department_code
        self.editor = self._key("race-editor", "editor", departments=[department])
        self.reviewer = self._key("race-reviewer", "reviewer", region=self.region[:4] + "00")

    def _key(self, name: str, role: str, **scope: Any) -> dict[str, str]:
        with Session(for_writing(self.engine)) as session:
            secret = create_key(session, name=name, role=role, **scope)
            session.commit()
        return {"Authorization": f"Bearer {secret}"}

    def version(self) -> int:
        return self.client.get(f"{API}/items/{self.code}").json()["version"]

    def submitted_request(self, nth: int) -> int:
        """A new submitted edit whose approval publishes a new version."""
        visits = self.client.get(f"{API}/items/{self.code}").json()["guide"]["visits"]
        resp = self.client.post(
            f"{API}/change-requests",
            json={
                "item": self.code,
                "kind": "edit",
                "patch": {"guide": {"visits": 2 if visits == 1 else 1}},
                "note": f"round {nth}",
            },
            headers=self.editor,
        )
        assert resp.status_code == 201, resp.text
        request_id = resp.json()["id"]
        submit = self.client.post(f"{API}/change-requests/{request_id}/submit", headers=self.editor)
        assert submit.status_code == 200, submit.text
        return request_id


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A committed database of its own (as ``own_engine``), kept for the module's rounds."""
    backend = request.param
    urls: Iterator[str] = (
        iter([f"sqlite:///{tmp_path_factory.mktemp('races') / 'races.db'}"])
        if backend == "sqlite"
        else _postgres_database()
    )
    engine = build_database(next(urls))
    app = committing_app(engine, ReadPath(engine))
    with TestClient(app) as client:
        yield Served(client, engine)
    app.state.snapshots.close()
    engine.dispose()
    for _ in urls:  # drops the PostgreSQL database
        pass


def _race(served: Served, *posts: tuple[str, dict[str, str], Any]) -> list[Any]:
    """The POSTs (path, key, body) sent at once, each from its own thread (its own
    connection)."""
    barrier = threading.Barrier(len(posts))
    answers: list[Any] = [None] * len(posts)

    def post(i: int, path: str, key: dict[str, str], body: Any) -> None:
        barrier.wait()
        answers[i] = served.client.post(f"{API}{path}", json=body, headers=key)

    threads = [threading.Thread(target=post, args=(i, *p)) for i, p in enumerate(posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers


@pytest.mark.parametrize("served", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("opponent", ["reject", "withdraw"])
def test_approve_racing_another_decision_has_one_winner(served: Served, opponent: str) -> None:
    winners: Counter[str] = Counter()
    for nth in range(ROUNDS):
        request_id = served.submitted_request(nth)
        before = served.version()
        url = f"/change-requests/{request_id}"
        opposing = (
            (f"{url}/reject", served.reviewer, {"reason": "依据不足"})
            if opponent == "reject"
            else (f"{url}/withdraw", served.editor, None)
        )
        approve, other = _race(served, (f"{url}/approve", served.reviewer, None), opposing)
        statuses = sorted((approve.status_code, other.status_code))
        assert statuses == [200, 409], (nth, approve.text, other.text)
        winner, loser = (approve, other) if approve.status_code == 200 else (other, approve)
        won = "approve" if winner is approve else opponent
        winners[won] += 1
        refusal = loser.json()
        assert loser.headers["content-type"].startswith("application/problem+json")
        assert refusal["type"] == STATE_CONFLICT, refusal
        assert winner.json()["status"] == {"approve": "approved", "reject": "rejected"}.get(
            won, "withdrawn"
        )

        # the record agrees with the answer: the winner's action last, the loser's nowhere
        with Session(served.engine) as session:
            actions = [
                a.action
                for a in session.execute(
                    select(ReviewAction)
                    .where(ReviewAction.change_request_id == request_id)
                    .order_by(ReviewAction.id)
                ).scalars()
            ]
            cr = session.get(ChangeRequest, request_id)
            assert cr is not None
            stored = (cr.status, cr.published_version)
        assert actions == ["create", "submit", won], (nth, actions)
        after = served.version()
        if won == "approve":
            assert after == before + 1 and stored == ("approved", after)
        else:
            assert after == before and stored[1] is None
    print(f"{opponent}: {dict(winners)}")  # either may win a round; which one is timing


@pytest.mark.parametrize("served", ["sqlite", "postgresql"], indirect=True)
def test_one_correction_becomes_one_change_request(served: Served) -> None:
    """The editor's two clicks on 'make a change request' of one correction at once: one
    request, linked to the correction; the other click is refused 409."""
    for nth in range(ROUNDS // 2):
        with Session(for_writing(served.engine)) as session:
            ticket = corrections.report(
                session,
                served.code,
                CorrectionIn(field="guide.visits", suggested=str(nth % 3 + 1), text="次数不对"),
            ).ticket
            session.commit()
        accepted = served.client.post(
            f"{API}/corrections/{ticket}/reply",
            json={"status": "accepted", "reply": "将更正"},
            headers=served.editor,
        )
        assert accepted.status_code == 200, accepted.text
        with Session(served.engine) as session:
            before = session.execute(select(func.count()).select_from(ChangeRequest)).scalar_one()

        click = (f"/corrections/{ticket}/change-request", served.editor, None)
        answers = _race(served, click, click)
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        made = next(a for a in answers if a.status_code == 201).json()
        refused = next(a for a in answers if a.status_code == 409).json()
        assert refused["type"].endswith("/correction-linked"), refused
        with Session(served.engine) as session:
            after = session.execute(select(func.count()).select_from(ChangeRequest)).scalar_one()
            linked = corrections.by_ticket(session, ticket).change_request_id
        assert after == before + 1 and linked == made["id"]
