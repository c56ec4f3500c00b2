"""Page languages: Chinese first (zh-Hans), zh-Hant through OpenCC, English page chrome.

The chrome (headings, labels, buttons) is written here in zh-Hans and English. A zh-Hant
page is the zh-Hans page converted by OpenCC (``s2t``) as a whole, catalogue text
included; an English page keeps the catalogue's Chinese text, marked ``lang="zh-Hans"``.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from markupsafe import Markup

from app import clock
from app.wording.i18n_citizen import CITIZEN
from app.wording.i18n_search import SEARCH
from app.wording.i18n_workspace import WORKSPACE

if TYPE_CHECKING:
    import opencc


class Lang(StrEnum):
    HANS = "zh-Hans"
    HANT = "zh-Hant"
    EN = "en"


COOKIE = "sc_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "site": ("政务服务事项目录", "Government service catalogue"),
    "skip": ("跳到正文", "Skip to content"),
    "nav.home": ("首页", "Home"),
    "nav.adjustments": ("动态调整公示", "Adjustments"),
    "nav.editor": ("编辑工作台", "Editor workspace"),
    "nav.api": ("接口文档", "API docs"),
    "lang": ("语言", "Language"),
    "search": ("搜索", "Search"),
    "search.label": ("您要办什么事？", "What do you need to do?"),
    "search.placeholder": ("例如：护照、身份证、社保卡", "e.g. 护照, 身份证, 社保卡"),
    "region": ("所在地区", "Your region"),
    "region.all": ("全省", "Whole province"),
    "region.city": ("全市", "whole city"),
    "results": ("搜索结果", "Results"),
    "results.count": ("共 {n} 项", "{n} items"),
    "results.none": ("没有找到相关事项。", "No items found."),
    "did_you_mean": ("您是不是要找：", "Did you mean:"),
    "facets": ("筛选", "Filter"),
    "facet.type": ("事项类型", "Item type"),
    "facet.department": ("实施部门", "Department"),
    "facet.region": ("地区", "Region"),
    "facet.theme": ("主题", "Theme"),
    "facet.clear": ("清除筛选", "Clear filters"),
    "next": ("下一页", "Next page"),
    "online": ("可网上办理", "Online"),
    "item.code": ("实施编码", "Implementation code"),
    "item.basic_code": ("基本编码", "Basic code"),
    "item.department": ("实施部门", "Department"),
    "item.region": ("行政区划", "Region"),
    "item.type": ("事项类型", "Item type"),
    "item.level": ("行使层级", "Level"),
    "item.status": ("事项状态", "Status"),
    "item.power_source": ("权力来源", "Power source"),
    "item.audience": ("服务对象", "Audience"),
    "item.case_type": ("办件类型", "Case type"),
    "item.version": ("版本", "Version"),
    "item.updated": ("更新时间", "Updated"),
    "guide.conditions": ("受理条件", "Conditions"),
    "guide.where": ("到哪里办", "Where"),
    "guide.window": ("办理窗口", "Service window"),
    "guide.address": ("地址", "Address"),
    "guide.hours": ("办公时间", "Hours"),
    "guide.phone": ("电话", "Phone"),
    "guide.traffic": ("交通", "Getting there"),
    "guide.map": ("查看地图", "Map"),
    "guide.when": ("办理时限", "Time limits"),
    "guide.legal_limit": ("法定办结时限", "Legal time limit"),
    "guide.promised_limit": ("承诺办结时限", "Promised time limit"),
    "guide.how": ("怎么办", "How"),
    "guide.process": ("办理流程", "Steps"),
    "guide.online": ("网上办理", "Online handling"),
    "guide.online.yes": ("可以网上办理", "Can be handled online"),
    "guide.online.no": ("不能网上办理", "Not available online"),
    "guide.online.depth": ("网办深度", "Online depth"),
    "guide.online.go": ("去网上办理", "Apply online"),
    "guide.visits": ("到现场次数", "Visits in person"),
    "guide.visits.zero": ("全程网办，无需到现场", "Fully online, no visit"),
    "guide.visits.n": ("最多跑 {n} 次", "At most {n} visit(s)"),
    "guide.results": ("办理结果", "Results"),
    "guide.fees": ("收费", "Fees"),
    "guide.fees.none": ("不收费", "Free of charge"),
    "fee.standard": ("收费标准", "Standard"),
    "fee.basis": ("收费依据", "Basis"),
    "fee.waivable": ("可减免", "Waivable"),
    "guide.materials": ("申请材料", "Materials"),
    "material.name": ("材料名称", "Material"),
    "material.type": ("材料类型", "Type"),
    "material.form": ("材料形式", "Form"),
    "material.count": ("份数", "Copies"),
    "material.count.v": ("原件 {o} 份，复印件 {c} 份", "{o} original(s), {c} copy(ies)"),
    "material.necessity": ("是否必要", "Required"),
    "material.source": ("来源", "Source"),
    "material.notes": ("说明", "Notes"),
    "material.blank": ("下载空白表格", "Download the blank form"),
    "material.sample": ("查看样表", "See the sample"),
    "material.instructions_file": ("查看填写说明", "Filling instructions"),
    "material.licence": ("可用电子证照：{x}", "Electronic licence: {x}"),
    "material.when": ("适用情形：{x}", "Applies when: {x}"),
    "guide.faq": ("常见问题", "FAQ"),
    "guide.remedies": ("救济途径", "Remedies"),
    "remedy.review": ("行政复议", "Administrative review"),
    "remedy.litigation": ("行政诉讼", "Administrative litigation"),
    "guide.consultation": ("咨询方式", "Consultation"),
    "guide.complaint": ("监督投诉", "Complaints"),
    "guide.legal_basis": ("设定依据", "Legal basis"),
    "guide.special": ("特别程序", "Special procedures"),
    "situations": ("按您的情况告知", "Your situation"),
    "situations.intro": (
        "回答下列问题，生成一次告知清单：需要带什么、交多少钱、多久办完。",
        "Answer these questions for a one-time checklist: what to bring, what it costs, "
        "how long it takes.",
    ),
    "situations.follow_up": ("（选择“{x}”时回答）", "(answer when you chose “{x}”)"),
    "situations.optional": ("（选答）", "(optional)"),
    "situations.submit": ("生成一次告知清单", "Show my checklist"),
    "checklist": ("一次告知清单", "One-time checklist"),
    "checklist.situation": ("您的情况", "Your situation"),
    "checklist.bring": ("需要带的材料", "Bring"),
    "checklist.pay": ("需要缴纳的费用", "Pay"),
    "checklist.total": ("合计 {x} 元", "Total {x} yuan"),
    "checklist.because": ("因为：{x}", "Because: {x}"),
    "checklist.licence": ("窗口可调取电子证照", "the window fetches the e-licence"),
    "checklist.print": ("打印清单", "Print"),
    "checklist.change": ("修改回答", "Change answers"),
    "checklist.whole": (
        "本事项不区分情形，以下为完整清单。",
        "This item has no situations: the whole list.",
    ),
    "history": ("调整记录", "Adjustment history"),
    "history.none": ("没有调整记录。", "No adjustments."),
    "event": ("调整类型", "Event"),
    "effective": ("生效日期", "Effective"),
    "decision": ("决定文件", "Decision"),
    "reason": ("理由", "Reason"),
    "correction": ("我要纠错", "Report a problem"),
    "correction.intro": (
        "发现信息有误？告诉我们，部门会核实并答复。",
        "Something wrong? Tell us; the department checks and answers.",
    ),
    "correction.field": ("哪一部分有误", "Which part"),
    "correction.field.none": ("整个事项", "The item as a whole"),
    "correction.text": ("问题描述", "What is wrong"),
    "correction.suggested": ("应为（选填）", "It should say (optional)"),
    "correction.contact": ("联系方式（选填，仅部门可见）", "Contact (optional, department only)"),
    "correction.submit": ("提交纠错", "Send"),
    "ticket": ("纠错进度", "Report status"),
    "ticket.number": ("受理编号", "Ticket"),
    "ticket.keep": (
        "请保存本页地址，凭它查看答复。",
        "Keep this page's address to see the answer.",
    ),
    "ticket.status": ("状态", "Status"),
    "ticket.reply": ("答复", "Reply"),
    "ticket.fixed": ("已在第 {v} 版更正", "Fixed in version {v}"),
    "status.new": ("待处理", "New"),
    "status.accepted": ("已采纳", "Accepted"),
    "status.rejected": ("未采纳", "Rejected"),
    "status.duplicate": ("重复", "Duplicate"),
    "adjustments": ("动态调整公示", "Adjustments"),
    "adjustments.intro": (
        "事项的取消、暂停、下放、合并等调整及其决定文件。",
        "Cancellations, suspensions, delegations and other adjustments, with their decisions.",
    ),
    "adjustments.since": ("起始日期", "Since"),
    "adjustments.all": ("全部", "All"),
    "filter": ("筛选", "Filter"),
    "item": ("事项", "Item"),
    "error": ("出错了", "Something went wrong"),
    "errors.summary": ("请修改以下内容：", "Please fix the following:"),
    # the problems' own words (app/wording/problems.py): fields no form labels otherwise
    "problem.this": ("该项", "this field"),
    "problem.question": ("问题“{x}”", "question “{x}”"),
    "problem.into": ("合并或拆分后的事项", "Items merged into or split into"),
    "problem.url": ("链接", "Link"),
    "problem.action": ("操作", "Action"),
    "problem.cursor": ("翻页位置", "Page position"),
    "back": ("返回", "Back"),
    "editor": ("编辑工作台", "Editor workspace"),
    "editor.login": ("使用密钥登录", "Sign in with a key"),
    "editor.key": ("API 密钥", "API key"),
    "editor.login.submit": ("登录", "Sign in"),
    "editor.login.failed": ("密钥无效或已吊销。", "The key is unknown or revoked."),
    "editor.logout": ("退出登录", "Sign out"),
    "editor.signed_in": ("当前密钥：{n}（{r}）", "Signed in as {n} ({r})"),
    "editor.items": ("本部门事项", "Our items"),
    "editor.drafts": ("进行中的变更", "Open changes"),
    "editor.queue": ("待审核", "Review queue"),
    "editor.requests": ("变更申请", "Change requests"),
    "editor.corrections": ("纠错收件箱", "Corrections inbox"),
    "editor.gaps": ("检索缺口", "Search gaps"),
    "editor.edit": ("编辑", "Edit"),
    "editor.lifecycle": ("调整（取消、暂停…）", "Adjust (cancel, suspend…)"),
    "editor.save": ("保存草稿", "Save draft"),
    "editor.note": ("变更说明", "Change note"),
    "editor.submit": ("提交审核", "Submit for review"),
    "editor.withdraw": ("撤回", "Withdraw"),
    "editor.approve": ("通过并发布", "Approve and publish"),
    "editor.reject": ("退回", "Reject"),
    "editor.diff": ("变更内容", "Changes"),
    "editor.diff.none": ("没有变更。", "No changes."),
    "editor.none": ("暂无。", "None."),
    "editor.guide": ("办事指南", "Guide"),
    "editor.windows": ("办理窗口", "Windows"),
    "editor.materials": ("申请材料", "Materials"),
    "editor.fees": ("收费", "Fees"),
    "editor.situations": ("情形（JSON）", "Situations (JSON)"),
    "editor.remove": ("删除此行", "Remove this row"),
    "editor.add_row": ("新增一行（留空则忽略）", "New row (left empty: ignored)"),
    "editor.lines": ("每行一条", "One per line"),
    "editor.saved": ("草稿已保存。", "Draft saved."),
    "editor.alias": ("提议别名", "Propose an alias"),
    "editor.alias.for": ("事项实施编码", "Item code"),
    "editor.alias.sent": ("别名提议已提交，等待审核。", "Alias proposal sent for review."),
    "editor.alias.added": ("别名已加入。", "Alias added."),
    "editor.reply": ("答复", "Reply"),
    "editor.reply.send": ("发送答复", "Send reply"),
    "editor.event": ("调整类型", "Event"),
    "editor.decision.number": ("决定文号", "Decision number"),
    "editor.decision.title": ("决定标题", "Decision title"),
    "editor.decision.url": ("决定链接（选填）", "Decision link (optional)"),
    "editor.effective": ("生效日期", "Effective date"),
    "editor.propose": ("提交调整申请", "Propose"),
    "editor.when": ("适用情形（条件）", "Applies when (condition)"),
    "editor.when.help": (
        "适用情形：本事项情形中的选项编号用 and（且）、or（或）、not（非）和括号组合，"
        "如居民身份证首次申领的 age_u16 and not photo_onsite；留空表示总是适用。",
        "Applies when: the item's option ids joined by and, or, not and parentheses, e.g. "
        "for 居民身份证首次申领 age_u16 and not photo_onsite; empty: always.",
    ),
    "editor.options": (
        "需要此材料的情形选项（任选其一即需要；都不选：总是需要）",
        "Situation options that require it (any of them; none: always)",
    ),
    "editor.options.unknown": ("不在本事项的情形中", "not among the item's situations"),
    "editor.options.none": (
        "本事项还没有情形问题（见下方“情形”）。",
        "The item has no situation questions yet (see Situations below).",
    ),
    "editor.kinds": ("调整类型", "Adjustments"),
    "editor.kinds.choose": ("请选择一种调整：", "Choose an adjustment:"),
    "editor.choose": ("请选择", "Choose"),
    "editor.row": ("第 {n} 项", "Row {n}"),
    "kind.suspend": ("暂停受理；恢复前不再受理新申请。", "Stop taking applications until resumed."),
    "kind.resume": ("恢复受理暂停的事项。", "Take applications again after a suspension."),
    "kind.cancel": ("取消事项，自生效日期起不再办理。", "Cancel the item from the effective date."),
    "kind.reinstate": (
        "已取消的事项以原编码恢复设立。",
        "Bring a cancelled item back under its own code.",
    ),
    "kind.delegate": (
        "下放或委托给下级单位：每个承接单位得到一个待承接的新事项。",
        "Delegate or entrust to lower bodies: each gets a new item pending acceptance.",
    ),
    "kind.accept": (
        "承接下放的事项，填写本地办理窗口（地址、时间、电话）。",
        "Accept a delegated item with the local windows (address, hours, phone).",
    ),
    "kind.reclaim": (
        "收回已下放的事项；下放产生的事项同日取消。",
        "Take a delegation back; the items it created are cancelled the same day.",
    ),
    "kind.merge": (
        "并入另一个事项；本编码停用并指向保留的事项。",
        "Merge into another item; this code is retired and points to it.",
    ),
    "kind.split": (
        "拆分为若干新事项（子项），本事项随之取消。新事项以本事项的指南、材料和收费为起点。",
        "Split into new items (sub items), which replace this one. They start from this "
        "item's guide, materials and fees.",
    ),
    "delegate.mode": ("方式", "Mode"),
    "delegate.mode.delegate": ("下放（承接单位以自己的名义办理）", "Delegate (下放)"),
    "delegate.mode.entrust": ("委托（以本单位的名义办理）", "Entrust (委托)"),
    "delegate.handover": ("交接日期（承接单位自此日起受理）", "Handover date"),
    "delegate.to": ("承接单位", "Receiving bodies"),
    "delegate.department": ("承接部门", "Receiving department"),
    "delegate.region": ("所在区划", "Its region"),
    "merge.into": ("并入的事项（保留事项的实施编码）", "Merged into (the surviving item's code)"),
    "split.into": ("拆分后的新事项", "The new items"),
    "split.basic_code": ("基本目录编码（子项）", "Catalogue entry (basic code)"),
    "accept.windows": ("本地办理窗口", "Local windows"),
    "editor.author": ("提交人", "Author"),
    "editor.kind": ("类型", "Kind"),
    "editor.status": ("状态", "Status"),
    "editor.query": ("检索词", "Query"),
    "editor.count": ("次数", "Count"),
    "editor.hits": ("结果数", "Hits"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # the effective day: what is coming, what is in force, the day viewed
    "as_of.label": ("查看日期", "Day to view"),  # the field ?as_of=, named in its problems
    "as_of.notice": (
        "以下为 {date} 有效的办事指南（{link}）",
        "The guide as it stood on {date} ({link})",
    ),
    "as_of.current": ("查看现行版本 →", "see the current version →"),
    "as_of.invalid": (
        "查看日期 as_of 应为 YYYY-MM-DD 格式的日期，例如 2026-12-01",
        "as_of, the day to view, is a date written YYYY-MM-DD, e.g. 2026-12-01",
    ),
    "as_of.range": (
        "查看日期 as_of 应在 {first} 与 {last} 之间",
        "as_of, the day to view, lies between {first} and {last}",
    ),
    "as_of.before": ("本事项在 {date} 尚未设立", "This item did not exist on {date}"),
    "effective.will": ("本事项将于 {date} {event}", "This item will be {event} on {date}"),
    "effective.was": ("本事项已于 {date} {event}", "This item was {event} on {date}"),
    "effective.decision": ("，依据《{title}》（{number}）", ", by {number}: {title}"),
    "effective.end": ("。", ". "),
    "effective.will_handle": (
        "将于 {date} 起由{who}办理。",
        "From {date} it will be handled by {who}.",
    ),
    "effective.handles": ("自 {date} 起由{who}办理。", "Since {date} it is handled by {who}."),
    "effective.go_to": ("目前请到{who}办理。", "For now, apply at {who}."),
    "effective.unavailable": ("暂不可办理（{why}）", "Not available ({why})"),
    "office": ("「{x}」", "{x}"),
    "blocked.suspended": ("暂停受理", "Suspended: no applications for now"),
    "blocked.cancelled": ("已取消，不再办理", "Cancelled: no longer available"),
    "blocked.pending": ("尚未承接，暂不可办理", "Not accepted yet: not available yet"),
    "blocked.delegated": ("已下放，本单位不再受理", "Handed down: no longer handled here"),
    "blocked.merged": ("已合并，不再单独办理", "Merged: no longer available on its own"),
    "pending.from": (
        "本事项由{who}{event}，自 {date} 起交接",
        "{who} {event} this item from {date}",
    ),
    "pending.wait": (
        "承接部门完成承接后方可在此办理。",
        "It can be applied for here once the receiving office has accepted it.",
    ),
    "successor.list.sep": ("、", ", "),
}

MESSAGES.update(WORKSPACE)  # the workspace's and the history page's words
MESSAGES.update(CITIZEN)  # what the guide does not know, and situational materials
MESSAGES.update(SEARCH)  # the search page's grouped hits and region notices

EVENTS = {
    "create": ("新增", "created"),
    "revise": ("调整", "revised"),
    "cancel": ("取消", "cancelled"),
    "suspend": ("暂停", "suspended"),
    "resume": ("恢复", "resumed"),
    "delegate": ("下放", "delegated"),
    "entrust": ("委托", "entrusted"),  # a delegation of mode entrust
    "accept": ("承接", "accepted"),
    "reclaim": ("收回", "reclaimed"),
    "reclaimed": ("被收回", "reclaimed"),
    "merge": ("合并", "merged"),
    "split": ("拆分", "split"),
    "reinstate": ("恢复（重新启用）", "reinstated"),
    "edit": ("修改", "edited"),
    "alias": ("增加别名", "alias added"),
    "takes_effect": ("生效", "took effect"),
    "legal_basis_changed": ("所引依据已修订或废止", "a cited document was amended or repealed"),
}

REQUEST_STATUS = {
    "draft": ("草稿", "draft"),
    "submitted": ("待审核", "submitted"),
    "approved": ("已通过", "approved"),
    "rejected": ("已退回", "rejected"),
    "withdrawn": ("已撤回", "withdrawn"),
}

UNITS = {
    "working_days": ("个工作日", " working day(s)"),
    "natural_days": ("个自然日", " calendar day(s)"),
    "hours": ("小时", " hour(s)"),
}


def pick(lang: Lang) -> int:
    return 1 if lang == Lang.EN else 0


def translator(lang: Lang):  # type: ignore[no-untyped-def]
    i = pick(lang)

    def t(key: str, **values: object) -> str:
        text = MESSAGES[key][i]
        return text.format(**values) if values else text

    return t


def marked(lang: Lang):  # type: ignore[no-untyped-def]
    """:func:`translator` for sentences holding markup (links): the message is the page's
    own text, every value is escaped unless it is already markup."""
    i = pick(lang)

    def tm(key: str, **values: object) -> Markup:
        return Markup(MESSAGES[key][i]).format(**values)

    return tm


MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_day(value: date | str | None, i: int) -> str:
    """A day as people read it (2027年1月1日, 1 January 2027). A timestamp is read as its day
    in the province, not in UTC."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = clock.local(moment).date()
    if i == 0:
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def negotiate(query_lang: str | None, cookie: str | None, accept: str | None) -> Lang:
    """``?lang=``, then the cookie, then ``Accept-Language`` (zh-TW/HK/MO → zh-Hant)."""
    for value in (query_lang, cookie):
        if value in Lang._value2member_map_:
            return Lang(value)
    for part in (accept or "").lower().split(","):
        tag = part.split(";")[0].strip()
        if tag.startswith("zh"):
            if tag in ("zh-tw", "zh-hk", "zh-mo") or tag.startswith("zh-hant"):
                return Lang.HANT
            return Lang.HANS
        if tag.startswith("en"):
            return Lang.EN
    return Lang.HANS


_converter: opencc.OpenCC | None = None
_lock = threading.Lock()


def to_traditional(html: str) -> str:
    """Simplified → Traditional (OpenCC ``s2t``); ASCII (markup, codes, URLs) is untouched."""
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc  # on the first zh-Hant page, not at start

                _converter = opencc.OpenCC("s2t")
    return _converter.convert(html)
