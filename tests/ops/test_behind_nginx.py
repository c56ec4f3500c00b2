"""The shipped deploy/nginx.conf in front of `catalogue serve`, for real: two clients from
different loopback addresses (127.0.0.2, 127.0.0.3) have a corrections limit each, one
exhausting its own leaves the other's whole, and what a client writes into
X-Forwarded-For changes nothing; a page reached over https at nginx sets Secure cookies,
over http not. The app trusts nginx's address (CATALOGUE_TRUSTED_PROXIES=127.0.0.1) and
no one else: a client that reaches the app directly names no other client. A server
that trusts nobody (the default) believes no forwarded header, not even from 127.0.0.1
(uvicorn's own default would).

nginx runs the shipped file with the upstream addresses and the listen port substituted,
the cache and temporary paths moved into the test's directory, and a `listen … ssl`
with a self-signed certificate added (openssl). Skipped without nginx (`.ci/run`
installs it; CATALOGUE_TEST_REQUIRE_NGINX=1 makes that a failure). SQLite, seeded."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.catalogue.models import Implementation
from tests.conftest import ROOT, build_database
from tests.serve_support import Served, free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
OPENSSL = shutil.which("openssl")
MISSING = "needs nginx and openssl (Debian: apt-get install nginx openssl; .ci/run installs them)"
LIMIT = {"CATALOGUE_CORRECTIONS_RATE": "2/minute"}


def nginx_conf(upstream: str, http_port: int, https_port: int, workdir: Path) -> str:
    """deploy/nginx.conf as shipped, with this machine's addresses and paths."""
    shipped = (ROOT / "deploy" / "nginx.conf").read_text()
    for app in ("app1:8000", "app2:8000"):
        assert f"server {app} " in shipped, f"deploy/nginx.conf no longer names {app}"
        shipped = shipped.replace(f"server {app} ", f"server {upstream} ")
    listen = (
        f"listen 127.0.0.1:{http_port};\n"
        f"        listen 127.0.0.1:{https_port} ssl;\n"
        f"        ssl_certificate {workdir}/cert.pem;\n"
        f"        ssl_certificate_key {workdir}/key.pem;"
    )
    assert shipped.count("listen 80;") == 1
    shipped = shipped.replace("listen 80;", listen)
    shipped = shipped.replace("/var/cache/nginx", str(workdir / "cache"))
    temp = "".join(
        f"    {kind}_temp_path {workdir}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return shipped.replace("http {\n", "http {\n" + temp, 1)


def _start_nginx(conf: Path, workdir: Path) -> subprocess.Popen[bytes]:
    directives = f"daemon off; pid {workdir}/nginx.pid; error_log {workdir}/error.log;"
    if os.geteuid() == 0:  # its workers would run as nobody, who cannot enter the tmp dir
        directives += " user root;"
    check = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(workdir), "-g", directives],  # type: ignore[list-item]
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    return subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(workdir), "-g", directives],  # type: ignore[list-item]
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None, log.read_text() if log.exists() else "nginx stopped"
        try:
            httpx.get(url, timeout=1, verify=False)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "nginx does not answer"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if NGINX is None or OPENSSL is None:
        if os.environ.get("CATALOGUE_TEST_REQUIRE_NGINX"):
            pytest.fail(f"{MISSING}, and CATALOGUE_TEST_REQUIRE_NGINX is set")
        pytest.skip(MISSING)
    workdir = tmp_path_factory.mktemp("nginx")
    (workdir / "cache").mkdir()
    url = f"sqlite:///{workdir / 'catalogue.db'}"
    engine = build_database(url)
    with Session(engine) as db:
        code = db.execute(
            select(Implementation.code).where(Implementation.status == "1").limit(1)
        ).scalar_one()
    engine.dispose()
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",  # type: ignore[list-item]
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(workdir / "key.pem"),
         "-out", str(workdir / "cert.pem")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    with ExitStack() as stack:
        # side by side: the app nginx forwards to, and one that trusts nobody (the default)
        servers = [
            Served(url, workdir / "app", CATALOGUE_TRUSTED_PROXIES="127.0.0.1", **LIMIT),
            Served(url, workdir / "plain", **LIMIT),
        ]
        for server in servers:
            stack.callback(server.stop)
        trusting, plain = (server.ready() for server in servers)
        http_port, https_port = free_port(), free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(
            nginx_conf(trusting.removeprefix("http://"), http_port, https_port, workdir)
        )
        nginx = _start_nginx(conf, workdir)
        stack.callback(nginx.wait, 10)
        stack.callback(nginx.terminate)
        _wait(f"http://127.0.0.1:{http_port}/healthz", nginx, workdir / "error.log")
        yield {
            "code": code,
            "http": f"http://127.0.0.1:{http_port}",
            "https": f"https://127.0.0.1:{https_port}",
            "app": trusting,
            "plain": plain,
        }


def client_from(address: str, base: str) -> httpx.Client:
    """A client whose connections leave from ``address`` (any of 127.0.0.0/8 is local)."""
    transport = httpx.HTTPTransport(local_address=address, verify=False)
    return httpx.Client(base_url=base, transport=transport, verify=False, timeout=10)


def _report(client: httpx.Client, code: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    body = {"text": "电话打不通"}
    return client.post(f"/api/v1/items/{code}/corrections", json=body, headers=headers).status_code


def _side_by_side(*calls: Callable[[], int]) -> list[int]:
    """Refusals are answered after a second (the tarpit): wait for them together."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_each_client_behind_nginx_has_its_own_limit(deployment: dict[str, Any]) -> None:
    code = deployment["code"]
    with (
        client_from("127.0.0.2", deployment["http"]) as first,
        client_from("127.0.0.3", deployment["http"]) as second,
        client_from("127.0.0.4", deployment["app"]) as direct,
    ):
        assert [_report(first, code) for _ in range(2)] == [201, 201]
        # the first has used its limit; the second's is whole
        assert [_report(second, code) for _ in range(2)] == [201, 201]
        # straight to the app, past nginx: the peer is no trusted proxy, its header names
        # no one else (a new address each time gets it no more)
        assert [_report(direct, code, f"198.51.100.{n}") for n in range(2)] == [201, 201]
        assert _side_by_side(
            lambda: _report(first, code),
            # what the client writes itself stays left of what nginx appends
            lambda: _report(first, code, "198.51.100.7"),
            lambda: _report(second, code),
            lambda: _report(direct, code, "198.51.100.9"),
        ) == [429, 429, 429, 429]


def test_a_server_that_trusts_nobody_believes_no_forwarded_header(
    deployment: dict[str, Any],
) -> None:
    """uvicorn's own default would believe 127.0.0.1: a local process naming any client."""
    code = deployment["code"]
    with client_from("127.0.0.1", deployment["plain"]) as local:
        statuses = [_report(local, code, f"203.0.113.{n}") for n in range(3)]
    assert statuses == [201, 201, 429]


def _cookies(resp: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h.lower() for h in resp.headers.get_list("set-cookie")}


def test_cookies_are_secure_when_the_client_came_over_https(deployment: dict[str, Any]) -> None:
    page = "/?lang=zh-Hant&region=230100"
    with client_from("127.0.0.5", deployment["https"]) as tls:
        cookies = _cookies(tls.get(page))
    assert set(cookies) == {"sc_csrf", "sc_lang", "sc_region"}
    assert all("; secure" in c and "httponly" in c for c in cookies.values()), cookies
    # over http nginx sets X-Forwarded-Proto itself: the client's own says nothing
    with client_from("127.0.0.5", deployment["http"]) as plain:
        cookies = _cookies(plain.get(page, headers={"X-Forwarded-Proto": "https"}))
    assert set(cookies) == {"sc_csrf", "sc_lang", "sc_region"}
    assert not any("secure" in c for c in cookies.values()), cookies


def test_metrics_stay_private_and_every_answer_carries_the_edges_request_id(
    deployment: dict[str, Any],
) -> None:
    with client_from("127.0.0.6", deployment["http"]) as edge:
        assert edge.get("/metrics").status_code == 404  # the shipped config keeps it inside
        ids = {edge.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(len(rid) == 32 for rid in ids)  # nginx's $request_id
    with client_from("127.0.0.6", deployment["app"]) as direct:
        assert "catalogue_feed_head_seq" in direct.get("/metrics").text
