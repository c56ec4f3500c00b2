"""HSDS 3.0's API shape for services (GET /exports/hsds/services, /services/{id}): every page's
contents validate against HSDS's compiled schemas (service_list.json, service.json); paging
to the end yields each service in scope once, as many as GET /items lists; the same ids and
values as the table export hsds.json (one mapping); bad parameters are 422 problems."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker

from tests.conftest import ROOT
from tests.helpers import API

HSDS = ROOT.parent / "shared" / "standards" / "hsds-3.0" / "schema"
pytestmark = pytest.mark.skipif(not HSDS.exists(), reason=f"{HSDS} is absent")
SERVICES = f"{API}/exports/hsds/services"


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((HSDS / "compiled" / f"{name}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def errors(name: str, objects: list[dict[str, Any]]) -> list[str]:
    return [
        f"[{i}] {e.json_path}: {e.message}"
        for i, o in enumerate(objects)
        for e in validator(name).iter_errors(o)
    ]


def item_codes(client: TestClient, **params: Any) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        body = client.get(f"{API}/items", params={**params, "limit": 1000, "cursor": cursor})
        out += [i["code"] for i in body.json()["items"]]
        cursor = body.json()["next_cursor"]
        if cursor is None:
            return out


def all_pages(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    pages = []
    number = 1
    while True:
        got = client.get(SERVICES, params={**params, "page": number})
        assert got.status_code == 200, got.text
        pages.append(got.json())
        if got.json()["last_page"]:
            return pages
        number += 1


def test_paging_to_the_end_yields_each_service_in_scope_once(client: TestClient) -> None:
    scope = {"region": "230000"}
    codes = item_codes(client, **scope)
    assert len(codes) > 7
    pages = all_pages(client, **scope, per_page=7)
    services = [s for p in pages for s in p["contents"]]
    assert [s["alternate_name"] for s in services] == codes  # ordered by code, each once
    assert {p["total_items"] for p in pages} == {len(codes)}
    assert len(pages) == pages[0]["total_pages"] == -(-len(codes) // 7)
    assert [p["page_number"] for p in pages] == list(range(1, len(pages) + 1))
    assert [p["first_page"] for p in pages] == [True] + [False] * (len(pages) - 1)
    assert [p["size"] for p in pages[:-1]] == [7] * (len(pages) - 1)
    assert pages[-1]["size"] == len(codes) - 7 * (len(pages) - 1)
    assert not any(p["empty"] for p in pages)
    assert errors("service_list", services) == []
    # the same ids and values as the table export
    tables = client.get(f"{API}/exports/hsds.json", params=scope).json()
    orgs = {o["id"]: o for o in tables["organization"]}
    assert [{k: v for k, v in s.items() if k != "organization"} for s in services] == tables[
        "service"
    ]
    assert all(s["organization"] == orgs[s["organization_id"]] for s in services)


def test_a_page_past_the_last_is_empty_with_the_totals(client: TestClient) -> None:
    total = len(item_codes(client))
    got = client.get(SERVICES, params={"page": 10_000})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["contents"] == [] and body["empty"] and body["size"] == 0
    assert body["total_items"] == total and body["last_page"] and not body["first_page"]
    assert body["total_pages"] == -(-total // 50)


def test_full_services_validate_and_carry_their_related_rows(client: TestClient) -> None:
    page = client.get(SERVICES, params={"full": "true", "per_page": 1000}).json()
    services = page["contents"]
    assert len(services) == page["total_items"] == len(item_codes(client))
    assert errors("service", services) == []
    tables = client.get(f"{API}/exports/hsds.json").json()
    # every related row of the table export is nested in its service
    assert {c["id"] for s in services for c in s["cost_options"]} == {
        c["id"] for c in tables["cost_option"]
    }
    assert {d["id"] for s in services for d in s["required_documents"]} == {
        d["id"] for d in tables["required_document"]
    }
    assert {c["id"] for s in services for c in s["contacts"]} == {
        c["id"] for c in tables["contact"]
    }
    places = [p for s in services for p in s["service_at_locations"]]
    assert {p["id"] for p in places} == {p["id"] for p in tables["service_at_location"]}
    assert {h["id"] for p in places for h in p["schedules"]} == {
        h["id"] for h in tables["schedule"]
    }
    physical = [p["location"] for p in places if p["location"]["location_type"] == "physical"]
    assert physical and all(loc["addresses"] for loc in physical)
    # one of them, read by its id
    first = services[0]
    got = client.get(f"{SERVICES}/{first['id']}")
    assert got.status_code == 200, got.text
    assert got.json() == first
    assert errors("service", [got.json()]) == []


def test_the_minimal_shape_is_id_and_last_modified(client: TestClient) -> None:
    scope = {"region": "230100"}
    minimal = client.get(SERVICES, params={**scope, "minimal": "true", "per_page": 1000}).json()
    full = client.get(SERVICES, params={**scope, "per_page": 1000}).json()
    assert minimal["total_items"] == full["total_items"] > 0
    assert minimal["contents"] == [
        {"id": s["id"], "last_modified": s["last_modified"]} for s in full["contents"]
    ]


def test_modified_after_keeps_the_later_services(client: TestClient) -> None:
    services = client.get(SERVICES, params={"minimal": "true", "per_page": 1000}).json()
    stamps = sorted({s["last_modified"] for s in services["contents"]})
    later = client.get(
        SERVICES, params={"minimal": "true", "per_page": 1000, "modified_after": stamps[-1]}
    ).json()
    assert later["contents"] and all(s["last_modified"] == stamps[-1] for s in later["contents"])
    assert later["total_items"] == sum(
        s["last_modified"] == stamps[-1] for s in services["contents"]
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"per_page": 5000}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"region": "999999"}, "region"),
        ({"status": "x"}, "status"),
        ({"modified_after": "yesterday"}, "modified_after"),
    ],
)
def test_a_bad_parameter_is_a_422_naming_it(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    got = client.get(SERVICES, params=params)
    assert got.status_code == 422, got.text
    assert got.headers["content-type"].startswith("application/problem+json")
    assert field in json.dumps(got.json()["errors"])


def test_an_unknown_service_is_a_404_problem(client: TestClient) -> None:
    for unknown in ("00000000-0000-5000-8000-000000000000", "not-an-id"):
        got = client.get(f"{SERVICES}/{unknown}")
        assert got.status_code == 404, got.text
        assert got.headers["content-type"].startswith("application/problem+json")
