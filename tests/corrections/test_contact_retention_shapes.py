"""A correction's contact aged past its retention is erased in every documented deployment
shape (deploy/README.md): one ``catalogue serve`` with the embedded defaults, and the
production shape, where the app instances do no background work and ``catalogue worker``
and ``catalogue index`` run beside them. Each shape runs as real processes on the test's
database; the test waits for the erasure (a process starting), never for a date."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.corrections import service
from app.corrections.models import Correction
from app.corrections.schemas import CorrectionIn
from app.dbtypes import utcnow
from tests.helpers import ROOT
from tests.serve_support import Served, database_url

AGED = "aged-contact@example.com"
RECENT = "recent-contact@example.com"
#: background work off, as deploy/compose.yaml runs the app instances
QUIET_APP = {
    "CATALOGUE_SEARCH_INDEXER": "false",
    "CATALOGUE_WEBHOOKS": "false",
    "CATALOGUE_EFFECTS": "false",
}


@contextmanager
def process(url: str, workdir: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``catalogue <args>`` as its own process until the block ends (SIGTERM)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / f"{args[0]}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=workdir,
        env={
            **os.environ,
            "CATALOGUE_DATABASE_URL": url,
            "CATALOGUE_SEARCH_URL": "",
            "CATALOGUE_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        },
        stdout=log,
        stderr=log,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def contacts(engine: Engine) -> set[str | None]:
    with Session(engine) as session:
        return set(session.execute(select(Correction.contact)).scalars())


def report_aged_and_recent(engine: Engine) -> None:
    with Session(engine) as session:
        code = session.execute(select(Implementation.code).limit(1)).scalar_one()
        for days, contact in ((200, AGED), (10, RECENT)):
            service.report(
                session,
                code,
                CorrectionIn(text="窗口地址错了", contact=contact),
                now=utcnow() - timedelta(days=days),
            )
        session.commit()


def wait_until_erased(engine: Engine, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = contacts(engine)
        if AGED not in found:
            assert RECENT in found, f"{what}: a contact within its retention was erased"
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: the aged contact is still kept after {seconds} s")


SHAPES = {
    "one catalogue serve (embedded defaults)": ("serve",),
    "production: quiet app instances and catalogue worker": ("serve-quiet", "worker"),
    "production: quiet app instances and catalogue index": ("serve-quiet", "index"),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_an_aged_contact_is_erased_in_every_documented_shape(
    shape: str, own_engine: Engine, tmp_path: Path
) -> None:
    url = database_url(own_engine)
    report_aged_and_recent(own_engine)
    assert AGED in contacts(own_engine)
    with ExitStack() as stack:
        for kind in SHAPES[shape]:
            if kind == "serve":
                server = Served(url, tmp_path / "serve", CATALOGUE_SEARCH_INDEXER="true")
                stack.callback(server.stop)
                server.ready()
            elif kind == "serve-quiet":
                server = Served(url, tmp_path / "quiet", **QUIET_APP)
                stack.callback(server.stop)
                server.ready()
            else:
                stack.enter_context(process(url, tmp_path / kind, kind))
        wait_until_erased(own_engine, shape)
