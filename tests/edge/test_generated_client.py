"""A client generated from the OpenAPI document by a tool nobody here wrote
(openapi-python-client), as a city platform's developer would: from the document a live
server publishes, into a folder of its own, imported and used against that server. It
authenticates with a bearer key, reads an item and writes it back as it read it, then
with a change; every answer is one the document declares (the client is told to raise on
any other)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from bench.common import seeded_database, server
from tests.helpers import run_cli

PACKAGE = "catalogue_client"


class Live:
    def __init__(self, url: str, key: str, client: ModuleType) -> None:
        self.url, self.key, self.client = url, key, client

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{name}")

    def authenticated(self) -> Any:
        return self.client.AuthenticatedClient(
            base_url=self.url, token=self.key, raise_on_unexpected_status=True
        )

    def anonymous(self) -> Any:
        return self.client.Client(base_url=self.url, raise_on_unexpected_status=True)


def generate(document: Path, into: Path) -> str:
    """Run the generator as its own command; its report (it exits 0 with warnings)."""
    tool = Path(sys.executable).with_name("openapi-python-client")
    env = {**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(tool), "generate", "--path", str(document), "--meta", "none", "--output-path",
         str(into)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("generated")
    url = f"sqlite:///{folder / 'catalogue.db'}"
    seeded_database(url)
    made = run_cli(url, "keys", "create", "--role", "admin", "--name", "city-platform")
    assert made.returncode == 0, made.stderr
    with server(url) as port:
        base = f"http://127.0.0.1:{port}"
        document = folder / "openapi.json"
        document.write_bytes(httpx.get(f"{base}/api/v1/openapi.json").content)
        report = generate(document, folder / PACKAGE)
        # a schema the generator cannot read is left out of the client, with what uses it
        assert "Unable to process schema" not in report, report
        assert "Unable to parse schema" not in report, report
        sys.path.insert(0, str(folder))
        try:
            yield Live(base, made.stdout.strip(), importlib.import_module(PACKAGE))
        finally:
            sys.path.remove(str(folder))
            for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
                del sys.modules[name]


def first_code(live: Live) -> str:
    listed = live.module("api.items.list_items_api_v1_items_get")
    page = listed.sync(client=live.anonymous(), limit=1, region="230600")
    return page.items[0].code


def test_the_generated_client_reads_an_item_and_writes_it_back(live: Live) -> None:
    get_item = live.module("api.items.get_item_api_v1_items_code_get")
    put_item = live.module("api.items.replace_item_api_v1_items_code_put")
    models = live.module("models")
    code = first_code(live)

    read = get_item.sync_detailed(code, client=live.anonymous())
    assert read.status_code == 200
    item = read.parsed
    assert isinstance(item, models.ItemOut)
    assert item.code == code and item.department.name and item.guide.windows

    # the body it read, as it read it: accepted, no new version
    body = models.ImplementationIn.from_dict(item.to_dict())
    same = put_item.sync_detailed(code, client=live.authenticated(), body=body)
    assert same.status_code == 200, same.content
    assert isinstance(same.parsed, models.ItemOut) and same.parsed.version == item.version

    # and with a change: a new version, read back through the client
    changed = item.to_dict()
    changed["guide"]["windows"][0]["phone"] = "0459-6280909"
    written = put_item.sync_detailed(
        code,
        client=live.authenticated(),
        body=models.ImplementationIn.from_dict(changed),
        if_match=read.headers["etag"],
    )
    assert written.status_code == 200, written.content
    assert written.parsed.version == item.version + 1
    again = get_item.sync(code, client=live.anonymous())
    assert again.guide.windows[0].phone == "0459-6280909"
    assert again.version == item.version + 1


def test_the_generated_client_hears_every_refusal_as_a_problem(live: Live) -> None:
    get_item = live.module("api.items.get_item_api_v1_items_code_get")
    put_item = live.module("api.items.replace_item_api_v1_items_code_put")
    models = live.module("models")
    code = first_code(live)
    item = get_item.sync(code, client=live.anonymous())
    body = models.ImplementationIn.from_dict(item.to_dict())

    without_key = put_item.sync_detailed(code, client=live.anonymous(), body=body)
    assert without_key.status_code == 401
    assert isinstance(without_key.parsed, models.Problem) and without_key.parsed.status == 401

    stale = put_item.sync_detailed(code, client=live.authenticated(), body=body, if_match='"0"')
    assert stale.status_code == 412 and isinstance(stale.parsed, models.Problem)

    missing = get_item.sync_detailed("11230600MB4MGBRA983999999999000", client=live.anonymous())
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
