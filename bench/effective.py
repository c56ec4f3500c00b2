"""The day 10,000 decisions take effect: the duty that records them, and item reads beside it.

    .venv/bin/python bench/effective.py [--events 10000] [--seconds 5] [--connections 16]
        [--database sqlite|postgresql|both] [--postgres-url URL]

For each database (SQLite in a temporary folder; PostgreSQL in a throwaway database on the
server at ``--postgres-url``, dropped afterwards): a catalogue migrated and seeded, grown to
``--events`` items by bulk upserts (``apply_bulk``, in this process), each item given a
decision effective on the same day (cancel and suspend in turn, through the lifecycle
functions, 500 a transaction), served by one uvicorn worker. Item reads (GET
/api/v1/items/{code} over every item, bench/loadgen.py in its own process) for
``--seconds`` idle; then the duty in a process of its own, the clock at the first second of
that day in the province (``clock.frozen``), ``Effects.run_once()`` timed, and the same reads
for ``--seconds`` from the moment it starts (the server's clock is the real one: it serves
the stored snapshots, while the duty writes beside it).

Targets: every day recorded (one ``takes_effect`` version and one feed entry an event) in
<= 60 s; read p99 during the duty <= 1.5x idle.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, load, postgres_database, seeded_database, server  # noqa: E402
from bench.sync import bodies  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
SCHEDULE_BATCH = 500

#: the duty, in a process of its own (as `catalogue effects --once` runs it), on the day
DUTY = """
import json, sys, time
from datetime import date, timedelta
from app import clock
from app.catalogue.effective import Effects
from app.db import make_engine

engine = make_engine(sys.argv[1])
with clock.frozen(clock.start_of(date.fromisoformat(sys.argv[2])) + timedelta(seconds=1)):
    duty = Effects(engine)
    print("start", flush=True)
    began = time.perf_counter()
    recorded = duty.run_once()
    seconds = time.perf_counter() - began
print(json.dumps({"recorded": recorded, "seconds": seconds}), flush=True)
"""


def grow(url: str, events: int) -> list[str]:
    """At least ``events`` items in use (the seed's and bulk-upserted ones); their codes."""
    import orjson
    from sqlalchemy import func, select
    from sqlmodel import Session

    from app.catalogue.models import Implementation
    from app.db import for_writing, make_engine
    from app.security import Principal
    from app.sync.bulk import apply_bulk

    engine = make_engine(url)
    with Session(engine) as session:
        have = session.execute(
            select(func.count()).where(Implementation.status == "1")
        ).scalar_one()
    rows = bodies(engine, max(events - have, 0)) if events > have else []
    actor = Principal(name="bench", role="admin")
    for start in range(0, len(rows), 1000):
        with Session(for_writing(engine)) as session:
            apply_bulk(session, orjson.dumps(rows[start : start + 1000]), "application/json", actor)
            session.commit()
    with Session(engine) as session:
        codes = list(
            session.execute(
                select(Implementation.code)
                .where(Implementation.status == "1")
                .order_by(Implementation.code)
                .limit(events)
            ).scalars()
        )
    engine.dispose()
    return codes


def schedule(url: str, codes: list[str], day: date) -> float:
    """A decision for each item, effective on ``day``: cancel and suspend in turn."""
    from sqlmodel import Session

    from app.catalogue.lifecycle import EventIn, simple_event
    from app.db import for_writing, make_engine
    from app.security import Principal

    engine = make_engine(url)
    actor = Principal(name="bench", role="admin")
    body = EventIn.model_validate(
        {
            "decision": {"number": "黑政规〔2026〕99号", "title": "关于调整一批政务服务事项的决定"},
            "reason": "基准测试",
            "effective_date": day.isoformat(),
        }
    )
    began = time.perf_counter()
    for start in range(0, len(codes), SCHEDULE_BATCH):
        with Session(for_writing(engine)) as session:
            for i, code in enumerate(codes[start : start + SCHEDULE_BATCH], start):
                simple_event(session, code, "cancel" if i % 2 == 0 else "suspend", body, actor)
            session.commit()
    engine.dispose()
    return time.perf_counter() - began


def recorded(url: str, since: int) -> dict[str, int]:
    from sqlalchemy import func, select
    from sqlmodel import Session

    from app.db import make_engine
    from app.versionlog import ChangeLog, RecordVersion

    engine = make_engine(url)
    with Session(engine) as session:
        versions = session.execute(
            select(func.count()).where(RecordVersion.event == "takes_effect")
        ).scalar_one()
        entries = session.execute(
            select(func.count()).where(ChangeLog.seq > since, ChangeLog.operation == "takes_effect")
        ).scalar_one()
        head = session.execute(select(func.max(ChangeLog.seq))).scalar_one()
    engine.dispose()
    return {"versions": versions, "entries": entries, "head": head or 0}


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    from app import clock

    seeded_database(url)
    began = time.perf_counter()
    codes = grow(url, args.events)
    grown = time.perf_counter() - began
    day = clock.today() + timedelta(days=3)
    scheduled = schedule(url, codes, day)
    before = recorded(url, 0)["head"]
    paths = [f"/api/v1/items/{c}" for c in codes]
    with server(url) as port:
        load(port, paths, args.connections, 2)  # warm-up
        idle = load(port, paths, args.connections, args.seconds)
        duty = subprocess.Popen(
            [sys.executable, "-c", DUTY, url, day.isoformat()],
            cwd=ROOT,
            env=bench_env(url),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert duty.stdout is not None
        assert duty.stdout.readline().strip() == "start"
        busy = load(port, paths, args.connections, args.seconds)
        result = json.loads(duty.stdout.readline())
        duty.wait()
    return {
        "items": len(codes),
        "grow_s": grown,
        "schedule_s": scheduled,
        "duty_s": result["seconds"],
        "recorded": result["recorded"],
        "after": recorded(url, before),
        "idle": idle,
        "busy": busy,
    }


def report(database: str, m: dict[str, Any], args: argparse.Namespace) -> bool:
    events = m["items"]
    print(
        f"{database}: {events} decisions effective on one day (items grown in "
        f"{m['grow_s']:.1f} s, decisions recorded in {m['schedule_s']:.1f} s), one uvicorn "
        f"worker, reads over {args.connections} connections for {args.seconds:g} s"
    )
    complete = m["recorded"] == m["after"]["entries"] == m["after"]["versions"] == events
    in_time = m["duty_s"] <= 60
    overlap = min(m["duty_s"], args.seconds)
    ratio = m["busy"]["p99_ms"] / m["idle"]["p99_ms"]
    rows = [
        (
            "days recorded",
            f"{m['recorded']} versions, {m['after']['entries']} feed entries "
            f"({m['recorded'] / m['duty_s']:,.0f}/s)",
            f"= {events}",
            complete,
        ),
        ("duty", f"{m['duty_s']:.1f} s", "<= 60 s", in_time),
        (
            "read p99 idle / beside the duty",
            f"{m['idle']['p99_ms']:.2f} / {m['busy']['p99_ms']:.2f} ms ({ratio:.2f}x; "
            f"{overlap:.1f} s of the {args.seconds:g} s beside it)",
            "<= 1.5x",
            ratio <= 1.5,
        ),
        (
            "read p50 idle / beside the duty",
            f"{m['idle']['p50_ms']:.2f} / {m['busy']['p50_ms']:.2f} ms, "
            f"{m['idle']['rps']:.0f} / {m['busy']['rps']:.0f} req/s, "
            f"non-200 {m['idle']['errors'] + m['busy']['errors']:.0f}",
            "",
            True,
        ),
    ]
    for name, figure, target, ok in rows:
        verdict = ("PASS" if ok else "FAIL") if target else ""
        print(f"    {name:<32} {figure:<66} {target:<8} {verdict}")
    return complete and in_time and ratio <= 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=PG_DEFAULT)
    args = parser.parse_args()

    ok = True
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            ok &= report("sqlite", measure(f"sqlite:///{tmp}/bench.db", args), args)
    if args.database in ("postgresql", "both"):
        with postgres_database(args.postgres_url, "bench_effective") as url:
            ok &= report("postgresql", measure(url, args), args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
