"""Same service, different names (名称不同但内容相同): implementations of different catalogue
entries, in different regions or departments, whose content says they are one service.

Each live implementation is reduced to what defines the service: its materials (the shared
material's code, else the name without punctuation), its legal basis (law and article),
its conditions (character pairs) and its results (names). Pairs that share a material or a
law are scored (weighted overlaps, with gates on the materials and the conditions); a pair
above :data:`THRESHOLD` is listed with the evidence. On the labelled sample
(tests/quality/data/duplicates_sample.json) the weights alone listed 18 sibling items as
one service (precision 0.69); the gates took them out. Items of one entry are the same service by definition (四级四同), so never a pair.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import orjson
from sqlalchemy import select, tuple_
from sqlmodel import Session, col

from app.catalogue.models import Implementation
from app.pagination import with_prefix
from app.quality.findings import ENDED
from app.security import region_prefix
from app.versionlog import RecordVersion

#: weights of the four kinds of evidence (they sum to 1)
WEIGHTS = {"materials": 0.35, "legal_basis": 0.3, "conditions": 0.2, "results": 0.15}
#: the score from which a pair is listed
THRESHOLD = 0.6
#: below these, not one service whatever the rest says: sibling sub-items (换领/补领, 租房/
#: 购房提取) share the basis, conditions and result but few materials; a one-stop item
#: shares the materials of one of its parts but not its conditions
MIN_MATERIALS = 0.5
MIN_CONDITIONS = 0.3
#: a token shared by more items than this says nothing (居民身份证)
COMMON = 0.05
_PUNCT = re.compile(r"[\s，。、；：:;,.（）()《》“”\"'【】\[\]]")


@dataclass
class Shape:
    """What defines a service, of one implementation."""

    code: str
    name: str
    basic_code: str
    region: str
    department: str
    materials: set[str]
    laws: set[str]
    conditions: set[str]
    results: set[str]


def _norm(text: str) -> str:
    return _PUNCT.sub("", text or "")


def shape(doc: dict[str, Any]) -> Shape:
    guide = doc.get("guide") or {}
    materials = {
        m.get("shared_material") or _norm(m.get("name") or "") for m in doc.get("materials") or []
    }
    laws = {
        _norm(f"{b.get('law') or ''}{b.get('article') or ''}")
        for b in doc.get("legal_basis") or []
        if isinstance(b, dict) and b.get("law")
    }
    text = _norm("".join(str(c) for c in guide.get("conditions") or []))
    conditions = {text[i : i + 2] for i in range(len(text) - 1)}
    results = {_norm(r.get("name") or "") for r in guide.get("results") or [] if r.get("name")}
    return Shape(
        doc["code"],
        doc.get("name") or "",
        doc.get("basic_code") or "",
        (doc.get("region") or {}).get("code") or "",
        (doc.get("department") or {}).get("code") or "",
        {m for m in materials if m},
        laws,
        conditions,
        results,
    )


def _jaccard(a: set[str], b: set[str]) -> float | None:
    if not a and not b:
        return None
    return len(a & b) / len(a | b)


def score(a: Shape, b: Shape) -> tuple[float, list[str]]:
    """The pair's score (0–1, over the kinds of evidence both have) and the evidence."""
    parts = {
        "materials": _jaccard(a.materials, b.materials),
        "legal_basis": _jaccard(a.laws, b.laws),
        "conditions": _jaccard(a.conditions, b.conditions),
        "results": _jaccard(a.results, b.results),
    }
    known = {k: v for k, v in parts.items() if v is not None}
    if not known or parts["materials"] is None or parts["materials"] < MIN_MATERIALS:
        return 0.0, []
    if parts["conditions"] is not None and parts["conditions"] < MIN_CONDITIONS:
        return 0.0, []
    total = sum(WEIGHTS[k] * v for k, v in known.items()) / sum(WEIGHTS[k] for k in known)
    evidence = []
    if a.materials & b.materials:
        evidence.append(
            f"申请材料相同 {len(a.materials & b.materials)}/{len(a.materials | b.materials)}"
        )
    if a.laws & b.laws:
        evidence.append(f"设定依据相同 {len(a.laws & b.laws)}/{len(a.laws | b.laws)}")
    if parts["conditions"] is not None:
        evidence.append(f"受理条件相似度 {parts['conditions']:.2f}")
    if a.results & b.results:
        evidence.append("办理结果相同：" + "、".join(sorted(a.results & b.results)))
    return round(total, 3), evidence


def shapes(session: Session, region: str | None = None) -> list[Shape]:
    """The live implementations (of a region and below), from their newest versions."""
    stmt = select(Implementation.code, Implementation.version).where(
        col(Implementation.status).not_in(list(ENDED))
    )
    if region:
        stmt = stmt.where(*with_prefix(Implementation.region_code, region_prefix(region)))
    keys = [tuple(r) for r in session.execute(stmt).all()]
    out: list[Shape] = []
    for i in range(0, len(keys), 1000):
        for snapshot in session.execute(
            select(RecordVersion.snapshot).where(
                RecordVersion.kind == "item",
                tuple_(RecordVersion.code, RecordVersion.version).in_(keys[i : i + 1000]),
            )
        ).scalars():
            out.append(shape(orjson.loads(snapshot)))
    return out


def candidates(items: list[Shape]) -> set[tuple[int, int]]:
    """Pairs sharing a material or a law that is not in most items, of different entries
    and different regions or departments."""
    index: dict[str, list[int]] = defaultdict(list)
    for n, s in enumerate(items):
        for token in s.materials | {"§" + law for law in s.laws}:
            index[token].append(n)
    limit = max(20, int(len(items) * COMMON))
    out: set[tuple[int, int]] = set()
    for members in index.values():
        if len(members) > limit:
            continue
        for i, j in combinations(members, 2):
            a, b = items[i], items[j]
            if a.basic_code == b.basic_code:
                continue
            if a.region == b.region and a.department == b.department:
                continue
            out.add((i, j))
    return out


def pairs(
    session: Session, region: str | None = None, min_score: float = THRESHOLD
) -> list[dict[str, Any]]:
    """The pairs above ``min_score``, best first."""
    items = shapes(session, region)
    out = []
    for i, j in candidates(items):
        a, b = items[i], items[j]
        value, evidence = score(a, b)
        if value >= min_score:
            if a.code > b.code:
                a, b = b, a
            out.append(
                {
                    "a": a.code,
                    "b": b.code,
                    "a_name": a.name,
                    "b_name": b.name,
                    "score": value,
                    "evidence": evidence,
                }
            )
    out.sort(key=lambda p: (-p["score"], p["a"], p["b"]))
    return out
