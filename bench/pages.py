"""The item page (GET /items/{code}, HTML) against the JSON read of the same item
(GET /api/v1/items/{code}): the page should take at most twice as long.

    .venv/bin/python bench/pages.py [--seconds 8] [--connections 16] [--rounds 3]

Builds a seeded SQLite catalogue in a temporary folder, serves it with one uvicorn worker
and drives both paths over every seeded item with bench/loadgen.py from another process,
alternating rounds so that both see the same machine noise. Prints requests/s, p50/p99 and
the ratio JSON/page of requests/s (target: <= 2.0), all from the same run. ``render`` is the
page rendered anew every time (a query parameter keeps it out of the rendered-page cache):
what a first view of each version of each item costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load, seeded_database, server  # noqa: E402

TARGET = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        seeded_database(url)
        with server(url) as port:
            base = f"http://127.0.0.1:{port}"
            listing = json.load(urllib.request.urlopen(f"{base}/api/v1/items?limit=1000"))
            codes = [i["code"] for i in listing["items"]]
            targets = {
                "json": [f"/api/v1/items/{c}" for c in codes],
                "page": [f"/items/{c}" for c in codes],
                # any other parameter makes the page render anew (no rendered-page cache)
                "render": [f"/items/{c}?fresh=1" for c in codes],
            }
            results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for paths in targets.values():  # warm-up: templates compiled, labels read
                load(port, paths, args.connections, 2)
            for _ in range(args.rounds):
                for name, paths in targets.items():
                    results[name].append(load(port, paths, args.connections, args.seconds))

    print(
        f"sqlite: {len(codes)} seeded items, {args.connections} connections, "
        f"{args.rounds} rounds of {args.seconds:g}s, one uvicorn worker (medians)"
    )
    summary = {}
    for name, runs in results.items():
        summary[name] = s = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
        }
        print(
            f"  {name:4s} {s['rps']:8.0f} req/s  p50 {s['p50_ms']:6.2f} ms  "
            f"p99 {s['p99_ms']:6.2f} ms  non-200/304 {s['errors']:.0f}"
        )
    ratio = summary["json"]["rps"] / summary["page"]["rps"]
    p50 = summary["page"]["p50_ms"] / summary["json"]["p50_ms"]
    verdict = "ok" if ratio <= TARGET else "over"
    print(
        f"  page cost / JSON read: {ratio:.2f} by req/s, {p50:.2f} by p50 (target <= {TARGET}: {verdict})"
    )


if __name__ == "__main__":
    main()
