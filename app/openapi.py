"""The OpenAPI document: how to send a key, and every answer an operation can give.

FastAPI documents the success and a 422 in its own shape; the API answers every error as
``application/problem+json`` (RFC 9457), so each operation lists the problems it can
answer, derived from what its route needs (``app.edge.RouteNeeds``): a key (401, 403),
a body (413, 415), a write (409, 412, 503), a path parameter (404).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.edge import RouteNeeds

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
    "503": "Not ready or busy: nothing was written, retry (see Retry-After)",
}


def _statuses(route: APIRoute, needs: RouteNeeds) -> list[str]:
    statuses = ["422"]
    if route.param_convertors:
        statuses += ["404"]
        if "GET" in route.methods:
            statuses += ["304"]
    if needs.key:
        statuses += ["401", "403"]
    if needs.media_types:
        statuses += ["413", "415"]
    if route.methods - {"GET", "HEAD"}:
        # a write's body names other records too (the item of a request, a merge's survivor)
        statuses += ["404", "409", "412", "503"]
    elif route.path.endswith(("/search", "/suggest")):
        statuses += ["503"]
    return statuses


def build_openapi(app: FastAPI, routes: list[APIRoute]) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
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
    app.openapi_schema = doc
    return doc
