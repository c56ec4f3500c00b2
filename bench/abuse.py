"""Hostile key-holders: what an editor's import bombs, an editor's combinatorial situations and
slow webhook receivers cost everyone else.

    .venv/bin/python bench/abuse.py [--repo DIR] [--seconds 30] [--idle-seconds 10]
        [--phases abc] [--review-editors] [--rss-guard-mb 3000] [--json FILE] [--logs DIR]

Migrates and seeds a SQLite catalogue once (an admin key and 4 editor keys of one department,
by ``catalogue keys create``); each phase serves a fresh copy of it with a real ``catalogue
serve`` (uvicorn, one worker, the search indexer and the webhook thread on, loopback webhook
receivers allowed, editors' writes direct unless ``--review-editors``), so that no phase
inherits another's threads or memory; the server is killed at the phase's end.

Each phase first measures ``--idle-seconds`` of the normal traffic, then ``--seconds`` of it
beside the abuse: item reads (GET /api/v1/items/{code} over 50 seeded codes, 4 connections of
20 reads a second each, from another process; a read's latency counts from the moment it was
due, so a stall counts for every read it delays) and an admin PATCH every 0.1 s. The abuse:

(a) 4 editors upload two XLSX bombs in turn, dry run and real: 1.4 KB declaring
    ``A1:XFD1048576`` with one cell in the last row, and 0.4 MB whose shared strings unpack to
    400 MB; each at most once a second (the four a quarter of a second apart), waiting for
    its job's end (at most 4 s) in between;
(b) 4 editors PATCH an item of their department with 10 multiple-choice questions of 20
    options (about 11 KB: 10^60 answer sets), each once a second, a quarter apart;
(c) a receiver answering at once is subscribed before the idle measurement (its deliveries
    are normal traffic), 4 answering a byte every 1.9 s join it for the abuse; its delay is
    from the admin write's answer to the delivery of its change.

Targets, per phase: read p99 <= 1.5x its idle; server RSS growth from idle <= 100 MB (VmRSS of
the server and its children, sampled every 50 ms, and VmHWM); admin write p99 <= 2x its idle;
(c) the normal receiver's longest delay <= 5 s. A request still unanswered at the phase's end
counts with its time so far (a lower bound, shown with >=). Uploads stop, and the phase
fails, when the server has grown by ``--rss-guard-mb``. The JSON has the slowest reads (when
they were due) and ``--logs`` keeps the servers' logs, to tell a stall of the server from one of
the host. On a busy host one pause of the whole server (all four connections at once, idle
windows too) sets a window's p99: ``--idle-seconds 30`` gives the idle window as many chances
to meet one as the abused. About 3 minutes with the defaults.

``--repo DIR`` serves another checkout (its migrations, seed and ``app``) with this virtualenv:
``git worktree add /tmp/abuse-base <commit>`` gives the figures before a change.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.abuse_inputs import (  # noqa: E402
    HOST,
    NormalReceiver,
    SlowReceiver,
    combinatorial_patch,
    dimension_bomb,
    multipart,
    strings_bomb,
)
from bench.abuse_probes import (  # noqa: E402
    READ_CONNECTIONS,
    READ_RATE,
    WRITE_EVERY_S,
    AdminWriter,
    Calls,
    TreeRss,
    auth,
    looping,
    reads,
)
from bench.common import bench_env, catalogue_serve  # noqa: E402

#: editors (or receivers) abusing at once
CLIENTS = 4
#: seconds an import client waits for its job's end before its next upload
JOB_WAIT_S = 4.0

TARGET_READ_RATIO = 1.5  # read p99 in the phase / idle
TARGET_RSS_MB = 100  # server RSS growth from idle
TARGET_WRITE_RATIO = 2.0  # admin write p99 in the phase / idle
TARGET_DELIVERY_S = 5.0  # the normal receiver's longest delay

# --- the phases ---------------------------------------------------------------------------


class Phase:
    """One server on a fresh copy of the seeded database: idle traffic, then the abuse."""

    def __init__(self, name: str, setup: dict[str, Any], args: argparse.Namespace) -> None:
        self.name, self.setup, self.args = name, setup, args
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.calls: dict[str, Calls] = {}
        self.notes: dict[str, Any] = {}

    def run(self, tmp: Path) -> dict[str, Any]:
        db = tmp / f"{self.name}.db"
        with sqlite3.connect(self.setup["template"]) as src, sqlite3.connect(db) as dst:
            src.backup(dst)
        env = {
            "CATALOGUE_WEBHOOKS": "true",
            "CATALOGUE_WEBHOOK_ALLOW_HOSTS": HOST,
            "CATALOGUE_REVIEW_EDITORS": "true" if self.args.review_editors else "false",
            "TMPDIR": str(tmp),  # the uploaded files, removed with the folder
        }
        log = tmp / f"{self.name}.log"
        load_before = os.getloadavg()[0]
        with catalogue_serve(
            f"sqlite:///{db}", log, root=self.setup["root"], env=env, stop_timeout=2
        ) as (port, pid):
            self.port = port
            paths = [f"/api/v1/items/{c}" for c in self.setup["reads"]]
            reads(port, paths, 2)  # warm-up
            rss = TreeRss(pid)
            self.prelude()
            idle_stop = threading.Event()
            admin = self.idle_admin = AdminWriter(
                port, self.setup["admin"], self.setup["admin_item"]
            )
            writer = admin.start(idle_stop)
            idle_reads = reads(port, paths, self.args.idle_seconds)
            idle_stop.set()
            writer.join()
            idle_writes = admin.calls.summary()
            rss.rebase()
            self.rss = rss
            admin = AdminWriter(port, self.setup["admin"], self.setup["admin_item"])
            self.abuse()
            self.threads.append(admin.start(self.stop))
            phase_reads = reads(port, paths, self.args.seconds)
            self.stop.set()
            self.finish(admin)
            for calls in [admin.calls, *self.calls.values()]:
                calls.close()
            growth = rss.stop()
        for thread in self.threads:
            thread.join(timeout=5)
        return {
            "load_average": [load_before, os.getloadavg()[0]],
            "idle": {"reads": idle_reads, "writes": idle_writes},
            "abused": {"reads": phase_reads, "writes": admin.calls.summary()},
            "rss_growth_mb": growth,
            "rss_guard_tripped": growth > self.args.rss_guard_mb,
            "abusers": {k: c.summary() for k, c in self.calls.items()},
            **self.notes,
            "server_errors": errors(log.read_text(errors="replace")),
        }

    def prelude(self) -> None:
        """What the normal traffic includes, from the idle measurement on."""

    def abuse(self) -> None:
        raise NotImplementedError

    def finish(self, admin: AdminWriter) -> None:
        pass


def staggered(stop: threading.Event, step: Callable[[int], None], i: int) -> threading.Thread:
    """Client ``i``'s loop: once a second, a quarter of a second after client ``i - 1``'s
    (clients of a loop drift apart; four in step would measure a burst, not the load)."""
    return looping(stop, 1.0, step, after=i / CLIENTS)


def errors(log: str) -> dict[str, int]:
    """The server log's tracebacks, counted by their exception's line."""
    found: Counter[str] = Counter()
    for tb in log.split("Traceback (most recent call last):")[1:]:
        lines = [line for line in tb.splitlines() if line and not line.startswith(" ")]
        found[lines[0][:160] if lines else "?"] += 1
    return dict(found)


class ImportBombs(Phase):
    """(a) 4 editors upload the two bombs in turn, dry run and real."""

    def abuse(self) -> None:
        uploads, polls = self.calls["uploads"], self.calls["job polls"] = Calls(), Calls()
        ended = self.notes["jobs"] = Counter()
        bombs = self.setup["bombs"]
        # dry runs first, half the clients starting with each bomb: what each costs shows
        # before anything a real import may hold up
        turns = [(name, dry) for dry in ("true", "false") for name in bombs]

        def client(i: int) -> Callable[[int], None]:
            key = self.setup["editors"][i]

            def step(n: int) -> None:
                if self.rss.growth_mb > self.args.rss_guard_mb:
                    return  # the machine is shared: no more bombs once the guard is reached
                name, dry = turns[(n + i % 2) % len(turns)]
                body, ctype = multipart(f"{name}.xlsx", bombs[name])
                path = f"/api/v1/imports?dry_run={dry}"
                status, answer = uploads.call(self.port, "POST", path, body, auth(key, ctype))
                if status != 202:
                    return
                url, until = json.loads(answer)["status_url"], time.perf_counter() + JOB_WAIT_S
                while not self.stop.wait(0.5) and time.perf_counter() < until:
                    status, answer = polls.call(self.port, "GET", url, b"", auth(key))
                    state = json.loads(answer)["status"] if status == 200 else str(status)
                    if state not in ("queued", "running"):
                        break
                else:
                    state = f"running after {JOB_WAIT_S:g} s"
                if not self.stop.is_set():  # the phase's end cut the wait short
                    ended[state] += 1

            return step

        self.threads += [staggered(self.stop, client(i), i) for i in range(CLIENTS)]


class Combinatorial(Phase):
    """(b) 4 editors PATCH the combinatorial situations in a loop."""

    def abuse(self) -> None:
        patches = self.calls["patches"] = Calls()
        items = self.setup["editor_items"]
        body = {}
        for code in items:
            with contextlib.closing(
                http.client.HTTPConnection(HOST, self.port, timeout=30)
            ) as conn:
                conn.request("GET", f"/api/v1/items/{code}")
                body[code] = combinatorial_patch(json.loads(conn.getresponse().read()))
        self.notes["patch_bytes"] = len(body[items[0]])

        def client(i: int) -> Callable[[int], None]:
            code, key = items[i % len(items)], self.setup["editors"][i]
            path = f"/api/v1/items/{code}"
            return lambda n: patches.call(self.port, "PATCH", path, body[code], auth(key)) and None

        self.threads += [staggered(self.stop, client(i), i) for i in range(CLIENTS)]


class SlowHooks(Phase):
    """(c) a normal receiver subscribed from the idle measurement on (its deliveries are
    normal traffic), 4 slow ones beside it for the abuse."""

    def subscribe(self, receivers: list[NormalReceiver] | list[SlowReceiver]) -> None:
        subscribed = self.notes.setdefault("subscriptions", Counter())
        for receiver in receivers:
            body = json.dumps({"url": receiver.url, "secret": "abuse-bench-0123456789abcdef"})
            status, _ = Calls().call(
                self.port, "POST", "/api/v1/subscriptions", body.encode(), auth(self.setup["admin"])
            )
            subscribed[str(status)] += 1

    def prelude(self) -> None:
        self.normal = NormalReceiver()
        self.subscribe([self.normal])

    def abuse(self) -> None:
        self.hang_up = threading.Event()  # after the judging: a slow answer frees a worker
        self.slow = [SlowReceiver(self.hang_up) for _ in range(CLIENTS)]
        self.subscribe(self.slow)

    def delays(self, admin: AdminWriter, now: float) -> dict[str, Any]:
        """From each write's answer to its delivery (or to ``now``, undelivered)."""
        delays = [self.normal.arrived.get(k, now) - t for k, t in admin.answered.items()]
        return {
            "writes": len(delays),
            "undelivered": len(set(admin.answered) - set(self.normal.arrived)),
            "max_s": max(delays) if delays else None,
            "p50_s": statistics.median(delays) if delays else None,
        }

    def finish(self, admin: AdminWriter) -> None:
        """Give the last writes the target's time to arrive, then judge every write."""
        until = time.perf_counter() + TARGET_DELIVERY_S + 1
        while time.perf_counter() < until and set(admin.answered) - set(self.normal.arrived):
            time.sleep(0.2)
        now = time.perf_counter()
        self.notes["delivery idle"] = self.delays(self.idle_admin, now)
        self.notes["delivery"] = {
            **self.delays(admin, now),
            "slow_deliveries_started": sum(r.deliveries for r in self.slow),
        }
        self.normal.close()
        self.hang_up.set()


PHASES = {
    "a": ("import bombs", ImportBombs),
    "b": ("combinatorial situations", Combinatorial),
    "c": ("slow webhook receivers", SlowHooks),
}


# --- the catalogue, the keys -------------------------------------------------------------


def cli(root: Path, url: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, *args],
        cwd=root,
        env=bench_env(url, root),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def prepare(root: Path, tmp: Path) -> dict[str, Any]:
    from bench.common import seeded_database

    template = tmp / "template.db"
    url = f"sqlite:///{template}"
    seeded_database(url, root)
    with sqlite3.connect(template) as db:
        live = db.execute(
            "SELECT code, department_code FROM implementation WHERE status = '1' ORDER BY code"
        ).fetchall()
    department = Counter(d for _, d in live).most_common(1)[0][0]
    editor_items = [c for c, d in live if d == department][:CLIENTS]
    others = [c for c, d in live if d != department]

    def key(role: str, name: str, *scope: str) -> str:
        return cli(
            root, url, "-m", "app.cli", "keys", "create", "--role", role, "--name", name, *scope
        )

    return {
        "root": root,
        "template": template,
        "app": cli(root, url, "-c", "import app; print(app.__file__)"),
        "admin": key("admin", "abuse-admin"),
        "editors": [
            key("editor", f"abuse-editor-{i}", "--department", department) for i in range(CLIENTS)
        ],
        "editor_items": editor_items,
        "admin_item": others[0],
        "reads": others[1:51],
        "bombs": {"dimension": dimension_bomb(), "strings": strings_bomb()},
    }


# --- the table ---------------------------------------------------------------------------


def ratio(after: float | None, before: float | None) -> float | None:
    return after / before if after is not None and before else None


def judge(result: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(measure, figure, target, met) rows of one phase."""

    def ms(s: dict[str, Any]) -> str:
        if s["p99_ms"] is None:
            return "no answer"
        return f"{'>= ' if s.get('unanswered') else ''}{s['p99_ms']:.0f} ms"

    def p50(s: dict[str, Any]) -> str:
        return "-" if s["p50_ms"] is None else f"{s['p50_ms']:.1f}"

    idle, abused = result["idle"], result["abused"]
    read_ratio = ratio(abused["reads"]["p99_ms"], idle["reads"]["p99_ms"])
    write_ratio = ratio(abused["writes"]["p99_ms"], idle["writes"]["p99_ms"])
    rows = [
        (
            "read p99, idle -> abused",
            f"{ms(idle['reads'])} -> {ms(abused['reads'])} "
            f"({'-' if read_ratio is None else f'{read_ratio:.2f}x'}; p50 {p50(idle['reads'])}"
            f" -> {p50(abused['reads'])})",
            f"<= {TARGET_READ_RATIO}x",
            read_ratio is not None and read_ratio <= TARGET_READ_RATIO,
        ),
        (
            "server RSS growth from idle (peak)",
            f"{result['rss_growth_mb']:.0f} MB",
            f"<= {TARGET_RSS_MB} MB",
            result["rss_growth_mb"] <= TARGET_RSS_MB,
        ),
        (
            "admin write p99, idle -> abused",
            f"{ms(idle['writes'])} -> {ms(abused['writes'])} "
            f"({'-' if write_ratio is None else f'{write_ratio:.1f}x'})",
            f"<= {TARGET_WRITE_RATIO:g}x",
            write_ratio is not None and write_ratio <= TARGET_WRITE_RATIO,
        ),
    ]
    if "delivery" in result:
        d = result["delivery"]
        late = f" ({d['undelivered']} of {d['writes']} undelivered)" if d["undelivered"] else ""
        rows.append(
            (
                "normal receiver's delay, max",
                "-" if d["max_s"] is None else f"{'>= ' if late else ''}{d['max_s']:.1f} s{late}",
                f"<= {TARGET_DELIVERY_S:g} s",
                d["max_s"] is not None and d["max_s"] <= TARGET_DELIVERY_S,
            )
        )
    return rows


def report(setup: dict[str, Any], results: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"catalogue serve from {setup['root']} (app: {setup['app']}, {setup['commit']}), SQLite; "
        f"idle {args.idle_seconds:g} s then abuse {args.seconds:g} s per phase; reads: "
        f"{READ_CONNECTIONS} connections x {READ_RATE}/s; an admin PATCH every {WRITE_EVERY_S:g} s; "
        f"editors' writes {'reviewed' if args.review_editors else 'direct'}"
    )
    met = total = 0
    for letter, result in results.items():
        rows = judge(result)
        la = result["load_average"]
        print(f"({letter}) {PHASES[letter][0]}  [load average {la[0]:.1f} -> {la[1]:.1f}]")
        for name, figure, target, ok in rows:
            print(f"    {name:<36} {figure:<52} {target:<10} {'PASS' if ok else 'FAIL'}")
        met, total = met + sum(r[3] for r in rows), total + len(rows)
        for who, s in result["abusers"].items():
            answers = ", ".join(f"{k} x{v}" for k, v in sorted(s["statuses"].items()))
            p50 = "-" if s["p50_ms"] is None else f"{s['p50_ms']:.0f} ms"
            print(f"    {who}: {s['requests']} ({answers}), p50 {p50}")
        extra = {k: result[k] for k in ("jobs", "patch_bytes", "subscriptions") if k in result}
        if "delivery" in result:
            idle = result["delivery idle"]
            if idle["max_s"] is not None:
                extra["normal receiver idle: delay max"] = (
                    f"{idle['max_s']:.1f} s ({idle['writes']} writes)"
                )
            extra["slow deliveries started"] = result["delivery"]["slow_deliveries_started"]
        if result["rss_guard_tripped"]:
            extra["RSS guard"] = f"tripped at {args.rss_guard_mb} MB: uploads stopped"
        if result["server_errors"]:
            extra["server errors (tracebacks)"] = result["server_errors"]
        for k, v in extra.items():
            print(f"    {k}: {dict(v) if isinstance(v, Counter) else v}")
        errors = [result[p]["reads"]["errors"] for p in ("idle", "abused")]
        print(f"    reads not 200 (idle, abused): {errors}")
    print(f"  {met} of {total} targets met")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--seconds", type=float, default=30, help="each phase's abuse")
    parser.add_argument("--idle-seconds", type=float, default=10, help="each phase's idle")
    parser.add_argument("--phases", default="abc", help="which of a, b, c")
    parser.add_argument("--review-editors", action="store_true", help="editors' writes reviewed")
    parser.add_argument("--rss-guard-mb", type=float, default=3000)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this folder")
    args = parser.parse_args()

    root = args.repo.resolve()
    with tempfile.TemporaryDirectory(prefix="abuse-") as name:
        tmp = Path(name)
        setup = prepare(root, tmp)
        commit = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h %s"], capture_output=True, text=True
        )
        setup["commit"] = commit.stdout.strip()[:70] or "not a git checkout"
        results = {}
        for letter in args.phases:
            title, kind = PHASES[letter]
            print(f"({letter}) {title} ...", file=sys.stderr, flush=True)
            results[letter] = kind(letter, setup, args).run(tmp)
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                shutil.copy(tmp / f"{letter}.log", args.logs / f"{letter}.log")
    report(setup, results, args)
    if args.json:
        out = {
            "repo": str(root),
            "app": setup["app"],
            "commit": setup["commit"],
            "seconds": args.seconds,
            "idle_seconds": args.idle_seconds,
            "review_editors": args.review_editors,
            "phases": {
                k: {**r, "verdicts": {n: ok for n, _, _, ok in judge(r)}}
                for k, r in results.items()
            },
        }
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False, default=dict))


if __name__ == "__main__":
    main()
