"""Safe at the edge: reads under an abusive client, and SQLite under concurrent writers.

    .venv/bin/python bench/edge.py [--seconds 8] [--rounds 2] [--connections 16] [--writers 8]

Migrates and seeds a SQLite catalogue in a temporary folder, creates an admin key with
``catalogue keys create`` and starts a real ``catalogue serve`` process (uvicorn, one
worker, the search indexer thread on, as in production). The load comes from other
processes: reads from bench/loadgen.py, the abuser and the writers from this one.

(a) read p99: GET /api/v1/items/{code} over a handful of seeded codes, 16 keep-alive
    connections, nothing else going on;
(b) the same while one client without an Authorization header POSTs 50 MB bodies to
    /api/v1/items in a loop: the read p99's ratio to (a), the server's RSS growth
    (VmRSS/VmHWM of /proc/<pid>/status) and the status codes the abuser got;
(c) 8 keep-alive writers, each PATCHing an item of its own with the admin key: write
    p50, p99, their ratio and the number of 503 (database busy) answers.

Idle and abuse rounds alternate so that both see the same machine noise; the figures are
medians over rounds, the ratio the median of each abuse round's p99 over the idle round's
before it. Prints a table with each target and PASS/FAIL (about 70 s in all).

With closed-loop writers the mean write latency is writers / throughput whatever the
order of turns; fair turns make p50 close to that mean and p99 a small multiple of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, catalogue_serve, load, seeded_database  # noqa: E402

HOST = "127.0.0.1"
MB = 1024 * 1024

TARGET_READ_RATIO = 1.5  # p99 under abuse / p99 idle
TARGET_RSS_MB = 50  # server RSS growth while abused
TARGET_WRITE_RATIO = 10  # write p99 / p50
TARGET_BUSY = 0  # 503 answers to the writers


# --- the server ------------------------------------------------------------------------


def admin_key(url: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "create", "--role", "admin", "--name", "bench"],
        cwd=ROOT,
        env=bench_env(url),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found["VmRSS"], found["VmHWM"]


class RssWatch:
    """The server's peak RSS between ``start()`` and ``stop()`` (the abuse rounds), against
    its RSS at the first ``start()``: sampled every 10 ms, and VmHWM (the kernel's own
    peak) when it rose meanwhile, so that a spike between samples is not missed."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = self.peak = 0
        self._hwm = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        rss, self._hwm = rss_kb(self.pid)
        if not self.baseline:
            self.baseline = self.peak = rss
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_kb(self.pid)[0])

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        rss, hwm = rss_kb(self.pid)
        self.peak = max(self.peak, rss, hwm if hwm > self._hwm else 0)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1024


# --- (a), (b): reads, and the abuser -----------------------------------------------------


def read_response(sock: socket.socket, buffered: bytes = b"") -> tuple[int, bool]:
    """One HTTP/1.1 response: (status, whether the connection stays open)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed before a response")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0][9:12])
    length, keep = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, keep


class Abuser:
    """One client without an Authorization header POSTing ``size``-byte JSON bodies to
    /api/v1/items in a loop, in a thread, between ``start()`` and ``stop()`` (again and
    again: the answers add up). It stops sending as soon as an answer arrives (a server
    that refuses before reading the body answers early and closes the connection)."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        filler = size - len(b'{"name":""}')
        self.body = memoryview(b'{"name":"' + b"x" * filler + b'"}')
        self.head = (
            f"POST /api/v1/items HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n\r\n"
        ).encode()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.statuses: Counter[str] = Counter()
        self.answer_s: list[float] = []  # from the first byte sent to the status line
        self.sent: list[int] = []  # body bytes sent before the answer came

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        sock: socket.socket | None = None
        while not self._stop.is_set():
            try:
                if sock is None:
                    sock = socket.create_connection((HOST, self.port))
                    sock.settimeout(60)
                status, keep = self.one(sock)
                self.statuses[str(status)] += 1
            except OSError as exc:  # reset, broken pipe, timeout
                self.statuses[type(exc).__name__] += 1
                keep = False
            if not keep and sock is not None:
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    def one(self, sock: socket.socket) -> tuple[int, bool]:
        start = time.perf_counter()
        sock.sendall(self.head)
        offset, total = 0, len(self.body)
        try:
            while offset < total:
                readable, writable, _ = select.select([sock], [sock], [], 60)
                if readable:
                    break
                if writable:
                    offset += sock.send(self.body[offset : offset + MB])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused and closed between select and send: the answer may be there
        early = offset < total
        status, keep = read_response(sock)
        self.answer_s.append(time.perf_counter() - start)
        self.sent.append(offset)
        return status, keep and not early


# --- (c): writers ----------------------------------------------------------------------


async def writer(
    port: int,
    key: str,
    code: str,
    deadline: float,
    lat: list[float],
    statuses: Counter[int],
    samples: dict[int, str],
) -> None:
    reader, stream = await asyncio.open_connection(HOST, port)
    i = 0
    while time.perf_counter() < deadline:
        i += 1
        body = json.dumps({"guide": {"visits": 1 + i % 2}}).encode()  # always a change
        request = (
            f"PATCH /api/v1/items/{code} HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        start = time.perf_counter()
        stream.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        answer = await reader.readexactly(length) if length else b""
        lat.append(time.perf_counter() - start)
        status = int(head[9:12])
        statuses[status] += 1
        if status != 200:
            samples.setdefault(status, answer[:300].decode(errors="replace"))
    stream.close()


@dataclass
class Writes:
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    per_s: float
    statuses: Counter[int]
    samples: dict[int, str]  # an answer of each status but 200


def write_load(port: int, key: str, codes: list[str], seconds: float) -> Writes:
    lat: list[float] = []
    statuses: Counter[int] = Counter()
    samples: dict[int, str] = {}

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(writer(port, key, c, deadline, lat, statuses, samples) for c in codes)
        )

    asyncio.run(run())
    lat.sort()
    return Writes(
        requests=len(lat),
        p50_ms=statistics.median(lat) * 1000,
        p99_ms=lat[int(len(lat) * 0.99)] * 1000,
        max_ms=lat[-1] * 1000,
        mean_ms=statistics.fmean(lat) * 1000,
        per_s=len(lat) / seconds,
        statuses=statuses,
        samples=samples,
    )


# --- the table -------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6, help="each read round")
    parser.add_argument("--rounds", type=int, default=3, help="idle/abuse round pairs")
    parser.add_argument("--write-seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--body-mb", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/edge.db"
        seeded_database(url)
        key = admin_key(url)
        with catalogue_serve(url, Path(tmp) / "serve.log") as (port, pid):
            page = json.load(urllib.request.urlopen(f"http://{HOST}:{port}/api/v1/items?limit=100"))
            codes = [i["code"] for i in page["items"]]
            reads = [f"/api/v1/items/{c}" for c in codes[:8]]
            mine = codes[8 : 8 + args.writers]
            if len(mine) < args.writers:
                sys.exit(f"only {len(codes)} items seeded")

            load(port, reads, args.connections, 2)  # warm-up
            idle: list[dict[str, float]] = []
            abused: list[dict[str, float]] = []
            abuser = Abuser(port, args.body_mb * MB)
            rss = RssWatch(pid)
            for _ in range(args.rounds):
                idle.append(load(port, reads, args.connections, args.seconds))
                rss.start()
                abuser.start()
                time.sleep(0.5)  # the abuser in full swing before measuring
                abused.append(load(port, reads, args.connections, args.seconds))
                abuser.stop()
                rss.stop()
            write_load(port, key, mine, 1)  # warm-up
            writes = write_load(port, key, mine, args.write_seconds)
            server_log = (Path(tmp) / "serve.log").read_text()

    idle_p99 = statistics.median(r["p99_ms"] for r in idle)
    abuse_p99 = statistics.median(r["p99_ms"] for r in abused)
    # each abuse round against the idle round just before it: the host's drift cancels out
    read_ratio = statistics.median(
        b["p99_ms"] / a["p99_ms"] for a, b in zip(idle, abused, strict=True)
    )
    read_errors = sum(r["errors"] for r in idle + abused)
    write_ratio = writes.p99_ms / writes.p50_ms
    busy = writes.statuses[503]
    answers = ", ".join(f"{s}×{n}" for s, n in sorted(abuser.statuses.items())) or "none"
    only_401 = set(abuser.statuses) == {"401"}
    answer_ms = sorted(t * 1000 for t in abuser.answer_s) or [float("nan")]
    median_sent = statistics.median(abuser.sent) / MB if abuser.sent else float("nan")

    print(
        f"catalogue serve (uvicorn, 1 worker) on a seeded SQLite copy; {args.rounds} idle/abuse "
        f"round pairs of {args.seconds:g} s (medians), writes for {args.write_seconds:g} s; "
        f"load from other processes; host load average {os.getloadavg()[0]:.1f}"
    )
    rows = [
        (
            f"(a) read p99, {args.connections} conns, idle",
            f"{idle_p99:.2f} ms",
            "",
            "",
        ),
        (
            f"(b) read p99, {args.connections} conns, {args.body_mb} MB POST abuser",
            f"{abuse_p99:.2f} ms",
            "",
            "",
        ),
        (
            "    ratio abuse/idle (median of pairs)",
            f"{read_ratio:.2f}",
            f"<= {TARGET_READ_RATIO}",
            verdict(read_ratio <= TARGET_READ_RATIO),
        ),
        (
            "    server RSS growth during abuse",
            f"{rss.growth_mb:.1f} MB",
            f"<= {TARGET_RSS_MB} MB",
            verdict(rss.growth_mb <= TARGET_RSS_MB),
        ),
        ("    abuser's answers", answers, "401 only", verdict(only_401)),
        (
            "    abuser: answer after, body written",
            f"{statistics.median(answer_ms):.1f} ms (max {answer_ms[-1]:.0f}), {median_sent:.1f} MB",
            "",
            "",
        ),
        (
            f"(c) write p50, {args.writers} writers (PATCH)",
            f"{writes.p50_ms:.1f} ms",
            "",
            "",
        ),
        ("    write p99", f"{writes.p99_ms:.1f} ms", "", ""),
        (
            "    ratio p99/p50",
            f"{write_ratio:.1f}",
            f"<= {TARGET_WRITE_RATIO}",
            verdict(write_ratio <= TARGET_WRITE_RATIO),
        ),
        ("    503 answers", f"{busy}", f"{TARGET_BUSY}", verdict(busy <= TARGET_BUSY)),
    ]
    width = max(len(r[0]) for r in rows)
    for name, measured, target, result in rows:
        print(f"  {name:<{width}}  {measured:<30} {target:<10} {result}".rstrip())
    verdicts = [r[3] for r in rows if r[3]]
    print(f"  {verdicts.count('PASS')} of {len(verdicts)} targets met")
    others = {s: n for s, n in writes.statuses.items() if s not in (200, 503)}
    print(
        f"  reads: {sum(int(r['requests']) for r in idle + abused)} requests, "
        f"{read_errors} not 200; writes: {writes.requests} requests ({writes.per_s:.0f}/s), "
        f"mean {writes.mean_ms:.0f} ms, max {writes.max_ms:.0f} ms, "
        f"other statuses {others or 'none'}"
    )
    for status, answer in sorted(writes.samples.items()):
        print(f"  a {status} answer to a writer: {answer}")
    if "Traceback" in server_log:
        print("  the server logged a traceback:\n" + server_log[-3000:])


if __name__ == "__main__":
    main()
