"""What an import may cost, and the errors that stop one.

:class:`Limits` are the settings (``CATALOGUE_IMPORT_MAX_*``); a :class:`Budget` counts
an import's rows and cells as it reads and watches its wall and CPU seconds and its cancel.
A limit passed stops the import with :class:`ImportLimit`, naming its rule and setting; a
file that is not what its format says, or is broken, with :class:`FileRefused`
(:mod:`app.sync.import_files` checks the file itself)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.config import get_settings

#: seconds between two looks at a job's cancel
CANCEL_POLL = 1.0


class ImportError_(ValueError):
    """The file cannot be read at all (as opposed to rows that are rejected)."""


class FileRefused(ImportError_):
    """A file that is not what its format says (``unsupported``: another kind of file) or
    that is broken; ``rule`` names the check."""

    def __init__(self, rule: str, message: str, *, unsupported: bool = False) -> None:
        super().__init__(message)
        self.rule = rule
        self.unsupported = unsupported


class ImportLimit(ImportError_):
    """A limit passed: ``rule`` names it, ``row`` is where reading stopped (if known);
    ``partial`` holds what the import had done before it stopped."""

    def __init__(self, name: str, message: str, *, row: int | None = None, setting: bool = True):
        rule = f"import.{name}"
        if setting:
            message += f" (CATALOGUE_IMPORT_{name.upper()})"
        super().__init__(message)
        self.rule = rule
        self.row = row
        self.partial: dict[str, Any] | None = None


class Cancelled(Exception):
    """The job's cancel was seen; ``partial`` as for :class:`ImportLimit`."""

    partial: dict[str, Any] | None = None


@dataclass(frozen=True)
class Limits:
    max_rows: int
    max_cells: int
    max_unpacked_bytes: int
    max_ratio: float
    max_seconds: float
    max_cpu_seconds: float
    max_strings: int

    @classmethod
    def from_settings(cls) -> Limits:
        s = get_settings()
        return cls(
            max_rows=s.import_max_rows,
            max_cells=s.import_max_cells,
            max_unpacked_bytes=s.import_max_unpacked_bytes,
            max_ratio=s.import_max_ratio,
            max_seconds=s.import_max_seconds,
            max_cpu_seconds=s.import_max_cpu_seconds,
            max_strings=s.import_max_strings,
        )


class Budget:
    """What one import may still spend, checked as it reads: rows (of each sheet or file)
    and cells (all together) counted, wall and CPU seconds since it started (CPU: of the
    thread that made the budget, which reads), and a cancel, asked every
    :data:`CANCEL_POLL` seconds at most of ``cancelled``."""

    def __init__(self, limits: Limits, cancelled: Callable[[], bool] | None = None) -> None:
        self.limits = limits
        self.cells = 0
        self._cancelled = cancelled
        self._started = self._polled = time.monotonic()
        self._cpu = time.thread_time()

    def fork(self) -> Budget:
        """A budget of the same limits, clock and cancel that counts rows and cells anew,
        for a pass that counts a file before it is read."""
        other = copy.copy(self)
        other.cells = 0
        return other

    def row(self, n: int, cells: int) -> None:
        """Row ``n`` of a sheet or file, spanning ``cells`` cells, is being read."""
        if n > self.limits.max_rows:
            raise too_many_rows(n, self.limits)
        self.cells += cells
        if self.cells > self.limits.max_cells:
            raise too_many_cells(n, self.limits)
        self.check()

    def check(self, *, cancel: bool = False) -> None:
        """Stop when the seconds are spent or a cancel is asked (``cancel``: ask now)."""
        now = time.monotonic()
        if now - self._started > self.limits.max_seconds:
            raise ImportLimit(
                "max_seconds", f"the import ran longer than {self.limits.max_seconds:g} s"
            )
        if time.thread_time() - self._cpu > self.limits.max_cpu_seconds:
            raise ImportLimit(
                "max_cpu_seconds",
                f"the import used more than {self.limits.max_cpu_seconds:g} s of CPU time",
            )
        if self._cancelled is not None and (cancel or now - self._polled >= CANCEL_POLL):
            self._polled = now
            if self._cancelled():
                raise Cancelled()


def too_many_rows(row: int, limits: Limits, where: str = "") -> ImportLimit:
    return ImportLimit(
        "max_rows", f"{where}row {row:,} passes the limit of {limits.max_rows:,} rows", row=row
    )


def too_many_cells(row: int, limits: Limits, where: str = "") -> ImportLimit:
    return ImportLimit(
        "max_cells", f"{where}row {row:,} passes the limit of {limits.max_cells:,} cells", row=row
    )
