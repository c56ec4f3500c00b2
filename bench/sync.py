"""Bulk upsert and the change feed against the raw SQLAlchemy Core upsert of the same rows.

    .venv/bin/python bench/sync.py [--items 100000] [--database-url URL ...]

For each database (SQLite in a temporary folder, and each PostgreSQL server given with
--database-url): seeds a catalogue, adds synthetic county departments so that
there are enough new (department, entry) pairs, then times
  1. ``apply_bulk`` (the code behind POST /sync/items) of N new implementations, 1,000 a batch;
  2. the same N again, unchanged: the same bodies (answered from the versions they left),
     then every item serialised anew (each item known by its content hash);
  3. the baseline: the rows step 1 wrote, written again by Core executemany inserts
     (ON CONFLICT DO UPDATE for implementations) into a fresh copy of the schema;
  4. on SQLite, the floor: the same rows copied by sqlite3's own executemany (what this
     machine can write at best, whatever the code above it);
     and what parsing, validating and dumping an item costs by itself (no database);
  5. reading the whole feed, 1,000 changes a request (``read_changes``);
  6. a mirror: the feed's pages, as JSON, applied to a fresh copy of the seeded catalogue
     (``apply_changes``: what ``catalogue sync pull`` does with each page, without HTTP);
  7. the update case: the N items sent again with one field changed on every item (their
     ``local_code``), admin key, 1,000 a body; and a single PATCH over HTTP (one uvicorn
     worker, keep-alive), its p50 and p90 over 200 writes.
Targets (issue 31): bulk update >= 0.5x the new-item rate, same run; PATCH p50 <= 5 ms on
SQLite.
Targets (issue 5): new >= 0.5x the baseline and >= 10,000 items/s on SQLite; unchanged
>= 30,000 items/s; feed >= 20,000 changes/s.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(url: str) -> Any:
    from sqlmodel import Session

    from app.db import make_engine
    from app.migrate import upgrade
    from app.seed import load_reference, load_sample

    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_reference(session, ROOT / "seed")
        load_sample(session, ROOT / "seed")
        session.commit()
    return engine


def bodies(engine: Any, n: int) -> list[dict[str, Any]]:
    """n new implementations: a seeded item's content for (department, entry) pairs that
    have none, adding synthetic county departments (valid credit codes) as needed."""
    import orjson
    from sqlalchemy import insert, select
    from sqlmodel import Session

    from app.catalogue.documents import item_input
    from app.catalogue.models import CatalogueEntry, Implementation
    from app.catalogue.reads import SessionSnapshots, get_item_json
    from app.codes.rules import make_credit_code
    from app.dbtypes import utcnow
    from app.directory.models import Department, Region

    with Session(engine) as session:
        entries = (
            session.execute(select(CatalogueEntry.basic_code).order_by(CatalogueEntry.basic_code))
            .scalars()
            .all()
        )
        counties = (
            session.execute(
                select(Region.code).where(Region.level == 3, Region.code.startswith("23"))
            )
            .scalars()
            .all()
        )  # type: ignore[attr-defined]
        need = n // len(entries) + 2
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        depts = []
        for i in range(need):
            org = "BN" + "".join(
                alphabet[(i // len(alphabet) ** k) % len(alphabet)] for k in range(6)
            )
            region = counties[i % len(counties)]
            depts.append(
                {
                    "credit_code": make_credit_code("1", "1", region, org),
                    "name": f"基准测试局{i}",
                    "region_code": region,
                    "level": "4",
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                    "version": 1,
                }
            )
        session.execute(insert(Department), depts)
        session.commit()
        first = (
            session.execute(select(Implementation.code).order_by(Implementation.code))
            .scalars()
            .first()
        )
        template = item_input(orjson.loads(get_item_json(SessionSnapshots(session), first)[1]))
    out = []
    for d in depts:
        for basic in entries:
            body = copy.deepcopy(template)
            body.update(
                code=None,
                basic_code=basic,
                department=d["credit_code"],
                region=d["region_code"],
                level="4",
            )
            for m in body["materials"]:
                m["code"] = None
            for f in body["fees"]:
                f["code"] = None
            out.append(body)
            if len(out) == n:
                return out
    return out


def settled() -> None:
    """Put everything alive now (the bench's own inputs: 100,000 items are millions of
    objects, which no server holds) out of the garbage collector's reach, so that its full
    passes during the timed part walk what the code under test allocates, not the inputs.
    Measured: without it the bulk upsert of 100,000 items ran at a third of its speed."""
    gc.collect()
    gc.freeze()


def bulk(
    engine: Any, rows: list[dict[str, Any]], *, reorder: bool = False
) -> tuple[float, dict[str, int]]:
    """POST /sync/items' work (``apply_bulk``: body hash, parse, upsert, outcome) for the rows
    as request bodies of 1,000, one transaction each. ``reorder`` serialises every item with
    its keys in reverse order: the same content in a body never seen before."""
    import orjson
    from sqlmodel import Session

    from app.db import for_writing
    from app.security import Principal
    from app.sync.bulk import apply_bulk

    actor = Principal(name="bench", role="admin")
    totals: dict[str, int] = {}
    if reorder:
        rows = [dict(reversed(list(r.items()))) for r in rows]
    # request bodies: holding 100,000 parsed items at once would make the garbage
    # collector's full passes, not the upsert, the cost
    bodies = [orjson.dumps(rows[s : s + 1000]) for s in range(0, len(rows), 1000)]
    settled()
    t = time.perf_counter()
    for body in bodies:
        with Session(for_writing(engine)) as session:
            result = apply_bulk(session, body, "application/json", actor)
            session.commit()
        for k in ("created", "updated", "unchanged", "rejected", "conflict"):
            totals[k] = totals.get(k, 0) + result[k]
    return time.perf_counter() - t, totals


def raw_core(source: Any, engine: Any, rows: list[dict[str, Any]]) -> float:
    """The baseline: the rows that ``bulk_upsert`` wrote for the new items (implementations,
    materials, fees, issued codes, first versions, change-log entries), read back from
    ``source`` and written again into ``engine`` by Core executemany inserts (an upsert for
    the implementation rows), 1,000 items and one transaction a batch: no parsing, no
    validation, no composing. Only the writes are timed."""
    from sqlalchemy import insert, select

    from app.catalogue.models import Implementation, IssuedCode, ItemFee, ItemMaterial
    from app.codes.rules import implementation_code
    from app.db import upsert
    from app.versionlog import ChangeLog, RecordVersion

    items = Implementation.__table__  # type: ignore[attr-defined]
    write_item = upsert(items, engine.dialect.name, ["code"], ["guide", "updated_at"])
    codes = [implementation_code(r["department"], r["level"], r["basic_code"]) for r in rows]
    tables: list[tuple[Any, Any, Any]] = [
        (write_item, items, items.c.code),
        (insert(ItemMaterial), ItemMaterial.__table__, ItemMaterial.implementation_code),
        (insert(ItemFee), ItemFee.__table__, ItemFee.implementation_code),
        (insert(IssuedCode), IssuedCode.__table__, None),
        (insert(RecordVersion), RecordVersion.__table__, RecordVersion.code),
        (insert(ChangeLog), ChangeLog.__table__, ChangeLog.code),
    ]
    elapsed = 0.0
    settled()
    for start in range(0, len(codes), 1000):
        batch = codes[start : start + 1000]
        written = []
        with source.connect() as conn:  # untimed: reading back what bulk upsert wrote
            children: list[str] = []
            for statement, table, column in tables:
                wanted = batch + children if column is None else batch
                column = table.c.code if column is None else column
                found = [
                    {k: v for k, v in r.items() if k != "seq"}
                    for r in conn.execute(select(table).where(column.in_(wanted))).mappings()
                ]
                if table.name in ("item_material", "item_fee"):
                    children += [r["code"] for r in found]
                written.append((statement, found))
        t = time.perf_counter()
        with engine.begin() as conn:
            for statement, found in written:
                if found:
                    conn.execute(statement, found)
        elapsed += time.perf_counter() - t
    return elapsed


def sqlite_floor(source_url: str, target_url: str, rows: list[dict[str, Any]]) -> float:
    """What this machine's SQLite can do at best with these rows: the stored values of what
    bulk upsert wrote, copied by the driver's own ``executemany`` (no SQLAlchemy, no type
    processing) into ``target_url``, a fresh copy of the schema, 1,000 items a transaction."""
    import sqlite3

    from app.codes.rules import implementation_code

    codes = [implementation_code(r["department"], r["level"], r["basic_code"]) for r in rows]
    src = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(target_url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        dst.execute(f"PRAGMA {pragma}")
    # (table, column naming the item, columns left out)
    tables = [
        ("implementation", "code", ()),
        ("item_material", "implementation_code", ("id",)),
        ("item_fee", "implementation_code", ("id",)),
        ("issued_code", None, ()),
        ("record_version", "code", ("id",)),
        ("change_log", "code", ("seq",)),
    ]
    elapsed = 0.0
    settled()
    for start in range(0, len(codes), 1000):
        batch = codes[start : start + 1000]
        children: list[str] = []
        written = []
        for table, column, skip in tables:
            wanted = batch + children if column is None else batch
            cur = src.execute(
                f"SELECT * FROM {table} WHERE {column or 'code'} IN "
                f"({','.join('?' * len(wanted))})",
                wanted,
            )
            names = [d[0] for d in cur.description]
            keep = [i for i, n in enumerate(names) if n not in skip]
            found = [tuple(r[i] for i in keep) for r in cur.fetchall()]
            if table in ("item_material", "item_fee"):
                children += [r[names.index("code")] for r in found]
            cols = ",".join(f'"{names[i]}"' for i in keep)  # quoted: a column is named "when"
            written.append(
                (f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' * len(keep))})", found)
            )
        t = time.perf_counter()
        dst.execute("BEGIN")
        for sql, found in written:
            if found:
                dst.executemany(sql, found)
        dst.execute("COMMIT")
        elapsed += time.perf_counter() - t
    src.close()
    dst.close()
    return elapsed


def fixed_costs(rows: list[dict[str, Any]]) -> dict[str, float]:
    """µs an item that any validated write of these items pays before the database, whatever
    the code around it (up to 10,000 items, 1,000 a body, the collector paused as the bulk
    path pauses it): the JSON parse alone (orjson), pydantic-core's validation from the
    bytes (which includes the parse), and the dump of the validated items to the values of
    their columns."""
    import orjson
    from pydantic import TypeAdapter

    from app.sync.bulk import collector_paused
    from app.sync.schemas import BulkItemIn

    adapter = TypeAdapter(list[BulkItemIn])
    sample = rows[:10_000]
    bodies = [orjson.dumps(sample[s : s + 1000]) for s in range(0, len(sample), 1000)]
    settled()
    costs = dict.fromkeys(("parse", "validate", "dump"), 0.0)
    for body in bodies:
        with collector_paused():
            t = time.perf_counter()
            orjson.loads(body)
            costs["parse"] += time.perf_counter() - t
            t = time.perf_counter()
            items = adapter.validate_json(body)
            costs["validate"] += time.perf_counter() - t
            t = time.perf_counter()
            for item in items:
                item.model_dump(mode="json")
            costs["dump"] += time.perf_counter() - t
            del items
    return {k: v / len(sample) * 1e6 for k, v in costs.items()}


def feed(engine: Any) -> tuple[float, int]:
    """The whole feed, 1,000 changes a request, on a Core connection as GET /changes reads
    it (``app.state.snapshots``), including the JSON of each page as the API sends it."""
    from app.http.responses import json_bytes
    from app.sync.feed import head_seq, read_changes

    settled()
    t = time.perf_counter()
    after, total = 0, 0
    with engine.connect() as conn:
        while True:
            changes, last = read_changes(conn, after=after, limit=1000)
            json_bytes({"changes": changes, "last_seq": last, "head_seq": head_seq(conn)})
            if not changes:
                break
            total += len(changes)
            after = last
    return time.perf_counter() - t, total


def mirror(source: Any, url: str, n: int) -> tuple[float, int]:
    """Every change of ``source``'s feed applied to a fresh catalogue at ``url``, 500 a
    page (``catalogue sync pull``'s default) and one transaction each; the pages are read
    and parsed before the clock starts."""
    import orjson
    from sqlmodel import Session

    from app.http.responses import json_bytes
    from app.sync.feed import read_changes
    from app.sync.mirror import apply_changes

    target = build(url)
    bodies(target, n)  # the same departments
    pages, after = [], 0
    with source.connect() as conn:
        while True:
            changes, after = read_changes(conn, after=after, limit=500)
            if not changes:
                break
            pages.append(orjson.loads(json_bytes({"changes": changes}).body)["changes"])
    settled()
    applied = 0
    t = time.perf_counter()
    for page in pages:
        with Session(target) as session:
            applied += apply_changes(session, page)
            session.commit()
    elapsed = time.perf_counter() - t
    target.dispose()
    return elapsed, applied


def changed(rows: list[dict[str, Any]], mark: str) -> list[dict[str, Any]]:
    """The rows with one field changed on every item (``local_code``, unique per item)."""
    return [{**r, "local_code": f"{mark}-{i}"} for i, r in enumerate(rows)]


def single_patches(
    url: str, codes: list[str], count: int = 200
) -> tuple[list[float], float, float, list[float]]:
    """ms of each of ``count`` PATCH /api/v1/items/{code} (one field changed each time, an
    admin key) against one uvicorn worker on ``url``, over one keep-alive connection; the
    worker's CPU ms a PATCH (user + system: what the host's load does not inflate); the
    p50 of ``GET /healthz`` over the same connection (what any request costs here: the
    client, the loopback, the middleware, a hop to a worker thread; no work); and ms of
    each of ``count`` PUTs of the whole item as GET gave it, one field changed."""
    import httpx
    from sqlmodel import Session

    from app.catalogue.documents import item_input
    from app.db import make_engine
    from bench.common import cpu_seconds, server_process

    engine = make_engine(url)
    with Session(engine) as session:
        from app.security import create_key

        secret = create_key(session, name=f"bench-patch-{uuid.uuid4().hex[:6]}", role="admin")
        session.commit()
    engine.dispose()
    times = []
    with (
        server_process(url) as (port, pid),
        httpx.Client(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        headers = {"Authorization": f"Bearer {secret}"}
        for _ in range(300):  # a loaded host starts the worker slowly
            try:
                client.get("/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.5)
        for i in range(count + 20):
            if i == 20:
                cpu = cpu_seconds(pid)
            code = codes[i % len(codes)]
            t = time.perf_counter()
            resp = client.patch(
                f"/api/v1/items/{code}", json={"local_code": f"P{i}"}, headers=headers
            )
            elapsed = (time.perf_counter() - t) * 1000
            assert resp.status_code == 200, resp.text
            if i >= 20:  # the first writes warm the worker's caches
                times.append(elapsed)
        cpu = cpu_seconds(pid) - cpu
        empty = []
        for _ in range(count):
            t = time.perf_counter()
            client.get("/healthz")
            empty.append((time.perf_counter() - t) * 1000)
        whole = {code: item_input(client.get(f"/api/v1/items/{code}").json()) for code in codes}
        puts = []
        for i in range(count + 20):
            code = codes[i % len(codes)]
            t = time.perf_counter()
            resp = client.put(
                f"/api/v1/items/{code}",
                json={**whole[code], "local_code": f"R{i}"},
                headers=headers,
            )
            elapsed = (time.perf_counter() - t) * 1000
            assert resp.status_code == 200, resp.text
            if i >= 20:
                puts.append(elapsed)
    return sorted(times), cpu / count * 1000, sorted(empty)[len(empty) // 2], sorted(puts)


def update_case(engine: Any, url: str, rows: list[dict[str, Any]], new_rate: float) -> None:
    """Step 7: bulk update of every item (one field changed) and single PATCH p50."""
    upd_s, upd_totals = bulk(engine, changed(rows, "U"))
    rate = len(rows) / upd_s
    print(f"  bulk update, 1 field    {rate:9.0f} items/s  ({upd_s:.1f} s) {upd_totals}")
    print(f"  update / new            {rate / new_rate:9.3f}x  (target >= 0.5)")
    from app.codes.rules import implementation_code

    codes = [implementation_code(r["department"], r["level"], r["basic_code"]) for r in rows]
    times, cpu, empty, puts = single_patches(url, codes[:50])
    p50, p90 = times[len(times) // 2], times[int(len(times) * 0.9)]
    print(
        f"  single PATCH (HTTP)     p50 {p50:.1f} ms, p90 {p90:.1f} ms  (target p50 <= 5 ms); "
        f"server CPU {cpu:.1f} ms a PATCH; GET /healthz p50 {empty:.1f} ms; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"  single PUT (HTTP)       p50 {puts[len(puts) // 2]:.1f} ms, "
        f"p90 {puts[int(len(puts) * 0.9)]:.1f} ms  (the whole item, one field changed)"
    )


def run(url: str, baseline_url: str, n: int, mirror_url: str, *, only_update: bool = False) -> None:
    import orjson

    os.environ["CATALOGUE_LOG_LEVEL"] = "WARNING"
    engine = build(url)
    rows = bodies(engine, n)
    new_s, new_totals = bulk(engine, rows)
    if only_update:
        name = engine.dialect.name
        print(f"sync bench on {name}, {len(rows)} implementations, 1,000 a batch")
        print(
            f"  bulk upsert, new        {len(rows) / new_s:9.0f} items/s  ({new_s:.1f} s) "
            f"{new_totals}"
        )
        update_case(engine, url, rows, len(rows) / new_s)
        engine.dispose()
        return
    same_s, same_totals = bulk(engine, rows)
    resent_s, resent_totals = bulk(engine, rows, reorder=True)
    base_engine = build(baseline_url)
    bodies(base_engine, n)  # the same departments
    raw_s = raw_core(engine, base_engine, rows)
    floor_s = None
    if engine.dialect.name == "sqlite":
        floor_url = baseline_url.replace("baseline.db", "floor.db")
        floor_engine = build(floor_url)
        bodies(floor_engine, n)  # the same departments
        floor_engine.dispose()
        floor_s = sqlite_floor(url, floor_url, rows)
    fixed = fixed_costs(rows)
    feed_s, changes = feed(engine)
    mirror_s, mirrored = mirror(engine, mirror_url, n)
    name = engine.dialect.name
    print(f"sync bench on {name}, {len(rows)} implementations, 1,000 a batch")
    print(
        f"  bulk upsert, new        {len(rows) / new_s:9.0f} items/s  ({new_s:.1f} s) {new_totals}"
    )
    print(
        f"  bulk upsert, unchanged  {len(rows) / same_s:9.0f} items/s  ({same_s:.1f} s) {same_totals}"
    )
    print(
        f"    same items, new bodies {len(rows) / resent_s:8.0f} items/s  ({resent_s:.1f} s) "
        f"{resent_totals}  (keys reordered: each item known by its content hash)"
    )
    print(f"  raw Core upsert (base)  {len(rows) / raw_s:9.0f} items/s  ({raw_s:.1f} s)")
    print(f"  new / baseline          {raw_s / new_s:9.3f}x  (target >= 0.5)")
    if floor_s:
        print(
            f"  SQLite floor (driver)   {len(rows) / floor_s:9.0f} items/s  ({floor_s:.1f} s): "
            "the same rows by sqlite3 executemany, no SQLAlchemy"
        )
    size = sum(len(orjson.dumps(r)) for r in rows[:1000]) / min(len(rows), 1000)
    print(
        f"  fixed cost an item      parse {fixed['parse']:.0f} µs, validate (with the parse) "
        f"{fixed['validate']:.0f} µs, dump {fixed['dump']:.0f} µs: {size / 1000:.1f} KB of JSON "
        f"an item; with nothing else, one core could take "
        f"{1e6 / (fixed['validate'] + fixed['dump']):.0f} items/s"
    )
    print(
        f"  feed read               {changes / feed_s:9.0f} changes/s ({changes} changes, {feed_s:.1f} s)"
    )
    print(
        f"  mirror apply            {mirrored / mirror_s:9.0f} changes/s ({mirrored} changes, "
        f"{mirror_s:.1f} s; the seed's versions were held already)"
    )
    update_case(engine, url, rows, len(rows) / new_s)
    engine.dispose()
    base_engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        help="a PostgreSQL server URL (a database is created on it)",
    )
    parser.add_argument(
        "--only-update",
        action="store_true",
        help="only the new items and the update case (step 7)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(
            f"sqlite:///{tmp}/sync.db",
            f"sqlite:///{tmp}/baseline.db",
            args.items,
            f"sqlite:///{tmp}/mirror.db",
            only_update=args.only_update,
        )
    for server_url in args.database_url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from app.db import normalise_url

        base = make_url(normalise_url(server_url))
        names = [f"bench_{part}_{uuid.uuid4().hex[:6]}" for part in ("sync", "base", "mirror")]
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            sync_url, base_url, mirror_url = (
                base.set(database=name).render_as_string(hide_password=False) for name in names
            )
            run(sync_url, base_url, args.items, mirror_url, only_update=args.only_update)
        finally:
            with admin.connect() as conn:
                for name in names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
