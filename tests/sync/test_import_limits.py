"""The limits of import jobs, on a committed database of each kind: the bombs (a sheet that
declares or reaches a million rows, shared strings that unpack a thousand-fold) refused
before they are unpacked and before anything is written, dry run or not; a file that is no
spreadsheet refused at upload; a cancel that stops a running import between batches with
the committed part counted right; a key's jobs under way capped (429); the private upload
folder, emptied after each job, and symlinks planted at predictable names not followed.

The bomb files are built by tests/workbook_support.py with zipfile, a few kilobytes each."""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.config import get_settings
from app.db import for_writing
from app.directory.models import Department
from app.http.readpath import ReadPath
from app.security import create_key
from app.sync import import_uploads
from app.sync.feed import head_seq
from app.sync.import_jobs import run_job
from app.sync.models import ImportJob
from tests.conftest import _postgres_database, build_database
from tests.helpers import API, committing_app, counts, run_cli
from tests.workbook_support import LAST_CELL, MAIN, huge_dimension, sheet, strings_bomb, workbook


class Served:
    def __init__(self, client: TestClient, engine: Engine, app: Any) -> None:
        self.client, self.engine, self.app = client, engine, app
        self.threads: list[threading.Thread] = []
        self._n = 0

    def key(self, role: str = "admin", **scope: Any) -> dict[str, str]:
        self._n += 1
        with Session(for_writing(self.engine)) as session:
            if role == "editor" and not scope:
                first = select(Department.credit_code).order_by(Department.credit_code)
                scope["departments"] = [session.execute(first.limit(1)).scalar_one()]
            secret = create_key(session, name=f"limits-{role}-{self._n}", role=role, **scope)
            session.commit()
        return {"Authorization": f"Bearer {secret}"}

    def run_jobs(self, job_id: int, path: Path, actor: Any) -> None:
        """The app's runner: the job in a thread of its own, on this database."""
        thread = threading.Thread(target=run_job, args=(self.engine, job_id, path, actor))
        self.threads.append(thread)
        thread.start()

    def upload(self, name: str, content: bytes, headers: dict[str, str], **params: Any) -> Any:
        return self.client.post(
            f"{API}/imports", files={"file": (name, content)}, params=params, headers=headers
        )

    def wait(self, job_id: int, headers: dict[str, str], timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.client.get(f"{API}/imports/{job_id}", headers=headers).json()
            if job["status"] in ("done", "failed", "cancelled"):
                for thread in self.threads:
                    thread.join(timeout=30)
                return job
            assert time.monotonic() < deadline, f"import {job_id} still {job['status']}"
            time.sleep(0.05)

    def written(self) -> dict[str, Any]:
        """Everything an import could change."""
        with Session(self.engine) as session:
            return {
                **counts(session),
                "head_seq": head_seq(session),
                "jobs": session.execute(select(func.count()).select_from(ImportJob)).scalar_one(),
            }

    def folder(self) -> Path:
        return import_uploads.upload_folder()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A committed database of its own, whose uploads run as in ``catalogue serve``; the
    upload folders under a parent of the module's."""
    urls: Iterator[str] = (
        iter([f"sqlite:///{tmp_path_factory.mktemp('limits') / 'limits.db'}"])
        if request.param == "sqlite"
        else _postgres_database()
    )
    engine = build_database(next(urls))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CATALOGUE_IMPORT_DIR", str(tmp_path_factory.mktemp("uploads")))
        get_settings.cache_clear()
        import_uploads._folders.clear()
        app = committing_app(engine, ReadPath(engine))
        with TestClient(app) as client:
            served = Served(client, engine, app)
            app.state.import_runner = served.run_jobs
            yield served
        app.state.snapshots.close()
        import_uploads._folders.clear()
    get_settings.cache_clear()
    engine.dispose()
    for _ in urls:  # drops the PostgreSQL database
        pass


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set ``CATALOGUE_*`` settings for one test."""

    def put(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"CATALOGUE_{name.upper()}", str(value))
        get_settings.cache_clear()

    yield put
    monkeypatch.undo()
    get_settings.cache_clear()


def refused(resp: Any, status: int, rule: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["errors"][0]["loc"] == ["body", "file"] and body["errors"][0]["type"] == rule, body
    return body


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
def test_a_sheet_declaring_a_million_rows_is_refused_at_upload(
    served: Served, dry_run: bool
) -> None:
    """The 1.9 KB sheet of ``A1:XFD1048576`` (openpyxl would yield 17 billion cells over
    twenty minutes) is a 422 at upload, before the sheet is read, nothing written."""
    content = huge_dimension()
    assert len(content) < 2_500
    before = served.written()
    started = time.monotonic()
    resp = served.upload("bomb.xlsx", content, served.key("editor"), dry_run=str(dry_run))
    # not a timing: reading the sheet takes twenty minutes, a refusal seconds even on a
    # loaded host (2 s failed once, at load 20)
    assert time.monotonic() - started < 60
    body = refused(resp, 422, "import.max_rows")
    assert "A1:XFD1048576" in body["detail"] and "CATALOGUE_IMPORT_MAX_ROWS" in body["detail"]
    assert served.written() == before
    assert os.listdir(served.folder()) == []


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
@pytest.mark.parametrize("declared", [None, "A1:A2"], ids=["undeclared", "declared-small"])
def test_a_sheet_reaching_a_million_rows_stops_before_anything_is_read(
    served: Served, dry_run: bool, declared: str | None
) -> None:
    """Without a dimension, or with one that lies, the sheet passes the upload; the job
    counts the rows before openpyxl reads one and fails at once, naming the rule."""
    key = served.key("editor")
    before = served.written()
    resp = served.upload(
        "bomb.xlsx", workbook(sheet(LAST_CELL, declared)), key, dry_run=str(dry_run)
    )
    assert resp.status_code == 202, resp.text
    started = time.monotonic()
    job = served.wait(resp.json()["id"], key)
    assert time.monotonic() - started < 60  # reading a million rows takes minutes
    assert job["status"] == "failed" and job["processed"] == 0, job
    assert "CATALOGUE_IMPORT_MAX_ROWS" in job["error"], job
    assert job["report"][-1]["rule"] == "import.max_rows", job
    assert {**served.written(), "jobs": 0} == {**before, "jobs": 0}
    assert os.listdir(served.folder()) == []


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
def test_a_shared_strings_bomb_is_refused_at_upload(
    served: Served, settings: Callable[..., None], dry_run: bool
) -> None:
    """64 MiB of shared strings packed into some 70 KB (the same thousand-fold as 400 KB
    that unpack to 400 MB) are refused from the archive's directory, never unpacked; so is
    a member larger than the unpacked limit at an ordinary ratio."""
    key = served.key("editor")
    before = served.written()
    bomb = strings_bomb(64 << 20)
    assert len(bomb) < 200_000
    started = time.monotonic()
    resp = served.upload("strings.xlsx", bomb, key, dry_run=str(dry_run))
    # not a timing: what tells a refusal from an unpacking is the answer and the empty folder
    assert time.monotonic() - started < 60
    body = refused(resp, 422, "import.max_ratio")
    assert "xl/sharedStrings.xml" in body["detail"]

    settings(import_max_unpacked_bytes=4 << 20)
    noise = secrets.token_hex(3 << 20).encode()  # 6 MiB that pack to about half

    def write(f: Any) -> None:
        f.write(f'<sst xmlns="{MAIN}"><si><t>'.encode() + noise + b"</t></si></sst>")

    big = workbook(sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), write)
    resp = served.upload("big.xlsx", big, key, dry_run=str(dry_run))
    refused(resp, 422, "import.max_unpacked_bytes")
    assert served.written() == before
    assert os.listdir(served.folder()) == []


def test_more_shared_strings_than_the_limit_stop_before_openpyxl_reads_them(
    served: Served, settings: Callable[..., None]
) -> None:
    """Many small strings at an ordinary ratio (openpyxl takes 43 s and 430 MB for 2.8
    million) are counted first: over the limit, the job fails, nothing written."""
    settings(import_max_strings=1_000)

    def write(f: Any) -> None:
        f.write(f'<sst xmlns="{MAIN}">'.encode())
        f.write(b"".join(f"<si><t>{n:08d}</t></si>".encode() for n in range(1_001)))
        f.write(b"</sst>")

    key = served.key("editor")
    before = served.written()
    content = workbook(sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), write)
    resp = served.upload("strings.xlsx", content, key)
    assert resp.status_code == 202, resp.text
    job = served.wait(resp.json()["id"], key)
    assert job["status"] == "failed" and "CATALOGUE_IMPORT_MAX_STRINGS" in job["error"], job
    assert job["report"][-1]["rule"] == "import.max_strings", job
    assert {**served.written(), "jobs": 0} == {**before, "jobs": 0}


def test_a_file_that_is_no_spreadsheet_is_refused_at_upload(served: Served) -> None:
    """The content is sniffed, not the name: another kind of file is a 415, a broken one
    a 422, each naming the rule; nothing is written, no job recorded."""
    key = served.key("editor")
    before = served.written()
    good = workbook(sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c></row>'))
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    cases = [
        ("items.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(200), 415, "import.media_type"),
        ("items.xlsx", b"code,name\n1,x\n", 415, "import.media_type"),
        ("items.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), 415, "import.media_type"),
        ("items.xlsx", docx.getvalue(), 415, "import.media_type"),
        ("items.xlsx", good[:300], 422, "import.zip"),
        ("items.csv", good, 415, "import.media_type"),
        ("items.csv", "实施编码,事项名称\n".encode("gbk"), 422, "import.encoding"),
        ("items.json", b'{"code": "x"}', 422, "import.json"),
        ("items.ndjson", b"[1, 2]\n", 422, "import.ndjson"),
    ]
    for name, content, status, rule in cases:
        refused(served.upload(name, content, key), status, rule)
        refused(served.upload(name, content, key, dry_run="true"), status, rule)
    assert served.written() == before
    assert os.listdir(served.folder()) == []


def edits(served: Served, rounds: int) -> list[dict[str, Any]]:
    """Every item of the database edited ``rounds`` times over (visits 1, 2, 1...)."""
    client = served.client
    with Session(served.engine) as session:
        codes = session.execute(
            select(Implementation.code)
            .where(Implementation.status == "1")
            .order_by(Implementation.code)
        ).scalars()
        docs = [client.get(f"{API}/items/{code}").json() for code in codes]
    rows = []
    for n in range(rounds):
        for doc in docs:
            rows.append({**doc, "version": None, "guide": {**doc["guide"], "visits": 1 + n % 2}})
    return rows


def test_a_cancel_stops_a_running_import_between_batches(served: Served) -> None:
    """DELETE answers 202 ``cancelling``; the thread stops at its next batch, the job
    ``cancelled`` with ``processed`` the rows committed: as many as the versions and
    changes written, and its counts theirs; its file removed."""
    admin = served.key("admin")
    rows = edits(served, 6)
    assert len(rows) > 2_000  # three batches at least
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    before = served.written()
    resp = served.upload("edits.ndjson", body, admin)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    deadline = time.monotonic() + 120
    while served.client.get(f"{API}/imports/{job_id}", headers=admin).json()["processed"] == 0:
        assert time.monotonic() < deadline, "no batch committed"
        time.sleep(0.05)
    other = served.key("editor")
    assert served.client.delete(f"{API}/imports/{job_id}", headers=other).status_code == 404
    cancel = served.client.delete(f"{API}/imports/{job_id}", headers=admin)
    assert cancel.status_code in (200, 202), cancel.text
    assert cancel.json()["status"] in ("cancelling", "cancelled"), cancel.json()
    job = served.wait(job_id, admin)
    assert job["status"] == "cancelled", job
    after = served.written()
    written = after["RecordVersion"] - before["RecordVersion"]
    assert 0 < job["processed"] < len(rows)
    assert job["processed"] == sum(job["counts"].values()), job
    assert written == job["counts"]["updated"] + job["counts"]["created"], (written, job)
    assert after["head_seq"] - before["head_seq"] == written
    assert f"the {job['processed']} rows counted were applied" in job["error"]
    assert os.listdir(served.folder()) == []
    again = served.client.delete(f"{API}/imports/{job_id}", headers=admin)
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_a_key_has_at_most_its_jobs_under_way(
    served: Served, settings: Callable[..., None]
) -> None:
    """One more is a 429 with Retry-After, nothing written; another key is not held back;
    a cancel (DELETE of a queued job: 200 at once) frees the place."""
    settings(import_jobs_per_key=2)
    held: list[Path] = []
    served.app.state.import_runner = lambda job_id, path, actor: held.append(path)
    try:
        key, other = served.key("sync", region="2301"), served.key("sync", region="2301")
        line = b'{"code": "x"}\n'
        first = served.upload("a.ndjson", line, key)
        assert served.upload("b.ndjson", line, key, dry_run="true").status_code == 202
        before = served.written()
        resp = served.upload("c.ndjson", line, key)
        assert resp.status_code == 429, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert int(resp.headers["retry-after"]) > 0
        assert "CATALOGUE_IMPORT_JOBS_PER_KEY" in resp.json()["detail"]
        assert served.written() == before and len(held) == 2
        assert served.upload("d.ndjson", line, other).status_code == 202
        cancel = served.client.delete(f"{API}/imports/{first.json()['id']}", headers=key)
        assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled", cancel.text
        assert served.upload("e.ndjson", line, key).status_code == 202
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in held)
        # a job cancelled before it started ends without reading its file, and removes it
        run_job(served.engine, first.json()["id"], held[0], None)  # type: ignore[arg-type]
        assert not held[0].exists()
    finally:
        served.app.state.import_runner = served.run_jobs
        for path in held:
            path.unlink(missing_ok=True)


def test_the_upload_folder_is_private_and_empty_after_the_job(served: Served) -> None:
    key = served.key("admin")
    item = edits(served, 1)[0]
    resp = served.upload("one.ndjson", json.dumps(item).encode() + b"\n", key, dry_run="true")
    assert resp.status_code == 202, resp.text
    job = served.wait(resp.json()["id"], key)
    assert job["status"] == "done", job
    folder = served.folder()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert folder.name.startswith(import_uploads.PREFIX) and os.listdir(folder) == []
    done = served.client.delete(f"{API}/imports/{job['id']}", headers=key)
    assert done.status_code == 409 and done.json()["type"].endswith("/import-finished")


def test_symlinks_planted_at_predictable_names_are_not_followed(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link where the old shared folder was, a link at the name an upload would take,
    and a link named like a stopped process's folder: none is written through or
    emptied; a real left-over folder of a stopped process is removed at start-up."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    parent = served.folder().parent
    (parent / "catalogue-imports").symlink_to(victim)
    planted = served.folder() / "upload-planted.ndjson"
    planted.symlink_to(victim / "keep.txt")
    names = iter(["planted", "fresh"])
    monkeypatch.setattr(import_uploads.secrets, "token_hex", lambda n: next(names))
    held: list[Path] = []
    served.app.state.import_runner = lambda job_id, path, actor: held.append(path)
    try:
        resp = served.upload("x.ndjson", b'{"code": "x"}\n', served.key("admin"))
        assert resp.status_code == 202, resp.text
        assert held and held[0].name == "upload-fresh.ndjson" and not held[0].is_symlink()
        assert (victim / "keep.txt").read_text() == "mine"
        assert os.listdir(victim) == ["keep.txt"]
    finally:
        served.app.state.import_runner = served.run_jobs
        for path in held:
            path.unlink(missing_ok=True)
        planted.unlink()
    gone = 2**22 + 12345  # above the kernel's largest process id: no process has it
    stopped = parent / f"{import_uploads._mine()}{gone}-abc123"
    (stopped / "sub").mkdir(parents=True)
    (stopped / "sub" / "upload-1.xlsx").write_bytes(b"left over")
    linked = parent / f"{import_uploads._mine()}{gone}-link"
    linked.symlink_to(victim)
    assert import_uploads.remove_leftovers() == 1
    assert not stopped.exists() and linked.is_symlink()
    assert os.listdir(victim) == ["keep.txt"] and served.folder().is_dir()
    linked.unlink()
    (parent / "catalogue-imports").unlink()


def test_a_text_file_over_a_limit_writes_nothing(
    served: Served, settings: Callable[..., None]
) -> None:
    """Rows of a CSV are counted before the first batch: over the limit, nothing written."""
    settings(import_max_rows=5)
    key = served.key("admin")
    lines = ["code,name", *(f"{n:031d},事项 {n}" for n in range(10))]
    before = served.written()
    resp = served.upload("items.csv", "\n".join(lines).encode(), key)
    assert resp.status_code == 202, resp.text
    job = served.wait(resp.json()["id"], key)
    assert job["status"] == "failed" and job["processed"] == 0, job
    assert job["report"][-1]["rule"] == "import.max_rows" and "row 6" in job["error"], job
    assert {**served.written(), "jobs": 0} == {**before, "jobs": 0}


def test_the_command_line_keeps_the_limits_and_cancels(
    served: Served, settings: Callable[..., None], tmp_path: Path
) -> None:
    """``catalogue import`` stops at a limit (CPU seconds here), ``catalogue imports
    cancel ID`` cancels a job as DELETE does."""
    url = served.engine.url.render_as_string(hide_password=False)
    path = tmp_path / "items.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in edits(served, 1)[:50]) + "\n")
    before = served.written()
    out = run_cli(url, "import", str(path), env={"CATALOGUE_IMPORT_MAX_CPU_SECONDS": "0.000001"})
    assert out.returncode == 1 and "CATALOGUE_IMPORT_MAX_CPU_SECONDS" in out.stderr, out
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(huge_dimension())
    out = run_cli(url, "import", str(bomb))
    assert out.returncode == 1 and "CATALOGUE_IMPORT_MAX_ROWS" in out.stderr, out
    assert served.written() == before

    held: list[Path] = []
    served.app.state.import_runner = lambda job_id, path, actor: held.append(path)
    try:
        key = served.key("admin")
        job_id = served.upload("x.ndjson", b'{"code": "x"}\n', key).json()["id"]
    finally:
        served.app.state.import_runner = served.run_jobs
        for p in held:
            p.unlink(missing_ok=True)
    out = run_cli(url, "imports", "cancel", str(job_id))
    assert out.returncode == 0 and "cancelled" in out.stdout, out
    assert served.client.get(f"{API}/imports/{job_id}", headers=key).json()["status"] == "cancelled"
    out = run_cli(url, "imports", "cancel", str(job_id + 1000))
    assert out.returncode == 1, out
