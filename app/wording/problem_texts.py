"""What each problem says, in zh-Hans and English (zh-Hant: the zh-Hans text through OpenCC,
as the pages are): keyed by the rule an error entry names (its ``type``) or by the problem's
own ``type``. The rules stay where they are; this is their wording only.

A wording is one or more :class:`Say`: the first whose ``read`` finds its parameters in the
English message (``msg`` of an entry, ``detail`` of a problem) is said; the last reads
nothing and is always said. ``{field}`` is the field's label (:mod:`app.catalogue.labels`),
the other parameters are named by the groups of ``read`` or come from the error's ``ctx``
(pydantic's limits) or the problem's extra members (``retry_after``). How a parameter is
shown is decided by its name (:func:`app.wording.problems.shown`): a ``department`` or a
``region`` by its name, an ``item_status``, ``request_status``, ``correction_status`` or
``event`` by its word, a ``day`` as people write it, ``fields`` by their labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Say:
    hans: str
    en: str
    read: re.Pattern[str] | None = field(default=None, compare=False)


def s(hans: str, en: str, read: str | None = None) -> Say:
    return Say(hans, en, re.compile(read) if read else None)


Wording = tuple[Say, ...]

#: a value as ``repr`` writes it: 'x', or "x" when it holds a quote
_Q = r"""(?P<q>['"])(?P<{}>.*?)(?P=q)"""


def quoted(name: str) -> str:
    return _Q.format(name)


# --- the fields' own rules: text, links, dates --------------------------------------------

_POINT = r"U\+(?P<point>[0-9A-F]{4,6})"


def _text_rule(hans: str, en: str) -> Wording:
    return (
        s(
            f"「{{field}}」{hans}（U+{{point}}），请删除",
            f"“{{field}}” {en} (U+{{point}}); remove it",
            _POINT,
        ),
        s(f"「{{field}}」{hans}，请删除", f"“{{field}}” {en}; remove it"),
    )


DATE = s(
    "「{field}」应为日期，写作 年-月-日，如 2026-12-01",
    "“{field}” is a date written YYYY-MM-DD, e.g. 2026-12-01",
)
DATETIME = s(
    "「{field}」应为时间，写作 2026-12-01T09:00:00+08:00",
    "“{field}” is a time written like 2026-12-01T09:00:00+08:00",
)
WHOLE_NUMBER = s("「{field}」应为整数", "“{field}” is a whole number")
NUMBER = s("「{field}」应为数字", "“{field}” is a number")
SHAPE = s("「{field}」的内容结构不对", "“{field}” is not shaped as it should be")
FILL_IN = s("请填写「{field}」", "Please fill in “{field}”")

FIELDS: dict[str, Wording | Say] = {
    "text.nul": _text_rule("含有空字符", "holds a NUL character"),
    "text.control": _text_rule("含有控制字符", "holds a control character"),
    "text.line_break": s(
        "「{field}」只能写一行，不能有换行或制表符", "“{field}” is one line: no line breaks or tabs"
    ),
    "text.bidi": _text_rule(
        "含有改变文字方向的隐藏字符", "holds a hidden character that turns text"
    ),
    "text.invisible": _text_rule("含有看不见的字符", "holds an invisible character"),
    "text.encoding": _text_rule("含有无效字符", "holds a character that is not text"),
    "url.scheme": (
        s(
            "「{field}」应为以 {schemes} 开头的链接",
            "“{field}” is a link starting with {schemes}",
            r"starts with (?P<schemes>.+)$",
        ),
        s(
            "「{field}」应为 http 或 https 网址，不能是“{scheme}”",
            "“{field}” is an http or https address, not “{scheme}”",
            "not " + quoted("scheme"),
        ),
        s(
            "「{field}」应为以 http:// 或 https:// 开头的网址",
            "“{field}” is an http:// or https:// address",
        ),
    ),
    "url.host": s(
        "「{field}」应写明网站地址，如 https://www.example.gov.cn/…",
        "“{field}” names its site: https://www.example.gov.cn/…",
    ),
    "url.userinfo": s(
        "「{field}」中不能含用户名或密码", "“{field}” cannot hold a user name or password"
    ),
    "url.fragment": s("「{field}」不能含 # 之后的部分", "“{field}” has no #fragment"),
    "url.unresolvable": (
        s(
            "「{field}」中的主机 {host} 无法解析",
            "“{field}”: host {host} does not resolve",
            r"^(?P<host>\S+) (?:resolves to no|did not|does not)",
        ),
        s("「{field}」中的主机无法解析", "“{field}”: its host does not resolve"),
    ),
    "url.invalid": s("「{field}」不是有效的网址", "“{field}” is not a web address"),
    "url.private_address": (
        s(
            "「{field}」指向内部网络地址 {address}，只能推送到公网地址",
            "“{field}” leads to {address}, not a public address",
            r"resolves to (?P<address>\S+),",
        ),
        s("「{field}」指向内部网络地址，只能推送到公网地址", "“{field}” is not a public address"),
    ),
    "date.format": DATE,
    "date": DATE,
    "date.range": (
        s(
            "「{field}」应在 {first} 至 {last} 之间",
            "“{field}” lies between {first} and {last}",
            r"between (?P<first>\S+) and (?P<last>\S+)",
        ),
        s("「{field}」超出了可用的日期范围", "“{field}” is out of the range of dates"),
    ),
    "datetime.format": DATETIME,
    "read_only": s(
        "「{field}」由目录生成，不能修改",
        "“{field}” is assigned by the catalogue and cannot change",
    ),
    "missing": FILL_IN,
    "json_invalid": (
        s(
            "「{field}」应为一个 JSON 对象，含 situations、common_situations、time_limits",
            "“{field}” is a JSON object with situations, common_situations, time_limits",
            r"not an object",
        ),
        s(
            "「{field}」不是有效的 JSON（第 {line} 行第 {column} 列）",
            "“{field}” is not valid JSON (line {line}, column {column})",
            r"line (?P<line>\d+) column (?P<column>\d+)",
        ),
        s("提交的内容应为 UTF-8 编码的 JSON", "JSON is sent in UTF-8", r"UTF-8"),
        s("「{field}」不是有效的 JSON", "“{field}” is not valid JSON"),
    ),
    "json": s("内容不是有效的 JSON", "The content is not valid JSON"),
    "cursor": s(
        "翻页位置无效，请从第一页重新开始",
        "That page position is not ours: start from the first page",
    ),
}

# --- pydantic's own error types, generically, with their limits ------------------------------

PYDANTIC: dict[str, Wording | Say] = {
    "extra_forbidden": s(
        "「{field}」不是可以填写的项目", "“{field}” is not a field that can be set"
    ),
    "string_type": s("「{field}」应为文字", "“{field}” is text"),
    "string_unicode": s("「{field}」应为文字", "“{field}” is text"),
    "string_too_short": (
        s("请填写「{field}」", "Please fill in “{field}”", r"at least 1 character\b"),
        s(
            "「{field}」至少需要 {min_length} 个字符",
            "“{field}” needs at least {min_length} characters",
            r"at least (?P<min_length>\d+)",
        ),
        FILL_IN,
    ),
    "string_too_long": (
        s(
            "「{field}」最多 {max_length} 个字符",
            "“{field}” holds at most {max_length} characters",
            r"at most (?P<max_length>\d+)",
        ),
        s("「{field}」太长了", "“{field}” is too long"),
    ),
    "string_pattern_mismatch": s(
        "「{field}」的格式不对", "“{field}” is not written as it should be"
    ),
    "too_short": (
        s(
            "「{field}」至少需要 {min_length} 项",
            "“{field}” needs at least {min_length}",
            r"at least (?P<min_length>\d+)",
        ),
        s("「{field}」的项数不够", "“{field}” has too few entries"),
    ),
    "too_long": (
        s(
            "「{field}」最多 {max_length} 项",
            "“{field}” holds at most {max_length}",
            r"at most (?P<max_length>\d+)",
        ),
        s("「{field}」的项数太多", "“{field}” has too many entries"),
    ),
    "greater_than": (
        s("「{field}」应大于 {gt}", "“{field}” is greater than {gt}", r"greater than (?P<gt>\S+)$"),
        NUMBER,
    ),
    "greater_than_equal": (
        s(
            "「{field}」不能小于 {ge}",
            "“{field}” is at least {ge}",
            r"greater than or equal to (?P<ge>\S+)$",
        ),
        NUMBER,
    ),
    "less_than": (
        s("「{field}」应小于 {lt}", "“{field}” is less than {lt}", r"less than (?P<lt>\S+)$"),
        NUMBER,
    ),
    "less_than_equal": (
        s(
            "「{field}」不能大于 {le}",
            "“{field}” is at most {le}",
            r"less than or equal to (?P<le>\S+)$",
        ),
        NUMBER,
    ),
    "multiple_of": NUMBER,
    "finite_number": NUMBER,
    "int_type": WHOLE_NUMBER,
    "int_parsing": WHOLE_NUMBER,
    "int_from_float": WHOLE_NUMBER,
    "int_parsing_size": WHOLE_NUMBER,
    "float_type": NUMBER,
    "float_parsing": NUMBER,
    "decimal_type": NUMBER,
    "decimal_parsing": NUMBER,
    "bool_type": s("「{field}」应为“是”或“否”", "“{field}” is yes or no"),
    "bool_parsing": s("「{field}」应为“是”或“否”", "“{field}” is yes or no"),
    "date_type": DATE,
    "date_parsing": DATE,
    "date_from_datetime_parsing": DATE,
    "date_from_datetime_inexact": DATE,
    "datetime_type": DATETIME,
    "datetime_parsing": DATETIME,
    "datetime_from_date_parsing": DATETIME,
    "datetime_object_invalid": DATETIME,
    "list_type": s("「{field}」应为一组值", "“{field}” is a list"),
    "dict_type": SHAPE,
    "model_type": SHAPE,
    "model_attributes_type": SHAPE,
    "union_tag_invalid": SHAPE,
    "union_tag_not_found": SHAPE,
    "literal_error": (
        s(
            "「{field}」应为以下之一：{values}",
            "“{field}” is one of {values}",
            r"^Input should be (?P<values>.+)$",
        ),
        s("「{field}」不是可选的值", "“{field}” is not one of the values it takes"),
    ),
    "enum": (
        s(
            "「{field}」应为以下之一：{values}",
            "“{field}” is one of {values}",
            r"^Input should be (?P<values>.+)$",
        ),
        s("「{field}」不是可选的值", "“{field}” is not one of the values it takes"),
    ),
    "value_error": s("「{field}」填写有误", "“{field}” is not valid"),
    "assertion_error": s("「{field}」填写有误", "“{field}” is not valid"),
}

#: said when nothing more fitting is known: a field's, and a whole problem's
FIELD_FALLBACK = s("「{field}」填写有误", "“{field}” is not valid")
WHOLE_FALLBACK = s("出错了", "Something went wrong")
