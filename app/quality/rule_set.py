"""The quality rule set (质量规则): each rule says which standard it comes from, how serious
a breach is, what it checks and how to fix it. The checks themselves are in
:mod:`app.quality.rules`."""

from __future__ import annotations

from dataclasses import dataclass

from app.quality.models import Severity

#: where the rules come from (quality.md)
SEED_PLAN = "2017年工作方案 §二(二) 标准管理"
GUOFA_2022_5 = "国发〔2022〕5号 标准化规范化便利化"
GUIDE_STANDARD = "办事指南编制规范（DB63/T 1755-2019、DB50/T 957.4-2019）"
ELEMENTS = "国家政务服务事项基本目录 办事指南要素"

#: item types (code list ``item_types``) whose guides must state conditions, legal time
#: limits and remedies: the powers exercised on an application
APPLICATION_POWERS = {"01", "04", "05", "07", "08", "09", "10", "11"}


@dataclass(frozen=True)
class Rule:
    """质量规则."""

    id: str
    standard: str
    severity: Severity
    title: str
    description: str
    fix: str


def _r(id_: str, standard: str, severity: Severity, title: str, description: str, fix: str):
    return Rule(id_, standard, severity, title, description, fix)


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

RULES: list[Rule] = [
    _r(
        "E-BASIS",
        ELEMENTS,
        E,
        "缺少设定依据",
        "事项未列出任何设定依据（法律法规名称及条款）。",
        "在基本目录事项中填写设定依据：法律法规名称、条款号和条款内容。",
    ),
    _r(
        "E-CONDITIONS",
        ELEMENTS,
        E,
        "缺少受理条件",
        "依申请的行政权力事项未写明受理条件。",
        "在办事指南“受理条件”中逐条写明申请人应当具备的条件。",
    ),
    _r(
        "E-MATERIALS",
        ELEMENTS,
        E,
        "缺少申请材料",
        "事项未列出申请材料。",
        "列出申请材料；确实无需材料的，写一条“无”并在受理标准中说明。",
    ),
    _r(
        "E-PROCESS",
        ELEMENTS,
        E,
        "缺少办理流程",
        "办事指南未写明办理流程的步骤。",
        "写明申请、受理、审查、决定、送达等步骤及各步时限。",
    ),
    _r(
        "E-TIME-LIMIT",
        ELEMENTS,
        E,
        "缺少办理时限",
        "未写明承诺办结时限；依申请的行政权力事项还须写明法定办结时限。",
        "填写法定和承诺办结时限（时长和单位：工作日或自然日）。",
    ),
    _r(
        "E-FEE",
        ELEMENTS,
        E,
        "未说明是否收费",
        "办事指南未说明是否收费。",
        "填写“是否收费”；收费的列出收费项目、标准和依据，不收费的选“否”。",
    ),
    _r(
        "E-CONSULTATION",
        SEED_PLAN,
        E,
        "缺少咨询方式",
        "未公布咨询电话或网址。",
        "在“咨询方式”中至少填写一个咨询电话（区号-号码或12345）或网址。",
    ),
    _r(
        "E-COMPLAINT",
        SEED_PLAN,
        E,
        "缺少监督投诉方式",
        "未公布监督投诉电话或网址。",
        "在“监督投诉方式”中至少填写一个投诉电话（如12345）或网址。",
    ),
    _r(
        "E-PLACE",
        GUIDE_STANDARD,
        E,
        "缺少办理地点和时间",
        "需要到现场办理的事项未写明办理窗口的地址和办公时间。",
        "在“办理窗口”中填写窗口名称、地址和办公时间；全程网办的将到现场次数填0。",
    ),
    _r(
        "E-ONLINE",
        ELEMENTS,
        W,
        "未说明网办深度",
        "未说明是否网办，或可网办却未写明网办深度。",
        "在“网上办理”中填写是否网办和网办深度（咨询/收件/预审/受理/结果反馈）。",
    ),
    _r(
        "E-RESULT",
        ELEMENTS,
        W,
        "缺少办理结果",
        "未写明办理结果的类型和名称。",
        "在“办理结果”中填写结果类型（证照、批文…）和名称。",
    ),
    _r(
        "E-REMEDIES",
        GUIDE_STANDARD,
        W,
        "缺少救济途径",
        "依申请的行政权力事项未写明行政复议、行政诉讼途径。",
        "在“救济途径”中写明行政复议机关和期限、行政诉讼期限。",
    ),
    _r(
        "E-VISITS",
        ELEMENTS,
        W,
        "未说明到办事现场次数",
        "未填写到办事现场次数。",
        "填写到办事现场次数：0 为全程网办，1 为最多跑一次。",
    ),
    _r(
        "E-OTHER",
        ELEMENTS,
        INFO,
        "基本要素不全",
        "服务对象或办件类型未填写。",
        "填写服务对象（自然人/法人…）和办件类型（即办件/承诺件）。",
    ),
    _r(
        "C-TIME-LIMIT",
        GUOFA_2022_5,
        E,
        "承诺时限超过法定时限",
        "承诺办结时限长于法定办结时限。",
        "把承诺办结时限改为不超过法定办结时限（单位不同时按工作日折算）。",
    ),
    _r(
        "C-FEE",
        ELEMENTS,
        E,
        "收费与是否收费不一致",
        "“是否收费”为否却列出了收费项目，或为是却没有收费项目。",
        "使“是否收费”与收费项目一致：收费的列出项目，不收费的删去收费项目。",
    ),
    _r(
        "C-FEE-DETAIL",
        GUIDE_STANDARD,
        W,
        "收费标准或依据缺失",
        "收费项目未写明收费标准或收费依据。",
        "为每个收费项目填写收费标准和收费依据文件。",
    ),
    _r(
        "C-PHONE",
        GUIDE_STANDARD,
        W,
        "电话格式不正确",
        "电话不是“区号-号码”、手机号或12345等服务热线的形式。",
        "写成“0451-86766478”“12345”这样的形式，多个号码分开填写。",
    ),
    _r(
        "C-URL",
        GUIDE_STANDARD,
        W,
        "网址不可用",
        "网址的主机名不是一个公开的域名。",
        "填写可公开访问的完整网址（https://…）。",
    ),
    _r(
        "C-ADDRESS",
        GUIDE_STANDARD,
        W,
        "地址不完整",
        "窗口地址过短或没有路、街、号等可定位的部分。",
        "写出完整地址：市、区、路或街道、门牌号、楼层窗口号。",
    ),
    _r(
        "C-ONLINE",
        GUOFA_2022_5,
        E,
        "网办深度与网址不一致",
        "可网办却没有网上办理地址，或全程网办（到现场0次）却不可网办。",
        "可网办的填写网上办理地址；不可网办的把到现场次数改为实际次数。",
    ),
    _r(
        "M-SHARED-NAME",
        SEED_PLAN,
        W,
        "材料名称与共享材料目录不一致",
        "材料引用了共享材料目录却改了名称，或名称与目录中的材料相同却未引用。",
        "引用共享材料目录中的材料，并使用目录中的名称。",
    ),
    _r(
        "M-FORMAT",
        SEED_PLAN,
        W,
        "材料规格未填写",
        "纸质材料的原件或复印件份数为0，或需填写的表格未写明签名签章要求。",
        "填写原件和复印件份数、纸张规格；表格类材料写明签名签章要求。",
    ),
    _r(
        "M-FORM-FILES",
        SEED_PLAN,
        INFO,
        "表格缺少空白表格或示例样表",
        "需要填写的表格没有空白表格或示例样表。",
        "上传空白表格和填写样表。",
    ),
    _r(
        "M-LICENCE",
        GUOFA_2022_5,
        W,
        "可由电子证照提供的材料要求纸质",
        "材料可由电子证照库提供，却只收纸质材料。",
        "将材料形式改为“纸质和电子”或“电子”，填写电子证照类型，免于提交纸质材料。",
    ),
    _r(
        "F-STALE",
        SEED_PLAN,
        W,
        "长期未复核",
        "事项在规定期限内没有更新或复核。",
        "核对办事指南各项内容，修改或确认后保存。",
    ),
]

RULES_BY_ID = {r.id: r for r in RULES}
