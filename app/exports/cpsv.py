"""CPSV-AP 3.2.0 as JSON-LD: each implementation a ``cpsv:PublicService``.

One ``@graph``, written a node at a time. Per implementation: the service (identifier,
title, description, type, sector, audience, themes, status, language, spatial coverage,
processing time), its competent authority (``cv:PublicOrganisation`` and ``org:Organization``: the department),
its channels (``cv:Channel``: each window, with its opening hours, and the online
service), consultation and complaint channels (``cv:ContactPoint``), conditions
(``cv:Requirement``), materials (``cv:Evidence``, conforming to the shared material's
``cv:EvidenceType``), fees (``cv:Cost``), results (``cv:Output``) and the entry's legal
basis (``eli:LegalResource``). Code-list values are ``skos:Concept``s of the code lists
(``/api/v1/code-lists/{name}#{code}``, labelled from the lists in the database). Every IRI
is an address of this API under ``base_url``; nodes shared by many services (departments,
regions, concepts, legal resources) are written once. Validated in the tests with pySHACL
against the release's shapes (docs/exports.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from app.exports.labels import Labels

MEDIA_TYPE = "application/ld+json"
CONTEXT = {
    "cpsv": "http://purl.org/vocab/cpsv#",
    "cv": "http://data.europa.eu/m8g/",
    "dct": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "eli": "http://data.europa.eu/eli/ontology#",
    "adms": "http://www.w3.org/ns/adms#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "locn": "http://www.w3.org/ns/locn#",
    "org": "http://www.w3.org/ns/org#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "time": "http://www.w3.org/2006/time#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
CHINESE = "http://publications.europa.eu/resource/authority/language/ZHO"
YUAN = "http://publications.europa.eu/resource/authority/currency/CNY"
#: an absolute http(s) IRI that RDF parsers take as it is
SAFE_IRI = re.compile(r"^https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+$")


def zh(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "zh"}


def ref(iri: str) -> dict[str, str]:
    return {"@id": iri}


def duration(limit: dict[str, Any] | None) -> dict[str, str] | None:
    """xsd:duration of a time limit in natural days or hours (working days have none)."""
    if not limit:
        return None
    unit = {"natural_days": "P{}D", "hours": "PT{}H"}.get(limit.get("unit") or "")
    if unit is None:
        return None
    return {"@value": unit.format(limit["value"]), "@type": "xsd:duration"}


def describe(doc: dict[str, Any], labels: Labels) -> str:
    """dct:description (required): who delivers what where, and the conditions."""
    kind = labels.label("item_types", doc.get("item_type")) or ""
    text = f"{doc['department']['name']}在{doc['region']['name']}实施的{kind}事项「{doc['name']}」"
    conditions = (doc.get("guide") or {}).get("conditions") or []
    return text + ("。受理条件：" + "；".join(conditions) if conditions else "")


class Graph:
    """The nodes of the export; shared ones once."""

    def __init__(self, labels: Labels, base: str) -> None:
        self.labels = labels
        self.base = base
        self.api = f"{base}/api/v1"
        self.seen: set[str] = set()

    def once(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        if node["@id"] in self.seen:
            return []
        self.seen.add(node["@id"])
        return [node]

    def concept(self, list_name: str, code: str, out: list[dict[str, Any]]) -> dict[str, str]:
        iri = f"{self.api}/code-lists/{list_name}#{code}"
        scheme = f"{self.api}/code-lists/{list_name}"
        out += self.once(
            {"@id": scheme, "@type": "skos:ConceptScheme", "dct:identifier": list_name}
        )
        node: dict[str, Any] = {
            "@id": iri,
            "@type": "skos:Concept",
            "skos:notation": code,
            "skos:inScheme": ref(scheme),
        }
        label = self.labels.label(list_name, code)
        if label:
            node["skos:prefLabel"] = zh(label)
        out += self.once(node)
        return ref(iri)

    def local_concept(self, key: str, label: str, out: list[dict[str, Any]]) -> dict[str, str]:
        iri = f"{self.api}/exports/cpsv-ap.jsonld#{key}"
        out += self.once({"@id": iri, "@type": "skos:Concept", "skos:prefLabel": zh(label)})
        return ref(iri)

    def nodes(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """The service of one implementation and the nodes it points to."""
        out: list[dict[str, Any]] = []
        code = doc["code"]
        item = f"{self.api}/items/{code}"
        guide = doc.get("guide") or {}
        region = f"{self.api}/regions/{doc['region']['code']}"
        org = f"{self.api}/departments/{doc['department']['code']}"
        out += self.once(
            {
                "@id": region,
                "@type": "dct:Location",
                "dct:identifier": doc["region"]["code"],
                "locn:geographicName": zh(doc["region"]["name"]),
            }
        )
        out += self.once(
            {
                "@id": org,
                # both: a validator without CPSV-AP's vocabulary does not infer the second
                "@type": ["cv:PublicOrganisation", "org:Organization"],
                "dct:identifier": doc["department"]["code"],
                "dct:title": zh(doc["department"]["name"]),
                "skos:prefLabel": zh(doc["department"]["name"]),
                "dct:spatial": ref(region),
            }
        )
        out += self.once({"@id": CHINESE, "@type": "dct:LinguisticSystem"})
        service: dict[str, Any] = {
            "@id": item,
            "@type": "cpsv:PublicService",
            "dct:identifier": code,
            "dct:title": zh(doc["name"]),
            "dct:description": zh(describe(doc, self.labels)),
            "cv:hasCompetentAuthority": ref(org),
            "dct:spatial": ref(region),
            "dct:language": ref(CHINESE),
        }
        if doc.get("item_type"):
            service["dct:type"] = self.concept("item_types", doc["item_type"], out)
        if doc.get("domain"):
            service["cv:sector"] = [self.concept("domains", doc["domain"], out)]
        if doc.get("status"):
            service["adms:status"] = self.concept("item_statuses", doc["status"], out)
        service["dct:audience"] = [self.concept("audiences", a, out) for a in doc["audience"]]
        service["cv:thematicArea"] = [self.concept("themes", t, out) for t in doc["themes"]]
        processing = duration(guide.get("promised_time_limit"))
        if processing:
            service["cv:processingTime"] = processing
        service["cv:hasChannel"] = self._channels(doc, item, org, guide, out)
        service["cv:contactPoint"] = self._contact_points(item, guide, out)
        service["cv:holdsRequirement"] = [
            self._add(
                out,
                {
                    "@id": f"{item}#condition-{i}",
                    "@type": "cv:Requirement",
                    "dct:identifier": f"{code}-C{i}",
                    "dct:title": zh(condition),
                },
            )
            for i, condition in enumerate(guide.get("conditions") or [], start=1)
        ]
        service["cpsv:hasInput"] = [self._evidence(m, item, out) for m in doc["materials"]]
        shared = sorted({m["shared_material"] for m in doc["materials"] if m["shared_material"]})
        service["cv:hasInputType"] = [
            self._add_once(
                out,
                {
                    "@id": f"{self.api}/materials/{s}",
                    "@type": "cv:EvidenceType",
                    "dct:identifier": s,
                },
            )
            for s in shared
        ]
        service["cv:hasCost"] = [self._cost(f, item, org, out) for f in doc["fees"]]
        service["cpsv:produces"] = [
            self._add(
                out,
                {
                    "@id": f"{item}#result-{i}",
                    "@type": "cv:Output",
                    "dct:identifier": f"{code}-R{i}",
                    "dct:title": zh(result["name"]),
                    "dct:description": zh(f"{result.get('type') or '其他'}：{result['name']}"),
                },
            )
            for i, result in enumerate(guide.get("results") or [], start=1)
        ]
        service["cv:hasLegalResource"] = self._legal(doc, out)
        return [service, *out]

    @staticmethod
    def _add(out: list[dict[str, Any]], node: dict[str, Any]) -> dict[str, str]:
        out.append(node)
        return ref(node["@id"])

    def _add_once(self, out: list[dict[str, Any]], node: dict[str, Any]) -> dict[str, str]:
        out += self.once(node)
        return ref(node["@id"])

    def _channels(
        self,
        doc: dict[str, Any],
        item: str,
        org: str,
        guide: dict[str, Any],
        out: list[dict[str, Any]],
    ) -> list[dict[str, str]]:
        channels = []
        for i, w in enumerate(guide.get("windows") or [], start=1):
            node = {
                "@id": f"{item}#window-{i}",
                "@type": "cv:Channel",
                "dct:identifier": f"{doc['code']}-W{i}",
                "dct:type": self.local_concept("channel-window", "窗口办理", out),
                "dct:description": zh(f"{w['name']}，{w['address']}，电话 {w['phone']}"),
                "cv:ownedBy": ref(org),
                "cv:openingHours": self._add(
                    out,
                    {
                        "@id": f"{item}#window-{i}-hours",
                        "@type": "time:TemporalEntity",
                        "dct:description": zh(w["hours"]),
                    },
                ),
            }
            channels.append(self._add(out, node))
        online = guide.get("online") or {}
        if online.get("available"):
            depth = "、".join(online.get("depth") or [])
            text = "网上办理" + (f"（{depth}）" if depth else "")
            text += f"：{online['url']}" if online.get("url") else ""
            node = {
                "@id": f"{item}#online",
                "@type": "cv:Channel",
                "dct:identifier": f"{doc['code']}-ONLINE",
                "dct:type": self.local_concept("channel-online", "网上办理", out),
                "dct:description": zh(text),
                "cv:ownedBy": ref(org),
            }
            channels.append(self._add(out, node))
        return channels

    def _contact_points(
        self, item: str, guide: dict[str, Any], out: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        points = []
        for kind, label in (("consultation", "咨询"), ("complaint", "监督投诉")):
            for i, channel in enumerate(guide.get(kind) or [], start=1):
                node: dict[str, Any] = {"@id": f"{item}#{kind}-{i}", "@type": "cv:ContactPoint"}
                if channel.get("phone"):
                    node["cv:telephone"] = channel["phone"]
                if channel.get("email"):
                    node["cv:email"] = channel["email"]
                url = channel.get("url")
                if url and SAFE_IRI.match(url):
                    node["cv:contactPage"] = self._add_once(
                        out, {"@id": url, "@type": "foaf:Document"}
                    )
                parts = [label, channel.get("address"), channel.get("note")]
                node["dct:description"] = zh("：".join(p for p in parts if p))
                points.append(self._add(out, node))
        return points

    def _evidence(self, m: dict[str, Any], item: str, out: list[dict[str, Any]]) -> dict[str, str]:
        labels = self.labels
        facts = [
            m.get("material_type"),
            m.get("form"),
            labels.label("material_necessity", m.get("necessity")),
            labels.label("material_sources", m.get("source")),
            f"原件{m.get('originals') or 0}份，复印件{m.get('copies') or 0}份",
            m.get("applies_when"),
            m.get("acceptance_standard"),
        ]
        node: dict[str, Any] = {
            "@id": f"{item}#{m['code']}",
            "@type": "cv:Evidence",
            "dct:identifier": m["code"],
            "dct:title": zh(m["name"]),
            "dct:description": zh("；".join(f for f in facts if f)),
        }
        if m.get("material_type"):
            node["dct:type"] = self.concept("material_types", m["material_type"], out)
        if m.get("shared_material"):
            node["dct:conformsTo"] = ref(f"{self.api}/materials/{m['shared_material']}")
        blank = (m.get("blank_form") or {}).get("url")
        if blank and SAFE_IRI.match(blank):
            node["foaf:page"] = self._add_once(out, {"@id": blank, "@type": "foaf:Document"})
        return self._add(out, node)

    def _cost(
        self, fee: dict[str, Any], item: str, org: str, out: list[dict[str, Any]]
    ) -> dict[str, str]:
        node: dict[str, Any] = {
            "@id": f"{item}#{fee['code']}",
            "@type": "cv:Cost",
            "dct:identifier": fee["code"],
            "dct:description": zh(
                f"{fee['name']}：{fee['standard']}（依据：{fee['legal_basis']}）"
            ),
            "cv:currency": self._add_once(
                out, {"@id": YUAN, "@type": "skos:Concept", "skos:prefLabel": zh("人民币")}
            ),
            "cv:isDefinedBy": ref(org),
        }
        if isinstance(fee.get("amount"), int | float):
            node["cv:hasValue"] = {"@value": float(fee["amount"]), "@type": "xsd:double"}
        return self._add(out, node)

    def _legal(self, doc: dict[str, Any], out: list[dict[str, Any]]) -> list[dict[str, str]]:
        found = []
        entry = f"{self.api}/catalogue-entries/{doc['basic_code']}"
        for i, basis in enumerate(doc.get("legal_basis") or [], start=1):
            node: dict[str, Any] = {
                "@id": f"{entry}#legal-basis-{i}",
                "@type": "eli:LegalResource",
                "dct:title": zh("".join(p for p in (basis.get("law"), basis.get("article")) if p)),
            }
            if basis.get("text"):
                node["dct:description"] = zh(basis["text"])
            if basis.get("url") and SAFE_IRI.match(basis["url"]):
                node["foaf:page"] = self._add_once(
                    out, {"@id": basis["url"], "@type": "foaf:Document"}
                )
            found.append(self._add_once(out, node))
        return found


def jsonld_chunks(docs: Iterator[dict[str, Any]], labels: Labels, base: str) -> Iterator[bytes]:
    graph = Graph(labels, base)
    yield b'{"@context":' + orjson.dumps(CONTEXT) + b',"@graph":['
    first = True
    for doc in docs:
        parts = [orjson.dumps(n) for n in graph.nodes(doc)]
        yield (b"" if first else b",\n") + b",\n".join(parts)
        first = False
    yield b"]}\n"
