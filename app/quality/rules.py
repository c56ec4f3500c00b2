"""The quality rules (质量规则): each says which standard it comes from, how serious a breach
is, what it checks and how to fix it; :func:`check_item` runs them all on one item's
representation (as ``GET /items/{code}`` shows it) and yields what they find.

Pure functions of the representation and a little context (the shared material catalogue,
today, the freshness period): no database, so a write pays microseconds for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.quality.rule_set import APPLICATION_POWERS


@dataclass(frozen=True)
class Hit:
    """What a rule found: the field's path and what is wrong there."""

    rule: str
    field: str
    message: str


@dataclass(frozen=True)
class Context:
    """What the rules read besides the item: the shared material catalogue by code and by
    name, today and how many days an item may go without a review."""

    shared: dict[str, dict[str, Any]]
    shared_by_name: dict[str, str]
    today: date
    stale_days: int


_FORM_NAME = re.compile(r"(申请表|登记表|申请书|审批表|承诺书|报告表|备案表|申报表|信息表|确认书)$")
_PHONE = re.compile(
    r"^(?:0\d{2,3}-?\d{7,8}(?:[-转]\d{1,6})?"  # 区号-号码[-分机]
    r"|1[3-9]\d{9}"  # 手机
    r"|12\d{3}|9\d{4}"  # 12345 等服务热线
    r"|[48]00-?\d{3}-?\d{4})$"
)
_PHONE_SPLIT = re.compile(r"[、,，;；/\s]+|或")
_ADDRESS_PART = re.compile(r"[路街道巷号楼层室镇乡村区县市大厦中心广场]")


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _natural_days(limit: dict[str, Any], high: bool) -> float | None:
    """A time limit in calendar days: the least it can be (``high`` False) or the most (a
    working day is one to seven-fifths of a calendar day, plus a long holiday)."""
    value, unit = limit.get("value"), limit.get("unit")
    if not isinstance(value, int | float):
        return None
    if unit == "hours":
        return value / 24
    if unit == "working_days":
        return math.ceil(value * 7 / 5) + 8 if high else float(value)
    return float(value)


def _phones(text: str) -> list[str]:
    return [p.strip().strip("（）()") for p in _PHONE_SPLIT.split(text) if p.strip()]


def _guide(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get("guide") or {}


def _elements(doc: dict[str, Any], ctx: Context) -> Iterator[Hit]:
    guide = _guide(doc)
    power = doc.get("item_type") in APPLICATION_POWERS
    if not any(isinstance(b, dict) and b.get("law") for b in doc.get("legal_basis") or []):
        yield Hit("E-BASIS", "legal_basis", "未列出设定依据")
    if power and not [c for c in guide.get("conditions") or [] if str(c).strip()]:
        yield Hit("E-CONDITIONS", "guide.conditions", "未写明受理条件")
    if not doc.get("materials"):
        yield Hit("E-MATERIALS", "materials", "未列出申请材料")
    if not guide.get("process"):
        yield Hit("E-PROCESS", "guide.process", "未写明办理流程")
    if _blank((guide.get("promised_time_limit") or {}).get("value")):
        yield Hit("E-TIME-LIMIT", "guide.promised_time_limit", "未写明承诺办结时限")
    if power and _blank((guide.get("legal_time_limit") or {}).get("value")):
        yield Hit("E-TIME-LIMIT", "guide.legal_time_limit", "未写明法定办结时限")
    if guide.get("charges_fee") is None:
        yield Hit("E-FEE", "guide.charges_fee", "未说明是否收费")
    for key, rule, what in (
        ("consultation", "E-CONSULTATION", "咨询"),
        ("complaint", "E-COMPLAINT", "监督投诉"),
    ):
        channels = guide.get(key) or []
        if not any(c.get("phone") or c.get("url") or c.get("email") for c in channels):
            yield Hit(rule, f"guide.{key}", f"未公布{what}电话、网址或邮箱")
    visits = guide.get("visits")
    if visits != 0:
        windows = guide.get("windows") or []
        if not windows:
            yield Hit("E-PLACE", "guide.windows", "未写明办理窗口（地址和办公时间）")
        for n, w in enumerate(windows):
            if _blank(w.get("address")):
                yield Hit("E-PLACE", f"guide.windows.{n}.address", "窗口未写明地址")
            if _blank(w.get("hours")):
                yield Hit("E-PLACE", f"guide.windows.{n}.hours", "窗口未写明办公时间")
    online = guide.get("online") or {}
    if online.get("available") is None:
        yield Hit("E-ONLINE", "guide.online.available", "未说明是否网办")
    elif online.get("available") and not online.get("depth"):
        yield Hit("E-ONLINE", "guide.online.depth", "可网办但未写明网办深度")
    if not guide.get("results"):
        yield Hit("E-RESULT", "guide.results", "未写明办理结果")
    remedies = guide.get("remedies") or {}
    if power and not (
        remedies.get("administrative_review") or remedies.get("administrative_litigation")
    ):
        yield Hit("E-REMEDIES", "guide.remedies", "未写明行政复议或行政诉讼途径")
    if visits is None and doc.get("guide") is not None:
        yield Hit("E-VISITS", "guide.visits", "未填写到办事现场次数")
    if not doc.get("audience"):
        yield Hit("E-OTHER", "audience", "未填写服务对象")
    if _blank(doc.get("case_type")):
        yield Hit("E-OTHER", "case_type", "未填写办件类型")


def _consistency(doc: dict[str, Any], ctx: Context) -> Iterator[Hit]:
    guide = _guide(doc)
    legal, promised = guide.get("legal_time_limit"), guide.get("promised_time_limit")
    if legal and promised:
        most, least = _natural_days(legal, high=True), _natural_days(promised, high=False)
        if most is not None and least is not None and least > most:
            yield Hit(
                "C-TIME-LIMIT",
                "guide.promised_time_limit",
                f"承诺时限{_limit_text(promised)}长于法定时限{_limit_text(legal)}",
            )
    fees = doc.get("fees") or []
    charges = guide.get("charges_fee")
    if charges is False and fees:
        yield Hit("C-FEE", "fees", f"“是否收费”为否，却列出了{len(fees)}个收费项目")
    if charges is True and not fees:
        yield Hit("C-FEE", "fees", "“是否收费”为是，却没有收费项目")
    for n, fee in enumerate(fees):
        for key, what in (("standard", "收费标准"), ("legal_basis", "收费依据")):
            if _blank(str(fee.get(key) or "").strip()):
                yield Hit(
                    "C-FEE-DETAIL", f"fees.{n}.{key}", f"收费项目「{fee.get('name')}」未写明{what}"
                )
    phones: list[tuple[str, str]] = []
    for key in ("consultation", "complaint", "windows"):
        for n, c in enumerate(guide.get(key) or []):
            if c.get("phone"):
                phones.append((f"guide.{key}.{n}.phone", c["phone"]))
    for path, text in phones:
        bad = [p for p in _phones(text) if not _PHONE.match(p.replace(" ", ""))]
        if bad:
            yield Hit("C-PHONE", path, f"电话「{text}」不是有效的号码形式")
    urls: list[tuple[str, str]] = []
    if (guide.get("online") or {}).get("url"):
        urls.append(("guide.online.url", guide["online"]["url"]))
    for key in ("consultation", "complaint"):
        for n, c in enumerate(guide.get(key) or []):
            if c.get("url"):
                urls.append((f"guide.{key}.{n}.url", c["url"]))
    for path, url in urls:
        host = re.sub(r"^[a-z]+://", "", url).split("/")[0].split(":")[0].lower()
        if url.startswith(("tel:", "mailto:")):
            continue
        if (
            "." not in host
            or host in ("localhost", "example.com")
            or host.endswith((".example", ".test", ".local", ".invalid"))
        ):
            yield Hit("C-URL", path, f"网址「{url}」不是公开的域名")
    for n, w in enumerate(guide.get("windows") or []):
        address = (w.get("address") or "").strip()
        if address and (len(address) < 6 or not _ADDRESS_PART.search(address)):
            yield Hit("C-ADDRESS", f"guide.windows.{n}.address", f"地址「{address}」不完整")
    online = guide.get("online") or {}
    if online.get("available") and not online.get("url"):
        yield Hit("C-ONLINE", "guide.online.url", "可网办却没有网上办理地址")
    if guide.get("visits") == 0 and online.get("available") is False:
        yield Hit("C-ONLINE", "guide.visits", "到现场0次（全程网办）却不可网办")


def _limit_text(limit: dict[str, Any]) -> str:
    units = {"working_days": "个工作日", "natural_days": "个自然日", "hours": "小时"}
    return f"{limit.get('value')}{units.get(limit.get('unit') or '', '')}"


def _norm(name: str) -> str:
    return re.sub(r"[\s（）()《》“”\"'、·]", "", name or "")


def _materials(doc: dict[str, Any], ctx: Context) -> Iterator[Hit]:
    for n, m in enumerate(doc.get("materials") or []):
        path = f"materials.{n}"
        name = m.get("name") or ""
        shared = ctx.shared.get(m.get("shared_material") or "")
        if shared is not None and _norm(shared["name"]) != _norm(name):
            yield Hit(
                "M-SHARED-NAME",
                f"{path}.name",
                f"材料「{name}」引用共享材料{shared['code']}，目录名称为「{shared['name']}」",
            )
        elif shared is None and _norm(name) in ctx.shared_by_name:
            code = ctx.shared_by_name[_norm(name)]
            yield Hit(
                "M-SHARED-NAME", f"{path}.shared_material", f"材料「{name}」应引用共享材料{code}"
            )
        form = m.get("form") or ""
        if "纸质" in form and not (m.get("originals") or 0) + (m.get("copies") or 0):
            yield Hit("M-FORMAT", f"{path}.originals", f"纸质材料「{name}」原件和复印件份数均为0")
        is_form = bool(_FORM_NAME.search(name))
        if is_form and _blank(m.get("signature_requirement")):
            yield Hit(
                "M-FORMAT", f"{path}.signature_requirement", f"表格「{name}」未写明签名签章要求"
            )
        if is_form and not (m.get("blank_form") and m.get("sample")):
            missing = "空白表格" if not m.get("blank_form") else "示例样表"
            key = "blank_form" if not m.get("blank_form") else "sample"
            yield Hit("M-FORM-FILES", f"{path}.{key}", f"表格「{name}」没有{missing}")
        licence = m.get("licence_type") or (shared or {}).get("licence_type")
        if licence and form == "纸质":
            yield Hit(
                "M-LICENCE",
                f"{path}.form",
                f"材料「{name}」可由电子证照「{licence}」提供，却只收纸质材料",
            )


def _freshness(doc: dict[str, Any], ctx: Context) -> Iterator[Hit]:
    updated = doc.get("updated_at")
    if not updated:
        return
    try:
        day = datetime.fromisoformat(str(updated).replace("Z", "+00:00")).date()
    except ValueError:
        return
    age = (ctx.today - day).days
    if age > ctx.stale_days:
        yield Hit(
            "F-STALE",
            "updated_at",
            f"{age}天未更新或复核（{day.isoformat()}起），期限{ctx.stale_days}天",
        )


CHECKS: list[Callable[[dict[str, Any], Context], Iterator[Hit]]] = [
    _elements,
    _consistency,
    _materials,
    _freshness,
]


def check_item(doc: dict[str, Any], ctx: Context) -> list[Hit]:
    """Every rule's findings on one item, one per rule and field (the first message wins)."""
    seen: dict[tuple[str, str], Hit] = {}
    for check in CHECKS:
        for hit in check(doc, ctx):
            seen.setdefault((hit.rule, hit.field), hit)
    return list(seen.values())
