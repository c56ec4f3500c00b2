"""HSDS 3.0's API shape for services (its ``openapi.json``): a numbered page of services
(``Page``: total_items, total_pages, page_number, size, first_page, last_page, empty,
contents), each a ``service_list`` object (the service's one-to-one fields and its
organization), a fully nested ``service`` (``full``), or only its id and last_modified
(``minimal``); and one fully nested service by its id.

Both shapes are assembled from the rows of :func:`app.exports.hsds.item_rows`, the mapping
of the table export and the data package, so the three agree on every id and value. The
scope is that of every export (:class:`app.exports.service.Scope`, the filters of
``GET /items``); services are ordered by item code. A service's id is derived from the
item's code (uuid5), which cannot be inverted: a service is found by deriving the id of
each implementation's code.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.catalogue.models import Implementation
from app.catalogue.reads import current_item, list_items
from app.errors import NotFound
from app.exports.hsds import Row, item_rows, uid
from app.exports.labels import Labels
from app.exports.service import Scope

#: the largest page a client may ask for
MAX_PER_PAGE = 1000
#: one-to-one fields of an organization (``service_list.json``'s ``organization``)
ORGANIZATION_FIELDS = ("id", "name", "alternate_name", "description", "email", "website")


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def _by_table(rows: list[Row]) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        tables.setdefault(row.table, []).append(_clean(row.values))
    return tables


def service_list_item(doc: dict[str, Any], labels: Labels) -> dict[str, Any]:
    """``service_list``: the service's own fields and its organization's."""
    tables = _by_table(list(item_rows(doc, labels)))
    (service,) = tables["service"]
    (org,) = tables["organization"]
    return {**service, "organization": {k: v for k, v in org.items() if k in ORGANIZATION_FIELDS}}


def nested_service(doc: dict[str, Any], labels: Labels) -> dict[str, Any]:
    """``service`` fully nested: its organization (with its identifiers), areas, costs,
    required documents, contacts (with their phones) and places (each with its location and
    address, phone and opening hours)."""
    tables = _by_table(list(item_rows(doc, labels)))
    (service,) = tables["service"]
    (org,) = tables["organization"]
    phones = tables.get("phone", [])
    locations = {loc["id"]: loc for loc in tables.get("location", [])}
    addresses = tables.get("address", [])

    def of(table: str, key: str, value: str) -> list[dict[str, Any]]:
        return [r for r in tables.get(table, []) if r.get(key) == value]

    places = []
    for at in tables.get("service_at_location", []):
        location = dict(locations[at["location_id"]])
        found = [a for a in addresses if a["location_id"] == location["id"]]
        if found:
            location["addresses"] = found
        places.append(
            {
                **at,
                "location": location,
                "phones": of("phone", "service_at_location_id", at["id"]),
                "schedules": of("schedule", "service_at_location_id", at["id"]),
            }
        )
    return {
        **service,
        "organization": {**org, "organization_identifiers": tables["organization_identifier"]},
        "service_areas": tables.get("service_area", []),
        "service_at_locations": places,
        "contacts": [
            {**c, "phones": [p for p in phones if p.get("contact_id") == c["id"]]}
            for c in tables.get("contact", [])
        ],
        "cost_options": tables.get("cost_option", []),
        "required_documents": tables.get("required_document", []),
    }


def _summaries(
    session: Session, scope: Scope, modified_after: datetime | None
) -> list[dict[str, Any]]:
    """Every implementation in scope, by code (``GET /items``' rows: code and updated_at)."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        rows, cursor = list_items(
            session,
            region=scope.region,
            department=scope.department,
            status=scope.status,
            updated_since=modified_after,
            cursor=cursor,
            limit=MAX_PER_PAGE,
        )
        out += rows
        if cursor is None:
            return out


def _document(session: Session, code: str) -> dict[str, Any]:
    return current_item(session, code)


def services_page(
    session: Session,
    scope: Scope,
    *,
    page: int = 1,
    per_page: int = 50,
    modified_after: datetime | None = None,
    minimal: bool = False,
    full: bool = False,
) -> dict[str, Any]:
    """Page ``page`` (from 1) of the services in scope, ``per_page`` a page; a page past the
    last is empty and still carries the totals. ``scope`` is checked by the caller."""
    rows = _summaries(session, scope, modified_after)
    chosen = rows[(page - 1) * per_page : page * per_page]
    contents: list[dict[str, Any]]
    if minimal:
        # the representation's own last_modified, so it matches what full=true answers
        contents = [
            {
                "id": uid("item", r["code"]),
                "last_modified": _document(session, r["code"])["updated_at"],
            }
            for r in chosen
        ]
    else:
        labels = Labels(session)
        shape = nested_service if full else service_list_item
        contents = [shape(_document(session, r["code"]), labels) for r in chosen]
    total_pages = math.ceil(len(rows) / per_page)
    return {
        "total_items": len(rows),
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def service_by_id(session: Session, service_id: str) -> dict[str, Any]:
    """The fully nested service with this id, of any implementation (as ``GET /items/{code}``
    reads any code); 404 if no implementation's code derives it."""
    for code in session.exec(select(Implementation.code).order_by(col(Implementation.code))):
        if uid("item", code) == service_id:
            return nested_service(_document(session, code), Labels(session))
    raise NotFound(f"no HSDS service {service_id}")
