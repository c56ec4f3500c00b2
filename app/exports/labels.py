"""Code-list and region labels for the exports (a code and its label side by side)."""

from __future__ import annotations

from sqlmodel import Session

from app.directory.models import Region
from app.directory.service import CodeLists


class Labels:
    """Code-list labels (the lists are rows of ``code_list_entry``), read once an export."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.lists = CodeLists(session)
        self._regions: dict[str, str | None] = {}

    def region_name(self, code: str) -> str | None:
        """The name of a region (GB/T 2260), e.g. of a province for its code + 0000."""
        if code not in self._regions:
            region = self.session.get(Region, code)
            self._regions[code] = region.name if region is not None else None
        return self._regions[code]

    def label(self, list_name: str, code: str | None) -> str | None:
        return self.lists.label(list_name, code) if code is not None else None

    def coded(self, list_name: str, code: str | None) -> str | None:
        """``01 行政许可``: the code with its label beside it (the code alone when the
        label is the code, as for 原件, or when the list does not know it)."""
        if code is None:
            return None
        label = self.lists.label(list_name, code)
        return code if not label or label == code else f"{code} {label}"
