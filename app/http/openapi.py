"""The OpenAPI document: how to send a key, and every answer an operation can give.

FastAPI documents the success and a 422 in its own shape; the API answers every error as
``application/problem+json`` (RFC 9457), so each operation lists the problems it can
answer, derived from what its route needs (``app.http.edge.RouteNeeds``): a key (401, 403),
a body (413, 415), a write (409, 412), a path parameter (404); and any operation may
answer 500 (a fault of ours) or 503 (the database not ready or busy).

The document is one a client generator takes as it is (``tests/edge/test_generated_client.py``
generates one with openapi-python-client): every ``$ref`` resolves, and a model that
FastAPI describes twice (``X-Input`` for requests, ``X-Output`` for answers) has a title
of its own in each, so the generated classes do not collide. Request bodies and the main
answers carry examples from the seed (:mod:`app.http.openapi_examples`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.config import get_settings
from app.http import openapi_examples as ex
from app.http.edge import RouteNeeds
from app.http.openapi_contract import declare
from app.http.responses import PUBLIC_READS

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "names the rule or the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "every bad field: its path, what is wrong, the rule",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

REASONS = {
    "304": "Not modified: the version named by If-None-Match is current",
    "401": "No key, or an unknown or revoked one (checked before the body is read)",
    "403": "The key's role or scope does not cover this",
    "404": "No such code",
    "409": "A rule of the catalogue refused the change (the type names it)",
    "412": "If-Match (or the body's version) names a version that is no longer current",
    "413": "The body is larger than this operation's limit",
    "415": "The body is not of a media type this operation reads",
    "422": "A parameter or field is not valid: every one is listed with its path and rule",
    "429": "Too many requests from this address: see Retry-After",
    "500": "A fault of ours: nothing was written (the trace is in the service's log)",
    "503": "Not ready or busy: nothing was written, retry (see Retry-After)",
}

#: what GET /readyz answers, ready (200) or not (503)
READINESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {
            "type": "object",
            "description": "database and search: ok, or the reason",
            "additionalProperties": {"type": "string"},
        },
        "schema": {
            "type": "object",
            "description": "the database's migration, the one this release was built for, "
            "and the oldest release's it still serves when ahead by expand-only migrations",
            "properties": {
                "database": {"type": ["string", "null"]},
                "release": {"type": ["string", "null"]},
                "serves_from": {"type": "string"},
            },
        },
        "search": {
            "type": "object",
            "description": "the search index's schema this release reads, and the one it "
            "searches now (an older one while its own is being built)",
            "properties": {
                "schema": {"type": "integer"},
                "serves_from": {"type": "integer"},
                "detail": {"type": "string"},
            },
        },
    },
}


class Several(dict[str, Any]):
    """Named examples of one body (``examples``), where one would not show the range."""


_LIFECYCLE = "/api/v1/items/{code}/"
#: (method, path) → the example of the request body, and of answers by status
EXAMPLES: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {
    ("get", "/api/v1/items/{code}"): (None, {"200": ex.ITEM}),
    ("post", "/api/v1/items"): (ex.ITEM_BODY, {"201": ex.ITEM}),
    ("put", "/api/v1/items/{code}"): (ex.ITEM_BODY, {"200": ex.ITEM}),
    ("patch", "/api/v1/items/{code}"): (
        {"guide": {"visits": 0}, "change_note": "全程网办，无需到现场"},
        {"200": ex.ITEM},
    ),
    ("post", "/api/v1/sync/items"): (ex.BULK_BODY, {"200": ex.BULK_RESULT}),
    ("get", "/api/v1/changes"): (None, {"200": ex.CHANGES}),
    ("post", "/api/v1/items/{code}/corrections"): (ex.CORRECTION, {"201": ex.CORRECTION_CREATED}),
    ("post", "/api/v1/change-requests"): (Several(ex.CHANGE_REQUESTS), {}),
    **{
        ("post", _LIFECYCLE + event): (body, {"200": {**ex.EVENT_OUT, "event": event}})
        for event, body in ex.LIFECYCLE.items()
    },
}


#: the reads that answer If-None-Match with 304: the cacheable public reads
#: (app/http/responses.py) and the immutable material files
CONDITIONAL_READS = PUBLIC_READS | {"/api/v1/files/{sha256}"}


def _statuses(route: APIRoute, needs: RouteNeeds) -> list[str]:
    statuses = ["422"]
    if route.param_convertors:
        statuses += ["404"]
    if "GET" in route.methods and route.path in CONDITIONAL_READS:
        statuses += ["304"]
    if needs.key:
        statuses += ["401", "403"]
    if needs.media_types:
        statuses += ["413", "415"]
    if route.methods - {"GET", "HEAD"}:
        # a write's body names other records too (the item of a request, a merge's survivor)
        statuses += ["404", "409", "412"]
    return [*statuses, "500", "503"]


def _input_refs(node: Any, schemas: dict[str, Any]) -> None:
    """Point a schema written by hand (the bulk body, from the model's own JSON schema) at
    ``X-Input`` where FastAPI split a model ``X`` into input and output forms."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in schemas and f"{name}-Input" in schemas:
                node["$ref"] = f"#/components/schemas/{name}-Input"
        for value in node.values():
            _input_refs(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _input_refs(value, schemas)


def build_openapi(app: FastAPI, routes: list[APIRoute]) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = doc.setdefault("components", {})
    _input_refs(doc, components.setdefault("schemas", {}))
    components["schemas"]["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "Authorization: Bearer sc_<prefix>_<secret> (catalogue keys create)",
        }
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for route in routes:
        needs = RouteNeeds(route)
        for method in route.methods:
            operation = doc["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            if needs.key:
                operation["security"] = [{"apiKey": []}]
            responses = operation.setdefault("responses", {})
            for status in _statuses(route, needs):
                if status == "304":
                    responses[status] = {"description": REASONS[status]}
                else:
                    responses[status] = {"description": REASONS[status], "content": problem}
            _add_examples(operation, EXAMPLES.get((method.lower(), route.path_format)))
    readyz = doc["paths"].get("/readyz", {}).get("get")
    if readyz is not None:
        for status, reason in (("200", "Ready"), ("503", REASONS["503"])):
            answer = readyz["responses"].setdefault(status, {"description": reason})
            answer["content"] = {"application/json": {"schema": READINESS_SCHEMA}}
    declare(doc, routes, get_settings().public_base_url.rstrip("/"))
    _resolve_refs(doc)
    _distinct_titles(components["schemas"])
    app.openapi_schema = doc
    return doc


def _add_examples(operation: dict[str, Any], found: tuple[Any, dict[str, Any]] | None) -> None:
    if found is None:
        return
    body, answers = found
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is not None and body is not None:
        if isinstance(body, Several):
            content["examples"] = {k: {"summary": k, "value": v} for k, v in body.items()}
        else:
            content["example"] = body
    for status, value in answers.items():
        answer = operation["responses"].get(status, {}).get("content", {}).get("application/json")
        if answer is not None:
            answer["example"] = value


def _walk(node: Any) -> Any:
    """Every dict in ``node``, depth first."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack += item.values()
        elif isinstance(item, list):
            stack += item


_REF = "#/components/schemas/"


def _resolve_refs(doc: dict[str, Any]) -> None:
    """A schema built apart from FastAPI's (the bulk body's items) names a model as pydantic
    does on its own (``Guide``) where the document holds it as FastAPI named it for
    requests (``Guide-Input``): point such a reference at the request schema."""
    schemas = doc["components"]["schemas"]
    for node in _walk(doc):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            name = ref.removeprefix(_REF)
            if name not in schemas and f"{name}-Input" in schemas:
                node["$ref"] = f"{_REF}{name}-Input"


def _distinct_titles(schemas: dict[str, Any]) -> None:
    """``X-Input`` and ``X-Output`` keep pydantic's title ``X`` both: generators name their
    classes by title, and two classes of one name collide (openapi-python-client refused
    the whole item). Each gets the title of its own name (``XInput``, ``XOutput``)."""
    for name, schema in schemas.items():
        if name.endswith(("-Input", "-Output")) and isinstance(schema, dict):
            schema["title"] = name.replace("-", "")
