"""Reference verifier of the digest (docs/sync.md, "The digest"): checks a copy that keeps
items as rows — a SQLite table ``items(code TEXT PRIMARY KEY, doc TEXT)`` holding each
item's JSON in any formatting, its keys in the order received — against the service's
``GET /api/v1/sync/digest``.

    python docs/verify_digest.py --rows copy.db --from https://catalogue.example [--region 2301]

Exit 0 when the copy's hash equals the service's; else 1, naming the first differing codes.
Standard library only: the algorithm is what matters, any language can do the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import urllib.parse
import urllib.request
from typing import Any


def canonical(doc: Any) -> bytes:
    """The bytes ``GET /items/{code}`` answers for this item: compact JSON (no spaces), keys
    in the service's order (as received: a JSON parser that keeps order), non-ASCII text
    as UTF-8 (not ``\\u`` escapes), ``"`` ``\\`` and control characters escaped (``\\n``,
    ``\\t``… and ``\\u001f`` for the others), numbers as the shortest form that reads back
    the same. This is orjson's default output, which the service stores and serves."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def item_hash(doc: Any) -> str:
    """An item's hash: SHA-256 of its exact bytes, in lowercase hex."""
    return hashlib.sha256(canonical(doc)).hexdigest()


def scope_hash(hashes: list[tuple[str, str]]) -> str:
    """A scope's hash: SHA-256 of the lines ``"{code}:{hash}\\n"`` in code order (the codes
    compared as ASCII strings)."""
    h = hashlib.sha256()
    for code, item in sorted(hashes):
        h.update(f"{code}:{item}\n".encode())
    return h.hexdigest()


def rows(db: sqlite3.Connection, region: str | None = None) -> list[tuple[str, str]]:
    """(code, item hash) of the copy's items, of ``region`` (a code or its prefix: an item's
    ``region.code`` starts with the prefix, ``230100`` read as ``2301``) if given."""
    prefix = region
    while prefix and len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    out = []
    for code, text in db.execute("SELECT code, doc FROM items ORDER BY code"):
        doc = json.loads(text)  # a dict keeps the order of the keys as they came
        if prefix and not doc["region"]["code"].startswith(prefix):
            continue
        out.append((code, item_hash(doc)))
    return out


def differing(mine: list[tuple[str, str]], theirs: list[dict[str, Any]]) -> list[str]:
    """The codes whose hash differs, or that one side lacks, in code order."""
    a = dict(mine)
    b = {i["code"]: i["hash"] for i in theirs}
    return sorted(c for c in a.keys() | b.keys() if a.get(c) != b.get(c))


def verify(db: sqlite3.Connection, digest: dict[str, Any], region: str | None = None) -> list[str]:
    """The codes that differ from ``digest`` (a ``GET /sync/digest?items=true`` answer);
    empty when the copy is equal."""
    mine = rows(db, region)
    if scope_hash(mine) == digest["hash"] and len(mine) == digest["count"]:
        return []
    return differing(mine, digest.get("items") or []) or ["(the scope's hash differs)"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", required=True, help="the SQLite file with the items table")
    parser.add_argument("--from", dest="source", required=True, help="the service's base URL")
    parser.add_argument("--region", help="a GB/T 2260 code or its prefix")
    args = parser.parse_args()
    query = {"items": "true", **({"region": args.region} if args.region else {})}
    url = f"{args.source.rstrip('/')}/api/v1/sync/digest?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=120) as answer:
        digest = json.load(answer)
    with sqlite3.connect(args.rows) as db:
        found = verify(db, digest, args.region)
    if not found:
        print(f"equal: {digest['count']} items, {digest['hash']}")
        return 0
    print(f"DIGESTS DIFFER: {len(found)} items, first {', '.join(found[:10])}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
