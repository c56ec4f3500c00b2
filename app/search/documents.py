"""The index document of an item: its representation (GET /items/{code}) analysed, with what
its catalogue entry and department add (see :class:`app.search.analysis.ItemContext`)."""

from __future__ import annotations

from typing import Any

from app.search.analysis import Analyzer, ItemContext
from app.search.vocabulary import HANDLING_KINDS


def item_context(
    item: dict[str, Any],
    *,
    department_short: str | None = None,
    parent_name: str | None = None,
    handling_items: list[dict[str, Any]] | None = None,
    name_en: str | None = None,
) -> ItemContext:
    """What the index takes from an item's representation and its catalogue entry beyond
    the name: the department's names, the main item's name, the guide's results, materials,
    conditions (受理条件) and FAQ, the legal basis (设定依据), the 业务办理项 (as actions) and
    the English name."""
    guide = item.get("guide") or {}
    results = [r.get("name") or "" for r in guide.get("results") or []]
    materials = [m.get("name") or "" for m in item.get("materials") or []]
    faq = [f"{f.get('question') or ''} {f.get('answer') or ''}" for f in guide.get("faq") or []]
    # 设定依据: what the law says the item is for (who must apply, for what), so an everyday
    # description of a need can reach an item that its name does not say; low weight
    basis = [
        f"{b.get('law') or ''} {b.get('text') or ''}"
        for b in item.get("legal_basis") or []
        if isinstance(b, dict)
    ]
    actions = [
        HANDLING_KINDS.get(h.get("kind") or "") or (h.get("name") or "")
        for h in handling_items or []
    ]
    return ItemContext(
        departments=[item["department"]["name"], department_short or ""],
        groups=[parent_name] if parent_name else [],
        guide=[*results, *materials],
        more=[*(guide.get("conditions") or []), *faq, *basis],
        actions=actions,
        name_en=name_en or "",
    )


def item_search_document(
    item: dict[str, Any],
    aliases: list[str],
    analyzer: Analyzer,
    labels: dict[str, dict[str, str]],
    context: ItemContext | None = None,
) -> dict[str, Any]:
    """What the backends index for one item (the representation GET /items returns)."""
    guide = item.get("guide") or {}
    online = bool((guide.get("online") or {}).get("available"))
    doc: dict[str, Any] = {
        "code": item["code"],
        "basic_code": item["basic_code"],
        "name": item["name"],
        "department_code": item["department"]["code"],
        "department_name": item["department"]["name"],
        "region_code": item["region"]["code"],
        "region_name": item["region"]["name"],
        "level": item.get("level") or "",
        "item_type": item["item_type"],
        "audience": list(item.get("audience") or []),
        "themes": list(item.get("themes") or []),
        "online": "true" if online else "false",
        "status": item["status"],
        "version": int(item["version"]),
    }
    doc.update(
        analyzer.document_fields(
            item["name"],
            aliases,
            [item["department"]["name"], item["region"]["name"]],
            context,
        )
    )
    return doc
