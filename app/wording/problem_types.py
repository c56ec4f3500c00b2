"""The wording of problems as a whole, by their ``type`` (``four-same``, ``not-found``…),
and of the pages' own refusals by their status (``http.413``), read from their ``detail``
as :mod:`app.wording.problem_texts` reads an entry's ``msg``."""

from __future__ import annotations

from app.wording.problem_texts import Say, Wording, quoted, s

NOT_FOUND: Wording = (
    s("没有实施编码为 {code} 的事项", "No item {code}", r"^no implementation (?P<code>\S+)$"),
    s(
        "事项 {code} 在 {day} 尚未设立",
        "Item {code} did not exist on {day}",
        r"^implementation (?P<code>\S+) did not exist on (?P<day>\S+)$",
    ),
    s(
        "事项 {code} 没有第 {version} 版",
        "Item {code} has no version {version}",
        r"^implementation (?P<code>\S+) has no version (?P<version>\d+)",
    ),
    s("没有编号为 {id} 的变更申请", "No change request {id}", r"^no change request (?P<id>\d+)"),
    s("没有这个纠错受理编号", "No such correction ticket", r"^no correction "),
    s(
        "没有统一社会信用代码为 {code} 的部门",
        "No department {code}",
        r"^no department (?P<code>\S+)",
    ),
    s("没有行政区划 {code}", "No region {code}", r"^no region (?P<code>\S+)"),
    s("基本目录中没有 {code}", "No catalogue entry {code}", r"^no catalogue entry (?P<code>\S+)"),
    s("没有编号为 {id} 的依据文件", "No legal basis {id}", r"^no legal basis (?P<id>\S+)"),
    s("没有摘要为 {hash} 的文件", "No file {hash}", r"^no file (?P<hash>\S+)"),
    s("没有编号为 {id} 的 HSDS 服务", "No HSDS service {id}", r"^no HSDS service (?P<id>\S+)"),
    s(
        "事项 {code} 没有材料 {material}",
        "Item {code} has no material {material}",
        r"^item (?P<code>\S+) has no material (?P<material>\S+)",
    ),
    s("没有找到您要的内容", "Nothing was found there"),
)

OUT_OF_SCOPE: Wording = (
    s(
        "页面已过期，请刷新页面后重新提交",
        "The page has expired: reload it and send again",
        r"security token",
    ),
    s(
        "变更申请 {id} 不是您的草稿，不能在此修改",
        "Change request {id} is not a draft of yours",
        r"^change request (?P<id>\d+) is not a draft",
    ),
    s(
        "只有提交人可以修改这份变更申请",
        "Only its author changes this change request",
        r"only its author changes it",
    ),
    s(
        "不能审核自己提交的变更申请",
        "Nobody approves or rejects their own change request",
        r"their own change request",
    ),
    s(
        "只有承接部门「{department}」可以承接此事项",
        "Only the receiving department “{department}” may accept this item",
        r"only the receiving department (?P<department>\S+) may accept",
    ),
    s(
        "您的密钥不能修改部门「{department}」的事项",
        "Your key does not edit the items of “{department}”",
        r"edits departments .*, not (?P<department>\S+)$",
    ),
    s(
        "您的密钥不能审核变更申请",
        "Your key does not review change requests",
        r"does not review change requests",
    ),
    s(
        "您的密钥只管辖 {prefix} 开头的区划，不包括「{region}」",
        "Your key covers regions {prefix}* only, not “{region}”",
        r"regions (?P<prefix>\d+)\*, not (?P<region>\S+)$",
    ),
    s("您的密钥不能查看检索缺口", "Your key does not read the search gaps", r"search gaps"),
    s(
        "您的密钥不能答复这个事项的纠错",
        "Your key does not answer this item's corrections",
        r"does not answer corrections",
    ),
    s(
        "您不是部门「{department}」的编辑",
        "You are not an editor of “{department}”",
        r"is not an editor of department (?P<department>\S+)$",
    ),
    s(
        "编辑的修改须经审核：请提交变更申请",
        "An editor's change goes through review: propose a change request",
        r"goes through review",
    ),
    s("您的密钥无权进行此操作", "Your key may not do this"),
)

LIFECYCLE_ORDER: Wording = (
    s(
        "只有在用的事项可以暂停（本事项现为“{item_status}”）",
        "Only an item in use can be suspended (this one is {item_status})",
        r"can be suspended \(status (?P<item_status>\w+)\)",
    ),
    s(
        "只有暂停的事项可以恢复受理（本事项现为“{item_status}”）",
        "Only a suspended item can be resumed (this one is {item_status})",
        r"can be resumed \(status (?P<item_status>\w+)\)",
    ),
    s("只有在用的事项可以下放", "Only an item in use can be delegated", r"can be delegated"),
    s(
        "只有已取消的事项可以恢复设立（本事项现为“{item_status}”）",
        "Only a cancelled item can be reinstated (this one is {item_status})",
        r"can be reinstated \(status (?P<item_status>\w+)\)",
    ),
    s(
        "本事项不是待承接状态，不能承接",
        "This item is not pending acceptance",
        r"is not pending acceptance",
    ),
    s("本事项没有下放，无法收回", "This item has not been delegated", r"has not been delegated"),
    s(
        "事项 {code} 不在用，不能作为合并后保留的事项",
        "Item {code} is not in use and cannot survive a merge",
        r"^(?P<code>\S+) is not in use and cannot survive a merge",
    ),
    s("本事项当前的状态不能进行这项调整", "This item's status does not allow that adjustment"),
)

TYPES: dict[str, Wording | Say] = {
    "validation": s(
        "提交的内容有误，请按提示修改", "Some of what was sent is not valid; see below"
    ),
    "not-found": NOT_FOUND,
    "out-of-scope": OUT_OF_SCOPE,
    "unauthorized": (
        s("密钥无效或已吊销", "The key is unknown or revoked", r"unknown or revoked|malformed"),
        s("请先用密钥登录", "Please sign in with your key first"),
    ),
    "stale-version": (
        s(
            "内容已被他人修改（现为第 {current} 版），请重新打开后再修改",
            "It was changed meanwhile (now version {current}): open it again and redo your change",
            r"at version (?P<current>\d+)",
        ),
        s("内容已被他人修改，请重新打开后再修改", "It was changed meanwhile: open it again"),
    ),
    "rate-limited": (
        s(
            "提交过于频繁，请稍后再试（约{minutes}分钟后）",
            "Too many for now: please try again later (in about {minutes} min)",
        ),
        s("提交过于频繁，请稍后再试", "Too many for now: please try again later"),
    ),
    "unsupported-media-type": (
        s(
            "文件内容不是 {kinds} 中的任何一种（按内容判断，而非文件名）",
            "The file's content is none of {kinds} (read from its bytes, not its name)",
            r"content is none of (?P<kinds>.+?) \(read from",
        ),
        s("不支持这种文件或内容类型", "That kind of file or content is not taken"),
    ),
    "too-large": (
        s(
            "文件太大（最多 {limit} 字节）",
            "The file is too large (at most {limit} bytes)",
            r"at most (?P<limit>[\d,]+) bytes",
        ),
        s("文件太大", "The file is too large"),
    ),
    "search-unavailable": s(
        "搜索暂时不可用，请稍后再试", "Search is unavailable for now; try again later"
    ),
    "four-same": (
        s(
            "四级四同：{fields}来自基本目录 {code}，不能在实施清单中修改，请修改基本目录",
            "Same in all four levels: {fields} come from catalogue entry {code} and change there",
            r"四级四同: (?P<fields>.+) of an implementation come from catalogue entry (?P<code>\d+)",
        ),
        s(
            "「{field}」来自基本目录（四级四同），不能在实施清单中修改",
            "“{field}” comes from the catalogue entry (same in all four levels) and changes there",
        ),
    ),
    "code-already-issued": (
        s(
            "编码 {code} 已经使用过：一事一码，编码不能再次使用",
            "Code {code} was issued before: a code is never issued twice",
            r"code (?P<code>[0-9A-Z]+) was issued before",
        ),
        s("这个编码已经使用过，不能再次使用", "That code was issued before"),
    ),
    "lifecycle-order": LIFECYCLE_ORDER,
    "lifecycle-end-scheduled": (
        s(
            "本事项已决定于 {day} {event}，不能再决定{event2}",
            "This item is to be {event} on {day}: no {event2} can be decided beside it",
            r"already ends by (?P<event>\w+) on (?P<day>\S+); no (?P<event2>\w+)",
        ),
        s("本事项已决定终止，不能再作这项调整", "This item's end is decided already"),
    ),
    "item-*": (
        s(
            "本事项现为“{item_status}”，不能这样修改",
            "This item is {item_status}: it cannot be changed this way",
            r"has status (?P<item_status>\w+)",
        ),
        s("本事项当前的状态不能这样修改", "This item's status does not allow that change"),
    ),
    "change-request-author": (
        s(
            "提交人的密钥“{key}”已不存在，这份申请不能发布",
            "The author's key “{key}” no longer exists",
            "key " + quoted("key"),
        ),
        s("提交人的密钥已不存在，这份申请不能发布", "The author's key no longer exists"),
    ),
    "change-request-stale": (
        s(
            "申请提出后，事项已从第 {base} 版更新到第 {current} 版：请先合并到最新版本，再审核通过",
            "The item moved on from version {base} to {current}: rebase the request, then approve",
            r"from version (?P<base>\d+) to (?P<current>\d+)",
        ),
        s(
            "申请提出后事项已更新：请先合并到最新版本",
            "The item moved on: rebase the request first",
        ),
    ),
    "change-request-state": (
        s(
            "变更申请 {id} 当前为“{request_status}”，不能进行此操作",
            "Change request {id} is {request_status}: that cannot be done now",
            r"^change request (?P<id>\d+) is (?P<request_status>\w+):",
        ),
        s(
            "本事项的变更申请 {id} 正在等待审核：撤回后才能修改",
            "Change request {id} of this item waits for review: withdraw it to change it",
            r"^change request (?P<id>\d+) of this item is waiting for review",
        ),
        s("这份变更申请当前的状态不能进行此操作", "That cannot be done to the request now"),
    ),
    "rebase-conflict": (
        s(
            "申请提出后，事项有 {n} 处与本申请改了同一内容，请逐项处理",
            "Since the request was made, {n} of its fields were changed as well: resolve each",
            r"both changed (?P<n>\d+) field",
        ),
        s("申请与事项的新版本改了同一内容", "The request and a newer version changed the same"),
    ),
    "conflict": s(
        "「{field}」在申请提出后也被修改过，请先处理",
        "“{field}” was changed by the request and since it was made",
    ),
    "correction-linked": (
        s(
            "这条纠错已关联变更申请 {id}",
            "This correction is linked to change request {id} already",
            r"change request (?P<id>\d+)",
        ),
        s("这条纠错已关联变更申请", "This correction is linked already"),
    ),
    "correction-no-suggestion": s(
        "这条纠错没有给出建议的内容：请自己起草变更申请，再在答复中关联",
        "This correction suggests no value: write the change request, then link it",
    ),
    "correction-not-writable": (
        s(
            "「{fields}」不在实施清单中修改（四级四同的内容属于基本目录，其余由目录生成）",
            "“{fields}” is not written at the item (the catalogue entry's or assigned)",
            r"^(?P<fields>\S+) is not written at the item",
        ),
        s("这一部分不在实施清单中修改", "That part is not written at the item"),
    ),
    "correction-state": (
        s(
            "这条纠错现为“{correction_status}”：只有已采纳的纠错可以生成变更申请",
            "This correction is {correction_status}: only an accepted one becomes a request",
            r"is (?P<correction_status>\w+): only an accepted",
        ),
        s("只有已采纳的纠错可以生成变更申请", "Only an accepted correction becomes a request"),
    ),
    "idempotency-key-reused": s(
        "这个幂等键已用于另一个请求，请换一个", "That Idempotency-Key was used for another request"
    ),
    "import-finished": s("这次导入已经结束，无需取消", "That import has ended: nothing to cancel"),
    "review-required": OUT_OF_SCOPE,
    # refusals of the pages themselves (no type of their own): by status
    "http.400": (
        s("表单不是 UTF-8 编码", "The form is not UTF-8", r"not UTF-8"),
        s("请求有误", "The request is not valid"),
    ),
    "http.401": s("请先用密钥登录", "Please sign in with your key first"),
    "http.403": s("您的密钥无权进行此操作", "Your key may not do this"),
    "http.404": s("没有找到您要的内容", "Nothing was found there"),
    "http.405": s("这个页面不接受这种请求", "This page does not take that kind of request"),
    "http.409": s("与目录的规则冲突，未能保存", "A rule of the catalogue refused it"),
    "http.412": s(
        "内容已被他人修改，请重新打开后再修改", "It was changed meanwhile: open it again"
    ),
    "http.413": (
        s(
            "提交的内容太大（最多 {limit} 字节）",
            "That is too much for one form (at most {limit} bytes)",
            r"at most (?P<limit>[\d,]+) bytes",
        ),
        s("提交的内容太大", "That is too much for one form"),
    ),
    "http.415": s("表单的提交方式不对", "The form was not sent as a form"),
    "http.422": s("提交的内容有误，请按提示修改", "Some of what was sent is not valid"),
    "http.429": s("提交过于频繁，请稍后再试", "Too many for now: please try again later"),
    "http.503": s("服务暂时不可用，请稍后再试", "The service is unavailable for now"),
}
