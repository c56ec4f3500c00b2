"""GET /api/v1/items/{code} against a bare endpoint returning the same bytes from memory.

    .venv/bin/python bench/read.py [--seconds 10] [--connections 32] [--rounds 3]

Builds a seeded SQLite catalogue in a temporary folder, serves it with one uvicorn worker
(the app plus a ``/bare/{code}`` route) and drives both with bench/loadgen.py from another
process, alternating rounds so that both see the same machine noise. Prints requests/s,
p50/p99 and the ratio item/bare (target: ratio >= 0.8, p99 <= 25 ms at 32 connections).
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


def create() -> object:
    """The app under test plus the bare baseline route (uvicorn factory)."""
    from fastapi import Response
    from sqlmodel import Session, select

    from app.catalogue.models import Implementation
    from app.catalogue.service import SessionSnapshots, get_item_json
    from app.db import get_engine
    from app.main import create_app

    app = create_app()
    with Session(get_engine()) as session:
        cache = {
            code: get_item_json(SessionSnapshots(session), code)[1].encode()
            for code in session.exec(select(Implementation.code))
        }

    @app.get("/bare/{code}")
    async def bare(code: str) -> Response:
        return Response(cache[code], media_type="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        seeded_database(url)
        with server(url, "bench.read:create") as port:
            base = f"http://127.0.0.1:{port}"
            page = json.load(urllib.request.urlopen(f"{base}/api/v1/items?limit=1000"))
            codes = [i["code"] for i in page["items"]]
            targets = {
                "bare": [f"/bare/{c}" for c in codes],
                "item": [f"/api/v1/items/{c}" for c in codes],
            }
            results: dict[str, list[dict[str, float]]] = {"bare": [], "item": []}
            for paths in targets.values():  # warm-up
                load(port, paths, args.connections, 2)
            for _ in range(args.rounds):
                for name, paths in targets.items():
                    results[name].append(load(port, paths, args.connections, args.seconds))

    summary = {}
    for name, runs in results.items():
        summary[name] = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
        }
    print(
        f"GET /items/{{code}}, {len(codes)} seeded items, {args.connections} connections, "
        f"{args.rounds} rounds of {args.seconds:g}s, one uvicorn worker (medians)"
    )
    for name, s in summary.items():
        print(
            f"  {name:5s} {s['rps']:8.0f} req/s  p50 {s['p50_ms']:6.2f} ms  p99 {s['p99_ms']:6.2f} ms  errors {s['errors']}"
        )
    ratio = summary["item"]["rps"] / summary["bare"]["rps"]
    print(
        f"  ratio item/bare: {ratio:.2f} (target >= 0.8); item p99 {summary['item']['p99_ms']:.1f} ms (target <= 25)"
    )


if __name__ == "__main__":
    main()
