"""Item statuses (事项状态): the code list's codes as an enum, and their labels."""

from __future__ import annotations

from enum import StrEnum


class ItemStatus(StrEnum):
    """The status of an implementation (and of a catalogue entry: 在用 or 待完善). A
    ``StrEnum``: stored, compared and serialised as the code list's code."""

    ACTIVE = "1"  # 在用
    SUSPENDED = "2"  # 暂停
    CANCELLED = "3"  # 取消
    PENDING = "4"  # 待承接: delegated, not accepted yet
    DELEGATED = "5"  # 已下放
    MERGED = "6"  # 已合并
    #: 待完善: imported from a listing without guide, legal basis or materials; a full write
    #: (PUT) completes it
    INCOMPLETE = "7"


STATUS_CANCELLED = ItemStatus.CANCELLED
STATUS_MERGED = ItemStatus.MERGED
STATUS_PENDING = ItemStatus.PENDING
STATUS_INCOMPLETE = ItemStatus.INCOMPLETE

STATUS_LABELS = {
    ItemStatus.ACTIVE: "在用",
    ItemStatus.SUSPENDED: "暂停",
    ItemStatus.CANCELLED: "取消",
    ItemStatus.PENDING: "待承接",
    ItemStatus.DELEGATED: "已下放",
    ItemStatus.MERGED: "已合并",
    ItemStatus.INCOMPLETE: "待完善",
}
STATUS_LABELS_EN = {s: s.name.lower() for s in ItemStatus}
STATUS_LABELS_EN[ItemStatus.ACTIVE] = "active"
