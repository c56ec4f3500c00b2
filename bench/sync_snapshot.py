"""A copy's start: the snapshot (GET /sync/snapshot) against catching up from the feed
(GET /changes from 0), over HTTP from one uvicorn worker, raw and gzip-coded.

    .venv/bin/python bench/sync_snapshot.py [--items 100000] [--database-url URL ...]

For each database (SQLite in a temporary folder, and each PostgreSQL server given): seeds
a catalogue and adds N implementations (``apply_bulk``, as bench/sync.py), then each
implementation is edited once more (a feed that has history beyond the catalogue), then
reads over HTTP, counting the bytes on the wire, the seconds, and the serving process's
peak RSS growth (VmHWM) during the read:
  1. the snapshot of the items, streamed (``Accept-Encoding: identity``, then ``gzip``);
  2. the feed from seq 0 to the head, 1,000 changes a page (identity, then gzip).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _hwm(pid: int) -> int:
    """Peak resident set of ``pid`` so far, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def history(engine: Any, rows: list[dict[str, Any]], rounds: int) -> None:
    """Every item sent again ``rounds`` times with another local code: a version each."""
    from bench.sync import bulk

    for n in range(rounds):
        mark = f"R{n}"
        bulk(engine, [{**r, "local_code": f"{mark}-{i}"} for i, r in enumerate(rows)])


def read(port: int, pid: int, path: str, coding: str, pages: bool) -> dict[str, float]:
    """Bytes on the wire and decoded, seconds, and the server's peak RSS growth of reading
    ``path`` (a stream, or the feed's pages to the head)."""
    import zlib

    import httpx
    import orjson

    before = max(_hwm(pid), _rss(pid))
    wire = body = 0
    t = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        after = 0
        while True:
            params = {"after": after, "limit": 1000} if pages else {}
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            text = []
            with client.stream(
                "GET", path, params=params, headers={"Accept-Encoding": coding}
            ) as resp:
                resp.raise_for_status()
                coded = resp.headers.get("content-encoding") == "gzip"  # not a short page
                for chunk in resp.iter_raw():
                    wire += len(chunk)
                    plain = inflate.decompress(chunk) if coded else chunk
                    body += len(plain)
                    if pages:
                        text.append(plain)
            if not pages:
                break
            page = orjson.loads(b"".join(text))
            if page["last_seq"] == after:
                break
            after = page["last_seq"]
    return {
        "seconds": time.perf_counter() - t,
        "wire": wire,
        "body": body,
        "peak_mib": max(_hwm(pid) - before, 0) / 1024,
    }


def run(url: str, n: int) -> None:
    from bench.common import server_process
    from bench.sync import bodies, build, bulk

    os.environ["CATALOGUE_LOG_LEVEL"] = "WARNING"
    engine = build(url)
    rows = bodies(engine, n)
    bulk(engine, rows)
    history(engine, rows, 1)
    engine.dispose()
    print(f"snapshot against feed on {url.split(':', 1)[0]}, {n} implementations added")
    with server_process(url) as (port, pid):
        # warm: the first requests' imports and caches are no part of either read
        read(port, pid, "/api/v1/sync/snapshot?region=2301", "gzip", False)
        with __import__("httpx").Client(base_url=f"http://127.0.0.1:{port}") as warm:
            warm.get("/api/v1/changes", params={"limit": 1000})
        for label, path, pages in (
            ("snapshot", "/api/v1/sync/snapshot", False),
            ("feed from 0", "/api/v1/changes", True),
        ):
            for coding in ("identity", "gzip"):
                r = read(port, pid, path, coding, pages)
                print(
                    f"  {label:12} {coding:8} {r['wire'] / 2**20:9.1f} MiB on the wire "
                    f"({r['body'] / 2**20:.1f} MiB JSON)  {r['seconds']:7.1f} s  "
                    f"peak RSS +{r['peak_mib']:.0f} MiB"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--database-url", action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/snapshot.db", args.items)
    for base in args.database_url:
        from bench.common import postgres_database

        with postgres_database(base, f"bench_snapshot_{uuid.uuid4().hex[:6]}") as url:
            run(url, args.items)


if __name__ == "__main__":
    main()
