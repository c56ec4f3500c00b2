"""How the catalogue's costs grow with its size, on PostgreSQL (issue 18).

    .venv/bin/python bench/scale.py [--sizes 100000,1000000] [--postgres-url URL]
        [--seconds 5] [--search-up-to 100000] [--keep]

Builds one catalogue in a throwaway database (the seed, then synthetic implementations of
the seed's entries in synthetic county departments, through ``apply_bulk``: the code behind
POST /sync/items, 1,000 items a body) and grows it to each size in turn. At each size:

* bulk upsert rate: new items/s over the last 10,000 items written to reach that size;
* item read p50/p99: ``GET /items/{code}`` of 5,000 codes drawn at random, one uvicorn
  worker, 32 connections (bench/loadgen.py in another process), and the same server's
  ``/healthz`` right after, for scale: absolute numbers move with the machine;
* feed rate: ``read_changes`` (GET /changes' work), 50,000 changes from the middle of the
  log, 1,000 a page;
* digest time: ``digest`` of the whole catalogue (GET /sync/digest), and of one city;
* search p95 (embedded tantivy, built from the database by the indexer's own ``build``),
  up to ``--search-up-to`` items (the build reads every item: minutes at a million);
* database size per implementation and per version (``pg_total_relation_size``).

Prints one table at the end (and each row as it is measured).
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load, postgres_database, server  # noqa: E402
from bench.read import PG_DEFAULT  # noqa: E402

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class Catalogue:
    """The growing catalogue: its engine, the seed's entries and counties, a template item."""

    def __init__(self, url: str) -> None:
        import orjson
        from sqlalchemy import select
        from sqlmodel import Session

        from app.catalogue.documents import item_input
        from app.catalogue.models import CatalogueEntry, Implementation
        from app.catalogue.reads import SessionSnapshots, get_item_json
        from app.directory.models import Region
        from bench.sync import build

        self.url = url
        self.engine = build(url)
        with Session(self.engine) as session:
            self.entries = list(
                session.execute(
                    select(CatalogueEntry.basic_code).order_by(CatalogueEntry.basic_code)
                ).scalars()
            )
            self.counties = list(
                session.execute(
                    select(Region.code).where(Region.level == 3, Region.code.startswith("23"))  # type: ignore[attr-defined]
                ).scalars()
            )
            first = session.execute(
                select(Implementation.code).order_by(Implementation.code).limit(1)
            ).scalar_one()
            self.template = item_input(
                orjson.loads(get_item_json(SessionSnapshots(session), first)[1])
            )
        self.departments = 0
        self.written = 0

    def _department(self) -> dict[str, Any]:
        from app.codes.rules import make_credit_code
        from app.dbtypes import utcnow

        i = self.departments
        self.departments += 1
        org = "BK" + "".join(ALPHABET[(i // len(ALPHABET) ** k) % len(ALPHABET)] for k in range(6))
        region = self.counties[i % len(self.counties)]
        return {
            "credit_code": make_credit_code("1", "1", region, org),
            "name": f"规模测试局{i}",
            "region_code": region,
            "level": "4",
            "created_at": utcnow(),
            "updated_at": utcnow(),
            "version": 1,
        }

    def grow(self, n: int) -> float:
        """Write ``n`` new implementations; the rate (items/s) of the last 10,000."""
        import orjson
        from sqlalchemy import insert
        from sqlmodel import Session

        from app.db import for_writing
        from app.directory.models import Department
        from app.security import Principal
        from app.sync.bulk import apply_bulk

        actor = Principal(name="bench", role="admin")
        left = n
        tail_start, tail_items = None, 0
        pending: list[dict[str, Any]] = []
        while left > 0:
            while len(pending) < min(1000, left):  # departments implementing every entry
                dept = self._department()
                with Session(self.engine) as session:
                    session.execute(insert(Department), [dept])
                    session.commit()
                for basic in self.entries:
                    body = copy.deepcopy(self.template)
                    body.update(
                        code=None,
                        basic_code=basic,
                        department=dept["credit_code"],
                        region=dept["region_code"],
                        level="4",
                    )
                    for m in body["materials"]:
                        m["code"] = None
                    for f in body["fees"]:
                        f["code"] = None
                    pending.append(body)
            batch, pending = pending[: min(1000, left)], pending[min(1000, left) :]
            if left <= 10_000 and tail_start is None:
                tail_start = time.perf_counter()
            data = orjson.dumps(batch)
            with Session(for_writing(self.engine)) as session:
                result = apply_bulk(session, data, "application/json", actor)
                session.commit()
            assert result["created"] == len(batch), {k: result[k] for k in ("created", "rejected")}
            left -= len(batch)
            self.written += len(batch)
            if tail_start is not None:
                tail_items += len(batch)
            if self.written // 50_000 != (self.written - len(batch)) // 50_000:
                print(f"    … {self.written:,} written", flush=True)
        gc.collect()
        return tail_items / (time.perf_counter() - (tail_start or time.perf_counter()))


def _scalar(engine: Any, sql: str) -> Any:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def sizes(engine: Any) -> dict[str, float]:
    items = _scalar(engine, "SELECT count(*) FROM implementation")
    versions = _scalar(engine, "SELECT count(*) FROM record_version")
    changes = _scalar(engine, "SELECT count(*) FROM change_log")
    db = _scalar(engine, "SELECT pg_database_size(current_database())")
    rv = _scalar(engine, "SELECT pg_total_relation_size('record_version')")
    cl = _scalar(engine, "SELECT pg_total_relation_size('change_log')")
    return {
        "items": items,
        "versions": versions,
        "db_bytes": db,
        "bytes_per_item": db / items,
        "bytes_per_version": rv / versions,
        "change_log_bytes_per_row": cl / changes,
    }


def reads(url: str, engine: Any, seconds: float) -> dict[str, float]:
    from sqlalchemy import text

    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM implementation")).scalar()
        # 5,000 codes drawn at random over the whole catalogue (TABLESAMPLE: no full sort)
        pct = min(100.0, 5_000 / n * 100 * 1.5)
        codes = [
            r[0]
            for r in conn.execute(
                text(f"SELECT code FROM implementation TABLESAMPLE SYSTEM ({pct}) LIMIT 5000")
            )
        ]
    random.shuffle(codes)
    paths = [f"/api/v1/items/{c}" for c in codes]
    with server(url, "app.main:create_app") as port:
        load(port, paths[:500], 32, 1)  # warm-up
        item = load(port, paths, 32, seconds)
        # the same server's cheapest answer: how loaded the machine was meanwhile
        bare = load(port, ["/healthz"], 32, seconds / 2)
    return {
        "read_rps": item["rps"],
        "read_p50": item["p50_ms"],
        "read_p99": item["p99_ms"],
        "bare_p99": bare["p99_ms"],
    }


def feed(engine: Any, n: int = 50_000) -> float:
    from app.sync.feed import head_seq, read_changes

    with engine.connect() as conn:
        head = head_seq(conn)
        after = max(0, head // 2 - n // 2)
        got, t = 0, time.perf_counter()
        while got < n:
            changes, last = read_changes(conn, after=after, limit=1000)
            if not changes:
                break
            json.dumps(changes, default=str)  # each page's JSON, as the API sends it
            got += len(changes)
            after = last
    return got / (time.perf_counter() - t)


def digests(engine: Any) -> dict[str, float]:
    from sqlmodel import Session

    from app.sync.digest import digest

    with Session(engine) as session:
        t = time.perf_counter()
        whole = digest(session)
        whole_s = time.perf_counter() - t
        t = time.perf_counter()
        digest(session, region="230100")
        city_s = time.perf_counter() - t
    return {"digest_s": whole_s, "digest_city_s": city_s, "digest_count": whole["count"]}


def search(engine: Any, queries: int = 150) -> dict[str, float]:
    from sqlmodel import Session

    from app.search.backends.embedded import TantivyBackend
    from app.search.indexer import Indexer
    from app.search.service import SearchService
    from bench.search import mix

    with tempfile.TemporaryDirectory() as tmp:
        svc = SearchService(TantivyBackend(Path(tmp) / "index"))
        indexer = Indexer(svc)
        with Session(engine) as session:
            t = time.perf_counter()
            n = indexer.build(session)
            build_s = time.perf_counter() - t
            session.rollback()
            svc.prepare(session)
            params = mix()
            times = []
            for round_ in range(3):
                for p in params[:queries]:
                    t = time.perf_counter()
                    svc.search(session, **_search_args(p))
                    if round_:  # the first round warms the caches
                        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "index_build_items_s": n / build_s,
        "search_p50": statistics.median(times),
        "search_p95": times[int(len(times) * 0.95)],
    }


def _search_args(params: dict[str, str]) -> dict[str, Any]:
    """GET /search's parameters of one query of bench/search.py's mix."""
    return {
        "q": params["q"],
        "region": params.get("region"),
        "department": None,
        "item_type": params.get("type"),
        "audience": None,
        "theme": params.get("theme"),
        "online": params.get("online"),
        "status": None,
        "cursor": None,
        "limit": 10,
    }


def row(size: int, figures: dict[str, Any]) -> str:
    def f(key: str, fmt: str) -> str:
        return format(figures[key], fmt) if key in figures else "—"

    return (
        f"| {size:,} | {f('read_p50', '.2f')} / {f('read_p99', '.1f')} "
        f"| {f('bare_p99', '.1f')} | {f('feed', ',.0f')} | {f('bulk', ',.0f')} "
        f"| {f('digest_s', '.2f')} / {f('digest_city_s', '.2f')} "
        f"| {f('search_p95', '.1f')} | {f('bytes_per_item', ',.0f')} "
        f"| {f('bytes_per_version', ',.0f')} | {f('db_gib', '.2f')} |"
    )


HEADER = (
    "| implementations | item read p50 / p99 ms | /healthz p99 ms | feed changes/s "
    "| bulk upsert items/s | digest whole / city s | search p95 ms (embedded) "
    "| DB bytes / item | bytes / version | DB GiB |\n|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--postgres-url", default=PG_DEFAULT)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--search-up-to", type=int, default=100_000)
    args = parser.parse_args()
    targets = [int(s) for s in args.sizes.split(",")]
    table: list[str] = []
    with postgres_database(args.postgres_url, "bench_scale") as url:
        cat = Catalogue(url)
        base = _scalar(cat.engine, "SELECT count(*) FROM implementation")
        print(f"seeded: {base} implementations, {len(cat.entries)} entries", flush=True)
        for size in targets:
            figures: dict[str, Any] = {}
            t = time.perf_counter()
            figures["bulk"] = cat.grow(size - base - cat.written)
            print(f"  grown to {size:,} in {time.perf_counter() - t:.0f} s", flush=True)
            _scalar(cat.engine, "SELECT 1")
            with cat.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                from sqlalchemy import text

                c.execute(text("VACUUM ANALYZE"))
            figures.update(sizes(cat.engine))
            figures["db_gib"] = figures["db_bytes"] / 2**30
            figures.update(reads(url, cat.engine, args.seconds))
            figures["feed"] = feed(cat.engine)
            figures.update(digests(cat.engine))
            if size <= args.search_up_to:
                figures.update(search(cat.engine))
            table.append(row(size, figures))
            print(json.dumps({"size": size, **figures}, default=str), flush=True)
            print(HEADER + "\n" + "\n".join(table), flush=True)
        cat.engine.dispose()


if __name__ == "__main__":
    main()
