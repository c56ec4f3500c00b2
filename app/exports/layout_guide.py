"""The sheets of the guide's lists in the 清单 layout: 办理流程, 办理窗口, 咨询方式, 监督投诉方式,
办理结果, 特别程序, 常见问题, 中介服务 — a row per step, window, channel… keyed by 实施编码 and
in the item's order, a column per field, so that a clerk reads, filters and prints them
(rather than JSON in a cell) and the import reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from app.exports import layout
from app.exports.layout import Column

CHANNELS = {"online": "网上", "offline": "线下", "both": "网上和线下"}


def _field(header: str, *path: str, convert: Callable[[Any], Any] = layout._text) -> Column:
    def get(d: dict[str, Any], lb: Any) -> Any:
        value: Any = d
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def put(cell: Any, out: dict[str, Any], reader: layout.Reader) -> None:
        target = out
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = convert(cell)

    return Column(header, get, put)


def _time_limit(header: str) -> Column:
    def put(cell: Any, out: dict[str, Any], reader: layout.Reader) -> None:
        holder: dict[str, Any] = {}
        layout._put_time_limit("time_limit")(cell, holder, reader)
        out.setdefault("time_limit", {}).update(holder["guide"]["time_limit"])

    return Column(header, lambda d, lb: layout._time_limit(d.get("time_limit")), put)


def _channel(header: str) -> Column:
    by_label = {label: code for code, label in CHANNELS.items()}

    def get(d: dict[str, Any], lb: Any) -> str | None:
        code = d.get("channel")
        return f"{code} {CHANNELS[code]}" if code in CHANNELS else code

    def put(cell: Any, out: dict[str, Any], reader: layout.Reader) -> None:
        text = layout._text(cell)
        head = text.split(" ", 1)[0]
        out["channel"] = head if head in CHANNELS else by_label.get(text, text)

    return Column(header, get, put)


def _condition(header: str) -> Column:
    """适用情形: an option id as it is, a combination as JSON (rare, and read back)."""

    def get(d: dict[str, Any], lb: Any) -> str | None:
        when = d.get("when")
        return when if isinstance(when, str) or when is None else json.dumps(when)

    def put(cell: Any, out: dict[str, Any], reader: layout.Reader) -> None:
        text = layout._text(cell)
        out["when"] = layout._from_json(text) if text.startswith("{") else text

    return Column(header, get, put)


def _channels(*extra: Column) -> list[Column]:
    return [
        _field("电话", "phone"),
        _field("地址", "address"),
        _field("网址", "url"),
        _field("电子邮箱", "email"),
        _field("说明", "note"),
        *extra,
    ]


#: guide key → (sheet, its columns after 实施编码 and 事项名称)
GUIDE_LISTS: dict[str, tuple[str, list[Column]]] = {
    "process": (
        "办理流程",
        [
            _field("环节名称", "name"),
            _field("环节说明", "description"),
            _channel("办理渠道"),
            _time_limit("环节时限"),
            _field("环节时限说明", "time_limit", "note"),
            _condition("适用情形"),
        ],
    ),
    "windows": (
        "办理窗口",
        [
            _field("窗口名称", "name"),
            _field("办理地点", "address"),
            _field("办理时间", "hours"),
            _field("联系电话", "phone"),
            _field("交通指引", "traffic"),
            _field("地图链接", "map_url"),
        ],
    ),
    "consultation": ("咨询方式", _channels()),
    "complaint": ("监督投诉方式", _channels()),
    "results": (
        "办理结果",
        [
            _field("结果类型", "type"),
            _field("结果名称", "name"),
            _field("样本名称", "sample", "name"),
            _field("样本地址", "sample", "url"),
        ],
    ),
    "special_procedures": (
        "特别程序",
        [
            _field("程序名称", "name"),
            _time_limit("程序时限"),
            _field("程序时限说明", "time_limit", "note"),
            _field("说明", "note"),
        ],
    ),
    "faq": ("常见问题", [_field("问题", "question"), _field("解答", "answer")]),
    "intermediary_services": (
        "中介服务",
        [_field("中介服务名称", "name"), _field("设定依据", "basis")],
    ),
}

SHEETS = {
    key: (title, [layout.Column(layout.KEY, lambda d, lb: d["_item"]),
                  layout.Column("事项名称", lambda d, lb: d["_name"]), *columns])
    for key, (title, columns) in GUIDE_LISTS.items()
}  # fmt: skip


def entries(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return list((doc.get("guide") or {}).get(key) or [])
