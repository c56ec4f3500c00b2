"""An import report line as the editor reads it (导入报告): where (sheet, row, the column's
header) and what is wrong, in the editor's language, worded as the pages word the same
rule (:mod:`app.wording.problems`). The API's job answer and ``catalogue import --report``
add it to each line beside the rule and the English message.
"""

from __future__ import annotations

from typing import Any

from app.wording import i18n
from app.wording.i18n import Lang
from app.wording.problems import NoNames, Problem

HEADER_RULE = "import.header"


def where(line: dict[str, Any], lang: Lang = Lang.HANS) -> str:
    """工作表「申请材料」第 7 行「材料名称」 (a sheet's row and column where known)."""
    en = i18n.pick(lang) == 1
    parts = []
    if line.get("sheet"):
        parts.append(f"sheet {line['sheet']}" if en else f"工作表「{line['sheet']}」")
    parts.append(f"row {line['row']}" if en else f"第 {line['row']} 行")
    if line.get("column"):
        parts.append(f"column {line['column']}" if en else f"「{line['column']}」列")
    return (", " if en else "").join(parts) if en else "".join(parts)


def said(line: dict[str, Any], lang: Lang = Lang.HANS) -> str:
    """The whole line: where, then what."""
    if line.get("rule") == HEADER_RULE:
        missing = line.get("missing") or _missing(line.get("message", ""))
        what = (
            f"「{line['column']}」不是本表的列（列名是否改过？本表缺少："
            f"{'、'.join(f'「{m}」' for m in missing) or '无'}）；该列未读取，本次导入未写入任何数据"
        )
        if lang == Lang.EN:
            what = line["message"] + "; nothing was written"
        return f"{where(line, lang)}：{what}" if lang != Lang.EN else f"{where(line, lang)}: {what}"
    loc = ["body", *[_step(p) for p in str(line.get("field", "")).split(".") if p]]
    text = Problem(str(line.get("rule", "")), str(line.get("message", "")), loc, line.get("ctx"))
    message = text.text(lang, NoNames()) or line.get("message", "")
    sep = ": " if lang == Lang.EN else "："
    out = f"{where(line, lang)}{sep}{message}"
    return i18n.to_traditional(out) if lang == Lang.HANT else out


def _step(part: str) -> str | int:
    return int(part) if part.isdigit() else part


def _missing(message: str) -> list[str]:
    _, _, rest = message.partition("missing: ")
    return [m for m in rest.split(", ") if m and m != "none"]
