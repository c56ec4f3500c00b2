"""Search at scale: 1,000,000 implementations on the embedded index.

    .venv/bin/python bench/search.py [--items 1000000] [--rounds 3] [--reuse DIR]
    .venv/bin/python bench/search.py --from-database URL

Builds a SQLite catalogue in a temporary folder (migrated, reference data only) and an
embedded index next to it with ``--items`` implementations: the real names of
../shared/data/items_guangan.json (v-luobo/zwfw, Apache-2.0) and of the seed's catalogue
entries, replicated across the regions of 黑龙江 (province, cities, counties) with local
variations (township, sub-district, proxy and notification-commitment variants of each
item). Then measures, over a query mix with common words (登记, 证明, 许可), pinyin,
initials, filters and region collapse:

* the raw engine time (tantivy: the backend's query, in this process),
* the search time (analysis + backend + collapse + facets: ``SearchEngine``),
* the API time (GET /api/v1/search over HTTP against one uvicorn worker on the same index,
  one kept-alive connection),

and prints p50/p95 of each, the API/engine ratio and the peak RSS. Targets: p95 <= 12 ms,
build >= 15,000 items/s, API / raw engine <= 2.

``--from-database URL`` measures instead the indexer's full build from a catalogue database
(what ``catalogue reindex`` does: every item's stored JSON read and turned into a document),
e.g. one grown by bench/scale.py, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import server_process  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "items_guangan.json"
VARIANTS = [
    "",
    "（乡镇）",
    "（街道）",
    "（村级代办）",
    "（容缺受理）",
    "（告知承诺制）",
    "（网上办）",
]
TYPES = {"行政许可": "01", "行政给付": "05", "行政确认": "07", "行政奖励": "08",
         "行政裁决": "09", "其他行政权力": "10", "公共服务": "20"}  # fmt: skip
COMMON = {"登记", "证明", "许可"}  # each in 110–210 k of the million names
QUERIES = ["登记", "证明", "许可", "护照", "身份证补领", "社保卡密码忘了", "huzhao", "sbk",
           "结婚登记", "食品经营许可", "開公司", "公积金提取"]  # fmt: skip


def corpus() -> list[tuple[str, str]]:
    """(name, item type) of the real items and the seed's entries. Without the real items
    the corpus would be the seed's few hundred names only: another benchmark (a smaller
    dictionary, fewer distinct scores), so it stops instead, e.g. in a worktree elsewhere."""
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found: the benchmark's names come from it (../shared next to "
                 "the checkout; link it there for a worktree)")  # fmt: skip
    names = [(it["name"], TYPES.get(it["type"], "10"))
             for it in json.loads(SHARED.read_text(encoding="utf-8"))]  # fmt: skip
    for e in json.loads((ROOT / "seed" / "catalogue_entries.json").read_text(encoding="utf-8")):
        names.append((e["name"], e["item_type"]))
    return list(dict.fromkeys(names))


def regions() -> list[dict[str, Any]]:
    rows = json.loads((ROOT / "seed" / "regions.json").read_text(encoding="utf-8"))
    return [r for r in rows if r["code"].startswith("23")]


def documents(total: int) -> Iterator[list[dict[str, Any]]]:
    from app.search.analysis import Analyzer
    from app.search.text import add_user_words

    names = corpus()
    add_user_words(n for n, _ in names)
    analyzer = Analyzer()
    fields: dict[str, dict[str, str]] = {}
    batch: list[dict[str, Any]] = []
    n = 0
    themes = ["P010", "P085", "P090", "L005", "L010"]
    # what depends on the name's position only, made once (not once a document)
    per_name = [
        (f"{i:05d}", ["1"] if i % 3 else ["2"], [themes[i % len(themes)]],
         "true" if i % 2 else "false", "1" if i % 50 else "3")
        for i in range(len(names))
    ]  # fmt: skip
    while n < total:
        for v, suffix in enumerate(VARIANTS):
            for r in regions():
                level = {1: "2", 2: "3"}.get(r["level"], "4")
                region_code, region_name = r["code"], r["name"]
                prefix = f"{region_code}{v}"
                departments = [
                    (f"D{region_code}{k:02d}", f"{region_name}第{k}局") for k in range(12)
                ]
                for i, (name, item_type) in enumerate(names):
                    if n >= total:
                        break
                    full = name + suffix
                    analysed = fields.get(full)
                    if analysed is None:  # the same name analyses the same
                        analysed = fields[full] = analyzer.document_fields(full, [], [region_name])
                    number, audience, theme, online, status = per_name[i]
                    department_code, department_name = departments[i % 12]
                    doc = {
                        "code": prefix + number,
                        "basic_code": f"{number}{v}",
                        "name": full,
                        "department_code": department_code,
                        "department_name": department_name,
                        "region_code": region_code,
                        "region_name": region_name,
                        "level": level,
                        "item_type": item_type,
                        "audience": audience,
                        "themes": theme,
                        "online": online,
                        "status": status,
                        "version": 1,
                        **analysed,
                    }
                    batch.append(doc)
                    n += 1
                    if len(batch) == 20_000:
                        yield batch
                        batch = []
    if batch:
        yield batch


def mix() -> list[dict[str, str]]:
    out = []
    for i, q in enumerate(QUERIES):
        out.append({"q": q})
        out.append({"q": q, "region": "230102"})  # county: collapse over 道里区, 哈尔滨, province
        out.append({"q": q, "type": "01"} if i % 2 else {"q": q, "online": "true"})
        out.append({"q": q, "region": "230100", "theme": "P090"})
    return out


def query_class(params: dict[str, str]) -> str:
    """common word or other query × flat, filtered, county collapse, city collapse + theme."""
    word = "common" if params["q"] in COMMON else "other"
    if "region" in params:
        shape = "city+theme" if "theme" in params else "county"
    else:
        shape = "filter" if ("type" in params or "online" in params) else "flat"
    return f"{word}/{shape}"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reuse", type=Path, help="a folder of an earlier run: skip the build")
    ap.add_argument(
        "--from-database",
        metavar="URL",
        help="only build an embedded index from this catalogue database (SQLite or "
        "PostgreSQL) with the indexer's own full build, as `catalogue reindex` does",
    )
    args = ap.parse_args()
    if args.from_database:
        build_from_database(args.from_database)
        return

    from sqlmodel import Session

    from app.db import make_engine
    from app.migrate import upgrade
    from app.search.backends.embedded import TantivyBackend
    from app.search.engine import SearchEngine, SearchRequest
    from app.search.service import SearchService
    from app.seed import load_reference

    tmp = args.reuse or Path(tempfile.mkdtemp(prefix="search-bench-"))
    url = f"sqlite:///{tmp / 'catalogue.db'}"
    engine = make_engine(url)
    backend = TantivyBackend(tmp / "search-index")
    if args.reuse and backend.needs_rebuild():  # built before the index layout changed
        sys.exit(f"{tmp} holds an index of another schema version: run without --reuse")
    if not args.reuse:
        upgrade(url)
        with Session(engine) as session:
            load_reference(session, ROOT / "seed")
            session.commit()
        started, cpu = time.perf_counter(), time.process_time()
        built = 0

        def counted() -> Iterator[list[dict[str, Any]]]:
            nonlocal built
            for b in documents(args.items):
                built += len(b)
                yield b

        backend.rebuild(counted())
        build_s, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"index build: {built:,} items in {build_s:.1f}s = {built / build_s:,.0f} "
              f"items/s (analysis of distinct names included); CPU {cpu:.1f}s (all threads: "
              f"{built / cpu:,.0f} items per CPU second); peak RSS {peak_rss_mb():,.0f} MB")  # fmt: skip
    else:
        from app.search.text import add_user_words

        add_user_words(n for n, _ in corpus())

    svc = SearchService(backend)
    with Session(engine) as session:
        svc.prepare(session)
        synonyms = svc.synonyms(session)
    search = SearchEngine(backend, svc.analyzer)
    queries = mix()

    # raw engine and in-process search
    raw_ms: list[float] = []
    engine_ms: list[float] = []
    by_class: dict[str, list[float]] = {}
    original = backend.search

    def timed(*a: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return original(*a, **kw)
        finally:
            raw_ms.append((time.perf_counter() - t) * 1000)

    backend.search = timed  # type: ignore[method-assign]
    for _ in range(args.rounds):
        for params in queries:
            chain = svc.region_chain(params["region"]) if "region" in params else None
            filters = {}
            if "type" in params:
                filters["item_type"] = [params["type"]]
            if "online" in params:
                filters["online"] = [params["online"]]
            if "theme" in params:
                filters["themes"] = [params["theme"]]
            t = time.perf_counter()
            search.search(
                SearchRequest(q=params["q"], region_chain=chain, filters=filters), synonyms
            )
            engine_ms.append((time.perf_counter() - t) * 1000)
            by_class.setdefault(query_class(params), []).append(engine_ms[-1])
    backend.search = original  # type: ignore[method-assign]

    api_ms: list[float] = []
    worker_rss = 0.0
    with server_process(url) as (port, pid):
        # one kept-alive connection, as a browser, a city platform or a reverse proxy keeps
        # one: a new TCP connection a request cost the client ~1 ms more than the search
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def get(params: dict[str, str]) -> None:
            conn.request("GET", "/api/v1/search?" + urllib.parse.urlencode(params))
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200, resp.status

        for params in queries:  # warm up: the worker loads the dictionary and the index
            get(params)
        for _ in range(args.rounds):
            for params in queries:
                t = time.perf_counter()
                get(params)
                api_ms.append((time.perf_counter() - t) * 1000)
        conn.close()
        worker_rss = peak_rss_of(pid)

    def line(label: str, values: list[float]) -> str:
        return (f"{label:<28} n={len(values):<5} p50={statistics.median(values):7.2f} ms  "
                f"p95={pct(values, 95):7.2f} ms")  # fmt: skip

    for name in sorted(by_class):
        print(line(f"search {name}", by_class[name]))
    print(line("raw engine (tantivy calls)", raw_ms))
    print(line("search (analysis+collapse)", engine_ms))
    print(line("API (HTTP, one worker)", api_ms))
    print(f"API / search p50 ratio: {statistics.median(api_ms) / statistics.median(engine_ms):.2f}; "
          f"API / raw engine p50 ratio: {statistics.median(api_ms) / statistics.median(raw_ms):.2f}")  # fmt: skip
    print(f"peak RSS: this process {peak_rss_mb():,.0f} MB, the API worker {worker_rss:,.0f} MB")
    print(f"index and database in {tmp}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_of(pid: int) -> float:
    """The peak resident memory of a running process (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build_from_database(url: str) -> None:
    """The indexer's full build (``catalogue reindex``, bench/scale.py) from a catalogue
    database, into a temporary embedded index: items/s and peak RSS."""
    from sqlmodel import Session

    from app.db import make_engine
    from app.search.backends.embedded import TantivyBackend
    from app.search.indexer import Indexer
    from app.search.service import SearchService

    engine = make_engine(url)
    with tempfile.TemporaryDirectory(prefix="search-build-") as tmp:
        svc = SearchService(TantivyBackend(Path(tmp) / "index"))
        with Session(engine) as session:
            svc.prepare(session)  # the dictionary and labels: once per process, not timed
            started, cpu = time.perf_counter(), time.process_time()
            n = Indexer(svc).build(session)
            build_s, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    print(f"index build from {engine.dialect.name}: {n:,} items in {build_s:.1f}s = "
          f"{n / build_s:,.0f} items/s; CPU {cpu:.1f}s (all threads: {n / cpu:,.0f} items "
          f"per CPU second); peak RSS {peak_rss_mb():,.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
