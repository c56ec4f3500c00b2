"""The item page (GET /items/{code}, HTML) against the JSON read of the same item
(GET /api/v1/items/{code}): the page should take at most twice as long.

    .venv/bin/python bench/pages.py [--seconds 8] [--connections 16] [--rounds 3]

Builds a seeded SQLite catalogue in a temporary folder, serves it with one uvicorn worker
and drives both paths over every seeded item with bench/loadgen.py from another process,
alternating rounds so that both see the same machine noise. Prints requests/s, p50/p99 and
the ratio JSON/page of requests/s (target: <= 2.0), all from the same run. ``render`` is the
page rendered anew every time (a query parameter keeps it out of the rendered-page cache):
what a first view of each version of each item costs. Every page is viewed once before
the timed rounds (a loaded host may not render all of them in the 2 s warm-up, and a
first view is what ``render`` measures).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import compare, seeded_database, server  # noqa: E402

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
            for path in targets["page"]:  # every page kept once: the warm-up is timed
                urllib.request.urlopen(base + path).read()
            print(
                f"sqlite: {len(codes)} seeded items, {args.connections} connections, "
                f"{args.rounds} rounds of {args.seconds:g}s, one uvicorn worker (medians)"
            )
            summary = compare(port, targets, args.connections, args.seconds, args.rounds)
    ratio = summary["json"]["rps"] / summary["page"]["rps"]
    p50 = summary["page"]["p50_ms"] / summary["json"]["p50_ms"]
    verdict = "ok" if ratio <= TARGET else "over"
    print(
        f"  page cost / JSON read: {ratio:.2f} by req/s, {p50:.2f} by p50 (target <= {TARGET}: {verdict})"
    )


if __name__ == "__main__":
    main()
