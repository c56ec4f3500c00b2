"""The labels of an item's fields in zh-Hans, zh-Hant and English: one table for every path of
the item representation (GET /items/{code}), of its input (PUT) and of a catalogue entry, as
the guide names them (domain.md). Diffs, problems and pages name a field by it; the 清单
export's headers are the same words.

``label(["materials", "1123…001", "originals"])`` is ``申请材料 原件份数``; a path the table
does not know is named by its nearest labelled ancestor and the rest of the path as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: the languages labels are written in, as the pages name them
LANGS = ("zh-Hans", "zh-Hant", "en")


@dataclass(frozen=True)
class Names:
    """A word in the three languages."""

    hans: str
    hant: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.hant if lang == "zh-Hant" else self.hans


@dataclass(frozen=True)
class F:
    """A field: its label; an object's fields (a list's: each element's); for a list of
    things, how one of them is called (材料, 窗口…)."""

    name: Names
    fields: dict[str, F] = field(default_factory=dict)
    each: Names | None = None
    #: a section whose own name is left out before a deeper field (办事指南 › 受理条件 is
    #: called 受理条件)
    transparent: bool = False


def _f(hans: str, hant: str, en: str, fields: dict[str, F] | None = None, **kw: Any) -> F:
    each = kw.pop("each", None)
    return F(Names(hans, hant, en), fields or {}, Names(*each) if each else None, **kw)


def _time_limit(hans: str, hant: str, en: str) -> F:
    return _f(
        hans,
        hant,
        en,
        {
            "value": _f("时长", "時長", "Length"),
            "unit": _f("单位", "單位", "Unit"),
            "note": _f("说明", "說明", "Note"),
        },
    )


def _attachment(hans: str, hant: str, en: str) -> F:
    return _f(
        hans,
        hant,
        en,
        {
            "name": _f("名称", "名稱", "Name"),
            "url": _f("地址", "地址", "Link"),
            "sha256": _f("文件摘要", "文件摘要", "File hash"),
        },
    )


WHEN = ("适用情形", "適用情形", "Applies when")

CHANNEL = {
    "phone": _f("电话", "電話", "Phone"),
    "address": _f("地址", "地址", "Address"),
    "url": _f("网址", "網址", "Link"),
    "email": _f("电子邮箱", "電子郵箱", "Email"),
    "note": _f("说明", "說明", "Note"),
}

LEGAL_BASIS = _f(
    "设定依据",
    "設定依據",
    "Legal basis",
    {
        "law": _f("法律法规名称", "法律法規名稱", "Law or regulation"),
        "article": _f("条款", "條款", "Article"),
        "text": _f("条款内容", "條款內容", "Text"),
        "url": _f("链接", "鏈接", "Link"),
        "id": _f("依据文件", "依據文件", "Legal basis record"),
    },
    each=("依据", "依據", "Provision"),
)

GUIDE = _f(
    "办事指南",
    "辦事指南",
    "Guide",
    {
        "conditions": _f("受理条件", "受理條件", "Conditions", each=("条件", "條件", "Condition")),
        "legal_time_limit": _time_limit("法定办结时限", "法定辦結時限", "Legal time limit"),
        "promised_time_limit": _time_limit("承诺办结时限", "承諾辦結時限", "Promised time limit"),
        "process": _f(
            "办理流程",
            "辦理流程",
            "Process",
            {
                "name": _f("步骤名称", "步驟名稱", "Name"),
                "description": _f("说明", "說明", "Description"),
                "channel": _f("办理方式", "辦理方式", "Channel"),
                "time_limit": _time_limit("时限", "時限", "Time limit"),
                "when": _f(*WHEN),
            },
            each=("步骤", "步驟", "Step"),
        ),
        "online": _f(
            "网上办理",
            "網上辦理",
            "Online handling",
            {
                "available": _f("是否网办", "是否網辦", "Available online"),
                "depth": _f("网办深度", "網辦深度", "Online depth"),
                "url": _f("网上办理地址", "網上辦理地址", "Online address"),
            },
        ),
        "visits": _f("到办事现场次数", "到辦事現場次數", "Visits in person"),
        "windows": _f(
            "办理窗口",
            "辦理窗口",
            "Service windows",
            {
                "name": _f("窗口名称", "窗口名稱", "Name"),
                "address": _f("地址", "地址", "Address"),
                "hours": _f("办公时间", "辦公時間", "Hours"),
                "phone": _f("电话", "電話", "Phone"),
                "traffic": _f("交通指引", "交通指引", "Getting there"),
                "map_url": _f("地图链接", "地圖鏈接", "Map link"),
            },
            each=("窗口", "窗口", "Window"),
        ),
        "consultation": _f(
            "咨询方式",
            "諮詢方式",
            "Consultation",
            CHANNEL,
            each=("咨询方式", "諮詢方式", "Consultation channel"),
        ),
        "complaint": _f(
            "监督投诉方式",
            "監督投訴方式",
            "Complaints",
            CHANNEL,
            each=("投诉方式", "投訴方式", "Complaint channel"),
        ),
        "results": _f(
            "办理结果",
            "辦理結果",
            "Results",
            {
                "type": _f("结果类型", "結果類型", "Type"),
                "name": _f("结果名称", "結果名稱", "Name"),
                "sample": _attachment("结果样本", "結果樣本", "Sample"),
            },
            each=("结果", "結果", "Result"),
        ),
        "charges_fee": _f("是否收费", "是否收費", "Charges a fee"),
        "special_procedures": _f(
            "特别程序",
            "特別程序",
            "Special procedures",
            {
                "name": _f("名称", "名稱", "Name"),
                "time_limit": _time_limit("时限", "時限", "Time limit"),
                "note": _f("说明", "說明", "Note"),
            },
            each=("特别程序", "特別程序", "Special procedure"),
        ),
        "remedies": _f(
            "救济途径",
            "救濟途徑",
            "Remedies",
            {
                "administrative_review": _f("行政复议", "行政複議", "Administrative review"),
                "administrative_litigation": _f(
                    "行政诉讼", "行政訴訟", "Administrative litigation"
                ),
            },
        ),
        "faq": _f(
            "常见问题",
            "常見問題",
            "FAQ",
            {"question": _f("问题", "問題", "Question"), "answer": _f("解答", "解答", "Answer")},
            each=("问题", "問題", "Question"),
        ),
        "intermediary_services": _f(
            "中介服务",
            "中介服務",
            "Intermediary services",
            {"name": _f("名称", "名稱", "Name"), "basis": _f("设定依据", "設定依據", "Basis")},
            each=("中介服务", "中介服務", "Intermediary service"),
        ),
        "joint_bodies": _f(
            "联办机构", "聯辦機構", "Joint bodies", each=("联办机构", "聯辦機構", "Joint body")
        ),
        "prerequisite_items": _f(
            "前置事项",
            "前置事項",
            "Prerequisite items",
            each=("前置事项", "前置事項", "Prerequisite item"),
        ),
        "situations": _f(
            "情形引导",
            "情形引導",
            "Situations",
            {
                "id": _f("编号", "編號", "Id"),
                "question": _f("问题", "問題", "Question"),
                "required": _f("是否必答", "是否必答", "Required"),
                "multiple": _f("是否多选", "是否多選", "Multiple choice"),
                "options": _f(
                    "选项",
                    "選項",
                    "Options",
                    {
                        "id": _f("编号", "編號", "Id"),
                        "label": _f("选项名称", "選項名稱", "Label"),
                        "reveals": _f("追问", "追問", "Follow-up questions"),
                    },
                    each=("选项", "選項", "Option"),
                ),
            },
            each=("情形", "情形", "Question"),
        ),
        "common_situations": _f(
            "常用情形",
            "常用情形",
            "Common situations",
            {"name": _f("名称", "名稱", "Name"), "answers": _f("回答", "回答", "Answers")},
            each=("常用情形", "常用情形", "Common situation"),
        ),
        "time_limits": _f(
            "分情形时限",
            "分情形時限",
            "Time limits by situation",
            {
                "when": _f(*WHEN),
                "legal_time_limit": _time_limit("法定办结时限", "法定辦結時限", "Legal time limit"),
                "promised_time_limit": _time_limit(
                    "承诺办结时限", "承諾辦結時限", "Promised time limit"
                ),
            },
            each=("分情形时限", "分情形時限", "Time limit by situation"),
        ),
        "legal_basis": _f(
            "实施依据",
            "實施依據",
            "Implementing basis",
            {"id": _f("依据", "依據", "Document"), "articles": _f("条款", "條款", "Articles")},
            each=("实施依据", "實施依據", "Implementing basis"),
        ),
    },
    transparent=True,
)

MATERIAL = {
    "code": _f("材料编码", "材料編碼", "Material code"),
    "name": _f("材料名称", "材料名稱", "Name"),
    "shared_material": _f("共享材料编码", "共享材料編碼", "Shared material"),
    "material_type": _f("材料类型", "材料類型", "Type"),
    "form": _f("材料形式", "材料形式", "Form"),
    "originals": _f("原件份数", "原件份數", "Originals"),
    "copies": _f("复印件份数", "複印件份數", "Copies"),
    "paper_size": _f("纸张规格", "紙張規格", "Paper size"),
    "necessity": _f("必要性", "必要性", "Necessity"),
    "source": _f("来源渠道", "來源渠道", "Source"),
    "source_note": _f("来源说明", "來源說明", "Source note"),
    "blank_form": _attachment("空白表格", "空白表格", "Blank form"),
    "sample": _attachment("示例样表", "示例樣表", "Sample"),
    "instructions_file": _attachment("填写说明", "填寫說明", "Filling instructions"),
    "instructions": _f("填报须知", "填報須知", "Instructions"),
    "acceptance_standard": _f("受理标准", "受理標準", "Acceptance standard"),
    "legal_basis": _f("设定依据", "設定依據", "Legal basis"),
    "signature_requirement": _f("签名签章要求", "簽名簽章要求", "Signature or seal"),
    "applies_when": _f("材料情形", "材料情形", "Applies when (text)"),
    "licence_type": _f("电子证照", "電子證照", "Electronic licence"),
    "options": _f("适用选项", "適用選項", "Required by options"),
    "when": _f(*WHEN),
    "position": _f("排序", "排序", "Position"),
}

FEE = {
    "code": _f("收费编码", "收費編碼", "Fee code"),
    "name": _f("收费项目名称", "收費項目名稱", "Name"),
    "standard": _f("收费标准", "收費標準", "Standard"),
    "legal_basis": _f("收费依据", "收費依據", "Legal basis"),
    "waivable": _f("是否允许减免", "是否允許減免", "Waivable"),
    "waiver_basis": _f("减免依据", "減免依據", "Waiver basis"),
    "amount": _f("金额（元）", "金額（元）", "Amount (yuan)"),
    "when": _f(*WHEN),
    "position": _f("排序", "排序", "Position"),
}

REF = {"code": _f("编码", "編碼", "Code"), "name": _f("名称", "名稱", "Name")}

#: every field of an implementation (as GET shows it and PUT takes it) and of a catalogue
#: entry; the root of :func:`label`'s paths
ITEM = _f(
    "事项",
    "事項",
    "Item",
    {
        "code": _f("实施编码", "實施編碼", "Implementation code"),
        "version": _f("版本", "版本", "Version"),
        "status": _f("事项状态", "事項狀態", "Status"),
        "basic_code": _f("基本编码", "基本編碼", "Basic code"),
        "name": _f("事项名称", "事項名稱", "Item name"),
        "name_en": _f("英文名称", "英文名稱", "Name in English"),
        "item_type": _f("事项类型", "事項類型", "Item type"),
        "domain": _f("业务领域", "業務領域", "Domain"),
        "parent_basic_code": _f("主项基本编码", "主項基本編碼", "Main item"),
        "legal_basis": LEGAL_BASIS,
        "handling_items": _f(
            "业务办理项",
            "業務辦理項",
            "Handling items",
            {
                "code": _f("编码", "編碼", "Code"),
                "name": _f("名称", "名稱", "Name"),
                "kind": _f("类别", "類別", "Kind"),
            },
            each=("业务办理项", "業務辦理項", "Handling item"),
        ),
        "aliases": _f("俗称", "俗稱", "Aliases", each=("俗称", "俗稱", "Alias")),
        "local_basic_code": _f("本地基本编码", "本地基本編碼", "Local basic code"),
        "department": _f("实施主体", "實施主體", "Implementing body", REF),
        "region": _f("行政区划", "行政區劃", "Region", REF),
        "level": _f("行使层级", "行使層級", "Level"),
        "power_source": _f("权力来源", "權力來源", "Power source"),
        "body_nature": _f("实施主体性质", "實施主體性質", "Nature of the body"),
        "entrusting_department": _f("委托部门", "委託部門", "Entrusting department"),
        "audience": _f("服务对象", "服務對象", "Audience"),
        "themes": _f("主题分类", "主題分類", "Themes"),
        "case_type": _f("办件类型", "辦件類型", "Case type"),
        "guide": GUIDE,
        "materials": _f(
            "申请材料", "申請材料", "Materials", MATERIAL, each=("材料", "材料", "Material")
        ),
        "fees": _f("收费", "收費", "Fees", FEE, each=("收费", "收費", "Fee")),
        "local_code": _f("本地编码", "本地編碼", "Local code"),
        "source_system": _f("来源系统", "來源系統", "Source system"),
        "delegated_from": _f("下放来源事项", "下放來源事項", "Delegated from"),
        "handover_date": _f("交接日期", "交接日期", "Handover date"),
        "lifecycle": _f("生效中的调整", "生效中的調整", "Lifecycle event in force"),
        "scheduled": _f("已决定的调整", "已決定的調整", "Scheduled events"),
        "upcoming": _f("即将生效的调整", "即將生效的調整", "Upcoming changes"),
        "created_at": _f("创建时间", "創建時間", "Created"),
        "updated_at": _f("更新时间", "更新時間", "Updated"),
        "updated_by": _f("更新人", "更新人", "Updated by"),
        "change_note": _f("变更说明", "變更說明", "Change note"),
    },
)

#: what a path given by the HTTP layer may start with before the item's own fields
_ENVELOPES = ("body", "patch")
_UNITS = {
    "working_days": ("工作日", "工作日", "working days"),
    "natural_days": ("自然日", "自然日", "calendar days"),
    "hours": ("小时", "小時", "hours"),
}
_CHANNELS = {
    "online": ("线上", "線上", "online"),
    "offline": ("线下", "線下", "in person"),
    "both": ("线上或线下", "線上或線下", "online or in person"),
}
#: enum values people read otherwise, by the field that holds them
_VALUES = {"unit": _UNITS, "channel": _CHANNELS}


def parts(path: str | Sequence[str | int]) -> list[str | int]:
    """A path as a list: ``guide.windows.0.phone`` → ``["guide", "windows", 0, "phone"]``
    (a short run of digits is a position; a material's code, digits or not, stays a key)."""
    segments = path.split(".") if isinstance(path, str) else list(path)
    out: list[str | int] = []
    for seg in segments:
        if isinstance(seg, str) and seg.isdigit() and len(seg) <= 4:
            out.append(int(seg))
        else:
            out.append(seg)
    while out and out[0] in _ENVELOPES:
        out.pop(0)
    return out


def sep(lang: str) -> str:
    """What joins the words of a label: a space in Chinese, › in English."""
    return " › " if lang == "en" else " "


def nth(n: int, lang: str) -> str:
    """The place of the ``n``-th element (from 0) as a reader counts: ``第1项``."""
    if lang == "en":
        return f" #{n + 1}"
    return f"第{n + 1}項" if lang == "zh-Hant" else f"第{n + 1}项"


def node(path: str | Sequence[str | int]) -> F | None:
    """The field a path names (an element's path names its list's field), or None."""
    here: F | None = ITEM
    for seg in parts(path):
        if here is None:
            return None
        if isinstance(seg, str) and seg in here.fields:
            here = here.fields[seg]
        elif not (isinstance(seg, int) or here.each is not None):
            return None
    return here


def label(path: str | Sequence[str | int], lang: str = "zh-Hans") -> str:
    """The field's label: ``["materials", 2, "originals"]`` → ``申请材料第3项 原件份数``,
    a material's code in place of the position → ``申请材料 原件份数``. Past what the
    table knows, the rest of the path is shown as it is, after the nearest labelled
    ancestor."""
    words: list[str] = []
    here = ITEM
    rest: list[str] = []
    for seg in parts(path):
        if rest:
            rest.append(str(seg))
        elif isinstance(seg, str) and seg in here.fields:
            if here.transparent and words:
                words.pop()  # 办事指南 受理条件 reads 受理条件
            here = here.fields[seg]
            words.append(here.name(lang))
        elif isinstance(seg, int) and words:
            words[-1] += nth(seg, lang)
        elif here.each is not None and words:
            continue  # an element by its code: the code says nothing to a reader
        else:
            rest.append(str(seg))
    if rest:
        words.append(".".join(rest))
    return sep(lang).join(words) or ITEM.name(lang)


def thing(path: str | Sequence[str | int], name: str | None, lang: str = "zh-Hans") -> str:
    """One element of a list of things by its name: ``材料「居民户口簿」``."""
    field_ = node(path)
    noun = (field_.each or field_.name)(lang) if field_ is not None else label(path, lang)
    if not name:
        return noun
    return f"{noun} “{name}”" if lang == "en" else f"{noun}「{name}」"


def field_label(path: str | Sequence[str | int], lang: str = "zh-Hans") -> str:
    """The last field's own label, without its ancestors (原件份数), or the last segment."""
    field_ = node(path)
    if field_ is None or field_ is ITEM:
        segs = parts(path)
        return str(segs[-1]) if segs else ITEM.name(lang)
    return field_.name(lang)


def value_text(path: str | Sequence[str | int], value: Any, lang: str = "zh-Hans") -> str | None:
    """A value as people read it where it is not already: booleans (是/否) and the
    format's own enums (工作日, 线上…); None when the value reads as it is."""
    i = LANGS.index(lang) if lang in LANGS else 0
    if isinstance(value, bool):
        return (("是", "是", "yes"), ("否", "否", "no"))[not value][i]
    segs = parts(path)
    last = next((s for s in reversed(segs) if isinstance(s, str)), None)
    if isinstance(value, str) and last in _VALUES and value in _VALUES[last]:
        return _VALUES[last][value][i]
    return None
