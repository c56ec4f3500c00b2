"""The words of the editor's workspace (worklist, item form, change requests, corrections)
and of the history page, in zh-Hans and English (zh-Hant by OpenCC, as every page's):
part of :data:`app.wording.i18n.MESSAGES`, kept apart to keep that table readable."""

from __future__ import annotations

WORKSPACE: dict[str, tuple[str, str]] = {
    "work.drafts": ("我的草稿", "My drafts"),
    "work.returned": ("被退回的申请", "Requests returned to me"),
    "work.pending": ("待承接的事项", "Items delegated to us, awaiting acceptance"),
    "work.pending.help": (
        "以下事项已下放或委托给本部门，承接并填写本地办理窗口后才能对外办理。",
        "These items were delegated or entrusted to your department: accept each and give "
        "its local windows before it takes applications.",
    ),
    "work.accept": ("承接", "Accept"),
    "work.corrections": ("新的纠错", "New corrections"),
    "work.waiting": ("等待审核的申请", "Waiting for review"),
    "work.to_review": ("待我审核", "Waiting for my review"),
    "work.items_open": ("有进行中变更的事项", "Items with open changes"),
    "work.all_items": ("全部事项（{n} 项）", "All our items ({n})"),
    "work.saved_at": ("保存时间", "Saved"),
    "work.submitted_at": ("提交时间", "Submitted"),
    "work.returned_by": ("退回人及时间", "Returned by"),
    "work.reason": ("退回原因", "Reason"),
    "work.continue": ("继续编辑", "Continue editing"),
    "work.fix": ("修改后重新提交", "Change and resubmit"),
    "work.open": ("查看", "Open"),
    "work.handover": ("交接日期", "Handover date"),
    "work.delegated_from": ("下放来源", "Delegated from"),
    "work.reported": ("提交时间", "Reported"),
    "work.field": ("纠错内容", "Concerns"),
    "work.to_request": ("生成变更申请", "Make a change request"),
    "work.inbox": ("去纠错收件箱", "Go to the corrections inbox"),
    "work.queue_link": ("去审核", "Go to the review queue"),
    "form.basic": ("基本信息", "Basic information"),
    "form.windows": ("办理地点和时间（窗口）", "Where and when (service windows)"),
    "form.complaint": ("监督投诉方式", "Complaint channels"),
    "form.situations": ("情形", "Situations"),
    "form.situations.help": (
        "高级：常用情形（common_situations）和分情形时限（time_limits），JSON 格式；多数事项不需要。",
        "Advanced: common situations and time limits by situation, as JSON; most items "
        "need neither.",
    ),
    "form.questions.help": (
        "办事人回答这些问题，告知清单只列出其情形需要的材料。每个选项下勾选选择它时需要的材料"
        "（不勾选任何选项的材料始终需要）。编号由字母、数字组成，在本事项内唯一。",
        "Applicants answer these questions, and their checklist lists only the materials "
        "their situation needs. Under each option, tick the materials it requires (a "
        "material no option ticks is always required). Ids are letters and digits, unique "
        "in the item.",
    ),
    "form.question": ("问题 {n}", "Question {n}"),
    "form.option": ("选项 {n}", "Option {n}"),
    "form.add_question": ("添加一个问题", "Add a question"),
    "form.add_option": ("添加一个选项", "Add an option"),
    "form.option.materials": ("选择此项时需要的材料", "Materials this option requires"),
    "form.option.no_materials": ("本事项还没有申请材料。", "The item has no materials yet."),
    "form.reveals.help": ("问题编号，多个用空格分隔", "question ids, separated by spaces"),
    "form.intermediary": ("中介服务", "Intermediary services"),
    "form.related": ("联办机构和前置事项", "Joint bodies and prerequisite items"),
    "form.lines": ("每行一项", "one per line"),
    "form.themes": ("主题分类（可多选）", "Themes (one or more)"),
    "form.add_row": ("添加一行", "Add a row"),
    "form.options": ("需要此材料的情形（已选 {n} 项）", "Situations that require it ({n} chosen)"),
    "form.has_errors": ("（有错误）", " (has errors)"),
    "form.remove": ("删除", "Remove"),
    "form.new_row": ("新的一行", "New row"),
    "form.rows": ("（{n} 项）", " ({n})"),
    "form.save_hint": (
        "修改只保存为草稿，不会公开；保存后在变更申请页提交审核。",
        "Changes are saved as a draft, not published; submit it for review on its page.",
    ),
    "form.readonly": (
        "事项名称、编码、实施主体和行政区划由目录确定，在此只读。",
        "The item's name, codes, body and region come from the catalogue: read-only here.",
    ),
    "form.legal_basis.note": (
        "设定依据属于基本目录事项，省市县四级相同（四级四同），在此只读；如需修改请联系目录管理员。",
        "The legal basis is the catalogue entry's, the same at every level: read-only here; "
        "ask the catalogue's administrators to change it.",
    ),
    "form.legal_basis.none": ("基本目录未列设定依据。", "The catalogue entry lists none."),
    "form.charges_fee": ("本事项收费", "This item charges a fee"),
    "form.audience": ("服务对象（可多选）", "Audience (one or more)"),
    "form.draft": (
        "您有一份未提交的草稿（{link}，保存于 {at}）。以下是草稿的内容，保存将更新这份草稿。",
        "You have a draft not yet submitted ({link}, saved {at}). The form shows the draft; "
        "saving updates it.",
    ),
    "form.rejected": (
        "您的变更申请（{link}）已被退回：{reason}。以下是退回时的内容，修改后保存，再提交审核。",
        "Your change request ({link}) was returned: {reason}. The form shows it as returned; "
        "change it, save, then submit it again.",
    ),
    "form.waiting": (
        "您对本事项的变更申请（{link}，提交于 {at}）正在等待审核，审核完成前不能再修改。"
        "如需修改，可以撤回并继续修改。",
        "Your change request of this item ({link}, submitted {at}) is waiting for review and "
        "cannot be changed meanwhile. To change it, withdraw it and go on editing.",
    ),
    "lifecycle.draft": (
        "您正在修改变更申请 {link}（草稿）。保存后在申请页提交审核。",
        "You are changing change request {link} (a draft). Save it, then submit it for "
        "review on its page.",
    ),
    "form.revise": ("撤回并继续修改", "Withdraw and change it"),
    "form.added": ("已添加一行，填写后保存草稿。", "A row was added: fill it in, then save."),
    "request.item": ("事项", "Item"),
    "request.field": ("字段", "Field"),
    "request.op": ("变更", "Change"),
    "request.before": ("原内容", "Before"),
    "request.after": ("新内容", "After"),
    "request.published": ("已发布为第 {v} 版", "Published as version {v}"),
    "request.proposal": ("申请内容", "What is proposed"),
    "request.actions": ("处理记录", "What was done"),
    "request.created": ("创建时间", "Created"),
    "request.rebase": ("更新到最新版本", "Bring onto the current version"),
    "correction.make": ("生成变更申请", "Make a change request"),
    "form.correction": ("按纠错修改", "Fixing a correction"),
    "form.correction.filled": (
        "建议的内容已填入对应字段，请核对后保存草稿。草稿将与这条纠错关联，纠错标为“已采纳”，"
        "答复发给提交人；审核通过后，纠错进度页显示“已更正”。",
        "The suggestion is filled in at its field: check it, then save the draft. The draft "
        "is linked to the correction, which is marked accepted and answered; once approved, "
        "its ticket shows it fixed.",
    ),
    "form.correction.told": (
        "请按上面的纠错修改对应部分（已展开），然后保存草稿。草稿将与这条纠错关联，纠错标为“已采纳”，"
        "答复发给提交人；审核通过后，纠错进度页显示“已更正”。",
        "Change the part the correction concerns (unfolded) as it says, then save the draft. "
        "The draft is linked to the correction, which is marked accepted and answered; once "
        "approved, its ticket shows it fixed.",
    ),
    "correction.proposed": ("建议改为", "Suggested"),
    "correction.reply": ("给提交人的答复", "Reply to the reporter"),
    "correction.reply.default": ("已采纳，将按您的建议更正。", "Accepted: we will correct it."),
    "correction.note.default": ("纠错：{field}", "Correction: {field}"),
    "correction.linked": ("已关联变更申请", "Linked change request"),
    "ticket.resolution": ("处理结果", "Resolution"),
    "status.fixed": ("已更正", "Fixed"),
    "ticket.fixed_in": ("已更正（第 {v} 版，{at} 发布）", "Fixed (version {v}, published {at})"),
    "ticket.in_review": ("已采纳，更正正在审核", "Accepted: the correction is being reviewed"),
    "history.page": ("历史版本", "Version history"),
    "history.link": ("查看全部历史版本", "See every version"),
    "history.intro": (
        "本事项的每一个版本：何时、因何变更，依据哪个决定。",
        "Every version of this item: when and why it changed, by which decision.",
    ),
    "history.version": ("版本", "Version"),
    "history.time": ("时间", "Time"),
    "history.what": ("变更", "What happened"),
    "history.decision": ("依据", "Decision"),
    "history.note": ("变更说明", "Change note"),
    "history.fields": ("修改内容", "Fields changed"),
    "history.more": ("等 {n} 项", "and {n} more"),
    "history.reviewed": ("经审核发布", "Published after review"),
    "history.took_effect": ("{event}生效", "{event}: took effect"),
    "history.effective": ("生效日期：{date}", "Effective {date}"),
    "history.shown": (
        "仅显示最近 {n} 个版本（共 {total} 个）；全部版本见接口 /api/v1/items/{code}/versions。",
        "The newest {n} of {total} versions; all of them: /api/v1/items/{code}/versions.",
    ),
    "history.back": ("返回办事指南", "Back to the guide"),
    "kind.choice.resume": ("恢复受理（暂停之后）", "Resume (after a suspension)"),
    "kind.choice.reinstate": ("重新启用（已取消的事项）", "Reinstate (a cancelled item)"),
    "kind.help.resume": (
        "事项曾被暂停受理：自生效日期起重新受理申请，编码和内容不变。",
        "The item was suspended: it takes applications again from the effective date, "
        "code and content unchanged.",
    ),
    "kind.help.reinstate": (
        "事项已被取消：以原编码重新设立并恢复办理（例如取消决定被撤销）。",
        "The item was cancelled: it is set up again under its own code and taken up again "
        "(e.g. the cancellation was revoked).",
    ),
}
