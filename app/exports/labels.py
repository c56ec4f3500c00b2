"""Code-list and region labels for the exports (a code and its label side by side)."""

from __future__ import annotations

from sqlmodel import Session, select

from app.directory.models import CodeListEntry, Region
from app.directory.service import CodeLists


class Labels:
    """Code-list labels (the lists are rows of ``code_list_entry``), read once an export."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.lists = CodeLists(session)
        self._regions: dict[str, str | None] = {}
        self._cities: list[str] | None = None

    def region_name(self, code: str) -> str | None:
        """The name of a region (GB/T 2260), e.g. of a province for its code + 0000."""
        if code not in self._regions:
            region = self.session.get(Region, code)
            self._regions[code] = region.name if region is not None else None
        return self._regions[code]

    def city_of(self, region: str, address: str | None) -> str | None:
        """The city (地级市) a window is in: the region's own prefecture when the region is
        one or below one; for a province's item, the prefecture its address begins with
        (after the province's name); unknown (None) when neither says."""
        if region[2:4] != "00":
            return self.region_name(region[:4] + "00")
        if not address:
            return None
        if self._cities is None:
            rows = self.session.exec(
                select(Region.name).where(Region.parent_code == region, Region.level == 2)
            )
            self._cities = [n for n in rows if n]
        text = address.removeprefix(self.region_name(region) or "")
        return next((n for n in self._cities if text.startswith(n)), None)

    def entries(self, list_name: str) -> list[str]:
        """Every value of a code list as a coded cell shows it (``01 行政许可``)."""
        rows = self.session.exec(
            select(CodeListEntry.code)
            .where(CodeListEntry.list_name == list_name)
            .order_by(CodeListEntry.code)
        )
        return [v for v in (self.coded(list_name, code) for code in rows) if v]

    def label(self, list_name: str, code: str | None) -> str | None:
        return self.lists.label(list_name, code) if code is not None else None

    def coded(self, list_name: str, code: str | None) -> str | None:
        """``01 行政许可``: the code with its label beside it (the code alone when the
        label is the code, as for 原件, or when the list does not know it)."""
        if code is None:
            return None
        label = self.lists.label(list_name, code)
        return code if not label or label == code else f"{code} {label}"
