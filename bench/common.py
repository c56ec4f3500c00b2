"""Shared by the benchmarks: a seeded database and a uvicorn server in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_env(url: str) -> dict[str, str]:
    return {**os.environ, "CATALOGUE_DATABASE_URL": url, "CATALOGUE_LOG_LEVEL": "WARNING"}


def seeded_database(url: str) -> None:
    """Migrate and seed, as ``make run`` does."""
    for step in (["migrate"], ["seed"]):
        subprocess.run(
            [sys.executable, "-m", "app.cli", *step],
            cwd=ROOT,
            env=bench_env(url),
            check=True,
            capture_output=True,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str, app: str = "app.main:create_app") -> Iterator[int]:
    """One uvicorn worker serving ``app`` (a factory) on a free port; yields the port."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=bench_env(url),
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait()


def load(port: int, paths: list[str], connections: int, seconds: float) -> dict[str, float]:
    """bench/loadgen.py in its own process, over ``paths`` with keep-alive connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("\n".join(paths))
        f.flush()
        out = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "loadgen.py"),
                "--port",
                str(port),
                "--connections",
                str(connections),
                "--seconds",
                str(seconds),
                f.name,
            ],
            capture_output=True,
            text=True,
        )
    if out.returncode:
        sys.exit(f"load generator failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


@contextmanager
def catalogue_serve(url: str, log: Path) -> Iterator[tuple[int, int]]:
    """``catalogue serve`` on a free port; yields (port, pid of the serving process)."""
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=bench_env(url),
            stdout=err,
            stderr=err,
        )
        try:
            for _ in range(150):
                if proc.poll() is not None:
                    sys.exit(f"catalogue serve exited: {log.read_text()[-2000:]}")
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                sys.exit(f"catalogue serve did not answer: {log.read_text()[-2000:]}")
            yield port, proc.pid  # workers=1: uvicorn serves in this very process
        finally:
            proc.terminate()
            proc.wait()
