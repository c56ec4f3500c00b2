"""Item reads while a flood of correction reports (纠错) is refused by the rate limit.

    .venv/bin/python bench/corrections.py [--seconds 8] [--rounds 3] [--connections 16] [--clients 20]

Migrates and seeds a SQLite catalogue in a temporary folder and starts a real ``catalogue
serve`` (uvicorn, one worker, its background threads on, the default rate limit of 5
reports a minute and 50 a day per address). Reads come from bench/loadgen.py in its own
process: GET /api/v1/items/{code} over a handful of seeded codes on 16 keep-alive
connections. The flood comes from this process: 20 clients, each from an address of its
own (127.0.0.10, .11, …: the limit is per address), POSTing valid reports with a contact
in a loop on keep-alive connections as fast as they are answered, so that after each
client's first five nearly every answer is 429.

Idle and flood rounds alternate so that both see the same machine noise; the figures are
medians over rounds. Prints the read p99 idle and under the flood, their ratio (target
<= 1.5), the answers the flood got and how many reports were stored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import catalogue_serve, load, seeded_database  # noqa: E402

HOST = "127.0.0.1"
TARGET_RATIO = 1.5  # read p99 under the flood / read p99 idle


class Flood:
    """``clients`` reporters, each from its own loopback address, POSTing reports in a
    loop between ``start()`` and ``stop()`` (in a thread with its own event loop)."""

    def __init__(self, port: int, codes: list[str], clients: int) -> None:
        self.port = port
        self.codes = codes
        self.clients = clients
        self.statuses: Counter[int] = Counter()
        self.sent = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    async def _run(self) -> None:
        start = time.perf_counter()
        await asyncio.gather(*(self._client(n) for n in range(self.clients)))
        self.seconds += time.perf_counter() - start

    async def _client(self, n: int) -> None:
        address = f"127.0.0.{10 + n}"
        reader = writer = None
        i = 0
        while not self._stop.is_set():
            if writer is None:
                reader, writer = await asyncio.open_connection(
                    HOST, self.port, local_addr=(address, 0)
                )
            code = self.codes[(n + i) % len(self.codes)]
            i += 1
            body = json.dumps(
                {
                    "field": "guide.windows.0.phone",
                    "suggested": f"0451-8{n:03d}{i:04d}",
                    "text": f"窗口电话打不通（第 {i} 次）",
                    "contact": f"1380013{n:04d} reporter{n}@example.com",
                },
                ensure_ascii=False,
            ).encode()
            writer.write(
                (
                    f"POST /api/v1/items/{code}/corrections HTTP/1.1\r\nHost: {HOST}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"connection" and b"close" in value.lower():
                    close = True
            if length:
                await reader.readexactly(length)
            self.statuses[int(head[9:12])] += 1
            self.sent += 1
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()


def stored_reports(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT count(*) FROM correction").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8, help="each measuring round")
    parser.add_argument("--rounds", type=int, default=3, help="idle/flood round pairs")
    parser.add_argument("--connections", type=int, default=16, help="read connections")
    parser.add_argument("--clients", type=int, default=20, help="reporting clients")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "corrections.db"
        url = f"sqlite:///{db}"
        seeded_database(url)
        with catalogue_serve(url, Path(tmp) / "serve.log") as (port, _):
            page = json.load(urllib.request.urlopen(f"http://{HOST}:{port}/api/v1/items?limit=100"))
            codes = [i["code"] for i in page["items"]]
            reads = [f"/api/v1/items/{c}" for c in codes[:8]]
            flood = Flood(port, codes[8:40], args.clients)

            load(port, reads, args.connections, 2)  # warm-up
            idle: list[dict[str, float]] = []
            flooded: list[dict[str, float]] = []
            for _ in range(args.rounds):
                idle.append(load(port, reads, args.connections, args.seconds))
                flood.start()
                time.sleep(0.5)  # the flood in full swing before measuring
                flooded.append(load(port, reads, args.connections, args.seconds))
                flood.stop()
        stored = stored_reports(db)

    idle_p99 = statistics.median(r["p99_ms"] for r in idle)
    flood_p99 = statistics.median(r["p99_ms"] for r in flooded)
    ratio = flood_p99 / idle_p99
    answers = ", ".join(f"{s}×{n}" for s, n in sorted(flood.statuses.items()))
    print(
        f"catalogue serve (uvicorn, 1 worker) on a seeded SQLite copy; {args.rounds} idle/flood "
        f"round pairs of {args.seconds:g} s (medians); reads: {args.connections} connections "
        f"from bench/loadgen.py; flood: {args.clients} clients from their own addresses"
    )
    print(
        f"  read p99 idle        {idle_p99:7.2f} ms   ({statistics.median(r['rps'] for r in idle):.0f} req/s)"
    )
    print(
        f"  read p99 under flood {flood_p99:7.2f} ms   ({statistics.median(r['rps'] for r in flooded):.0f} req/s)"
    )
    print(
        f"  ratio                {ratio:7.2f}      target <= {TARGET_RATIO}: "
        + ("PASS" if ratio <= TARGET_RATIO else "FAIL")
    )
    print(
        f"  flood: {flood.sent} reports sent ({flood.sent / max(flood.seconds, 1e-9):.0f}/s), "
        f"answers {answers}; {stored} stored"
    )
    errors = sum(r["errors"] for r in idle + flooded)
    if errors:
        print(f"  read errors: {errors}")


if __name__ == "__main__":
    main()
