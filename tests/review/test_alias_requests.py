"""Aliases (俗称) through review: an editor proposes a name citizens use for one of its
items (from the search gaps, say); nothing public changes until a reviewer of the province
approves, because the catalogue entry, and so the alias, is the province's; then search
finds the item by it, and the entry's new version names author and approver."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.catalogue.models import CatalogueEntry, Implementation
from app.config import get_settings
from app.review.models import ChangeRequest
from app.search.indexer import Indexer
from app.versionlog import RecordVersion
from tests.conftest import Keys
from tests.helpers import API, counts, error_at, problem

pytest_plugins = ["tests.search_support"]
PROBLEMS = "https://service-catalogue.example/problems/"
ALIAS = "小本本证明"  # in no name, alias or synonym of the seed


def _item(session: Session) -> Implementation:
    return (
        session.execute(
            select(Implementation)
            .where(Implementation.status == "1", Implementation.region_code.startswith("2301"))
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )


def _found(client: TestClient, query: str) -> list[str]:
    """The catalogue entries found (an alias is the entry's; without a region, one hit each)."""
    hits = client.get(f"{API}/search", params={"q": query}).json()["hits"]
    return [h["basic_code"] for h in hits]


def test_an_editors_alias_is_published_by_a_provincial_reviewer(
    client: TestClient, session: Session, keys: Keys, embedded: Indexer
) -> None:
    item = _item(session)
    editor = keys.editor(item.department_code)
    entry_before = session.get(CatalogueEntry, item.basic_code)
    assert entry_before is not None
    aliases_before = list(entry_before.aliases or [])
    embedded.run_once(session)
    assert item.basic_code not in _found(client, ALIAS)

    cr = client.post(
        f"{API}/change-requests",
        json={
            "item": item.code,
            "kind": "alias",
            "body": {"aliases": [ALIAS], "query": ALIAS},
            "note": "检索缺口：市民这样叫它",
        },
        headers=editor,
    )
    assert cr.status_code == 201, cr.text
    cr = cr.json()
    n = len(aliases_before)
    added = {
        "path": ["aliases", n],
        "label": f"俗称第{n + 1}项",
        "op": "added",
        "from": None,
        "to": ALIAS,
    }
    assert cr["diff"] == [added]  # fmt: skip
    url = f"{API}/change-requests/{cr['id']}"
    assert client.post(f"{url}/submit", headers=editor).status_code == 200

    # nothing public has changed; a city's reviewer does not decide for the province
    before = counts(session)
    city = keys.make("reviewer", region=item.region_code[:4] + "00")
    refused = problem(client.post(f"{url}/approve", headers=city), 403)
    assert "23" in refused["detail"]
    assert counts(session) == before
    embedded.run_once(session)
    assert item.basic_code not in _found(client, ALIAS)

    province = keys.make("reviewer", region=get_settings().province)
    approved = client.post(f"{url}/approve", headers=province)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["published"]["code"] == item.basic_code
    assert approved.json()["diff"] == [added]  # what it published
    session.expire_all()
    entry = client.get(f"{API}/catalogue-entries/{item.basic_code}").json()
    assert entry["aliases"] == [*aliases_before, ALIAS]
    version = session.execute(
        select(RecordVersion).where(
            RecordVersion.kind == "entry",
            RecordVersion.code == item.basic_code,
            RecordVersion.version == entry["version"],
        )
    ).scalar_one()
    decided = session.get(ChangeRequest, cr["id"])
    assert decided is not None
    assert (version.key_name, version.approved_by, version.channel) == (
        decided.author,
        decided.decided_by,
        "review",
    )
    assert version.change_request_id == cr["id"]
    embedded.run_once(session)
    assert item.basic_code in _found(client, ALIAS)


def test_a_bad_alias_is_refused_at_its_field_and_writes_nothing(
    client: TestClient, session: Session, keys: Keys
) -> None:
    item = _item(session)
    editor = keys.editor(item.department_code)
    entry = session.get(CatalogueEntry, item.basic_code)
    assert entry is not None
    before = counts(session)
    for body, path in (
        ({"aliases": [entry.name]}, ["body", "body", "aliases"]),  # the name itself
        ({"aliases": []}, ["body", "body", "aliases"]),
        ({"aliases": ["x" * 51]}, ["body", "body", "aliases", 0]),
        ({"aliases": ["a"], "other": 1}, ["body", "body", "other"]),
    ):
        r = client.post(
            f"{API}/change-requests",
            json={"item": item.code, "kind": "alias", "body": body},
            headers=editor,
        )
        assert error_at(problem(r, 422), path), (body, r.text)
    other = keys.editor("11230000000000000X")
    problem(
        client.post(
            f"{API}/change-requests",
            json={"item": item.code, "kind": "alias", "body": {"aliases": [ALIAS]}},
            headers=other,
        ),
        403,
    )
    assert counts(session) == before
