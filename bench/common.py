"""Shared by the benchmarks: a seeded database and a uvicorn server in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_env(url: str, root: Path = ROOT) -> dict[str, str]:
    """The environment of a bench's server or CLI; ``root`` another checkout whose ``app``
    package is the one imported (``python -m`` puts the working directory first as well)."""
    env = {**os.environ, "CATALOGUE_DATABASE_URL": url, "CATALOGUE_LOG_LEVEL": "WARNING"}
    if root != ROOT:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


def seeded_database(url: str, root: Path = ROOT) -> None:
    """Migrate and seed, as ``make run`` does (with the code of the checkout at ``root``)."""
    for step in (["migrate"], ["seed"]):
        subprocess.run(
            [sys.executable, "-m", "app.cli", *step],
            cwd=root,
            env=bench_env(url, root),
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
    with server_process(url, app) as (port, _pid):
        yield port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(url: str, app: str = "app.main:create_app") -> Iterator[tuple[int, int]]:
    """:func:`server`, yielding (port, pid of the serving process)."""
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
        yield port, proc.pid
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
def catalogue_serve(
    url: str,
    log: Path,
    *,
    root: Path = ROOT,
    env: dict[str, str] | None = None,
    stop_timeout: float | None = None,
) -> Iterator[tuple[int, int]]:
    """``catalogue serve`` on a free port; yields (port, pid of the serving process). ``root``:
    the checkout to serve; ``env``: more variables; ``stop_timeout``: seconds the server has
    to stop before it is killed (a graceful shutdown waits for every request in flight)."""
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root,
            env={**bench_env(url, root), **(env or {})},
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
            try:
                proc.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def postgres_database(base_url: str, prefix: str) -> Iterator[str]:
    """A throwaway database on the PostgreSQL server at ``base_url``, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.db import normalise_url

    url = make_url(normalise_url(base_url))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def compare(
    port: int, targets: dict[str, list[str]], connections: int, seconds: float, rounds: int
) -> dict[str, dict[str, float]]:
    """Drive each target (its request lines) with :func:`load`, alternating rounds so that
    all see the same machine noise, after a warm-up; the medians of each, printed."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for lines in targets.values():  # warm-up: caches filled, templates compiled
        load(port, lines, connections, 2)
    for _ in range(rounds):
        for name, lines in targets.items():
            results[name].append(load(port, lines, connections, seconds))
    summary = {}
    for name, runs in results.items():
        summary[name] = s = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
        }
        print(
            f"  {name:9s} {s['rps']:8.0f} req/s  p50 {s['p50_ms']:6.2f} ms  "
            f"p99 {s['p99_ms']:6.2f} ms  errors {s['errors']:.0f}"
        )
    return summary
