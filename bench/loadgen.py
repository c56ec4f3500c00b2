"""A small HTTP/1.1 keep-alive load generator (asyncio + uvloop), run in its own process so
that it and the server each have a core. Prints one JSON line: requests/s and latencies.

    python bench/loadgen.py --port 8000 --connections 32 --seconds 10 PATHS_FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time


def request(host: str, line: str) -> bytes:
    """``PATH`` is a GET; ``POST PATH JSON`` (tab-separated) a POST of that JSON body; a
    fourth field is one more header line (``GET PATH <empty> If-None-Match: "3"``)."""
    if "\t" not in line:
        return f"GET {line} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    method, path, body, *extra = line.split("\t", 3)
    data = body.encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if extra:
        head += extra[0] + "\r\n"
    if data:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode() + data


async def worker(
    host: str,
    port: int,
    paths: list[str],
    offset: int,
    deadline: float,
    lat: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    requests = [request(host, p) for p in paths]
    i = offset
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        writer.write(requests[i % len(requests)])
        i += 1
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        lat.append(time.perf_counter() - start)
        if status not in (200, 304):
            errors.append(status)
    writer.close()


async def run(
    host: str, port: int, paths: list[str], connections: int, seconds: float
) -> dict[str, float]:
    lat: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(worker(host, port, paths, n * 7, deadline, lat, errors) for n in range(connections))
    )
    elapsed = time.perf_counter() - start
    lat.sort()
    return {
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "paths_file", help="one request a line: a path (GET) or METHOD<TAB>path<TAB>JSON body"
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with open(args.paths_file) as f:
        paths = [line.rstrip("\n") for line in f if line.strip()]
    result = asyncio.run(run(args.host, args.port, paths, args.connections, args.seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
