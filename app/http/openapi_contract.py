"""What the OpenAPI document says beyond what FastAPI derives from the routes, so that a
client generated from it needs no hand edits: readable operation ids, tags and servers,
the headers (``ETag``, ``If-None-Match``, ``Idempotent-Replayed``, ``RateLimit`` on a 429), the
answers FastAPI cannot see (202 with a change request where review is required), the
downloads' and NDJSON bodies' shapes, the feed's typed ``item``/``record``, and the
webhook delivery under ``webhooks``.

Generators read only JSON, multipart and octet-stream bodies; the XLSX download and the
NDJSON upload are declared with their true media types, and ``docs/clients/
openapi-python-client.yaml`` tells openapi-python-client to treat them as bytes (its
``content_type_overrides``): the client still sends and receives the true types.
``docs/clients/templates/`` mends the generator's one template that fails on a body of
two media types one of which is a JSON array (see docs/clients.md).
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from app.push.schemas import EVENTS

REF = "#/components/schemas/"

#: route name → operation id, where the name alone does not read as a verb and a thing
RENAMED = {
    "changes": "listChanges",
    "digest": "getDigest",
    "bulk_upsert": "upsertItems",
    "search": "searchItems",
    "suggest": "suggestNames",
    "items_xlsx": "downloadItemsXlsx",
    "items_csv": "downloadItemsCsv",
    "cpsv_ap": "downloadCpsvAp",
    "hsds_json": "downloadHsds",
    "hsds_zip": "downloadHsdsPackage",
    "hsds_services": "listHsdsServices",
    "hsds_service": "getHsdsService",
    "healthz": "getHealth",
    "readyz": "getReadiness",
    "metrics": "getMetrics",
}

TAGS = {
    "items": "实施清单: the implementations, read by anyone, written with a key",
    "lifecycle": "Lifecycle events of an implementation (cancel, suspend, merge…)",
    "history": "Versions of an implementation and the differences between them",
    "catalogue entries": "基本目录: the catalogue entries an implementation is of",
    "directory": "Regions, departments, shared materials and code lists",
    "situations": "一件事: situations and the checklist of an item",
    "review": "Change requests: an editor proposes, a reviewer approves",
    "sync": "The change feed, digests and bulk writes for a copy of the catalogue",
    "imports": "Spreadsheet imports (清单 workbooks), run as jobs",
    "exports": "The catalogue as XLSX, CSV, CPSV-AP JSON-LD and HSDS",
    "search": "Search and suggestions",
    "corrections": "纠错: reports from the public and their replies",
    "webhooks": "Subscriptions: the feed pushed to a receiver",
    "operations": "Health, readiness and metrics",
}

HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "the version of this representation: send it as If-Match to write "
        "safely, as If-None-Match to read cheaply (304)",
        "schema": {"type": "string"},
    },
    "Location": {"description": "where the created thing is read", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "true: this is the stored answer to an earlier request with the same "
        "Idempotency-Key (or the same body); nothing was written again",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
    "RateLimit": {
        "description": "the limit this answer counts against (IETF draft RateLimit fields): "
        '"<policy>";r=<remaining>;t=<seconds until it resets>',
        "schema": {"type": "string"},
    },
}

IF_NONE_MATCH: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "the ETag you hold: 304 with no body when it is still current",
    "schema": {"type": "string"},
}

#: a node of the CPSV-AP graph: every one has an IRI and one or more types
JSONLD_NODE: dict[str, Any] = {
    "type": "object",
    "title": "JsonLdNode",
    "required": ["@id"],
    "properties": {
        "@id": {"type": "string", "description": "the node's IRI"},
        "@type": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    },
    "additionalProperties": True,
}

DIGEST_ITEM: dict[str, Any] = {
    "type": "object",
    "title": "DigestItem",
    "required": ["code", "version", "hash"],
    "properties": {
        "code": {"type": "string"},
        "version": {"type": "integer"},
        "hash": {"type": "string", "description": "SHA-256 (hex) of the item's GET body"},
    },
}

WEBHOOK_DELIVERY: dict[str, Any] = {
    "type": "object",
    "title": "WebhookDelivery",
    "description": "a batch of the feed, as GET /changes pages it, for one subscription",
    "required": ["changes", "last_seq"],
    "properties": {
        "changes": {"type": "array", "items": {"$ref": f"{REF}FeedChange"}},
        "last_seq": {"type": "integer", "description": "keep it: the next batch follows it"},
        "epoch": {"type": "string", "description": "the feed's identity"},
    },
}

WEBHOOKS: dict[str, Any] = {
    "changes": {
        "post": {
            "operationId": "receiveChanges",
            "summary": "A batch of changes, POSTed to a subscription's URL",
            "tags": ["webhooks"],
            "parameters": [
                {
                    "name": "X-Catalogue-Signature",
                    "in": "header",
                    "required": True,
                    "description": "t=<unix time>,v1=<hex HMAC-SHA256 of 't.body' with the "
                    "subscription's secret>",
                    "schema": {"type": "string"},
                },
                {
                    "name": "X-Catalogue-Subscription",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"{REF}WebhookDelivery"}}},
            },
            "responses": {
                "200": {"description": "received: the next batch follows last_seq"},
                "204": {"description": "received"},
            },
        }
    }
}

#: (method, path) of the writes an editor's key proposes (202) rather than makes
REVIEWED = {
    ("post", "/api/v1/items"),
    ("put", "/api/v1/items/{code}"),
    ("patch", "/api/v1/items/{code}"),
}


def operation_id(route: APIRoute) -> str:
    """``get_item`` → ``getItem``."""
    name = RENAMED.get(route.name, route.name)
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _header_refs(response: dict[str, Any], *names: str) -> None:
    headers = response.setdefault("headers", {})
    for name in names:
        headers.setdefault(name, {"$ref": f"#/components/headers/{name}"})


def declare(doc: dict[str, Any], routes: list[APIRoute], public_base: str) -> None:
    """Everything of this module's docstring, on the document FastAPI built."""
    components = doc["components"]
    components["headers"] = HEADERS
    schemas = components["schemas"]
    schemas.update(JsonLdNode=JSONLD_NODE, DigestItem=DIGEST_ITEM, WebhookDelivery=WEBHOOK_DELIVERY)
    doc["servers"] = [{"url": public_base or "/", "description": "this service"}]
    doc["webhooks"] = WEBHOOKS
    used: set[str] = set()
    seen: set[str] = set()
    for route in routes:
        for method in route.methods:
            op = doc["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            op["operationId"] = operation_id(route)
            assert op["operationId"] not in seen, op["operationId"]
            seen.add(op["operationId"])
            used.update(op.get("tags", []))
            _answers(op, method.lower(), route.path_format)
    for path, item in doc["paths"].items():  # the probes, outside the API's routes
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId", "").endswith("_get"):
                name = path.strip("/").split("/")[-1]
                op["operationId"] = RENAMED.get(name, name)
                used.update(op.get("tags", []))
    doc["tags"] = [{"name": t, "description": TAGS.get(t, t)} for t in sorted(used)]
    _typed(schemas, doc["paths"])


def _answers(op: dict[str, Any], method: str, path: str) -> None:
    responses = op["responses"]
    for status, answer in responses.items():
        if status in ("200", "201", "202") and "application/json" in answer.get("content", {}):
            _header_refs(answer, "ETag")
        if status in ("201", "202"):
            _header_refs(answer, "Location")
        if status in ("429", "503"):
            _header_refs(answer, "Retry-After")
        if status == "429":
            _header_refs(answer, "RateLimit")
    if "304" in responses:
        params = op.setdefault("parameters", [])
        if not any(p.get("name", "").lower() == "if-none-match" for p in params):
            params.append(IF_NONE_MATCH)
    lifecycle = path.startswith("/api/v1/items/{code}/") and "202" in responses
    if (method, path) in REVIEWED or lifecycle:
        answer = responses.setdefault("202", {})
        answer["description"] = (
            "review required (an editor's key): the change request proposing this write; "
            "nothing is changed until it is approved"
        )
        answer["content"] = {"application/json": {"schema": {"$ref": f"{REF}ChangeRequestOut"}}}
        _header_refs(answer, "ETag", "Location")
    elif "202" in responses and not responses["202"].get("content"):
        # still under way: the same representation as when done
        responses["202"]["content"] = responses.get("200", {}).get("content", {})
    if path == "/api/v1/changes" and "410" not in responses:
        responses["410"] = {
            "description": "the cursor is beyond the head or of another history (epoch): "
            "load GET /sync/snapshot again and continue from its seq",
            "content": {"application/problem+json": {"schema": {"$ref": f"{REF}Problem"}}},
        }
    if path == "/api/v1/sync/items" and method == "post":
        _header_refs(responses["200"], "Idempotent-Replayed")
        _ndjson_body(op)


def _ndjson_body(op: dict[str, Any]) -> None:
    content = op["requestBody"]["content"]
    line = content["application/json"]["schema"].get("items")
    content["application/x-ndjson"] = {
        "schema": {
            "type": "string",
            "format": "binary",
            "contentMediaType": "application/x-ndjson",
            "description": "one item a line, each as the JSON body's items (x-line-schema)",
            "x-line-schema": line,
        }
    }


def _typed(schemas: dict[str, Any], paths: dict[str, Any]) -> None:
    feed = schemas["FeedChange"]["properties"]
    feed["event"] = {**feed["event"], "type": "string", "enum": list(EVENTS)}
    feed["item"] = {
        "description": feed["item"].get("description", ""),
        "anyOf": [{"$ref": f"{REF}ItemOut"}, {"type": "null"}],
    }
    feed["record"] = {
        "description": feed["record"].get("description", ""),
        "anyOf": [
            {"$ref": f"{REF}CatalogueEntryOut"},
            {"$ref": f"{REF}DepartmentOut"},
            {"$ref": f"{REF}SharedMaterialOut"},
            {"type": "null"},
        ],
    }
    digest = schemas["Digest"]["properties"]
    digest["items"] = {
        "description": digest["items"].get("description", ""),
        "anyOf": [{"type": "array", "items": {"$ref": f"{REF}DigestItem"}}, {"type": "null"}],
    }
    for name, schema in schemas.items():
        if name.startswith("Page_"):
            schema["description"] = (
                "a page: items, and next_cursor to send as cursor for the next (null: the last)"
            )
