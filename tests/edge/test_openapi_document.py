"""The OpenAPI document tells the truth: how to authenticate, every error an operation can
answer as a problem, examples that the API itself accepts and answers, and the same
models as the JSON Schemas published in ``schemas/``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from app.main import create_app
from app.schemas_export import schema_documents
from tests.conftest import ROOT
from tests.helpers import API

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return create_app().openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                found.add(item["$ref"])
            stack += item.values()
        elif isinstance(item, list):
            stack += item
    return found


def test_every_reference_resolves_and_every_title_names_one_model(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in doc["components"][kind], ref
    titles = [s.get("title", name) for name, s in schemas.items()]
    assert len(titles) == len(set(titles)), sorted(t for t in titles if titles.count(t) > 1)


def test_every_error_an_operation_answers_is_a_problem(doc: dict[str, Any]) -> None:
    problem = {"$ref": "#/components/schemas/Problem"}
    for method, path, op in operations(doc):
        if not path.startswith(API):
            continue
        answers = op["responses"]
        assert {"422", "500", "503"} <= set(answers), (method, path)
        for status, answer in answers.items():
            if status[0] in "45":
                media = answer.get("content", {})
                assert media.get("application/problem+json", {}).get("schema") == problem, (
                    method,
                    path,
                    status,
                )
        if op.get("security"):
            assert {"401", "403"} <= set(answers), (method, path)
    assert doc["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


EXAMPLED = [
    ("post", "/items"),
    ("put", "/items/{code}"),
    ("patch", "/items/{code}"),
    ("post", "/sync/items"),
    ("post", "/items/{code}/cancel"),
    ("post", "/items/{code}/delegate"),
    ("post", "/change-requests"),
    ("post", "/items/{code}/corrections"),
]


def test_the_main_bodies_and_answers_carry_examples(doc: dict[str, Any]) -> None:
    for method, path in EXAMPLED:
        body = doc["paths"][API + path][method]["requestBody"]["content"]["application/json"]
        assert "example" in body or "examples" in body, (method, path)
    item = doc["paths"][f"{API}/items/{{code}}"]["get"]["responses"]["200"]
    assert item["content"]["application/json"]["example"]["department"]["name"] == "大庆市公安局"
    changes = doc["paths"][f"{API}/changes"]["get"]["responses"]["200"]
    assert changes["content"]["application/json"]["example"]["changes"][0]["item"]["code"]


def test_the_item_examples_are_what_the_api_answers_and_accepts(
    client: TestClient, keys: Any, doc: dict[str, Any]
) -> None:
    """The example of GET /items/{code} is that item as the seed loads it (but for the
    times it was loaded at), and the example bodies of PUT and POST /sync/items are
    accepted: unchanged, no new version."""
    path = doc["paths"][f"{API}/items/{{code}}"]
    shown = path["get"]["responses"]["200"]["content"]["application/json"]["example"]
    read = client.get(f"{API}/items/{shown['code']}").json()
    stamps = ("created_at", "updated_at")
    assert {k: v for k, v in read.items() if k not in stamps} == {
        k: v for k, v in shown.items() if k not in stamps
    }
    admin = keys.admin()
    body = path["put"]["requestBody"]["content"]["application/json"]["example"]
    put = client.put(f"{API}/items/{shown['code']}", json=body, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["version"] == read["version"]
    bulk = doc["paths"][f"{API}/sync/items"]["post"]["requestBody"]["content"]
    sent = client.post(f"{API}/sync/items", json=bulk["application/json"]["example"], headers=admin)
    assert sent.status_code == 200 and sent.json()["unchanged"] == 1, sent.text


# --- the published JSON Schemas ----------------------------------------------------------

#: keywords whose value is a schema, a list of schemas, or a map of names to schemas
_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "patternProperties")


def inline(schema: Any, defs: dict[str, Any], prefix: str, seen: tuple[str, ...] = ()) -> Any:
    """``schema`` with every reference replaced by what it names (a recursive one by a
    marker), without titles, which name the same model differently in the two, and without
    ``default: null``, which FastAPI leaves out of the document (an optional field left
    out is null all the same)."""
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(prefix)
        base = name.removesuffix("-Input").removesuffix("-Output")
        if base in seen:
            return {"recursive": base}
        return inline(defs[name], defs, prefix, (*seen, base))
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("title", "$defs", "$schema", "$id") or (key == "default" and value is None):
            continue
        if key in _ONE:
            out[key] = inline(value, defs, prefix, seen)
        elif key in _MANY:
            out[key] = [inline(v, defs, prefix, seen) for v in value]
        elif key in _MAP:
            out[key] = {k: inline(v, defs, prefix, seen) for k, v in value.items()}
        else:
            out[key] = value
    return out


#: each published schema and the component that describes the same body in the document
COMPONENTS = {
    "implementation.schema.json": "ImplementationIn",
    "item.schema.json": "ItemOut",
    "catalogue-entry.schema.json": "CatalogueEntryIn",
    "material.schema.json": "MaterialIn",
    "fee.schema.json": "FeeIn",
}


@pytest.mark.parametrize("filename", sorted(COMPONENTS))
def test_a_published_schema_describes_what_the_document_does(
    doc: dict[str, Any], filename: str
) -> None:
    assert set(COMPONENTS) == set(schema_documents())
    published = json.loads((ROOT / "schemas" / filename).read_text(encoding="utf-8"))
    components = doc["components"]["schemas"]
    mine = inline(published, published.get("$defs", {}), "#/$defs/")
    theirs = inline(components[COMPONENTS[filename]], components, "#/components/schemas/")
    assert mine == theirs


def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)  # raises with the path of what is wrong


def test_operation_ids_read_as_what_they_do(doc: dict[str, Any]) -> None:
    ids = {(m, p): op["operationId"] for m, p, op in operations(doc)}
    assert ids[("get", f"{API}/items/{{code}}")] == "getItem"
    assert ids[("get", f"{API}/changes")] == "listChanges"
    assert ids[("post", f"{API}/sync/items")] == "upsertItems"
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", i) for i in ids.values()), ids


def test_tags_servers_and_the_webhook_are_declared(doc: dict[str, Any]) -> None:
    declared = {t["name"] for t in doc["tags"]}
    assert all(set(op["tags"]) <= declared for _, _, op in operations(doc))
    assert all(t["description"] for t in doc["tags"])
    assert doc["servers"][0]["url"]
    hook = doc["webhooks"]["changes"]["post"]
    body = hook["requestBody"]["content"]["application/json"]["schema"]
    delivery = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert delivery["properties"]["changes"]["items"] == {"$ref": "#/components/schemas/FeedChange"}
    assert {p["name"] for p in hook["parameters"]} >= {"X-Catalogue-Signature"}


def test_an_editors_write_declares_its_202_and_reads_declare_their_etag(
    doc: dict[str, Any],
) -> None:
    request = {"$ref": "#/components/schemas/ChangeRequestOut"}
    for method in ("put", "patch"):
        op = doc["paths"][f"{API}/items/{{code}}"][method]
        assert op["responses"]["202"]["content"]["application/json"]["schema"] == request
    assert doc["paths"][f"{API}/items/{{code}}/cancel"]["post"]["responses"]["202"]["content"]
    get = doc["paths"][f"{API}/items/{{code}}"]["get"]
    assert "ETag" in get["responses"]["200"]["headers"]
    assert "If-None-Match" in {p["name"] for p in get["parameters"]}
    bulk = doc["paths"][f"{API}/sync/items"]["post"]
    assert "Idempotent-Replayed" in bulk["responses"]["200"]["headers"]
    for _, _, op in operations(doc):
        if "429" in op["responses"]:
            assert {"Retry-After", "RateLimit"} <= set(op["responses"]["429"]["headers"])


def test_downloads_bulk_bodies_and_the_feed_are_typed(doc: dict[str, Any]) -> None:
    xlsx = doc["paths"][f"{API}/exports/items.xlsx"]["get"]["responses"]["200"]["content"]
    assert list(xlsx.values())[0]["schema"] == {"type": "string", "format": "binary"}
    jsonld = doc["paths"][f"{API}/exports/cpsv-ap.jsonld"]["get"]["responses"]["200"]
    graph = jsonld["content"]["application/ld+json"]["schema"]["properties"]["@graph"]
    assert graph["items"] == {"$ref": "#/components/schemas/JsonLdNode"}
    ndjson = doc["paths"][f"{API}/sync/items"]["post"]["requestBody"]["content"]
    assert ndjson["application/x-ndjson"]["schema"]["format"] == "binary"
    assert ndjson["application/x-ndjson"]["schema"]["x-line-schema"]["properties"]["code"]
    schemas = doc["components"]["schemas"]
    feed = schemas["FeedChange"]["properties"]
    assert {"create", "revise", "cancel", "merge"} <= set(feed["event"]["enum"])
    assert {"$ref": "#/components/schemas/ItemOut"} in feed["item"]["anyOf"]
    assert {"$ref": "#/components/schemas/DepartmentOut"} in feed["record"]["anyOf"]
    items = schemas["Digest"]["properties"]["items"]["anyOf"][0]
    assert items["items"] == {"$ref": "#/components/schemas/DigestItem"}
    # what GET answers for department and region ({code, name}) may be sent back
    written = schemas.get("ImplementationIn-Input") or schemas["ImplementationIn"]
    for key in ("department", "region"):
        assert {"$ref": "#/components/schemas/ShownAs"} in written["properties"][key]["anyOf"]
