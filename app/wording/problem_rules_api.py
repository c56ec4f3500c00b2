"""The wording of the rules of review, corrections and the API's other refusals (lists,
the feed, subscriptions, imports), as :mod:`app.wording.problem_rules` words the item's."""

from __future__ import annotations

from app.wording.problem_rules import NO_ITEM
from app.wording.problem_texts import Say, Wording, quoted, s

#: a mirror's place that is not in this feed's history (a restore, another instance)
FEED_POSITION: Wording = (
    s(
        "变更记录中没有第 {seq} 条（末尾为 {head}）：请从快照重新同步",
        "The change feed has no seq {seq} (its head is {head}): start again from the snapshot",
        r"seq (?P<seq>\d+) is beyond this feed's head \((?P<head>\d+)\)",
    ),
    s(
        "这一同步位置来自另一份变更历史：请从快照重新同步",
        "That position is from another history of the feed: start again from the snapshot",
        r"another history",
    ),
    s(
        "同步位置不在这份变更记录中：请从快照重新同步",
        "That position is not in this change feed: start again from the snapshot",
    ),
)

REVIEW: dict[str, Wording | Say] = {
    "change_request.edit": s(
        "修改申请包含完整的事项或一个补丁，不能两者都有",
        "An edit holds the full item or a patch, not both",
    ),
    "change_request.item": (
        s("新事项还没有编码", "A new item has no code yet", r"no code yet"),
        s("这类申请须指明事项", "This kind of request names the item"),
    ),
    "request": (
        s(
            "这份变更申请不是本事项的调整",
            "That change request is not an adjustment of this item",
            r"not a lifecycle request",
        ),
        s("「{field}」应为变更申请的编号", "“{field}” is a change request's number"),
    ),
    "action": (
        s("没有“{value}”这一操作", "No action “{value}”", "no action " + quoted("value")),
        s("没有这一操作", "No such action"),
    ),
    "correction.change_request": (
        s(
            "没有编号为 {id} 的变更申请",
            "No change request {id}",
            r"^no change request (?P<id>\d+)",
        ),
        s(
            "变更申请 {id} 修改的不是这个事项",
            "Change request {id} changes another item",
            r"^change request (?P<id>\d+) changes",
        ),
        s(
            "未采纳的纠错不关联变更申请",
            "A rejected correction has no change request",
            r"rejected",
        ),
        s("「{field}」不能关联这份变更申请", "“{field}” cannot link that change request"),
    ),
    "correction.field": s(
        "「{field}」：所选的部分不在本事项中", "“{field}” names no part of this item"
    ),
    "correction": (
        s(
            "这条纠错不是事项 {code} 的",
            "That correction is not one of item {code}",
            r"not a correction of (?P<code>\S+)",
        ),
        s("这条纠错不是本事项的", "That correction is not this item's"),
    ),
    "correction.note_ticket": s(
        "「{field}」会随新版本公开，不能含纠错受理编号",
        "“{field}” is published with the version: it cannot carry the ticket",
    ),
    "correction.status": s(
        "「{field}」应为已采纳、未采纳或重复", "“{field}” is accepted, rejected or duplicate"
    ),
    "status": (
        s(
            "「{field}」中的“{value}”无效",
            "“{field}”: “{value}” is not a status",
            "no status " + quoted("value"),
        ),
        s("「{field}」无效", "“{field}” is not valid"),
    ),
    "event": (
        s(
            "没有“{value}”这一调整类型",
            "No adjustment “{value}”",
            "no event " + quoted("value"),
        ),
        s("没有这一调整类型", "No such adjustment"),
    ),
}

#: refusals only the API meets (search, sync, push, keys, imports): worded all the same, so
#: that no page can ever show one in English
API: dict[str, Wording | Say] = {
    "q": s("「{field}」：请填写检索过的词", "“{field}”: the query that was searched"),
    "q.length": s("「{field}」最多 100 个字符", "“{field}” holds at most 100 characters"),
    "code": (NO_ITEM, s("「{field}」：没有这个事项", "“{field}”: no such item")),
    "online": s("「{field}」应为 true 或 false", "“{field}” is true or false"),
    "digest.by": s("「{field}」应为 department 或 range", "“{field}” is department or range"),
    "bulk.array": s("内容应为事项的 JSON 数组", "The body is a JSON array of items"),
    "bulk.item": s("「{field}」应为一个 JSON 对象", "“{field}” is a JSON object"),
    "bulk.size": (
        s(
            "一次最多提交 {most} 个事项",
            "At most {most} items per request",
            r"at most (?P<most>\d+) items",
        ),
        s("一次提交的事项太多", "Too many items in one request"),
    ),
    "synonyms.group": s("「{field}」：一组同义词至少有两个不同的词", "“{field}” needs two terms"),
    "synonyms.term": s("「{field}」应为 1 至 50 个字符", "“{field}” is 1-50 characters of text"),
    "role": s("「{field}」应为 admin、reviewer、editor 或 sync", "“{field}” is a role"),
    "scope": s("「{field}」：请填写密钥的管辖范围", "“{field}”: the key's scope is missing"),
    "unique": s("「{field}」已被使用", "“{field}” is taken"),
    "scope.department": (
        s(
            "没有统一社会信用代码为 {code} 的部门",
            "No department {code}",
            r"credit code (?P<code>\S+)",
        ),
        s("「{field}」：没有这个部门", "“{field}”: no such department"),
    ),
    "scope.region": (
        s(
            "没有以 {prefix} 开头的行政区划代码",
            "No region code starts with {prefix}",
            r"starting with (?P<prefix>\S+):",
        ),
        s("「{field}」：没有这个行政区划", "“{field}”: no such region"),
    ),
    "seq.beyond_head": (
        s(
            "「{field}」超出了变更记录的末尾（{head}）",
            "“{field}” is beyond the end of the change log ({head})",
            r"ends at seq (?P<head>\d+)",
        ),
        s("「{field}」超出了变更记录的末尾", "“{field}” is beyond the change log"),
    ),
    "subscription.event": (
        s(
            "「{field}」中的事件类型无效：{values}",
            "“{field}”: unknown events {values}",
            r"unknown event\(s\) (?P<values>.+): one of",
        ),
        s("「{field}」中有无效的事件类型", "“{field}” names an unknown event"),
    ),
    "import.profile": s("「{field}」不是可用的导入类型", "“{field}” is not an import profile"),
    "import.format": s("「{field}」不是可用的文件格式", "“{field}” is not a file format taken"),
    "import.file": s("请选择要导入的文件", "Choose a file to import"),
    "import.multipart": s(
        "文件应以表单上传（multipart）", "Upload the file as multipart/form-data"
    ),
    "import.*": s(
        "导入文件无法读取或超出了限制", "The import file cannot be read or passes a limit"
    ),
}

#: 标准管理 and the feed's second round: legal bases, material files, quality, the epoch
STANDARDS: dict[str, Wording | Say] = {
    "legal_basis.unknown": (
        s(
            "「{field}」：没有编号为 {id} 的依据文件",
            "“{field}”: no legal basis {id}",
            r"no legal basis (?P<id>\S+)",
        ),
        s("「{field}」：没有这份依据文件", "“{field}”: no such legal basis"),
    ),
    "legal_basis.repealed_on_required": s(
        "已废止的文件须填写「{field}」", "A repealed document gives its “{field}”"
    ),
    "legal_basis.status_repealed": s(
        "填写了废止日期的文件，「{field}」应为已废止",
        "A document with a repeal date has “{field}” repealed",
    ),
    "legal_basis.amended_on_required": s(
        "已修订的文件须填写「{field}」", "An amended document gives its “{field}”"
    ),
    "date.order": (
        s(
            "「{field}」早于{earlier}",
            "“{field}” is before the {earlier}",
            r"is before (?P<earlier>\w+)",
        ),
        s("「{field}」早于它之前应有的日期", "“{field}” is before the date it follows"),
    ),
    "file.name": s("上传的文件须有文件名", "The file needs a name"),
    "rule.unknown": (
        s(
            "「{field}」：没有规则 {rule}",
            "“{field}”: no rule {rule}",
            r"unknown rule " + quoted("rule"),
        ),
        s("「{field}」：没有这条规则", "“{field}”: no such rule"),
    ),
    "severity.enum": s(
        "「{field}」应为 error、warning 或 info", "“{field}” is error, warning or info"
    ),
    "text.too_long": s("「{field}」太长", "“{field}” is too long"),
    "department.scope": s(
        "「{field}」不是您的密钥所属的部门", "“{field}” is not a department of your key"
    ),
    "entry": s("「{field}」应为基本编码", "“{field}” is a basic code"),
    "feed-position-unknown": FEED_POSITION,
    "http.410": FEED_POSITION,
}
