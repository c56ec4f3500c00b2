"""What the catalogue has published of an item, and what it has not (未公布).

An item imported from a listing is 待完善: it has no guide, no materials and no fees yet.
Its empty lists mean "not known", not "none": no fee is not 不收费, no window is not "no
place to go". A complete item's guide says whether it charges (``charges_fee``), so there
an empty fee list is 不收费, unless the guide says it charges (then the standard is unknown).
Readers (pages, the checklist) show an unknown part as unknown, never as 0, 否 or 不收费.
"""

from __future__ import annotations

from typing import Any

from app.catalogue.statuses import STATUS_INCOMPLETE

#: the parts of a checklist (and of the guide) that may be unknown, in the checklist's order
PARTS = (
    "materials",
    "fees",
    "legal_time_limit",
    "promised_time_limit",
    "process",
    "windows",
    "online",
    "visits",
)


def incomplete(doc: dict[str, Any]) -> bool:
    """待完善: imported without a guide (or still marked so)."""
    return doc.get("status") == STATUS_INCOMPLETE or not doc.get("guide")


def fees_known(doc: dict[str, Any]) -> bool:
    """Whether the item's fees are known: listed, or a guide that says it charges nothing."""
    if doc.get("fees"):
        return True
    guide = doc.get("guide")
    return bool(guide) and not guide.get("charges_fee")


def unknown_parts(doc: dict[str, Any]) -> list[str]:
    """The parts of :data:`PARTS` the item does not state (empty or absent)."""
    guide = doc.get("guide") or {}
    out = []
    for part in PARTS:
        if part == "fees":
            known = fees_known(doc)
        elif part == "materials":
            known = bool(doc.get("materials"))
        else:
            value = guide.get(part)
            known = value is not None and value != [] and value != {}
        if not known:
            out.append(part)
    return out
