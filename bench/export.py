"""Exports in bounded memory: the 清单 workbook (XLSX) and CSV of 10,000 and of 100,000
implementations, each in a process of its own, with its peak RSS and rows/s.

    .venv/bin/python bench/export.py [--items 100000] [--small 10000] [--database-url URL]

Builds a seeded catalogue (SQLite in a temporary folder unless --database-url names an
empty PostgreSQL database) and adds --small new implementations through the bulk path
(``apply_bulk``, as bench/sync.py); exports them; adds the rest up to --items; exports
again. The baseline is the same run's smaller export: bounded memory means the peak RSS of
the 10x larger export stays about the same (ratio ≈ 1), while time grows with the rows.
Each export runs ``export_chunks`` (what ``catalogue export`` and GET /exports/... run)
into a file in a child process, whose peak RSS (VmHWM) is its own; the child's peak before
exporting (the app imported, the database opened) is printed too.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_kib() -> int:
    """This process's peak resident set (KiB). Linux's ``ru_maxrss`` of an exec'd child
    carries the parent's peak at fork (the kernel keeps it across exec), so the kernel's
    high-water mark of this very image (VmHWM) is read where there is one."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(url: str, fmt: str, out: str) -> None:
    """One export, in this process; prints its figures as JSON."""
    from sqlmodel import Session

    from app.db import make_engine
    from app.exports.service import Scope, export_chunks

    engine = make_engine(url)
    with Session(engine) as session:
        session.connection()
        before = peak_rss_kib()
        written = 0

        def count(n: int) -> None:
            nonlocal written
            written += n

        t = time.perf_counter()
        size = 0
        with open(out, "wb") as f:
            for chunk in export_chunks(session, fmt, Scope(), progress=count):
                size += len(chunk)
                f.write(chunk)
        seconds = time.perf_counter() - t
    peak = peak_rss_kib()
    print(
        json.dumps(
            {
                "format": fmt,
                "items": written,
                "seconds": seconds,
                "items_per_s": written / seconds,
                "bytes": size,
                "rss_before_mib": before / 1024,
                "peak_rss_mib": peak / 1024,
            }
        )
    )


def measure(url: str, fmt: str, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", fmt, "--database-url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"CATALOGUE_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin", "OUT": str(folder)},
    )
    if done.returncode:
        sys.exit(f"export {fmt} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows_of(url: str) -> dict[str, int]:
    """Rows of each sheet: what an export of the items writes."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from app.catalogue.models import Implementation, ItemFee, ItemMaterial
    from app.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        return {
            name: session.execute(select(func.count()).select_from(model)).scalar_one()
            for name, model in (
                ("items", Implementation),
                ("materials", ItemMaterial),
                ("fees", ItemFee),
            )
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--database-url")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import os

        child(args.database_url, args.child, str(Path(os.environ["OUT"]) / f"out.{args.child}"))
        return

    from bench.sync import bodies, build, bulk

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder}/export.db"
        engine = build(url)
        rows = bodies(engine, args.items)
        results: list[tuple[int, dict[str, int], dict[str, Any]]] = []
        done = 0
        for target in (args.small, args.items):
            t = time.perf_counter()
            _, totals = bulk(engine, rows[done:target])
            assert totals["created"] == target - done, totals
            print(f"added {target - done} implementations in {time.perf_counter() - t:.1f} s")
            done = target
            counts = rows_of(url)
            figures = {fmt: measure(url, fmt, folder) for fmt in ("xlsx", "csv")}
            results.append((counts["items"], counts, figures))
            for fmt, f in figures.items():
                print(
                    f"{fmt:4} {f['items']:>7,} items ({counts['materials']:,} materials, "
                    f"{counts['fees']:,} fees): {f['seconds']:.1f} s, {f['items_per_s']:,.0f} "
                    f"items/s, {f['bytes'] / 2**20:,.1f} MiB written, peak RSS "
                    f"{f['peak_rss_mib']:.0f} MiB ({f['rss_before_mib']:.0f} before exporting)"
                )
        (small_n, _, small), (large_n, _, large) = results
        for fmt in ("xlsx", "csv"):
            s, big = small[fmt], large[fmt]
            print(
                f"{fmt}: {large_n / small_n:.1f}x the items; peak RSS {big['peak_rss_mib']:.0f} / "
                f"{s['peak_rss_mib']:.0f} MiB = {big['peak_rss_mib'] / s['peak_rss_mib']:.2f}x; "
                f"growth during the export {big['peak_rss_mib'] - big['rss_before_mib']:.0f} / "
                f"{s['peak_rss_mib'] - s['rss_before_mib']:.0f} MiB; "
                f"rate {big['items_per_s'] / s['items_per_s']:.2f}x"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
