"""The words the citizens' guide and checklist use for what the catalogue does not know
(未公布, 待完善) and for materials needed only in some situations, in zh-Hans and English
(zh-Hant by OpenCC): part of :data:`app.wording.i18n.MESSAGES`."""

from __future__ import annotations

CITIZEN: dict[str, tuple[str, str]] = {
    "unknown": ("未公布", "Not published"),
    "unknown.fix": ("我要纠错", "Report a correction"),
    "incomplete.title": ("办事指南待完善", "This guide is incomplete"),
    "incomplete.intro": (
        "本事项由{dept}办理。目录尚未收录它的办事指南：标为“未公布”的内容不代表没有，"
        "请在办理前向{dept}咨询。",
        "{dept} handles this item. The catalogue does not hold its guide yet: what is marked "
        "“Not published” is unknown, not absent; ask {dept} before you go.",
    ),
    "incomplete.ask": (
        "知道正确的信息？请告诉我们。",
        "Do you know the right information? Tell us.",
    ),
    "guide.fees.unknown_standard": (
        "收费，收费标准未公布",
        "A fee is charged; its standard is not published",
    ),
    "checklist.total.unknown": ("合计金额未公布", "Total not published"),
    "material.required_when": ("仅在{x}时需要", "Only when {x}"),
    "material.optional.unsaid": (
        "非必要（指南未说明何时需要）",
        "Optional (the guide does not say when it is needed)",
    ),
}
