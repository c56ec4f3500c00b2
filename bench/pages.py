"""The item page (GET /items/{code}, HTML) against the JSON read of the same item
(GET /api/v1/items/{code}): the page should take at most twice as long. Then the editor's
pages, signed in as an editor of the passport's department: the worklist (GET /editor), a
change request whose diff has 20 rows (GET /editor/requests/{id}) and the item form that
continues it (GET /editor/items/{code}/edit): p95 <= 50 ms each.

    .venv/bin/python bench/pages.py [--seconds 8] [--connections 16] [--rounds 3]
                                    [--requests 300] [--editor-only]

Builds a seeded SQLite catalogue in a temporary folder, serves it with one uvicorn worker
and drives both paths over every seeded item with bench/loadgen.py from another process,
alternating rounds so that both see the same machine noise. Prints requests/s, p50/p99 and
the ratio JSON/page of requests/s (target: <= 2.0), all from the same run. ``render`` is the
page rendered anew every time (a query parameter keeps it out of the rendered-page cache):
what a first view of each version of each item costs. Every page is viewed once before
the timed rounds (a loaded host may not render all of them in the 2 s warm-up, and a
first view is what ``render`` measures).

The editor's pages are rendered anew for every request (they are the key holder's alone,
never kept): timed one after the other over one keep-alive connection, so that a figure is
what one editor waits, not a queue.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_env, compare, seeded_database, server  # noqa: E402

TARGET = 2.0
EDITOR_TARGET_MS = 50.0  # p95 of the editor's home and of a request page
PASSPORT = "000115001000"  # 普通护照签发: its Harbin implementation, 11 materials
HARBIN = "230100"
DIFF_ROWS = 20


def _key(url: str, department: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "create", "--role", "editor"]
        + ["--name", "bench-editor", "--department", department],
        cwd=ROOT,
        env=bench_env(url),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _signed_in(conn: http.client.HTTPConnection, key: str) -> str:
    """The Cookie header of a page session of ``key`` (signed in through the form)."""
    conn.request("GET", "/editor")
    resp = conn.getresponse()
    page = resp.read().decode()
    csrf_cookie = re.search(r"sc_csrf=([^;]+)", resp.getheader("set-cookie") or "")
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf_cookie and token, "no CSRF token on the sign-in page"
    body = urllib.parse.urlencode({"csrf": token.group(1), "key": key})
    conn.request(
        "POST",
        "/editor/login",
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"sc_csrf={csrf_cookie.group(1)}",
        },
    )
    resp = conn.getresponse()
    resp.read()
    session = re.search(r"sc_session=([^;]+)", resp.getheader("set-cookie") or "")
    assert resp.status == 303 and session, f"sign-in failed: {resp.status}"
    return f"sc_session={session.group(1)}"


def _request_with_diff(base: str, key: str, code: str) -> int:
    """A draft changing originals and copies of ten materials: 20 diff rows."""
    item = json.load(urllib.request.urlopen(f"{base}/api/v1/items/{code}"))
    materials = [
        {**m, "originals": m["originals"] + 1, "copies": m["copies"] + 1}
        for m in item["materials"][: DIFF_ROWS // 2]
    ] + item["materials"][DIFF_ROWS // 2 :]
    materials = [{k: v for k, v in m.items() if k != "position"} for m in materials]
    request = urllib.request.Request(
        f"{base}/api/v1/change-requests",
        data=json.dumps({"item": code, "kind": "edit", "patch": {"materials": materials}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    made = json.load(urllib.request.urlopen(request))
    assert len(made["diff"]) == DIFF_ROWS, f"{len(made['diff'])} diff rows, not {DIFF_ROWS}"
    return int(made["id"])


def _timed(conn: http.client.HTTPConnection, path: str, cookie: str, n: int) -> list[float]:
    times = []
    for i in range(n + 20):  # the first 20 warm the templates and the code-list labels
        start = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, f"{path}: {resp.status}"
        if i >= 20:
            times.append((time.perf_counter() - start) * 1000)
    return times


def editor_pages(url: str, base: str, port: int, requests: int) -> None:
    listing = json.load(
        urllib.request.urlopen(f"{base}/api/v1/items?region={HARBIN}&basic_code={PASSPORT}")
    )
    [code] = [i["code"] for i in listing["items"] if i["region"] == HARBIN]
    key = _key(url, code[:18])
    number = _request_with_diff(base, key, code)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    cookie = _signed_in(conn, key)
    print(f"editor pages: {requests} requests each, one after the other, one connection")
    for name, path in (
        ("home", "/editor"),
        (f"{DIFF_ROWS}-row diff", f"/editor/requests/{number}"),
        ("item form", f"/editor/items/{code}/edit"),  # every section, the draft continued
    ):
        ms = _timed(conn, path, cookie, requests)
        p95 = statistics.quantiles(ms, n=20)[-1]
        verdict = "ok" if p95 <= EDITOR_TARGET_MS else "over"
        print(
            f"  {name:12s} p50 {statistics.median(ms):6.2f} ms  p95 {p95:6.2f} ms  "
            f"max {max(ms):6.2f} ms  (target p95 <= {EDITOR_TARGET_MS:g} ms: {verdict})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300, help="per editor page")
    parser.add_argument("--editor-only", action="store_true", help="the editor's pages only")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        seeded_database(url)
        with server(url) as port:
            base = f"http://127.0.0.1:{port}"
            if not args.editor_only:
                item_pages(base, port, args)
            editor_pages(url, base, port, args.requests)


def item_pages(base: str, port: int, args: argparse.Namespace) -> None:
    listing = json.load(urllib.request.urlopen(f"{base}/api/v1/items?limit=1000"))
    codes = [i["code"] for i in listing["items"]]
    targets = {
        "json": [f"/api/v1/items/{c}" for c in codes],
        "page": [f"/items/{c}" for c in codes],
        # any other parameter makes the page render anew (no rendered-page cache)
        "render": [f"/items/{c}?fresh=1" for c in codes],
    }
    for path in targets["page"]:  # every page kept once: the warm-up is timed
        urllib.request.urlopen(base + path).read()
    print(
        f"sqlite: {len(codes)} seeded items, {args.connections} connections, "
        f"{args.rounds} rounds of {args.seconds:g}s, one uvicorn worker (medians)"
    )
    summary = compare(port, targets, args.connections, args.seconds, args.rounds)
    ratio = summary["json"]["rps"] / summary["page"]["rps"]
    p50 = summary["page"]["p50_ms"] / summary["json"]["p50_ms"]
    verdict = "ok" if ratio <= TARGET else "over"
    print(
        f"  page cost / JSON read: {ratio:.2f} by req/s, {p50:.2f} by p50 (target <= {TARGET}: {verdict})"
    )


if __name__ == "__main__":
    main()
