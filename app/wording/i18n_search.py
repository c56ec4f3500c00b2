"""The search page's words (搜索页): grouped province-wide hits, incomplete items, a region
the catalogue holds nothing of. Merged into ``app.wording.i18n.MESSAGES``."""

from __future__ import annotations

SEARCH: dict[str, tuple[str, str]] = {
    "search.regions": ("{n} 个地区办理", "Handled in {n} regions"),
    "search.choose_region": ("选择您所在的地区", "Choose your region"),
    "search.see_all": ("查看全部 {n} 个地区", "See all {n} regions"),
    "search.grouped": (
        "全省搜索：每个事项只列一次；选择地区可看到当地办理的部门和指南。",
        "Province-wide: each item is listed once; choose a region to see who handles it there.",
    ),
    "search.incomplete": ("待完善", "Incomplete"),
    "search.incomplete.note": (
        "办事指南待完善，可向办理部门咨询",
        "Guide incomplete: ask the department",
    ),
    "search.region_without_items": (
        "本目录中没有「{name}」的事项，下面不列其他地区的结果。",
        "The catalogue holds no items of {name}; no other region's results are shown.",
    ),
    "search.region_unknown": (
        "没有编码为「{code}」的地区，请重新选择。",
        "There is no region with the code {code}; please choose again.",
    ),
}
