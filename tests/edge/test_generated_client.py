"""A client generated from the OpenAPI document by a tool nobody here wrote
(openapi-python-client), as a city platform's developer would: from the document a live
server publishes (with the generator settings docs/clients/ ships), into a folder of its
own, imported and used against that server, with no warning from the generator and no
edit. It authenticates with a bearer key, reads an item and writes it back as it read it,
then with a change; an editor's write is proposed (202) and its request read; the feed is
paged to its head, the workbook downloaded, an NDJSON bulk posted; every answer is one the
document declares (the client is told to raise on any other)."""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from app.db import make_engine
from app.security import create_key
from bench.common import server
from tests.conftest import ROOT, build_database

PACKAGE = "catalogue_client"


CONFIG = ROOT / "docs" / "clients" / "openapi-python-client.yaml"
#: a loaded test machine answers slower than httpx's default 5 s
WAIT = httpx.Timeout(60.0)
TEMPLATES = ROOT / "docs" / "clients" / "templates"


class Live:
    def __init__(self, url: str, key: str, client: ModuleType, db: str) -> None:
        self.url, self.key, self.client, self.db = url, key, client, db

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{name}")

    def authenticated(self) -> Any:
        return self.client.AuthenticatedClient(
            base_url=self.url, token=self.key, raise_on_unexpected_status=True, timeout=WAIT
        )

    def as_key(self, key: str) -> Any:
        return self.client.AuthenticatedClient(
            base_url=self.url, token=key, raise_on_unexpected_status=True, timeout=WAIT
        )

    def anonymous(self) -> Any:
        return self.client.Client(base_url=self.url, raise_on_unexpected_status=True, timeout=WAIT)


def generate(document: Path, into: Path) -> str:
    """Run the generator as its own command; its report (it exits 0 with warnings)."""
    tool = Path(sys.executable).with_name("openapi-python-client")
    env = {**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(tool), "generate", "--path", str(document), "--meta", "none", "--output-path",
         str(into), "--config", str(CONFIG), "--custom-template-path", str(TEMPLATES)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("generated")
    url = f"sqlite:///{folder / 'catalogue.db'}"
    # the seeded template's copy and a key made in-process (a CLI start costs seconds of
    # imports): this module checks the generated client
    build_database(url).dispose()
    admin = make_key(url, "admin", "city-platform")
    # editors' writes go through review, as they do by default (the tests' default is off)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CATALOGUE_REVIEW_EDITORS", "true")
        server_env = server(url)
        port = server_env.__enter__()
    try:
        base = f"http://127.0.0.1:{port}"
        document = folder / "openapi.json"
        document.write_bytes(httpx.get(f"{base}/api/v1/openapi.json", timeout=60).content)
        report = generate(document, folder / PACKAGE)
        # a schema or a body the generator cannot read is left out of the client, warned
        assert "Warning" not in report and "WARNING" not in report, report
        sys.path.insert(0, str(folder))
        try:
            yield Live(base, admin, importlib.import_module(PACKAGE), url)
        finally:
            sys.path.remove(str(folder))
            for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
                del sys.modules[name]
    finally:
        server_env.__exit__(None, None, None)


def make_key(url: str, role: str, name: str, departments: list[str] | None = None) -> str:
    """A key's secret, made in-process as `catalogue keys create` makes it."""
    engine = make_engine(url)
    with Session(engine) as session:
        secret = create_key(session, name=name, role=role, departments=departments)
        session.commit()
    engine.dispose()
    return secret


def first_code(live: Live) -> str:
    listed = live.module("api.items.list_items")
    page = listed.sync(client=live.anonymous(), limit=1, region="230600")
    return page.items[0].code


def test_the_generated_client_reads_an_item_and_writes_it_back(live: Live) -> None:
    get_item = live.module("api.items.get_item")
    put_item = live.module("api.items.replace_item")
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

    # the first GET body again, now stale: the version it names is no longer current
    stale = put_item.sync_detailed(code, client=live.authenticated(), body=body)
    assert stale.status_code == 412, stale.content
    assert isinstance(stale.parsed, models.Problem)


def test_the_generated_client_hears_every_refusal_as_a_problem(live: Live) -> None:
    get_item = live.module("api.items.get_item")
    put_item = live.module("api.items.replace_item")
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


def test_an_editors_write_is_proposed_and_its_request_read(live: Live) -> None:
    get_item = live.module("api.items.get_item")
    patch_item = live.module("api.items.patch_item")
    get_request = live.module("api.review.get_request")
    models = live.module("models")
    code = first_code(live)
    item = get_item.sync(code, client=live.anonymous())
    editor = live.as_key(make_key(live.db, "editor", "city-editor", [item.department.code]))

    change = models.PatchItemPatch.from_dict({"guide": {"visits": 0}, "change_note": "全程网办"})
    proposed = patch_item.sync_detailed(code, client=editor, body=change)
    assert proposed.status_code == 202, proposed.content
    request = proposed.parsed
    assert isinstance(request, models.ChangeRequestOut)
    assert proposed.headers["location"] == f"/api/v1/change-requests/{request.id}"
    read = get_request.sync(request.id, client=editor)
    assert read.id == request.id and read.status == request.status
    # nothing changed until it is approved
    assert get_item.sync(code, client=live.anonymous()).version == item.version


def test_the_generated_client_pages_the_feed_to_its_head(live: Live) -> None:
    list_changes = live.module("api.sync.list_changes")
    models = live.module("models")
    after, seen, kinds = 0, 0, set()
    while True:
        page = list_changes.sync(client=live.anonymous(), after=after, limit=200)
        assert isinstance(page, models.ChangePage), page
        for change in page.changes:
            assert change.seq > after
            kinds.add(change.kind)
            if change.kind == "item":  # typed: the item as GET answers it
                assert isinstance(change.item, models.ItemOut) and change.item.code == change.code
        seen += len(page.changes)
        after = page.last_seq
        if after >= page.head_seq:
            break
    assert seen > 300 and "item" in kinds
    assert after == page.head_seq


def test_the_generated_client_downloads_the_workbook(live: Live, tmp_path: Path) -> None:
    xlsx = live.module("api.exports.download_items_xlsx")
    got = xlsx.sync_detailed(client=live.anonymous(), region="230600")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    path = tmp_path / "items.xlsx"
    path.write_bytes(got.parsed.payload.read())
    book = load_workbook(path, read_only=True)
    assert "事项" in book.sheetnames


def test_the_generated_client_posts_an_ndjson_bulk_and_hears_a_replay(live: Live) -> None:
    get_item = live.module("api.items.get_item")
    upsert = live.module("api.sync.upsert_items")
    types = importlib.import_module(f"{PACKAGE}.types")
    models = live.module("models")
    code = first_code(live)
    item = get_item.sync(code, client=live.anonymous()).to_dict()
    for key in ("status", "version", "updated_at", "updated_by", "created_at"):
        item.pop(key, None)
    lines = (json.dumps(item, ensure_ascii=False) + "\n").encode()

    def post() -> Any:
        body = types.File(payload=io.BytesIO(lines), mime_type="application/x-ndjson")
        return upsert.sync_detailed(client=live.authenticated(), body=body, idempotency_key="k1")

    first = post()
    assert first.status_code == 200, first.content
    assert isinstance(first.parsed, models.BulkResult)
    assert first.parsed.rejected == 0, first.content
    assert "idempotent-replayed" not in first.headers
    again = post()
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.parsed.to_dict() == first.parsed.to_dict()


def test_a_rate_limited_report_says_its_limit(live: Live) -> None:
    report = live.module("api.corrections.report_correction")
    models = live.module("models")
    code = first_code(live)
    body = models.CorrectionIn(text="窗口电话已经变了，请核实", field="guide.windows")
    answers = [report.sync_detailed(code, client=live.anonymous(), body=body) for _ in range(7)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert isinstance(refused[0].parsed, models.Problem)
    after = refused[0].headers["retry-after"]
    assert refused[0].headers["ratelimit"] == f'"corrections";r=0;t={after}'
