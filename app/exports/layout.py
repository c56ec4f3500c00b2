"""The 清单 layout: the columns of the sheets 事项, 申请材料 and 收费项目, both ways.

One definition serves the export (a representation → the cells of its rows) and the import
of an exported workbook (the cells → an implementation in the shape of
``ImplementationIn``, which then takes the import's own path and rules). The mapping:

* one row per implementation in 事项, one per material in 申请材料 and one per fee in
  收费项目, these keyed by 实施编码 + 材料编码 / 收费编码, in the item's order;
* a coded value shows its label beside its code in one cell, ``01 行政许可``
  (``1 自然人`` a line each for a list); the import reads the code, or a label alone, and
  passes anything else on as it is, for the import's validation to name;
* lists of text (受理条件, 联办机构…) a line each; the guide's lists of things (办理流程,
  办理窗口…) a sheet each (:mod:`app.exports.layout_guide`), a row per thing;
* display-only columns (实施主体, 行政区划, 设定依据, 更新时间) are read from the
  catalogue and ignored on import; 事项名称 and 事项类型 come from the catalogue entry
  (四级四同: a changed one is refused), 事项状态 and 业务领域 are read-only (refused
  changed), 版本 is the version exported (an item changed since is a conflict);
* text a spreadsheet would run as a formula is written after an apostrophe and read back
  without it (:mod:`app.exports.formulas`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.exports.formulas import restore

ITEMS_SHEET = "事项"
MATERIALS_SHEET = "申请材料"
FEES_SHEET = "收费项目"
KEY = "实施编码"
UNITS = {"working_days": "工作日", "natural_days": "自然日", "hours": "小时"}
YES, NO = "是", "否"
OTHERS = "其他(JSON)"
#: what the columns of 事项 show: the rest goes to 其他(JSON)
ITEM_FIELDS = {
    "code", "version", "basic_code", "name", "item_type", "domain", "legal_basis",
    "department", "region", "level", "power_source", "body_nature", "entrusting_department",
    "audience", "themes", "case_type", "status", "guide", "materials", "fees", "local_code",
    "source_system", "updated_at", "created_at", "updated_by", "delegated_from",
    "handover_date", "lifecycle", "scheduled",
}  # fmt: skip
GUIDE_FIELDS = {
    "conditions", "legal_time_limit", "promised_time_limit", "process", "online", "visits",
    "windows", "consultation", "complaint", "results", "charges_fee", "special_procedures",
    "remedies", "faq", "intermediary_services", "joint_bodies", "prerequisite_items",
}  # fmt: skip
MATERIAL_FIELDS = {
    "code", "position", "name", "shared_material", "material_type", "form", "originals",
    "copies", "paper_size", "necessity", "source", "source_note", "blank_form", "sample",
    "instructions", "acceptance_standard", "legal_basis", "signature_requirement",
    "applies_when", "licence_type",
}  # fmt: skip
FEE_FIELDS = {
    "code", "position", "name", "standard", "legal_basis", "waivable", "waiver_basis", "amount"
}  # fmt: skip

Labels = Any  # app.exports.service.Labels (kept apart: the importer reads this module too)


@dataclass(frozen=True)
class Column:
    header: str
    #: representation (item, material or fee) → cell
    get: Callable[[dict[str, Any], Labels], Any]
    #: cell (not empty) → the input being built; None: display only
    put: Callable[[Any, dict[str, Any], Reader], None] | None = None
    #: the code list of a coded column (one value a cell): the workbook offers its values
    codes: str | None = None


class Reader:
    """Code lists as the import reads coded cells: the code, ``code label``, or a label."""

    def __init__(self, lists: dict[str, dict[str, str]]) -> None:
        self.lists = lists  # list name → code → label

    @classmethod
    def load(cls, session: Any) -> Reader:
        from sqlmodel import select

        from app.directory.models import CodeListEntry

        lists: dict[str, dict[str, str]] = {}
        for row in session.exec(select(CodeListEntry)):
            lists.setdefault(row.list_name, {})[row.code] = row.label
        return cls(lists)

    def code(self, list_name: str, cell: Any) -> str:
        text = _text(cell)
        codes = self.lists.get(list_name, {})
        if text in codes:
            return text
        head, _, tail = text.partition(" ")
        if head in codes and tail.strip() in ("", codes[head]):
            return head
        by_label = [c for c, label in codes.items() if label == text]
        return by_label[0] if len(by_label) == 1 else text  # else validation names it


# --- cells -------------------------------------------------------------------------


def _text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)  # a code a spreadsheet took for a number
    return str(cell).strip()


def _int(cell: Any) -> Any:
    text = _text(cell)
    return int(text) if text.lstrip("-").isdigit() else text


def _number(cell: Any) -> Any:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return cell
    text = _text(cell)
    try:
        return float(text)
    except ValueError:
        return text


def _amount(value: Any) -> Any:
    """120.0 as 120: what a clerk writes (and reads back as the same amount)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _bool(cell: Any) -> Any:
    if isinstance(cell, bool):
        return cell
    text = _text(cell)
    return {YES: True, NO: False, "true": True, "false": False}.get(text.lower(), text)


def _yes(value: bool | None) -> str | None:
    return None if value is None else YES if value else NO


def _lines(values: list[str] | None) -> str | None:
    """A line each; JSON when a value would not come back from its line as it is."""
    if not values:
        return None
    if any(not v or "\n" in v or v != v.strip() for v in values):
        return _json(values)
    return "\n".join(values)


def _from_lines(cell: Any) -> Any:
    text = str(cell)
    if text.lstrip().startswith("["):
        return _from_json(text)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value not in (None, [], {}) else None


def _from_json(cell: Any) -> Any:
    try:
        return json.loads(str(cell))
    except json.JSONDecodeError:
        return str(cell)  # validation says the field is not a list


def _coded_list(labels: Labels, list_name: str, codes: list[str] | None) -> str | None:
    return "\n".join(labels.coded(list_name, c) for c in codes) if codes else None


def _codes(reader: Reader, list_name: str, cell: Any) -> list[str]:
    text = str(cell)
    parts = text.splitlines() if "\n" in text else text.replace("；", ";").split(";")
    return [reader.code(list_name, p) for p in parts if p.strip()]


def _time_limit(limit: dict[str, Any] | None) -> str | None:
    if not limit:
        return None
    return f"{limit['value']} {UNITS.get(limit['unit'], limit['unit'])}"


def _put_time_limit(key: str) -> Callable[[Any, dict[str, Any], Reader], None]:
    def put(cell: Any, out: dict[str, Any], reader: Reader) -> None:
        text = _text(cell)
        number = "".join(ch for ch in text if ch.isdigit())
        unit_text = text[len(number) :].strip() if text.startswith(number) else ""
        units = {label: unit for unit, label in UNITS.items()} | {u: u for u in UNITS}
        limit = _guide(out).setdefault(key, {})
        limit["value"] = int(number) if number and text.startswith(number) else text
        limit["unit"] = units.get(unit_text, unit_text or "working_days")

    return put


def _guide(out: dict[str, Any]) -> dict[str, Any]:
    return out.setdefault("guide", {})


def _g(doc: dict[str, Any], *path: str) -> Any:
    value: Any = doc.get("guide")
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _set(*path: str, convert: Callable[[Any], Any] = _text) -> Callable[..., None]:
    """Put a cell at ``path`` of the input (``guide`` first for a guide field)."""

    def put(cell: Any, out: dict[str, Any], reader: Reader) -> None:
        target = out
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = convert(cell)

    return put


def coded(header: str, field: str, list_name: str) -> Column:
    return Column(
        header,
        lambda d, lb: lb.coded(list_name, d.get(field)),
        lambda cell, out, r: out.__setitem__(field, r.code(list_name, cell)),
        codes=list_name,
    )


def _local_time(value: str | None) -> str | None:
    """An instant as a clerk of the province reads it: 2026-05-08 14:03 in its zone."""
    if not value:
        return None
    from app.clock import zone

    return datetime.fromisoformat(value).astimezone(zone()).strftime("%Y-%m-%d %H:%M")


def text(header: str, field: str) -> Column:
    return Column(header, lambda d, lb: d.get(field), _set(field))


def guide_json(header: str, key: str) -> Column:
    return Column(header, lambda d, lb: _json(_g(d, key)), _set("guide", key, convert=_from_json))


def guide_lines(header: str, key: str) -> Column:
    return Column(header, lambda d, lb: _lines(_g(d, key)), _set("guide", key, convert=_from_lines))


def guide_text(header: str, *path: str) -> Column:
    return Column(header, lambda d, lb: _g(d, *path), _set("guide", *path))


def _writable(doc: dict[str, Any]) -> dict[str, Any]:
    from app.catalogue.documents import item_input

    return item_input(doc)


def _others(
    covered: set[str],
    guide: set[str] | None = None,
    source: Callable[[dict[str, Any]], dict[str, Any]] = dict,
) -> Column:
    """The writable fields no column of the sheet shows (situations, conditions…), as one
    JSON object: what keeps the round trip whole as the exchange format grows."""

    def get(doc: dict[str, Any], labels: Labels) -> str | None:
        doc = source(doc)
        rest = {k: v for k, v in doc.items() if k not in covered and not k.startswith("_")}
        if guide is not None and isinstance(doc.get("guide"), dict):
            more = {k: v for k, v in doc["guide"].items() if k not in guide}
            if more:
                rest["guide"] = more
        return _json(rest) if rest else None

    def put(cell: Any, out: dict[str, Any], reader: Reader) -> None:
        value = _from_json(cell)
        if not isinstance(value, dict):
            out["其他"] = value  # validation names it: not a field of the format
            return
        for key, item in value.items():
            if key == "guide" and isinstance(item, dict):
                _guide(out).update(item)
            else:
                out[key] = item

    return Column(OTHERS, get, put)


def _legal_basis(doc: dict[str, Any]) -> str | None:
    lines = [
        "".join(p for p in (b.get("law"), b.get("article")) if p)
        for b in doc.get("legal_basis") or []
    ]
    return "\n".join(lines) or None


ITEM_COLUMNS: list[Column] = [
    text(KEY, "code"),
    Column("版本", lambda d, lb: d.get("version"), _set("version", convert=_int)),
    text("基本编码", "basic_code"),
    text("事项名称", "name"),
    coded("事项类型", "item_type", "item_types"),
    coded("业务领域", "domain", "domains"),
    Column("设定依据", lambda d, lb: _legal_basis(d)),
    Column("实施主体", lambda d, lb: d["department"]["name"]),
    Column("实施主体编码", lambda d, lb: d["department"]["code"], _set("department")),
    Column("行政区划", lambda d, lb: d["region"]["name"]),
    Column("行政区划代码", lambda d, lb: d["region"]["code"], _set("region")),
    coded("行使层级", "level", "levels"),
    coded("权力来源", "power_source", "power_sources"),
    coded("实施主体性质", "body_nature", "body_natures"),
    text("委托部门编码", "entrusting_department"),
    Column(
        "服务对象",
        lambda d, lb: _coded_list(lb, "audiences", d.get("audience")),
        lambda cell, out, r: out.__setitem__("audience", _codes(r, "audiences", cell)),
    ),
    Column(
        "主题分类",
        lambda d, lb: _coded_list(lb, "themes", d.get("themes")),
        lambda cell, out, r: out.__setitem__("themes", _codes(r, "themes", cell)),
    ),
    coded("办件类型", "case_type", "case_types"),
    coded("事项状态", "status", "item_statuses"),
    guide_lines("受理条件", "conditions"),
    Column(
        "法定办结时限",
        lambda d, lb: _time_limit(_g(d, "legal_time_limit")),
        _put_time_limit("legal_time_limit"),
    ),
    guide_text("法定办结时限说明", "legal_time_limit", "note"),
    Column(
        "承诺办结时限",
        lambda d, lb: _time_limit(_g(d, "promised_time_limit")),
        _put_time_limit("promised_time_limit"),
    ),
    guide_text("承诺办结时限说明", "promised_time_limit", "note"),
    Column(
        "是否网办",
        lambda d, lb: _yes(_g(d, "online", "available")),
        _set("guide", "online", "available", convert=_bool),
    ),
    Column(
        "网办深度",
        lambda d, lb: "、".join(_g(d, "online", "depth") or []) or None,
        _set(
            "guide",
            "online",
            "depth",
            convert=lambda c: [
                p.strip() for p in str(c).replace("，", "、").split("、") if p.strip()
            ],
        ),
    ),
    guide_text("网上办理地址", "online", "url"),
    Column("到办事现场次数", lambda d, lb: _g(d, "visits"), _set("guide", "visits", convert=_int)),
    Column(
        "是否收费",
        lambda d, lb: _yes(_g(d, "charges_fee")),
        _set("guide", "charges_fee", convert=_bool),
    ),
    guide_text("行政复议", "remedies", "administrative_review"),
    guide_text("行政诉讼", "remedies", "administrative_litigation"),
    guide_lines("联办机构", "joint_bodies"),
    guide_lines("前置事项", "prerequisite_items"),
    text("本地编码", "local_code"),
    text("来源系统", "source_system"),
    _others(ITEM_FIELDS, GUIDE_FIELDS, _writable),
    Column("更新时间", lambda d, lb: _local_time(d.get("updated_at"))),
]


def _attachment(header: str, key: str, part: str) -> Column:
    return Column(
        header,
        lambda d, lb: (d.get(key) or {}).get(part),
        _set(key, part),
    )


MATERIAL_COLUMNS: list[Column] = [
    Column(KEY, lambda d, lb: d["_item"]),
    Column("事项名称", lambda d, lb: d["_name"]),
    text("材料编码", "code"),
    text("材料名称", "name"),
    text("共享材料编码", "shared_material"),
    coded("材料类型", "material_type", "material_types"),
    coded("材料形式", "form", "material_forms"),
    Column("原件份数", lambda d, lb: d.get("originals"), _set("originals", convert=_int)),
    Column("复印件份数", lambda d, lb: d.get("copies"), _set("copies", convert=_int)),
    text("纸张规格", "paper_size"),
    coded("必要性", "necessity", "material_necessity"),
    coded("来源渠道", "source", "material_sources"),
    text("来源说明", "source_note"),
    _attachment("空白表格名称", "blank_form", "name"),
    _attachment("空白表格地址", "blank_form", "url"),
    _attachment("空白表格SHA-256", "blank_form", "sha256"),
    _attachment("示例样表名称", "sample", "name"),
    _attachment("示例样表地址", "sample", "url"),
    _attachment("示例样表SHA-256", "sample", "sha256"),
    text("填报须知", "instructions"),
    text("受理标准", "acceptance_standard"),
    text("设定依据", "legal_basis"),
    text("签名签章要求", "signature_requirement"),
    text("材料情形", "applies_when"),
    text("电子证照", "licence_type"),
    _others(MATERIAL_FIELDS),
]

FEE_COLUMNS: list[Column] = [
    Column(KEY, lambda d, lb: d["_item"]),
    Column("事项名称", lambda d, lb: d["_name"]),
    text("收费编码", "code"),
    text("收费项目名称", "name"),
    text("收费标准", "standard"),
    text("收费依据", "legal_basis"),
    Column("是否允许减免", lambda d, lb: _yes(d.get("waivable")), _set("waivable", convert=_bool)),
    text("减免依据", "waiver_basis"),
    Column("收费金额(元)", lambda d, lb: _amount(d.get("amount")), _set("amount", convert=_number)),
    _others(FEE_FIELDS),
]

SHEETS = {
    "items": (ITEMS_SHEET, ITEM_COLUMNS),
    "materials": (MATERIALS_SHEET, MATERIAL_COLUMNS),
    "fees": (FEES_SHEET, FEE_COLUMNS),
}


def headers(sheet: str) -> list[str]:
    return [c.header for c in SHEETS[sheet][1]]


def rows(doc: dict[str, Any], labels: Labels, sheet: str) -> Iterator[list[Any]]:
    """The rows of one implementation in ``sheet``: one in 事项, one per material or fee."""
    columns = SHEETS[sheet][1]
    if sheet == "items":
        yield [c.get(doc, labels) for c in columns]
        return
    for child in doc["materials" if sheet == "materials" else "fees"]:
        keyed = {**child, "_item": doc["code"], "_name": doc["name"]}
        yield [c.get(keyed, labels) for c in columns]


# --- import ------------------------------------------------------------------------


#: the workbook's first column (the CSV has none): a row's number in its sheet's list
SERIAL = "序号"
#: rows above the header a workbook may have (its title)
TITLE_ROWS = 3


def is_export_header(header: list[Any]) -> bool:
    """A sheet of this layout: 实施编码 first (after 序号), 事项名称 among the headers."""
    names = [str(h).strip() if h is not None else "" for h in header]
    if names[:1] == [SERIAL]:
        names = names[1:]
    return bool(names) and names[0] == KEY and "事项名称" in names


def header_row(lines: Iterator[tuple[Any, ...]]) -> tuple[int, list[Any]]:
    """The header of a sheet of this layout, past the title above it: (its row, cells)."""
    for n, values in enumerate(lines, start=1):
        if is_export_header(list(values)) or n >= TITLE_ROWS:
            return n, list(values)
    return 0, []


def build(columns: list[Column], header: list[Any], values: tuple[Any, ...], reader: Reader):  # type: ignore[no-untyped-def]
    by_header = {c.header: c for c in columns}
    out: dict[str, Any] = {}
    for name, cell in zip(header, values, strict=False):
        column = by_header.get(str(name).strip()) if name is not None else None
        if column is None or column.put is None or cell is None or _text(cell) == "":
            continue
        column.put(restore(cell), out, reader)  # the apostrophe the export put before a formula
    return out
