"""A rolling restart behind the shipped nginx while six clients write: no request fails
and no acknowledged write is lost. As docs/operations.md says for nginx (which has no
active health checks): the instance is marked ``down`` and nginx reloaded, then it gets
SIGTERM; it drains (app/http/drain.py: ``/readyz`` 503, every answer closes its connection,
the requests in flight finish) and stops. Two `catalogue serve` processes on one
database, nginx with deploy/nginx.conf's upstream pointing at both."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from tests.conftest import Keys
from tests.ops.test_behind_nginx import MISSING, NGINX, OPENSSL, _start_nginx, _wait
from tests.ops.test_behind_nginx import nginx_conf as shipped_conf
from tests.serve_support import Served, database_url, free_port

WRITERS = 6


def two_upstreams(conf: str, first: str, second: str) -> str:
    """The single-upstream test config with the second server line pointing elsewhere."""
    line = f"server {first} "
    assert conf.count(line) == 2
    head, _, tail = conf.partition(line)
    return head + line + tail.replace(line, f"server {second} ", 1)


@pytest.fixture
def admin_secret(own_engine: Engine) -> str:
    with Session(own_engine) as session:
        return Keys(session).admin()["Authorization"]


def test_sigterm_of_an_instance_under_six_writers_fails_no_request(
    own_engine: Engine, admin_secret: str, tmp_path: Path
) -> None:
    if NGINX is None or OPENSSL is None:
        if os.environ.get("CATALOGUE_TEST_REQUIRE_NGINX"):
            pytest.fail(f"{MISSING}, and CATALOGUE_TEST_REQUIRE_NGINX is set")
        pytest.skip(MISSING)
    url = database_url(own_engine)
    with Session(own_engine) as session:
        codes = list(
            session.execute(
                select(Implementation.code).where(Implementation.status == "1").limit(WRITERS)
            ).scalars()
        )
    (tmp_path / "cache").mkdir()
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",  # type: ignore[list-item]
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    settings = {"CATALOGUE_TRUSTED_PROXIES": "127.0.0.1", "CATALOGUE_DRAIN_SECONDS": "2"}
    with ExitStack() as stack:
        leaving = Served(url, tmp_path / "a", **settings)
        staying = Served(url, tmp_path / "b", **settings)
        for server in (leaving, staying):
            stack.callback(server.stop)
        a, b = (server.ready().removeprefix("http://") for server in (leaving, staying))
        http_port = free_port()
        conf = tmp_path / "nginx.conf"
        conf.write_text(two_upstreams(shipped_conf(a, http_port, free_port(), tmp_path), a, b))
        nginx = _start_nginx(conf, tmp_path)
        stack.callback(nginx.wait, 10)
        stack.callback(nginx.terminate)
        base = f"http://127.0.0.1:{http_port}"
        _wait(f"{base}/healthz", nginx, tmp_path / "error.log")

        statuses: Counter[int] = Counter()
        acknowledged: dict[str, int] = {}
        stop = threading.Event()

        def write(code: str) -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    resp = client.patch(
                        f"/api/v1/items/{code}",
                        json={"guide": {"visits": n % 3}},
                        headers={"Authorization": admin_secret},
                    )
                    statuses[resp.status_code] += 1
                    if resp.status_code == 200:
                        acknowledged[code] = resp.json()["version"]

        threads = [threading.Thread(target=write, args=(code,)) for code in codes]
        for thread in threads:
            thread.start()
        time.sleep(1.5)  # load on both instances before the stop
        conf.write_text(conf.read_text().replace(f"server {a} ", f"server {a} down ", 1))
        nginx.send_signal(signal.SIGHUP)  # nginx -s reload
        time.sleep(0.5)  # the new nginx workers take over; the old ones finish their requests
        leaving.proc.terminate()
        ready = httpx.get(f"{leaving.base}/readyz", timeout=5)
        assert ready.status_code == 503 and "draining" in ready.text
        leaving.proc.wait(30)  # drained, then stopped
        time.sleep(1.0)  # and the writes go on through the other instance
        stop.set()
        for thread in threads:
            thread.join(30)

    assert statuses[502] == 0 and statuses[503] == 0, statuses
    assert set(statuses) == {200}, statuses
    assert sum(statuses.values()) > 6 * WRITERS
    with Session(own_engine) as session:
        for code, version in acknowledged.items():
            current = session.execute(
                select(Implementation.version).where(Implementation.code == code)
            ).scalar_one()
            assert current == version, f"{code}: acknowledged v{version}, stored v{current}"
