"""Quality rules (标准管理): the whole-catalogue evaluation at 100,000 items, and what one
write pays for its rules.

    .venv/bin/python bench/quality.py [--items 100000] [--writes 200] [--database-url URL]

Builds a seeded catalogue (SQLite in a temporary folder unless --database-url names an
empty PostgreSQL database) and adds --items new implementations through the bulk path (as
bench/sync.py; their findings are recorded as they are written, and the time of that is
printed with and without the rules, on the first 10,000). Then ``evaluate_all`` (what
``catalogue quality`` runs) over the whole catalogue in a child process: seconds and its
peak RSS. Last, --writes single item writes (``replace_item``, a FAQ answer changed each
time, one transaction each) with the rules' hook and as many without: p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export import peak_rss_kib  # noqa: E402


def child(url: str) -> None:
    """The whole-catalogue evaluation, in this process; prints its figures as JSON."""
    from sqlmodel import Session

    from app.db import for_writing, make_engine
    from app.quality.findings import evaluate_all

    engine = make_engine(url)
    with Session(for_writing(engine)) as session:
        session.connection()
        before = peak_rss_kib()
        t = time.perf_counter()
        done = evaluate_all(session)
        session.commit()
        seconds = time.perf_counter() - t
    print(
        json.dumps(
            {
                "items": done.items,
                "added": done.added,
                "removed": done.removed,
                "seconds": seconds,
                "peak_rss_mib": peak_rss_kib() / 1024,
                "rss_before_mib": before / 1024,
            }
        )
    )


def hooked(on: bool) -> None:
    """The rules' hook on the version log, on or off (in this process)."""
    import app.catalogue.items  # noqa: F401  (registers the hook: then it is taken off)
    from app import versionlog
    from app.quality.findings import on_item_versions

    hooks = versionlog._ON_RECORDED.setdefault("item", [])
    if on and on_item_versions not in hooks:
        hooks.append(on_item_versions)
    if not on and on_item_versions in hooks:
        hooks.remove(on_item_versions)


def writes(engine: Any, n: int) -> list[float]:
    """n single writes of seed items (a FAQ answer changed), one transaction each: ms."""
    import orjson
    from sqlalchemy import select
    from sqlmodel import Session

    from app.catalogue.documents import item_input
    from app.catalogue.items import replace_item
    from app.catalogue.models import Implementation
    from app.catalogue.reads import SessionSnapshots, get_item_json
    from app.catalogue.schemas import ImplementationIn
    from app.db import for_writing
    from app.security import Principal

    actor = Principal(name="bench-quality", role="admin")
    with Session(engine) as session:
        codes = list(
            session.scalars(
                select(Implementation.code)
                .where(Implementation.status == "1")
                .order_by(Implementation.code)
                .limit(50)
            )
        )
    out = []
    for i in range(n):
        code = codes[i % len(codes)]
        with Session(for_writing(engine)) as session:
            doc = item_input(orjson.loads(get_item_json(SessionSnapshots(session), code)[1]))
            doc["guide"]["faq"] = [
                {"question": "多久办结？", "answer": f"第{time.time_ns()}号答复"}
            ]
            data = ImplementationIn.model_validate(doc)
            t = time.perf_counter()
            replace_item(session, code, data, actor)
            session.commit()
            out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--database-url")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url)
        return

    from bench.sync import bodies, build, bulk

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/quality.db"
        engine = build(url)
        rows = bodies(engine, args.items)
        for i, row in enumerate(rows):  # findings to keep: an address or a phone cut short
            guide = row.get("guide") or {}
            if i % 3 == 0 and guide.get("windows"):
                guide["windows"][0]["address"] = "一楼"
            if i % 5 == 0 and guide.get("consultation"):
                guide["consultation"][0]["phone"] = "8676"
        first = min(10_000, len(rows) // 2)
        hooked(False)
        t = time.perf_counter()
        bulk(engine, rows[:first])
        without = time.perf_counter() - t
        hooked(True)
        t = time.perf_counter()
        bulk(engine, rows[first : 2 * first])
        with_rules = time.perf_counter() - t
        print(
            f"bulk writes of {first:,} items: {without:.1f} s without the rules, "
            f"{with_rules:.1f} s with them ({with_rules / without:.2f}x)"
        )
        t = time.perf_counter()
        bulk(engine, rows[2 * first :])
        print(f"added the other {len(rows) - 2 * first:,} in {time.perf_counter() - t:.1f} s")

        ran = subprocess.run(
            [sys.executable, __file__, "--child", "--database-url", url],
            capture_output=True,
            text=True,
            check=True,
        )
        f = json.loads(ran.stdout.strip().splitlines()[-1])
        print(
            f"whole-catalogue evaluation of {f['items']:,} items: {f['seconds']:.1f} s "
            f"({f['items'] / f['seconds']:,.0f} items/s), {f['added']:,} findings new, "
            f"{f['removed']:,} fixed (the first {first:,} had none yet); peak RSS "
            f"{f['peak_rss_mib']:.0f} MiB ({f['rss_before_mib']:.0f} before)"
        )
        figures = {}
        for on in (False, True, False, True):
            hooked(on)
            ms = writes(engine, args.writes // 2)
            figures.setdefault(on, []).extend(ms)
        for on, ms in figures.items():
            ms.sort()
            print(
                f"single write {'with' if on else 'without'} the rules: p50 "
                f"{statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms "
                f"({len(ms)} writes)"
            )
        print(hook_cost(engine, args.writes))
        engine.dispose()


def hook_cost(engine: Any, n: int) -> str:
    """What the hook itself costs a write: ``evaluate`` of one item's representation (the
    rules, the read of its findings, their changes, the day's counts when they changed), n
    times over seed items, each an item whose address was cut short and then restored."""
    import orjson
    from sqlalchemy import select
    from sqlmodel import Session

    from app.catalogue.models import Implementation
    from app.catalogue.reads import SessionSnapshots, get_item_json
    from app.quality.findings import context, evaluate

    with Session(engine) as session:
        codes = list(
            session.scalars(select(Implementation.code).order_by(Implementation.code).limit(n))
        )
        ctx = context(session)
        docs = [orjson.loads(get_item_json(SessionSnapshots(session), c)[1]) for c in codes]
        same, changed = [], []
        for doc in docs:
            t = time.perf_counter()
            evaluate(session, [doc], ctx)
            same.append((time.perf_counter() - t) * 1000)
            broken = {**doc, "guide": {**(doc.get("guide") or {}), "consultation": []}}
            t = time.perf_counter()
            evaluate(session, [broken], ctx)
            changed.append((time.perf_counter() - t) * 1000)
        session.rollback()
    return (
        f"the rules' hook on one write: p50 {statistics.median(same):.2f} ms when its findings "
        f"stay, {statistics.median(changed):.2f} ms when one is added (and the day's counts "
        f"rewritten), over {len(docs)} items"
    )


if __name__ == "__main__":
    main()
