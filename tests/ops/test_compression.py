"""The service compresses its text answers itself (gzip, when the client accepts it): the
feed, the snapshot, exports and pages arrive gzip-coded and decompress to the very bytes of
the uncompressed answer; compressed formats (XLSX) and short answers pass as they are; a
gzip-coded answer's ETag is weak, and still gets its 304."""

from __future__ import annotations

import gzip

import pytest
from fastapi.testclient import TestClient

from tests.helpers import API

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def raw(client: TestClient, path: str, headers: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """The answer's headers and its bytes as sent (not decoded by the client)."""
    with client.stream("GET", path, headers=headers) as resp:
        assert resp.status_code == 200, path
        return dict(resp.headers), b"".join(resp.iter_raw())


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/changes?limit=200",
        f"{API}/sync/snapshot?region=2301",
        f"{API}/exports/items.csv?region=2301",
        f"{API}/exports/cpsv-ap.jsonld?region=2301",
        f"{API}/items?limit=50",
        "/",
        "/search?q=%E6%88%B7%E5%8F%A3",
        "/adjustments",
    ],
)
def test_text_answers_come_gzipped_and_decompress_to_the_same_bytes(
    client: TestClient, path: str
) -> None:
    plain_headers, plain = raw(client, path, IDENTITY)
    assert "content-encoding" not in plain_headers and len(plain) > 1024
    zipped_headers, zipped = raw(client, path, GZIP)
    assert zipped_headers["content-encoding"] == "gzip", path
    assert "accept-encoding" in zipped_headers["vary"].lower()
    assert gzip.decompress(zipped) == plain, path
    assert len(zipped) < len(plain) / 2, (path, len(zipped), len(plain))


def test_a_gzipped_answers_tag_is_weak_and_still_validates(client: TestClient) -> None:
    code = client.get(f"{API}/items", params={"limit": 1}).json()["items"][0]["code"]
    plain = client.get(f"{API}/items/{code}", headers=IDENTITY)
    zipped = client.get(f"{API}/items/{code}", headers=GZIP)
    assert zipped.headers["content-encoding"] == "gzip"
    strong = plain.headers["etag"]
    assert not strong.startswith("W/") and zipped.headers["etag"] == "W/" + strong
    assert zipped.content == plain.content
    for tag in (strong, zipped.headers["etag"]):
        again = client.get(f"{API}/items/{code}", headers={**GZIP, "If-None-Match": tag})
        assert again.status_code == 304, tag


def test_compressed_formats_and_short_answers_pass_as_they_are(client: TestClient) -> None:
    headers, body = raw(client, f"{API}/exports/items.xlsx?region=2301", GZIP)
    assert "content-encoding" not in headers and body[:2] == b"PK"
    headers, body = raw(client, "/healthz", GZIP)
    assert "content-encoding" not in headers and len(body) < 1024
