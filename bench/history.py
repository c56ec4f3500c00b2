"""Reading an item with 1,000 versions against reading an item with one version.

    .venv/bin/python bench/history.py [--versions 1000] [--repeat 300] [--database-url URL]

Builds a seeded catalogue (SQLite in a temporary folder unless --database-url is given),
gives one implementation 1,000 versions through the service (a fake clock moves one day
per edit, so the history spans years), then times sequential HTTP GETs against one uvicorn worker:
the current state, ``as_of`` a random day of its history, and a diff of two random
versions, each against ``GET /items/{code}`` of an item with one version, measured in the
same run. Target: each ratio <= 2.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/history.db"
        run(url, args.versions, args.repeat)


def run(url: str, n_versions: int, repeat: int) -> None:
    import os

    os.environ["CATALOGUE_DATABASE_URL"] = url
    os.environ["CATALOGUE_LOG_LEVEL"] = "WARNING"
    import orjson
    from sqlmodel import Session, select

    from app import clock
    from app.catalogue.documents import item_input
    from app.catalogue.items import replace_item
    from app.catalogue.models import Implementation
    from app.catalogue.reads import SessionSnapshots, get_item_json
    from app.catalogue.schemas import ImplementationIn
    from app.db import get_engine
    from app.migrate import upgrade
    from app.security import Principal
    from app.seed import load_reference, load_sample

    upgrade(url)
    engine = get_engine()
    dialect = engine.dialect.name
    with Session(engine) as session:
        load_reference(session, ROOT / "seed")
        load_sample(session, ROOT / "seed")
        session.commit()
        codes = session.exec(select(Implementation.code).order_by(Implementation.code)).all()
    one, many = codes[0], codes[1]

    start_day = datetime.now(UTC) - timedelta(days=n_versions + 1)
    editor = Principal(name="bench", role="admin")
    t0 = time.perf_counter()
    with clock.frozen(start_day) as move, Session(engine) as session:
        for i in range(n_versions - 1):
            move(start_day + timedelta(days=i + 1))  # one edit a day
            _, current = get_item_json(SessionSnapshots(session), many)
            body = item_input(orjson.loads(current))
            body["guide"]["visits"] = i % 3 + (1 if body["guide"]["visits"] == i % 3 else 0)
            body["materials"][0]["copies"] = i % 7 + 1
            replace_item(session, many, ImplementationIn.model_validate(body), editor)
            session.commit()
    build = time.perf_counter() - t0

    engine.dispose()
    with server(url) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def get(path: str) -> tuple[int, bytes]:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()

        version = json.loads(get(f"/api/v1/items/{many}")[1])["version"]
        history_days = [
            (start_day + timedelta(days=d)).date().isoformat() for d in range(2, n_versions)
        ]
        rnd = random.Random(7)
        today = datetime.now(UTC).date().isoformat()

        def timed(path_fn: Callable[[], str]) -> float:
            samples = []
            for _ in range(repeat):
                path = path_fn()
                t = time.perf_counter()
                status, body = get(path)
                samples.append(time.perf_counter() - t)
                assert status == 200, (path, body[:200])
            return statistics.median(samples) * 1e3

        cases: dict[str, Callable[[], str]] = {
            "current, 1 version (baseline)": lambda: f"/api/v1/items/{one}",
            "current, many versions": lambda: f"/api/v1/items/{many}",
            "as_of today, 1 version": lambda: f"/api/v1/items/{one}?as_of={today}",
            "as_of a random day, many versions": lambda: (
                f"/api/v1/items/{many}?as_of={rnd.choice(history_days)}"
            ),
            "diff, 1 version": lambda: f"/api/v1/items/{one}/diff?from=1&to=1",
            "diff of random versions, many": lambda: (
                f"/api/v1/items/{many}/diff?from={rnd.randint(1, version)}"
                f"&to={rnd.randint(1, version)}"
            ),
        }
        for fn in cases.values():  # warm-up
            timed(fn)
        # interleave rounds so that both see the same machine noise
        rounds: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(3):
            for name, fn in cases.items():
                rounds[name].append(timed(fn))
    results = {name: statistics.median(v) for name, v in rounds.items()}
    base = results["current, 1 version (baseline)"]
    print(
        f"history bench on {dialect}: item {many} has {version} versions "
        f"(built in {build:.1f} s); median latency of {repeat} sequential HTTP GETs x 3 rounds"
    )
    for name, ms in results.items():
        print(f"  {name:36s} {ms:7.3f} ms   {ms / base:5.2f}x baseline")
    many_reads = (
        "current, many versions",
        "as_of a random day, many versions",
        "diff of random versions, many",
    )
    worst = max(results[k] for k in many_reads)
    print(f"  worst many-version read: {worst / base:.2f}x the one-version read (target <= 2)")
    pairs = zip(
        many_reads,
        ("current, 1 version (baseline)", "as_of today, 1 version", "diff, 1 version"),
        strict=True,
    )
    for many_op, one_op in pairs:
        print(
            f"  {many_op:36s} {results[many_op] / results[one_op]:5.2f}x the same read of a one-version item"
        )


if __name__ == "__main__":
    main()
