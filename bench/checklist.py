"""POST /api/v1/items/{code}/checklist against GET /api/v1/items/{code} of the same items.

    .venv/bin/python bench/checklist.py [--seconds 10] [--connections 32] [--rounds 3]

Builds a seeded SQLite catalogue in a temporary folder, serves it with one uvicorn worker
and drives both request kinds with bench/loadgen.py from another process, alternating
rounds so that both see the same machine noise. The checklists are those of the seeded
items with situations, one valid set of answers each (their common situations, else the
first option of every question asked). Target: checklist latency <= 1.5x the item read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import compare, seeded_database, server  # noqa: E402


def answers_of(guide: dict) -> list[dict[str, list[str]]]:
    """The item's common situations, or one answer set built by asking as a citizen would."""
    saved = [c["answers"] for c in guide.get("common_situations", [])]
    if saved:
        return saved
    questions = {q["id"]: q for q in guide["situations"]}
    revealed = {r for q in questions.values() for o in q["options"] for r in o.get("reveals", [])}
    todo = [q for q in questions if q not in revealed]
    answers: dict[str, list[str]] = {}
    while todo:
        q = questions[todo.pop(0)]
        first = q["options"][0]
        answers[q["id"]] = [first["id"]]
        todo += [r for r in first.get("reveals", []) if r not in answers]
    return [answers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        seeded_database(url)
        with server(url) as port:
            base = f"http://127.0.0.1:{port}/api/v1"
            page = json.load(urllib.request.urlopen(f"{base}/items?limit=1000"))
            reads, checklists = [], []
            for summary in page["items"]:
                code = summary["code"]
                doc = json.load(urllib.request.urlopen(f"{base}/items/{code}"))
                if not (doc.get("guide") or {}).get("situations"):
                    continue
                for answers in answers_of(doc["guide"]):
                    body = json.dumps({"answers": answers}, ensure_ascii=False)
                    checklists.append(f"POST\t/api/v1/items/{code}/checklist\t{body}")
                    reads.append(f"/api/v1/items/{code}")
            if not checklists:
                sys.exit("no seeded item has situations")
            targets = {"item": reads, "checklist": checklists}
            print(
                f"{len(checklists)} checklists of {len(set(reads))} items with situations, "
                f"{args.connections} connections, {args.rounds} rounds of {args.seconds:g}s "
                "(medians)"
            )
            summary = compare(port, targets, args.connections, args.seconds, args.rounds)
    ratio = summary["checklist"]["p50_ms"] / summary["item"]["p50_ms"]
    print(f"  latency checklist/item (p50): {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
