"""What the ``catalogue`` command's modules share: exit codes and the progress bar."""

from __future__ import annotations

import sys

# exit codes of `catalogue sync`, `catalogue import` and `catalogue doctor`, for scripts
EXIT_UNREACHABLE = 1
EXIT_REJECTED = 2
EXIT_DIFFERENT = 3
#: `sync pull`: a change (or the directory) holds what this copy cannot store
EXIT_CANNOT_STORE = 4
#: `doctor`: stored text that the text policy refuses (app.doctor.EXIT_FINDINGS)
EXIT_FINDINGS = 4


def progress_bar(label: str):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
        disable=not sys.stderr.isatty(),
        console=None,
    )
