"""Build the seed data of the 黑龙江省 (230000) catalogue from the YAML under seed/source/.

Writes seed/departments.json, seed/shared_materials.json, seed/catalogue_entries.json and
seed/implementations.json after validating everything (seed/checks.py: credit and basic
codes by app.codes.rules, every document by the app's input models, code lists, references).
Nothing is written when a check fails. seed/source/README.md describes the source files.

Run (after build_regions.py; PyYAML comes with the dev dependencies):
    .venv/bin/python seed/build_seed.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
sys.path.insert(0, str(HERE.parent))

from app.codes.rules import make_credit_code  # noqa: E402
from seed.checks import load_code_lists, validate  # noqa: E402
from seed.compose import (  # noqa: E402
    OWN_MATERIAL_KEYS,
    SHARED_MATERIAL_KEYS,
    apply_situations,
    make_fees,
    make_guide,
    make_materials,
)

ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100 alphabet: no I O S V Z
SCOPES = {"P": "province", "C": "city", "X": "county"}  # `at: [C:ga]`: every city's ga
ENTRY_KEYS = {
    "basic_code",
    "name",
    "name_en",
    "item_type",
    "domain",
    "parent_basic_code",
    "legal_basis",
    "handling_items",
    "profile",
}
PROFILE_KEYS = {
    "at",
    "audience",
    "themes",
    "case_type",
    "legal_days",
    "time_unit",
    "promised_days",
    "visits",
    "online",
    "online_url",
    "result",
    "conditions",
    "faq",
    "materials",
    "fees",
    "special_procedures",
    "intermediary_services",
    "joint_bodies",
    "prerequisite_items",
    "window",
    "hall",
}
CODE_KEYS = {  # code-list values: YAML reads an unquoted 07 as the number 7
    "basic_code",
    "item_type",
    "domain",
    "parent_basic_code",
    "audience",
    "themes",
    "case_type",
    "necessity",
    "source",
}


def fail(msg: str) -> None:
    sys.exit(f"build_seed: ERROR: {msg}")


def load(name: str) -> Any:
    return yaml.safe_load((SOURCE / name).read_text(encoding="utf-8"))


# --- departments ---------------------------------------------------------------------


def org8(name: str, used: set[str]) -> str:
    """Deterministic 8-character organisation code body derived from the name."""
    salt = 0
    while True:
        digest = hashlib.sha256(f"{name}#{salt}".encode()).digest()
        body = "MB" + "".join(ORG_ALPHABET[b % len(ORG_ALPHABET)] for b in digest[:6])
        if body not in used:
            used.add(body)
            return body
        salt += 1


def build_departments(src: dict) -> tuple[list[dict], dict[tuple[str, str], dict]]:
    """The department list and an index (region, key) -> department."""
    used: set[str] = set()
    deps: list[dict] = []
    index: dict[tuple[str, str], dict] = {}
    mass, public = set(src["mass_organisations"]), set(src["public_institutions"])

    def add(region: str, key: str, name: str, short: str, level: str, parent: str | None) -> None:
        category = "3" if key in mass else "2" if key in public else "1"
        dep = {
            "credit_code": make_credit_code("1", category, region, org8(name, used)),
            "name": name,
            "short_name": short,
            "region_code": region,
            "level": level,
            "parent_credit_code": parent,
        }
        deps.append(dep)
        index[(region, key)] = dep

    for d in src["province"]:
        add("230000", d["key"], d["name"], d["short_name"], "2", None)
    for region, city in src["cities"].items():
        for key in city["departments"]:
            template = src["city_templates"][key]
            name = city.get("names", {}).get(key) or template["name"].format(city=city["city"])
            add(region, key, name, template["short_name"].format(short=city["short"]), "3", None)
    for region, rows in src["counties"].items():
        city = region[:4] + "00"
        for d in rows:
            parent = index[(city, d["parent"])]["credit_code"] if d.get("parent") else None
            add(region, d["key"], d["name"], d["short_name"], "4", parent)
    return deps, index


# --- shared materials ----------------------------------------------------------------

SHARED_FIELDS = (
    "code",
    "name",
    "material_type",
    "form",
    "source",
    "issuer",
    "description",
    "licence_type",
)


def build_shared(rows: list[dict]) -> list[dict]:
    return [{k: row.get(k) for k in SHARED_FIELDS} for row in rows]


# --- catalogue entries and their profiles --------------------------------------------


def _check_keys(where: str, e: dict) -> None:
    """Unknown keys (a typo would silently drop data) and codes YAML read as numbers."""
    prof = e.get("profile") or {}
    for keys, allowed, what in [(e, ENTRY_KEYS, "entry"), (prof, PROFILE_KEYS, "profile")] + [
        (m, SHARED_MATERIAL_KEYS if "shared" in m else OWN_MATERIAL_KEYS, "material")
        for m in prof.get("materials", [])
    ]:
        if unknown := set(keys) - allowed:
            fail(f"{where}: unknown {what} keys {sorted(unknown)}")
        for k, v in keys.items():
            values = v if k in ("audience", "themes") else [v]
            if k in CODE_KEYS and not all(isinstance(x, str) for x in values):
                fail(f"{where}: {what} {k}: {v!r} must be quoted (a code, not a number)")


def load_entries() -> list[dict]:
    """The raw entries of seed/source/entries/*.yaml, in file-name order, then file order."""
    raw = []
    for path in sorted((SOURCE / "entries").glob("*.yaml")):
        for e in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            _check_keys(f"{path.name}: {e.get('basic_code')}", e)
            raw.append(e)
    return raw


def entry_document(e: dict) -> dict:
    """A catalogue entry as CatalogueEntryIn reads it."""
    return {
        "basic_code": e["basic_code"],
        "name": e["name"],
        "item_type": e["item_type"],
        "domain": e["domain"],
        "parent_basic_code": e.get("parent_basic_code"),
        "legal_basis": [
            {"law": b["law"], "article": b["article"], "text": b["text"]} for b in e["legal_basis"]
        ],
        "handling_items": [
            {"code": h["code"], "name": h["name"], "kind": h["kind"]}
            for h in e.get("handling_items", [])
        ],
        **({"name_en": e["name_en"]} if e.get("name_en") else {}),
    }


def build_profiles(raw: list[dict]) -> dict[str, dict]:
    """Each entry's profile; a sub item's starts from its main item's (keys it sets win)."""
    profiles: dict[str, dict] = {}
    for e in raw:
        parent = e.get("parent_basic_code")
        if e.get("profile") is not None:
            base = profiles.get(parent, {}) if parent else {}
            profiles[e["basic_code"]] = {**base, **e["profile"]}
    return profiles


# --- implementations -----------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """What an implementation is built from besides its entry, profile and department.
    A per-entry extra from another file under seed/source/ is loaded into a field here."""

    shared: dict[str, dict]  # shared material code -> row
    authorised: set[str]  # department kinds of body nature 2
    halls: dict[tuple[str, str, str], tuple[str, str]]  # (region, kind, serves) -> window
    situations: dict[str, dict]  # basic code -> its part of situations.yaml


def implementation_document(
    entry: dict, prof: dict, dep: dict, key: str, region: dict, src: Sources
) -> dict:
    """One implementation of `entry` by department `dep` (of kind `key`) in `region`.

    The whole document is assembled here, so a per-entry extra (a field of `src`, looked up
    by entry["basic_code"]) is merged in this one place.
    """
    doc = {
        "basic_code": entry["basic_code"],
        "department": dep["credit_code"],
        "region": region["code"],
        "level": dep["level"],
        "power_source": "1",
        "body_nature": "2" if key in src.authorised else "1",
        "audience": list(prof["audience"]),
        "themes": list(prof["themes"]),
        "case_type": prof["case_type"],
        "guide": make_guide(entry, prof, dep, key, region, src.halls),
        "materials": make_materials(prof, region["code"], entry["basic_code"], src.shared),
        "fees": make_fees(prof),
    }
    extra = src.situations.get(entry["basic_code"])
    return apply_situations(doc, extra) if extra else doc


def build_implementations(
    entries: list[dict], profiles: dict[str, dict], index: dict, regions: dict, src: Sources
) -> list[dict]:
    """Every implementation: an entry's profile with `at` and `materials`, per body it names."""
    by_tier: dict[str, list[str]] = {}
    for code, region in regions.items():
        by_tier.setdefault(region["tier"], []).append(code)
    by_code = {e["basic_code"]: e for e in entries}
    impls = []
    for code, prof in profiles.items():
        if "at" not in prof or "materials" not in prof:
            continue
        for target in prof["at"]:
            scope, key = target.split(":")
            for region_code in by_tier[SCOPES[scope]]:
                dep = index.get((region_code, key))
                if dep is not None:  # not every region has every kind of department
                    region = regions[region_code]
                    impls.append(
                        implementation_document(by_code[code], prof, dep, key, region, src)
                    )
    return impls


# --- main ----------------------------------------------------------------------------


def main() -> None:
    regions_path = HERE / "regions.json"
    if not regions_path.exists():
        fail("seed/regions.json is missing: run seed/build_regions.py first")
    all_regions = json.loads(regions_path.read_text(encoding="utf-8"))
    lists = load_code_lists(HERE)

    regions = {code: {"code": code, **r} for code, r in load("regions.yaml").items()}
    dep_src = load("departments.yaml")
    deps, index = build_departments(dep_src)
    shared = build_shared(load("shared_materials.yaml"))
    raw = load_entries()
    entries = [entry_document(e) for e in raw]
    src = Sources(
        shared={s["code"]: s for s in shared},
        authorised=set(dep_src["mass_organisations"]) | set(dep_src["public_institutions"]),
        halls={
            (h["region"], h["department"], h["serves"]): (h["name"], h["address"])
            for h in dep_src["special_halls"]
        },
        situations=load("situations.yaml") or {},
    )
    unknown = {
        m["shared"]
        for e in raw
        for m in (e.get("profile") or {}).get("materials", [])
        if "shared" in m and m["shared"] not in src.shared
    }
    if unknown:
        fail(f"unknown shared materials {sorted(unknown)}")
    impls = build_implementations(entries, build_profiles(raw), index, regions, src)

    errs = validate(deps, shared, entries, impls, all_regions, lists)
    if len(entries) < 45:
        errs.append(f"only {len(entries)} catalogue entries (want >= 45)")
    if len(impls) < 160:
        errs.append(f"only {len(impls)} implementations (want >= 160)")
    if errs:
        for e in errs[:50]:
            print(f"build_seed: ERROR: {e}", file=sys.stderr)
        fail(f"{len(errs)} validation error(s); nothing written")

    for name, data in (
        ("departments.json", deps),
        ("shared_materials.json", shared),
        ("catalogue_entries.json", entries),
        ("implementations.json", impls),
    ):
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        (HERE / name).write_text(text, encoding="utf-8")

    def by(rows: list[dict], field: str) -> dict:
        return dict(sorted(Counter(r[field] for r in rows).items()))

    print(f"departments: {len(deps)} by level {by(deps, 'level')}")
    print(f"shared materials: {len(shared)}")
    subs = sum(1 for e in entries if e["parent_basic_code"])
    print(f"entries: {len(entries)} by type {by(entries, 'item_type')}, sub items {subs}")
    print(f"implementations: {len(impls)} by level {by(impls, 'level')}")


if __name__ == "__main__":
    main()
