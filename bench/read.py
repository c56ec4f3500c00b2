"""GET /api/v1/items/{code} against a bare endpoint returning the same bytes from memory.

    .venv/bin/python bench/read.py [--seconds 10] [--connections 32] [--rounds 3]
        [--database sqlite|postgresql|both] [--postgres-url URL]

Builds a seeded catalogue (SQLite in a temporary folder; PostgreSQL in a throwaway database
on the server at ``--postgres-url``, dropped afterwards), serves it with one uvicorn worker
(the app plus a ``/bare/{code}`` route) and drives both with bench/loadgen.py from another
process, alternating rounds so that both see the same machine noise. Prints requests/s,
p50/p99 and the ratio item/bare per database (targets: ratio >= 0.8 on SQLite, >= 0.6 on
PostgreSQL; p99 <= 25 ms at 32 connections), and a conditional read (``If-None-Match``:
304) against the full read (target: a 304 costs <= 0.5x a full read, in the server's CPU
time per request: at the 304's rates the load generator, not the server, is the limit).
"routed" is the item read through FastAPI's router (a query string skips the fast path in
app/http/responses.py).
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

from bench.common import (  # noqa: E402
    cpu_seconds,
    load,
    postgres_database,
    seeded_database,
    server_process,
)

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def create() -> object:
    """The app under test plus the bare baseline route (uvicorn factory)."""
    from fastapi import Response
    from sqlmodel import Session, select

    from app.catalogue.models import Implementation
    from app.catalogue.reads import SessionSnapshots, get_item_json
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


def measure(url: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    seeded_database(url)
    with server_process(url, "bench.read:create") as (port, pid):
        base = f"http://127.0.0.1:{port}"
        page = json.load(urllib.request.urlopen(f"{base}/api/v1/items?limit=1000"))
        codes = [i["code"] for i in page["items"]]
        tags = {}
        for c in codes:
            with urllib.request.urlopen(f"{base}/api/v1/items/{c}") as r:
                tags[c] = r.headers["ETag"]
        targets = {
            "bare": [f"/bare/{c}" for c in codes],
            "item": [f"/api/v1/items/{c}" for c in codes],
            # the same read through the router (a query string skips the ASGI fast path)
            "routed": [f"/api/v1/items/{c}?via=router" for c in codes],
            # loadgen: METHOD<TAB>path<TAB>body<TAB>header lines (see bench/loadgen.py)
            "304": [f"GET\t/api/v1/items/{c}\t\tIf-None-Match: {tags[c]}" for c in codes],
        }
        results: dict[str, list[dict[str, float]]] = {k: [] for k in targets}
        for paths in targets.values():  # warm-up
            load(port, paths, args.connections, 2)
        for _ in range(args.rounds):
            for name, paths in targets.items():
                before = cpu_seconds(pid)
                run = load(port, paths, args.connections, args.seconds)
                # the server's own CPU per request: what an answer costs, whatever the
                # load generator (itself CPU-bound at the 304's rates) manages to send
                run["cpu_us"] = (cpu_seconds(pid) - before) / run["requests"] * 1e6
                results[name].append(run)
    summary = {}
    for name, runs in results.items():
        summary[name] = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "cpu_us": statistics.median(r["cpu_us"] for r in runs),
            "items": len(codes),
        }
    return summary


def report(database: str, summary: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    print(
        f"{database}: GET /items/{{code}}, {summary['item']['items']:.0f} seeded items, "
        f"{args.connections} connections, {args.rounds} rounds of {args.seconds:g}s, "
        "one uvicorn worker (medians)"
    )
    for name, s in summary.items():
        print(
            f"  {name:6s} {s['rps']:8.0f} req/s  p50 {s['p50_ms']:6.2f} ms  "
            f"p99 {s['p99_ms']:6.2f} ms  server CPU {s['cpu_us']:5.0f} µs/request  "
            f"non-200/304 {s['errors']:.0f}"
        )
    ratio = summary["item"]["rps"] / summary["bare"]["rps"]
    target = 0.8 if database == "sqlite" else 0.6
    print(
        f"  ratio item/bare: {ratio:.2f} (target >= {target}); "
        f"item p99 {summary['item']['p99_ms']:.1f} ms (target <= 25)"
    )
    routed = summary["routed"]["rps"] / summary["bare"]["rps"]
    print(f"  ratio routed/bare: {routed:.2f} (the item read through FastAPI's router)")
    cost = summary["304"]["cpu_us"] / summary["item"]["cpu_us"]
    rate = summary["item"]["rps"] / summary["304"]["rps"]
    print(
        f"  cost of a 304 / a full read: {cost:.2f} in server CPU (target <= 0.5), "
        f"{rate:.2f} in requests/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=PG_DEFAULT)
    args = parser.parse_args()

    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            report("sqlite", measure(f"sqlite:///{tmp}/bench.db", args), args)
    if args.database in ("postgresql", "both"):
        with postgres_database(args.postgres_url, "bench_read") as url:
            report("postgresql", measure(url, args), args)


if __name__ == "__main__":
    main()
