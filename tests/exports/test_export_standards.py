"""The open-standard exports validate against the standards themselves (../shared/standards):
CPSV-AP 3.2.0 JSON-LD with pySHACL against the release's shapes (its vocabulary as the
ontology graph, RDFS inference), HSDS 3.0 JSON with jsonschema against its schemas (the
tabular document as a whole and every row against its object's schema, formats checked):
0 violations, 0 errors, on the seed catalogue and on the 广安区 import."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from pyshacl import validate
from rdflib import Graph
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import Engine
from sqlmodel import Session

from app.db import for_writing
from app.sync.importer import import_file
from tests.conftest import ROOT, SHARED_DATA, _postgres_database, app_on, build_database
from tests.helpers import API

STANDARDS = ROOT.parent / "shared" / "standards"
CPSV = STANDARDS / "cpsv-ap-3.2.0"
HSDS = STANDARDS / "hsds-3.0" / "schema"
GUANGAN = SHARED_DATA / "items_guangan.json"
pytestmark = pytest.mark.skipif(
    not CPSV.exists() or not HSDS.exists(), reason=f"{STANDARDS} is absent"
)


@cache
def shapes() -> tuple[Graph, Graph]:
    return (
        Graph().parse(CPSV / "cpsv-ap-SHACL.ttl"),
        Graph().parse(CPSV / "cpsv-ap.ttl"),
    )


@cache  # the same bytes (the export on each database, when equal) validated once
def shacl_violations(jsonld: bytes) -> tuple[Graph, list[str]]:
    data = Graph().parse(data=jsonld, format="json-ld")
    shacl, ontology = shapes()
    conforms, _, text = validate(
        data, shacl_graph=shacl, ont_graph=ontology, inference="rdfs", advanced=True
    )
    found = [line for line in text.splitlines() if "Constraint Violation" in line]
    assert conforms == (not found), text[:2000]
    return data, found


@cache
def hsds_validators() -> tuple[Draft202012Validator, dict[str, Draft202012Validator]]:
    schemas = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in HSDS.glob("*.json")}
    registry = Registry().with_resources(
        (f"{name}.json", Resource.from_contents(s, default_specification=DRAFT202012))
        for name, s in schemas.items()
    )
    checker = FormatChecker()
    tabular = json.loads((HSDS / "compiled" / "tabular.json").read_text(encoding="utf-8"))
    return Draft202012Validator(tabular, format_checker=checker), {
        name: Draft202012Validator(s, registry=registry, format_checker=checker)
        for name, s in schemas.items()
    }


def hsds_errors(document: dict[str, Any]) -> list[str]:
    whole, objects = hsds_validators()
    errors = [f"(document) {e.json_path}: {e.message}" for e in whole.iter_errors(document)]
    for table, rows in document.items():
        assert table in objects, f"{table} is not a table of HSDS 3.0"
        for i, row in enumerate(rows):
            errors += [
                f"{table}[{i}] {e.json_path}: {e.message}" for e in objects[table].iter_errors(row)
            ]
    return errors


def of_type(graph: Graph, kind: str) -> set[str]:
    rows = graph.query(f"SELECT ?s WHERE {{ ?s a <{kind}> }}")
    return {str(r[0]) for r in rows}


CPSV_SERVICE = "http://purl.org/vocab/cpsv#PublicService"


def all_items(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = client.get(f"{API}/items", params={**params, "limit": 1000, "cursor": cursor})
        out += body.json()["items"]
        cursor = body.json()["next_cursor"]
        if cursor is None:
            return out


# --- the seed catalogue ------------------------------------------------------------------


def test_the_cpsv_ap_export_of_the_seed_has_no_violation(client: TestClient) -> None:
    resp = client.get(f"{API}/exports/cpsv-ap.jsonld")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/ld+json")
    graph, violations = shacl_violations(resp.content)
    assert violations == []
    services = of_type(graph, CPSV_SERVICE)
    assert services == {f"http://testserver{API}/items/{i['code']}" for i in all_items(client)}
    # what the issue asks each service to carry, present where the guide has it
    for prop in ("hasCompetentAuthority", "hasChannel", "hasCost", "hasLegalResource"):
        found = graph.query(
            f"SELECT DISTINCT ?s WHERE {{ ?s <http://data.europa.eu/m8g/{prop}> ?o }}"
        )
        assert {str(r[0]) for r in found} & services, prop
    evidence = of_type(graph, "http://data.europa.eu/m8g/Evidence")
    first = client.get(f"{API}/items/{all_items(client)[0]['code']}").json()
    assert {f"http://testserver{API}/items/{first['code']}#{m['code']}" for m in first["materials"]} <= evidence  # fmt: skip


def test_shacl_finds_a_violation_when_there_is_one(client: TestClient) -> None:
    """The validation above is not vacuous: a service without its competent authority is
    reported, once a service."""
    body = client.get(f"{API}/exports/cpsv-ap.jsonld", params={"region": "230900"}).json()
    for node in body["@graph"]:
        if node["@type"] == "cpsv:PublicService":
            node.pop("cv:hasCompetentAuthority")
    _, violations = shacl_violations(json.dumps(body).encode())
    assert len(violations) == sum(1 for n in body["@graph"] if n["@type"] == "cpsv:PublicService")


def test_the_hsds_export_of_the_seed_validates(client: TestClient) -> None:
    resp = client.get(f"{API}/exports/hsds.json")
    assert resp.status_code == 200, resp.text
    document = resp.json()
    assert hsds_errors(document) == []
    items = all_items(client)
    assert len(document["service"]) == len(items)
    services = {s["id"] for s in document["service"]}
    organizations = {o["id"] for o in document["organization"]}
    assert {s["organization_id"] for s in document["service"]} == organizations
    assert {c["service_id"] for c in document["cost_option"]} <= services
    locations = {loc["id"] for loc in document["location"]}
    assert {s["location_id"] for s in document["service_at_location"]} <= locations
    assert document["schedule"] and document["contact"] and document["cost_option"]
    # the same ids in every export
    assert client.get(f"{API}/exports/hsds.json").json()["service"] == document["service"]


def test_hsds_finds_an_error_when_there_is_one(client: TestClient) -> None:
    document = client.get(f"{API}/exports/hsds.json", params={"region": "230900"}).json()
    document["service"][0]["status"] = "open"
    document["service"][1]["id"] = "not-a-uuid"
    assert len(hsds_errors(document)) >= 2


# --- the 广安区 import -------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def guangan(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A seeded database with the 广安区 listing imported (as tests/sync/test_import_listing.py)."""
    if not GUANGAN.exists():
        pytest.skip(f"{GUANGAN} is absent (the shared data folder is not part of a fresh clone)")
    urls = (
        iter([f"sqlite:///{tmp_path}/guangan.db"])
        if request.param == "sqlite"
        else _postgres_database()
    )
    engine = build_database(next(urls))
    try:
        # in-process, as `catalogue import` runs it (the command itself is checked by
        # tests/sync/test_import_listing.py): this module checks the exports
        done = import_file(
            lambda: Session(for_writing(engine)), GUANGAN, read_factory=lambda: Session(engine)
        )
        assert done["created"] == 1103, done
        yield engine
    finally:
        engine.dispose()
        for _ in urls:  # drops the PostgreSQL database
            pass


def test_the_guangan_import_exports_valid_cpsv_ap_and_hsds(guangan: Engine) -> None:
    with TestClient(app_on(Session(guangan))) as client:
        params = {"region": "511602", "status": "7"}  # 待完善: what a listing gives
        items = all_items(client, **params)
        assert len(items) == 1103
        cpsv = client.get(f"{API}/exports/cpsv-ap.jsonld", params=params)
        hsds = client.get(f"{API}/exports/hsds.json", params=params)
        default = client.get(f"{API}/exports/hsds.json", params={"region": "511602"}).json()
    graph, violations = shacl_violations(cpsv.content)
    assert violations == []
    assert len(of_type(graph, CPSV_SERVICE)) == 1103
    document = hsds.json()
    assert hsds_errors(document) == []
    assert len(document["service"]) == 1103
    assert default["service"] == []  # as GET /items: 待完善 only when asked for


def test_the_hsds_data_package_holds_the_same_tables(client: TestClient) -> None:
    """The standard tabular layout: datapackage.json naming a CSV a table, each CSV's
    columns fields of its HSDS table, the same rows as hsds.json."""
    got = client.get(f"{API}/exports/hsds.zip", params={"region": "230100"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    document = client.get(f"{API}/exports/hsds.json", params={"region": "230100"}).json()
    with zipfile.ZipFile(io.BytesIO(got.content)) as package:
        descriptor = json.loads(package.read("datapackage.json"))
        assert descriptor["profile"] == "tabular-data-package"
        tables = {r["name"]: r for r in descriptor["resources"]}
        assert set(tables) == set(document)
        schemas = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in HSDS.glob("*.json")}
        for name, resource in tables.items():
            rows = list(csv.DictReader(io.StringIO(package.read(resource["path"]).decode())))
            assert [r["id"] for r in rows] == [r["id"] for r in document[name]], name
            fields = [f["name"] for f in resource["schema"]["fields"]]
            assert set(fields) <= set(schemas[name]["properties"]), name


def test_organisations_are_typed_for_validators_without_inference(client: TestClient) -> None:
    body = client.get(f"{API}/exports/cpsv-ap.jsonld", params={"region": "230100"}).json()
    orgs = [n for n in body["@graph"] if "cv:PublicOrganisation" in n.get("@type", [])]
    assert orgs and all("org:Organization" in n["@type"] for n in orgs)


def test_a_windows_city_is_its_city_not_its_province(client: TestClient) -> None:
    """A province's item served at a window in 哈尔滨: the address's city is 哈尔滨市."""
    document = client.get(f"{API}/exports/hsds.json", params={"region": "230000"}).json()
    cities = {a["city"] for a in document["address"]}
    assert "哈尔滨市" in cities and "黑龙江省" not in cities
    harbin = [a for a in document["address"] if a["address_1"].startswith("哈尔滨市")]
    assert harbin and {a["city"] for a in harbin} == {"哈尔滨市"}
