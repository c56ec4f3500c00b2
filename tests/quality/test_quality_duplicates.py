"""Same service, different names, measured on the labelled sample
(tests/quality/data/duplicates_sample.json, written before the scorer was tuned): the pairs
``GET /quality/duplicates`` lists are precise enough to act on (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.catalogue.documents import item_input
from app.catalogue.entries import create_entry
from app.catalogue.items import create_item
from app.catalogue.models import CatalogueEntry, Implementation
from app.catalogue.reads import SessionSnapshots, get_item_json
from app.catalogue.schemas import CatalogueEntryIn, ImplementationIn
from app.security import Principal

SAMPLE = json.loads((Path(__file__).parent / "data" / "duplicates_sample.json").read_text())
ADMIN = Principal(name="quality-test", role="admin")


def _vary(doc: dict[str, Any], variation: int) -> None:
    guide = doc["guide"]
    if variation == 1 and doc["materials"]:
        m = doc["materials"][0]
        m["name"] = m["name"] + "（本人）"
        m.pop("shared_material", None)
    elif variation == 2:
        plain = [m for m in doc["materials"] if not m.get("options") and not m.get("when")]
        if len(doc["materials"]) > 1 and plain:
            doc["materials"].remove(plain[-1])  # one no situation depends on
        if len(guide.get("conditions") or []) > 1:
            guide["conditions"].pop()
    elif variation == 3:
        guide["conditions"] = ["申请人" + c for c in guide.get("conditions") or []]


def build_positives(session: Session) -> list[tuple[str, str, bool]]:
    """Each positive: a new local entry, its implementation copied from the entry's first
    one into another region. Returns (original, variant, True) pairs."""
    import orjson

    pairs = []
    for p in SAMPLE["positives"]:
        entry = session.get(CatalogueEntry, p["entry"])
        assert entry is not None, p
        impls = session.exec(
            select(Implementation)
            .where(Implementation.basic_code == entry.basic_code)
            .order_by(Implementation.code)
        ).all()
        original = impls[0]
        elsewhere = (
            next((i for i in impls if i.region_code[:4] != original.region_code[:4]), None)
            or session.exec(
                select(Implementation)
                .where(
                    Implementation.region_code.startswith("2301")
                    if not original.region_code.startswith("2301")
                    else Implementation.region_code.startswith("2306")
                )  # type: ignore[attr-defined]
                .where(Implementation.level == "3")
            ).first()
        )
        assert elsewhere is not None
        basis = copy.deepcopy(entry.legal_basis)
        if p["variation"] == 3:
            basis = basis[:1]
        local = create_entry(
            session,
            CatalogueEntryIn.model_validate(
                {
                    "name": p["local_name"],
                    "item_type": entry.item_type,
                    "domain": entry.domain,
                    "legal_basis": basis,
                }
            ),
            ADMIN,
        )
        doc = item_input(orjson.loads(get_item_json(SessionSnapshots(session), original.code)[1]))
        doc.update(
            basic_code=local.basic_code,
            department=elsewhere.department_code,
            region=elsewhere.region_code,
            level=elsewhere.level,
        )
        doc.pop("code", None)
        for row in doc["materials"] + doc["fees"]:
            row.pop("code", None)
        _vary(doc, p["variation"])
        try:
            made = create_item(session, ImplementationIn.model_validate(doc), ADMIN)
        except Exception as exc:
            raise AssertionError(f"{p}: {getattr(exc, 'errors', exc)}") from None
        pairs.append((original.code, made["code"], True))
    return pairs


def test_precision_on_the_labelled_sample(client: TestClient, session: Session) -> None:
    labelled = build_positives(session)
    labelled += [(n["a"], n["b"], False) for n in SAMPLE["negatives"]]
    assert len(labelled) >= 100
    listed = client.get("/api/v1/quality/duplicates").json()
    found = {frozenset((p["a"], p["b"])): p for p in listed}
    tp = sum(1 for a, b, same in labelled if same and frozenset((a, b)) in found)
    fp = sum(1 for a, b, same in labelled if not same and frozenset((a, b)) in found)
    positives = sum(1 for *_, same in labelled if same)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / positives
    print(
        f"duplicates sample: {len(labelled)} pairs, tp {tp}, fp {fp}, precision {precision:.2f}, recall {recall:.2f}, listed {len(listed)}"
    )
    assert precision >= 0.9
    assert recall >= 0.6
    some = next(iter(found.values()))
    assert some["evidence"] and 0 < some["score"] <= 1
    assert client.get("/api/v1/quality/duplicates", params={"region": "999999"}).status_code == 422
