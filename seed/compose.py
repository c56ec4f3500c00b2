"""The parts of a seeded implementation derived from its entry's profile and its region:
the guide (办事指南), the materials and the fees.

Everything that varies per region or department (windows, phone numbers, promised time
limits) is derived deterministically, so the generated JSON only changes with the sources.
"""

from __future__ import annotations

import copy
import hashlib

PORTAL = "https://zwfw.hlj.gov.cn"


def stable_int(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest(), 16)


def phone(region: dict, dep: dict, salt: str = "") -> str:
    p = region["phone"]
    digits = p["digits"] - len(p["prefix"])
    tail = stable_int(dep["credit_code"], salt) % (10**digits)
    return f"{p['area_code']}-{p['prefix']}{tail:0{digits}d}"


def tl(value: int, unit: str = "working_days", note: str | None = None) -> dict:
    out = {"value": value, "unit": unit}
    if note:
        out["note"] = note
    return out


def _window(entry: dict, prof: dict, dep: dict, key: str, region: dict, halls: dict):
    """(name, address) of the window that handles the item."""
    special = halls.get((region["code"], key, prof.get("hall", entry["domain"])))
    if special:
        return special
    counter = stable_int(dep["credit_code"]) % 40 + 1
    name = f"{region['hall']}{dep['short_name']}窗口"
    address = (
        f"{region['address']}{region['name']}政务服务中心{counter}号窗口"
        if region["tier"] == "province"
        else f"{region['address']} {counter}号窗口"
    )
    if prof.get("window"):
        name = f"{dep['name']}{prof['window']}"
    elif key == "ga" and dep["level"] == "4":
        name = f"{dep['name']}户政服务大厅"
    return name, address


def _process(prof: dict, dep: dict, promised: int, unit: str) -> list[dict]:
    if prof["case_type"] == "1":  # 即办件
        return [
            {
                "name": "申请",
                "description": "申请人通过网上或者到窗口提交申请材料",
                "channel": "both",
            },
            {
                "name": "受理审核",
                "description": f"{dep['short_name']}窗口人员对材料进行审核，材料齐全、符合条件的当场受理",
                "channel": "both",
            },
            {
                "name": "办结",
                "description": "当场办结并告知结果或出具结果",
                "channel": "both",
                "time_limit": tl(0, note="即来即办"),
            },
        ]
    online = bool(prof["online"])
    return [
        {
            "name": "申请",
            "description": "申请人提交申请材料；可通过黑龙江政务服务网在线申报"
            if online
            else "申请人到窗口提交申请材料",
            "channel": "both" if online else "offline",
        },
        {
            "name": "受理",
            "description": "材料齐全、符合法定形式的予以受理；不齐全的一次性告知需补正的全部内容",
            "channel": "both",
            "time_limit": tl(1 if promised else 0),
        },
        {
            "name": "审查",
            "description": f"{dep['name']}对申请材料进行审查，必要时进行核查",
            "channel": "offline",
            "time_limit": tl(max(promised - 1, 0), unit),
        },
        {
            "name": "决定与送达",
            "description": "作出决定，通过窗口领取、邮政寄递或者网上送达结果",
            "channel": "both",
        },
    ]


def make_guide(entry: dict, prof: dict, dep: dict, key: str, region: dict, halls: dict) -> dict:
    rname, hours = region["name"], region["hours"]
    legal, unit = prof["legal_days"], prof["time_unit"]
    promised = prof["promised_days"]
    if promised > 0:  # regions promise faster by their cut, never below one day
        promised = max(1, promised - region["promise_cut"])
    if legal and promised > legal and unit == "working_days":
        promised = legal
    win_name, win_addr = _window(entry, prof, dep, key, region, halls)
    dep_phone = phone(region, dep)
    depth = prof["online"]
    url = prof.get("online_url") or f"{PORTAL}/item/{entry['basic_code']}?region={region['code']}"
    visits = prof["visits"]
    if visits == 0 and (not depth or "受理" not in depth):  # cannot be zero without online 受理
        visits = 1
    days = "工作日" if unit == "working_days" else "自然日"
    review_body = region["review_body"] if key != "sw" else "上一级税务机关"
    return {
        "conditions": list(prof["conditions"]),
        "legal_time_limit": tl(
            legal, unit, "法律法规未规定办理时限，按即办件办理" if legal == 0 else None
        ),
        "promised_time_limit": tl(
            promised,
            unit if promised else "working_days",
            "当场办结" if promised == 0 else f"{rname}承诺自受理之日起{promised}个{days}内办结",
        ),
        "process": _process(prof, dep, promised, unit),
        "online": {"available": bool(depth), "depth": list(depth), "url": url if depth else None},
        "visits": visits,
        "windows": [
            {
                "name": win_name,
                "address": win_addr,
                "hours": hours,
                "phone": dep_phone,
                "traffic": region["traffic"],
                "map_url": None,
            }
        ],
        "consultation": [
            {"phone": dep_phone, "address": win_addr, "note": f"{dep['short_name']}窗口现场咨询"},
            {"phone": "12345", "url": PORTAL, "note": "黑龙江省12345政务服务便民热线"},
        ],
        "complaint": [
            {"phone": "12345", "note": "12345政务服务便民热线受理投诉"},
            {
                "phone": phone(region, dep, "complaint"),
                "note": f"{rname}营商环境建设监督局（好差评、投诉受理）",
                "url": f"{PORTAL}/hcp",
            },
        ],
        "results": [{"type": prof["result"]["type"], "name": prof["result"]["name"]}],
        "charges_fee": bool(prof.get("fees")),
        "special_procedures": [
            {
                "name": sp["name"],
                "time_limit": tl(*sp["time_limit"]) if sp.get("time_limit") else None,
                "note": sp.get("note"),
            }
            for sp in prof.get("special_procedures", [])
        ],
        "remedies": {
            "administrative_review": f"对办理结果不服的，可以自知道该行为之日起六十日内向{review_body}申请行政复议",
            "administrative_litigation": "也可以自知道或者应当知道作出行政行为之日起六个月内依法向人民法院提起行政诉讼",
        },
        "faq": [{"question": f["question"], "answer": f["answer"]} for f in prof["faq"]]
        + [
            {
                "question": f"在{rname}哪里办理？",
                "answer": f"可到{win_name}（{win_addr}）办理，办公时间：{hours}。"
                + ("也可以通过网上办理。" if depth else ""),
            }
        ],
        "intermediary_services": [
            {"name": s["name"], "basis": s["basis"]} for s in prof.get("intermediary_services", [])
        ],
        "joint_bodies": list(prof.get("joint_bodies", [])),
        "prerequisite_items": list(prof.get("prerequisite_items", [])),
    }


SHARED_MATERIAL_KEYS = {
    "shared",
    "necessity",
    "originals",
    "copies",
    "applies_when",
    "material_type",
}
OWN_MATERIAL_KEYS = {
    "name",
    "material_type",
    "form",
    "necessity",
    "source",
    "originals",
    "copies",
    "applies_when",
    "instructions",
    "signature_requirement",
    "paper_size",
}


def expand_material(row: dict, shared: dict[str, dict]) -> dict:
    """A profile's material row: `shared: SMxxxx` takes the rest from the shared catalogue."""
    copies = row.get("copies", 0)
    when = row.get("applies_when")
    if "shared" in row:
        sm = shared[row["shared"]]
        mtype = row.get("material_type") or sm["material_type"]
        m = {
            "name": sm["name"],
            "shared_material": sm["code"],
            "material_type": mtype,
            "form": sm["form"],
            "originals": row.get("originals", 1),
            "copies": copies,
            "necessity": row.get("necessity", "1"),
            "source": sm["source"],
            "source_note": sm["issuer"],
            "licence_type": sm["licence_type"],
        }
        if when:
            m["applies_when"] = when
        if copies and mtype == "原件":
            m["material_type"] = "原件和复印件"
        return m
    m = {
        "name": row["name"],
        "material_type": row.get("material_type", "原件"),
        "form": row.get("form", "纸质"),
        "originals": row.get("originals", 1),
        "copies": copies,
        "necessity": row.get("necessity", "1"),
        "source": row.get("source", "10"),
    }
    for k in ("applies_when", "instructions", "signature_requirement", "paper_size"):
        if row.get(k):
            m[k] = row[k]
    return m


def make_materials(prof: dict, region_code: str, code: str, shared: dict[str, dict]) -> list[dict]:
    out = []
    for i, row in enumerate(prof.get("materials", [])):
        m = expand_material(row, shared)
        # local variation: some regions ask for one photocopy of the main certificate
        if (
            i == 0
            and m.get("shared_material")
            and stable_int(region_code, code) % 3 == 0
            and m["material_type"] == "原件"
        ):
            m["copies"] = 1
            m["material_type"] = "原件和复印件"
        if m.get("licence_type") and "source_note" in m:
            m["acceptance_standard"] = (
                f"真实有效、信息清晰；可通过黑龙江省电子证照库调取{m['licence_type']}的，免于提交纸质材料"
            )
        m.pop("source_note", None)
        if m["material_type"] == "复印件":
            m["originals"], m["copies"] = 0, max(m["copies"], 1)
        elif m["material_type"] == "原件和复印件":
            m["originals"], m["copies"] = max(m["originals"], 1), max(m["copies"], 1)
        out.append({k: v for k, v in m.items() if v is not None})
    return out


def make_fees(prof: dict) -> list[dict]:
    out = []
    for f in prof.get("fees", []):
        fee = {
            "name": f["name"],
            "standard": f["standard"],
            "legal_basis": f["legal_basis"],
            "waivable": f["waivable"],
        }
        if f.get("waiver_basis"):
            fee["waiver_basis"] = f["waiver_basis"]
        out.append(fee)
    return out


# --- situations (情形): seed/source/situations.yaml ---------------------------------

GUIDE_KEYS = ("situations", "common_situations", "time_limits")


def apply_situations(item: dict, extra: dict) -> dict:
    """``item`` (a seed implementation) with its entry's part of situations.yaml applied,
    as a new dict. A material change ``null`` removes the material; a ``null`` field in a
    change removes the field. Unknown step or material names raise ``KeyError``."""
    out = copy.deepcopy(item)
    extra = copy.deepcopy(extra)
    guide = out["guide"]
    for key in GUIDE_KEYS:
        if extra.get(key):
            guide[key] = extra[key]
    steps = extra.get("process_when") or {}
    changes = extra.get("materials") or {}
    unknown = (set(steps) - {s["name"] for s in guide["process"]}) | (
        set(changes) - {m["name"] for m in out["materials"]}
    )
    if unknown:
        raise KeyError(f"no step or material named {', '.join(sorted(unknown))}")
    for step in guide["process"]:
        if step["name"] in steps:
            step["when"] = steps[step["name"]]
    materials = []
    for m in out["materials"]:
        if m["name"] in changes and changes[m["name"]] is None:
            continue
        merged = {**m, **(changes.get(m["name"]) or {})}
        materials.append({k: v for k, v in merged.items() if v is not None})
    out["materials"] = materials + (extra.get("add_materials") or [])
    if "fees" in extra:
        out["fees"] = extra["fees"] or []
        guide["charges_fee"] = bool(out["fees"])
    return out
