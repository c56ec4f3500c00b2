"""HSDS 3.0 (Human Services Data Specification, Open Referral) as JSON: one array per table
of HSDS's tabular form (``schema/compiled/tabular.json``), each row an object of that
table's schema.

* ``organization`` (+ ``organization_identifier``: the unified social credit code): each
  implementing department;
* ``service``: each implementation (status, conditions as eligibility, process as the
  application process, the promised time limit as the wait, fees, online URL);
* ``location`` (+ ``address``): each window (physical; one per name and address, shared by
  the services it serves) and each online service (virtual);
* ``service_at_location`` with the window's ``phone`` and opening hours (``schedule``,
  as HSDS's free-text description: the guide states them in words);
* ``contact`` (+ ``phone``): the item's consultation (咨询) and complaint (监督投诉) channels;
* ``cost_option``: each fee; ``required_document``: each material; ``service_area``: the
  item's region.

Ids are UUIDs derived from our codes (uuid5), the same in every export. Tables other than
``service`` are spooled to temporary files while the items are read once, then written
after it, so memory stays that of a page of items.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson

from app.exports.cpsv import describe
from app.exports.labels import Labels
from app.exports.layout import UNITS

MEDIA_TYPE = "application/json"
NAMESPACE = uuid.UUID("5b0c6e5e-3f2a-5d1c-9a47-2f1c0c7e1a16")
TABLES = (
    "organization",
    "organization_identifier",
    "service",
    "location",
    "address",
    "service_at_location",
    "phone",
    "schedule",
    "contact",
    "cost_option",
    "required_document",
    "service_area",
)
#: our item statuses → HSDS service status
STATUS = {
    "1": "active",
    "2": "temporarily closed",
    "3": "defunct",
    "4": "inactive",
    "5": "inactive",
    "6": "defunct",
    "7": "active",
}
URI = re.compile(r"^https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Row(NamedTuple):
    """One row of an HSDS table."""

    table: str
    values: dict[str, Any]
    #: shared by several items (a department, a window): written once in the tables
    once: bool = False


def uid(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def _limit(limit: dict[str, Any] | None) -> str | None:
    if not limit:
        return None
    text = f"{limit['value']} {UNITS.get(limit['unit'], limit['unit'])}"
    return text + (f"（{limit['note']}）" if limit.get("note") else "")


class Tables:
    """One spool file per table; ``add`` a row, ``chunks`` the document."""

    def __init__(self) -> None:
        # closed by close(), after the document is written
        self.files = {t: tempfile.TemporaryFile() for t in TABLES}  # noqa: SIM115
        self.counts = dict.fromkeys(TABLES, 0)
        self.seen: set[str] = set()

    def add(self, table: str, row: dict[str, Any], once: bool = False) -> str:
        if once:
            if row["id"] in self.seen:
                return row["id"]
            self.seen.add(row["id"])
        f = self.files[table]
        if self.counts[table]:
            f.write(b",\n")
        f.write(orjson.dumps({k: v for k, v in row.items() if v is not None}))
        self.counts[table] += 1
        return row["id"]

    def chunks(self) -> Iterator[bytes]:
        for i, table in enumerate(TABLES):
            yield (b"{" if i == 0 else b",\n") + orjson.dumps(table) + b":["
            f = self.files[table]
            f.seek(0)
            while chunk := f.read(1 << 20):
                yield chunk
            yield b"]"
        yield b"}\n"

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def item_rows(doc: dict[str, Any], labels: Labels) -> Iterator[Row]:
    """The HSDS rows of one implementation (the one mapping: the tables, the data package
    and the nested services of the API are all built from these), ``once`` on rows several
    items share (their department, a window)."""
    code = doc["code"]
    guide = doc.get("guide") or {}
    dept = doc["department"]
    org = uid("department", dept["code"])
    yield Row(
        "organization",
        {
            "id": org,
            "name": dept["name"],
            "description": f"{dept['name']}（统一社会信用代码 {dept['code']}）",
        },
        True,
    )
    yield Row(
        "organization_identifier",
        {
            "id": uid("credit-code", dept["code"]),
            "organization_id": org,
            "identifier_type": "统一社会信用代码 (GB 32100-2015)",
            "identifier": dept["code"],
        },
        True,
    )
    service = uid("item", code)
    online = guide.get("online") or {}
    steps = [
        f"{i}. {s['name']}" + (f"：{s['description']}" if s.get("description") else "")
        for i, s in enumerate(guide.get("process") or [], start=1)
    ]
    fees = [f"{f['name']}：{f['standard']}" for f in doc["fees"]]
    yield Row(
        "service",
        {
            "id": service,
            "organization_id": org,
            "name": doc["name"],
            "alternate_name": code,
            "description": describe(doc, labels),
            "url": online.get("url") if URI.match(online.get("url") or "") else None,
            "status": STATUS.get(doc.get("status") or "", "inactive"),
            "application_process": "\n".join(steps) or None,
            "eligibility_description": "\n".join(guide.get("conditions") or []) or None,
            "wait_time": _limit(guide.get("promised_time_limit")),
            "fees_description": "\n".join(fees)
            or ("不收费" if guide and not guide.get("charges_fee") else None),
            "last_modified": doc.get("updated_at"),
        },
    )
    region = doc["region"]
    yield Row(
        "service_area",
        {
            "id": uid("area", f"{code}:{region['code']}"),
            "service_id": service,
            "name": region["name"],
            "description": f"行政区划代码 {region['code']} (GB/T 2260)",
        },
    )
    province = labels.region_name(region["code"][:2] + "0000") or region["name"]
    for w in guide.get("windows") or []:
        location = uid("window", f"{w['name']}\n{w['address']}")
        yield Row(
            "location",
            {
                "id": location,
                "location_type": "physical",
                "name": w["name"],
                "transportation": w.get("traffic"),
            },
            True,
        )
        yield Row(
            "address",
            {
                "id": uid("address", location),
                "location_id": location,
                "address_1": w["address"],
                # required by HSDS: empty where neither region nor address names it
                "city": labels.city_of(region["code"], w["address"]) or "",
                "state_province": province,
                "postal_code": "",  # the guide does not hold it
                "country": "CN",
                "address_type": "physical",
            },
            True,
        )
        at = uid("service-at-location", f"{code}:{location}")
        yield Row("service_at_location", {"id": at, "service_id": service, "location_id": location})
        yield Row(
            "phone", {"id": uid("phone", at), "service_at_location_id": at, "number": w["phone"]}
        )
        yield Row(
            "schedule",
            {"id": uid("schedule", at), "service_at_location_id": at, "description": w["hours"]},
        )
    if online.get("available") and URI.match(online.get("url") or ""):
        location = uid("online", code)
        yield Row(
            "location",
            {
                "id": location,
                "location_type": "virtual",
                "name": f"{doc['name']}（网上办理）",
                "url": online["url"],
            },
            True,
        )
        yield Row(
            "service_at_location",
            {"id": uid("service-at-location", f"{code}:{location}"), "service_id": service,
             "location_id": location},
        )  # fmt: skip
    for kind, name in (("consultation", "咨询"), ("complaint", "监督投诉")):
        for i, channel in enumerate(guide.get(kind) or [], start=1):
            contact = uid(kind, f"{code}:{i}")
            email = channel.get("email")
            yield Row(
                "contact",
                {
                    "id": contact,
                    "service_id": service,
                    "name": name,
                    "title": channel.get("note"),
                    "department": channel.get("address"),
                    "email": email if email and EMAIL.match(email) else None,
                },
            )
            if channel.get("phone"):
                yield Row(
                    "phone",
                    {
                        "id": uid("phone", contact),
                        "contact_id": contact,
                        "number": channel["phone"],
                    },
                )
    for fee in doc["fees"]:
        amount = fee.get("amount")
        yield Row(
            "cost_option",
            {
                "id": uid("fee", fee["code"]),
                "service_id": service,
                "option": fee["name"],
                "currency": "CNY",
                "amount": amount if isinstance(amount, int | float) else None,
                "amount_description": fee["standard"],
            },
        )
    for m in doc["materials"]:
        url = (m.get("blank_form") or {}).get("url")
        yield Row(
            "required_document",
            {
                "id": uid("material", m["code"]),
                "service_id": service,
                "document": m["name"],
                "uri": url if url and URI.match(url) else None,
            },
        )


def add_item(t: Tables, doc: dict[str, Any], labels: Labels) -> None:
    for row in item_rows(doc, labels):
        t.add(row.table, row.values, once=row.once)


def hsds_chunks(docs: Iterator[dict[str, Any]], labels: Labels) -> Iterator[bytes]:
    tables = Tables()
    try:
        for doc in docs:
            add_item(tables, doc, labels)
        yield from tables.chunks()
    finally:
        tables.close()
