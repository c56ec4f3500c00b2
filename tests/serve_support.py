"""`catalogue serve` as a process of its own, for the tests that need a real server (another
worker, uvicorn's own proxy handling): started in a directory of the test's, so nothing it
writes (an embedded search index on PostgreSQL) lands in the checkout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


class Served:
    """``catalogue serve`` (one worker, no background work) on the database at ``url``,
    started at once; :meth:`ready` waits for ``/healthz`` (several can start side by
    side)."""

    def __init__(self, url: str, workdir: Path, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "CATALOGUE_DATABASE_URL": url,
            "CATALOGUE_SEARCH_URL": "",
            "CATALOGUE_SEARCH_INDEXER": "false",
            "CATALOGUE_WEBHOOKS": "false",
            "CATALOGUE_LOG_LEVEL": "WARNING",
            **settings,
        }
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / f"serve-{self.port}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            cwd=workdir,
            env=env,
            stdout=self._out,
            stderr=self._out,
        )

    def ready(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return self.base
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(self.log.read_text()[-3000:]) from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


@contextmanager
def served(url: str, workdir: Path, **settings: str) -> Iterator[str]:
    """One :class:`Served`, ready; stopped after."""
    server = Served(url, workdir, **settings)
    try:
        yield server.ready()
    finally:
        server.stop()
