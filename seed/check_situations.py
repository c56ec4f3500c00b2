"""Report the seed's situations: per entry, the questions and the reachable combinations of
answers of its implementations (seed/implementations.json, as build_seed.py wrote it after
applying seed/source/situations.yaml and checking it with the app's rules).

    cd /work/main && .venv/bin/python -m seed.check_situations
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

SEED = Path(__file__).resolve().parent
sys.path.insert(0, str(SEED.parent))

from app.catalogue.situations import Situations  # noqa: E402


def main() -> int:
    def load(name: str):
        return json.loads((SEED / name).read_text(encoding="utf-8"))

    names = {e["basic_code"]: e["name"] for e in load("catalogue_entries.json")}
    stats: dict[str, set[tuple[int, int]]] = defaultdict(set)
    count: dict[str, int] = defaultdict(int)
    for item in load("implementations.json"):
        questions = item["guide"].get("situations") or []
        combos = len(Situations(questions).combinations()) if questions else 0
        stats[item["basic_code"]].add((len(questions), combos))
        count[item["basic_code"]] += 1
    converted = 0
    for code in sorted(stats, key=lambda c: (-count[c], c)):
        for questions, combos in sorted(stats[code]):
            converted += bool(questions)
            print(
                f"{code} {names[code]:<30} impls {count[code]}  questions {questions}"
                f"  combinations {combos}"
            )
    print(f"\n{converted} entries with situations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
