"""Checks of the generated seed: codes by app.codes.rules, every document by the app's own
input models, code lists, and references between departments, materials, entries and items.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from app.catalogue.schemas import CatalogueEntryIn, ImplementationIn
from app.catalogue.situations import check_item
from app.codes.rules import CodeError, validate_basic_code, validate_credit_code
from app.directory.schemas import DepartmentIn


def load_code_lists(seed_dir: Path) -> dict[str, set[str]]:
    data = json.loads((seed_dir / "code_lists.json").read_text(encoding="utf-8"))
    return {name: {c["code"] for c in body["codes"]} for name, body in data.items()}


def validate(deps, shared, entries, impls, regions, lists) -> list[str]:
    errs: list[str] = []

    def need(ok: bool, msg: str) -> None:
        if not ok:
            errs.append(msg)

    def in_list(value: str, name: str, where: str) -> None:
        need(value in lists[name], f"{where}: code {value!r} is not in code list {name}")

    region_codes = {r["code"] for r in regions}
    # departments
    credit = {}
    for d in deps:
        try:
            DepartmentIn.model_validate(d)
        except ValidationError as exc:
            errs.append(f"department {d['name']}: {exc}")
        try:
            validate_credit_code(d["credit_code"])
        except CodeError as exc:
            errs.append(f"department {d['name']}: {exc.rule}: {exc.message}")
        need(
            d["credit_code"] not in credit,
            f"department {d['name']}: duplicate credit code {d['credit_code']}",
        )
        credit[d["credit_code"]] = d
        need(
            d["region_code"] in region_codes,
            f"department {d['name']}: unknown region {d['region_code']}",
        )
        need(
            d["credit_code"][2:8] == d["region_code"],
            f"department {d['name']}: credit code region differs",
        )
        in_list(d["level"], "levels", f"department {d['name']}")
    for d in deps:
        p = d["parent_credit_code"]
        need(p is None or p in credit, f"department {d['name']}: unknown parent {p}")
    names = [d["name"] for d in deps]
    need(len(names) == len(set(names)), "duplicate department names")
    # shared materials
    shared_codes = {}
    for s in shared:
        need(s["code"] not in shared_codes, f"shared material {s['code']} duplicated")
        shared_codes[s["code"]] = s
        in_list(s["material_type"], "material_types", f"shared material {s['code']}")
        in_list(s["form"], "material_forms", f"shared material {s['code']}")
        in_list(s["source"], "material_sources", f"shared material {s['code']}")
    # catalogue entries
    by_code = {}
    for e in entries:
        where = f"entry {e['basic_code']} {e['name']}"
        try:
            CatalogueEntryIn.model_validate(e)
        except ValidationError as exc:
            errs.append(f"{where}: {exc}")
        need(e["basic_code"] not in by_code, f"{where}: duplicate basic code")
        by_code[e["basic_code"]] = e
        in_list(e["item_type"], "item_types", where)
        in_list(e["domain"], "domains", where)
        try:
            validate_basic_code(
                e["basic_code"],
                item_type=e["item_type"],
                domain=e["domain"],
                parent=e["parent_basic_code"],
            )
        except CodeError as exc:
            errs.append(f"{where}: {exc.rule}: {exc.message}")
        need(e["basic_code"][:2] in ("00", "23"), f"{where}: owner must be 00 or 23")
        need(
            (e["basic_code"][9:] == "000") == (e["parent_basic_code"] is None),
            f"{where}: sub sequence and parent disagree",
        )
    for e in entries:
        p = e["parent_basic_code"]
        if p is not None:
            need(
                p in by_code and by_code[p]["parent_basic_code"] is None,
                f"entry {e['basic_code']}: parent {p} is not a main item in the catalogue",
            )
            need(
                p in by_code and by_code[p]["item_type"] == e["item_type"],
                f"entry {e['basic_code']}: item type differs from parent",
            )
    # implementations
    seen = set()
    for i, impl in enumerate(impls):
        where = f"implementation #{i} ({impl['basic_code']} @ {impl['department']})"
        try:
            body = ImplementationIn.model_validate(impl).model_dump(mode="json")
        except ValidationError as exc:
            errs.append(f"{where}: {exc}")
        else:
            errs += [f"{where}: {e['loc']}: {e['type']}: {e['msg']}" for e in check_item(body, [])]
        names = [m["name"] for m in impl["materials"]]
        need(len(names) == len(set(names)), f"{where}: a material name is repeated")
        if impl["guide"].get("situations"):  # converted: the free text became conditions
            texts = [m["name"] for m in impl["materials"] if m.get("applies_when")]
            need(not texts, f"{where}: converted, yet applies_when remains on {texts}")
        need(impl["basic_code"] in by_code, f"{where}: unknown basic code")
        dep = credit.get(impl["department"])
        need(dep is not None, f"{where}: unknown department")
        need(impl["region"] in region_codes, f"{where}: unknown region")
        if dep:
            need(
                impl["level"] == dep["level"],
                f"{where}: level {impl['level']} != department level {dep['level']}",
            )
            need(
                impl["region"] == dep["region_code"],
                f"{where}: region differs from the department's",
            )
        pair = (impl["department"], impl["basic_code"])
        need(pair not in seen, f"{where}: duplicate (department, basic_code)")
        seen.add(pair)
        in_list(impl["level"], "levels", where)
        in_list(impl["power_source"], "power_sources", where)
        in_list(impl["body_nature"], "body_natures", where)
        in_list(impl["case_type"], "case_types", where)
        for a in impl["audience"]:
            in_list(a, "audiences", where)
        for t in impl["themes"]:
            in_list(t, "themes", where)
        g = impl["guide"]
        need(g["charges_fee"] == bool(impl["fees"]), f"{where}: charges_fee disagrees with fees")
        need(
            bool(g["windows"])
            and bool(g["faq"])
            and bool(g["consultation"])
            and bool(g["complaint"]),
            f"{where}: incomplete guide",
        )
        need(
            # situations choose among more: each checklist stays short
            2 <= len(impl["materials"]) <= (15 if g.get("situations") else 6),
            f"{where}: {len(impl['materials'])} materials (want 2-6, 15 with situations)",
        )
        for m in impl["materials"]:
            in_list(m["material_type"], "material_types", f"{where} material {m['name']}")
            in_list(m["form"], "material_forms", f"{where} material {m['name']}")
            in_list(m["necessity"], "material_necessity", f"{where} material {m['name']}")
            in_list(m["source"], "material_sources", f"{where} material {m['name']}")
            sm = m.get("shared_material")
            if sm is not None:
                need(sm in shared_codes, f"{where}: unknown shared material {sm}")
                need(
                    # 监护人居民身份证 is a 居民身份证 too: the name says whose
                    sm not in shared_codes or shared_codes[sm]["name"] in m["name"],
                    f"{where}: material {m['name']} differs from shared material {sm}",
                )
    return errs
