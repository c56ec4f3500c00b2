"""What bench/abuse.py measures with: requests timed from any thread (those left unanswered
counted), an admin writing on a beat, item reads paced from a process of their own, and the
server's RSS with its children's."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.edge import rss_kb  # noqa: E402
from bench.loadgen import request  # noqa: E402

HOST = "127.0.0.1"
#: seconds between two admin writes: enough of them in a window that its p99 is not its
#: single slowest (a WAL checkpoint or an index commit lands in some window or other)
WRITE_EVERY_S = 0.1

# --- clients ---------------------------------------------------------------------------


class Calls:
    """Latencies and answers of one kind of request, from any thread; those still waiting
    when :meth:`close` is called count with their time so far."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lat: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.waiting: dict[int, float] = {}
        self.censored = 0

    def call(
        self, port: int, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        me = threading.get_ident()
        start = self.waiting[me] = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=120)
            conn.request(method, path, body, headers)
            resp = conn.getresponse()
            status, answer = resp.status, resp.read()
            conn.close()
        except OSError as exc:
            status, answer = 0, type(exc).__name__.encode()
        with self.lock:
            if self.waiting.pop(me, None) is not None:
                self.lat.append(time.perf_counter() - start)
                self.statuses[str(status or answer.decode())] += 1
        return status, answer

    def close(self) -> None:
        now = time.perf_counter()
        with self.lock:
            for start in self.waiting.values():
                self.lat.append(now - start)
                self.statuses["unanswered"] += 1
                self.censored += 1
            self.waiting.clear()

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.lat)
        return {
            "requests": len(lat),
            "p50_ms": statistics.median(lat) * 1000 if lat else None,
            "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else None,
            "max_ms": lat[-1] * 1000 if lat else None,
            "unanswered": self.censored,
            "statuses": dict(self.statuses),
        }


def looping(
    stop: threading.Event, every: float, step: Callable[[int], None], after: float = 0.0
) -> threading.Thread:
    """``step(n)`` in a thread until ``stop``, starting at most once every ``every`` s, the
    first after ``after`` s."""

    def run() -> None:
        n = 0
        stop.wait(after)
        while not stop.is_set():
            started = time.perf_counter()
            step(n)
            n += 1
            stop.wait(max(0.0, every - (time.perf_counter() - started)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def auth(key: str, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": content_type}


class AdminWriter:
    """An admin changing one item every ``WRITE_EVERY_S``; the answer time of each version."""

    def __init__(self, port: int, key: str, code: str) -> None:
        self.port, self.key, self.code = port, key, code
        self.calls = Calls()
        self.answered: dict[tuple[str, int], float] = {}

    def start(self, stop: threading.Event) -> threading.Thread:
        def step(n: int) -> None:
            body = json.dumps({"local_code": f"ABUSE-{time.time_ns()}-{n}"}).encode()
            path = f"/api/v1/items/{self.code}"
            status, answer = self.calls.call(self.port, "PATCH", path, body, auth(self.key))
            if status == 200:
                self.answered[(self.code, json.loads(answer)["version"])] = time.perf_counter()

        return looping(stop, WRITE_EVERY_S, step)


# --- reads from another process ----------------------------------------------------------

#: item reads a second on each connection, and the connections
READ_RATE = 20
READ_CONNECTIONS = 4
#: seconds the reads wait past their end for answers still due
READ_GRACE_S = 5.0


async def _paced(port: int, paths: list[str], offset: int, end: float, state: dict) -> None:
    """Reads due every 1/READ_RATE s on one keep-alive connection until ``end``; each timed
    from when it was due (``state["due"]``: the one waiting), so that a stall counts for
    every read it holds back, not once."""
    reader, writer = await asyncio.open_connection(HOST, port)
    requests = [request(HOST, p) for p in paths]
    i = offset
    while state["due"] < end:
        await asyncio.sleep(max(0.0, state["due"] - time.perf_counter()))
        writer.write(requests[i % len(requests)])
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(h[15:]) for h in head.split(b"\r\n") if h[:15].lower() == b"content-length:"),
            0,
        )
        if length:
            await reader.readexactly(length)
        state["lat"].append(time.perf_counter() - state["due"])
        state["at"].append(state["due"] - state["start"])
        state["errors"] += head[9:12] != b"200"
        i += 1
        state["due"] += 1 / READ_RATE
    writer.close()


async def _read_load(port: int, paths: list[str], seconds: float) -> dict[str, Any]:
    start = time.perf_counter()
    end = start + seconds
    states = [
        {"lat": [], "at": [], "errors": 0, "due": start, "start": start}
        for _ in range(READ_CONNECTIONS)
    ]
    tasks = [
        asyncio.create_task(_paced(port, paths, n * 7, end, st)) for n, st in enumerate(states)
    ]
    await asyncio.wait(tasks, timeout=seconds + READ_GRACE_S)
    now = time.perf_counter()
    unanswered = failed = 0
    for task, st in zip(tasks, states, strict=True):
        broken = task.done() and task.exception() is not None
        task.cancel()
        while st["due"] < end:  # held back by a stall (or a broken connection)
            st["lat"].append(now - st["due"])
            st["at"].append(st["due"] - start)
            st["due"] += 1 / READ_RATE
            failed += broken
            unanswered += not broken
    timed = sorted((x, at) for st in states for x, at in zip(st["lat"], st["at"], strict=True))
    lat = [x for x, _ in timed]
    return {
        # the slowest reads: (seconds into the run when due, ms)
        "slowest": [(round(at, 2), round(x * 1000, 1)) for x, at in timed[-8:]],
        "requests": len(lat),
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
        "errors": sum(st["errors"] for st in states) + failed,
        "unanswered": unanswered,
    }


def reads(port: int, paths: list[str], seconds: float) -> dict[str, Any]:
    """:func:`_read_load` in a process of its own (the bench's threads share a GIL)."""
    spec = json.dumps({"port": port, "paths": paths, "seconds": seconds})
    try:
        out = subprocess.run(
            [sys.executable, __file__, spec],
            capture_output=True,
            text=True,
            timeout=seconds + READ_GRACE_S + 20,
            check=True,
        )
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        return {"requests": 0, "p50_ms": None, "p99_ms": None, "errors": None, "failed": str(exc)}
    return json.loads(out.stdout)


# --- the server's memory -----------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


class TreeRss:
    """Peak RSS of a process and its children, sampled every 50 ms (and the server's VmHWM,
    when it rose, so that a spike between samples is not missed), against a baseline."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = self.peak = self.now()
        self._hwm = rss_kb(pid)[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now(self) -> int:
        total = 0
        for p in descendants(self.pid):
            with contextlib.suppress(OSError, KeyError):  # gone meanwhile
                total += rss_kb(p)[0]
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                rss, hwm = rss_kb(self.pid)
            except (OSError, KeyError):  # stopped
                return
            self.peak = max(self.peak, rss, hwm if hwm > self._hwm else 0)
        self.peak = max(self.peak, self.now())

    def rebase(self) -> None:
        self.baseline = self.peak = self.now()
        self._hwm = rss_kb(self.pid)[1]

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.growth_mb

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1024


if __name__ == "__main__":  # the reads' own process
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_read_load(**json.loads(sys.argv[1])))))
