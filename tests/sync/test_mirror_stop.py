"""``catalogue sync pull`` meets a change it cannot store: a source (SQLite, served by
uvicorn) holding old data planted straight into its versions and change log, pulled into a
copy on each database. The pull stops with one line naming the seq, the record and why,
exit code 4, no traceback; the pages before it stay applied, nothing of its page is."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.cli_common import EXIT_CANNOT_STORE
from app.directory.models import Department
from app.fields import violation
from app.sync import mirror
from app.sync.mirror import ChangeRefused, position_key
from app.sync.storable import _suspect, check_changes
from app.versionlog import RecordVersion, SyncPosition
from bench.common import server
from tests.conftest import build_database
from tests.helpers import run_cli

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def seeded_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("seeded-source") / "source.db"
    # the seeded template's copy: this module checks `sync pull`, not `migrate` or `seed`
    build_database(f"sqlite:///{db}").dispose()
    return db


@pytest.fixture(scope="module")
def served_source(
    seeded_source: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, int]]:
    """One source file served by one server for the module (a start costs seconds of
    imports); each test puts the seeded copy back into it. The server holds nothing of a
    change between requests: the repair of a planted version is read at once as well."""
    db = tmp_path_factory.mktemp("served-source") / "source.db"
    copy_into(seeded_source, db)
    with server(f"sqlite:///{db}") as port:
        yield db, port


@pytest.fixture
def source(seeded_source: Path, served_source: tuple[Path, int]) -> Path:
    """The served source holding the seeded copy again, for this test alone (SQLite's
    backup writes through the file's locks, as the server's connections expect)."""
    db, _ = served_source
    copy_into(seeded_source, db)
    return db


def copy_into(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


class Planted:
    """New versions written into the source's tables as old data would be, past the API."""

    def __init__(self, db: Path) -> None:
        self.db = db
        with sqlite3.connect(db) as conn:
            self.head = conn.execute("SELECT max(seq) FROM change_log").fetchone()[0]
            rows = conn.execute(
                "SELECT code, max(version) FROM record_version WHERE kind = 'item' "
                "GROUP BY code ORDER BY code"
            ).fetchall()
        self.items = [
            code for code, version in rows if self.snapshot(code, version)["guide"]["conditions"]
        ]
        #: (seq, code, version) of each change planted
        self.changes: list[tuple[int, str, int]] = []

    def snapshot(self, code: str, version: int) -> dict[str, Any]:
        with sqlite3.connect(self.db) as conn:
            (text,) = conn.execute(
                "SELECT snapshot FROM record_version WHERE kind = 'item' AND code = ? "
                "AND version = ?",
                (code, version),
            ).fetchone()
        return orjson.loads(text)

    def version(self, code: str, edit: Edit) -> tuple[int, str, int]:
        """A new version of item ``code``: its latest state changed by ``edit``."""
        with sqlite3.connect(self.db) as conn:
            version, recorded_at = conn.execute(
                "SELECT version, recorded_at FROM record_version WHERE kind = 'item' "
                "AND code = ? ORDER BY version DESC LIMIT 1",
                (code,),
            ).fetchone()
            (operation,) = conn.execute(
                "SELECT operation FROM change_log WHERE kind = 'item' AND code = ? LIMIT 1",
                (code,),
            ).fetchone()
            (text,) = conn.execute(
                "SELECT snapshot FROM record_version WHERE kind = 'item' AND code = ? "
                "AND version = ?",
                (code, version),
            ).fetchone()
            doc = orjson.loads(text)
            doc["version"] = version + 1
            doc["updated_by"] = "planted"
            edit(doc)
            conn.execute(
                "INSERT INTO record_version (kind, code, version, event, snapshot, key_name, "
                "recorded_at) VALUES ('item', ?, ?, 'update', ?, 'planted', ?)",
                (code, version + 1, orjson.dumps(doc).decode(), recorded_at),
            )
            seq = conn.execute(
                "INSERT INTO change_log (kind, code, version, operation, recorded_at) "
                "VALUES ('item', ?, ?, ?, ?)",
                (code, version + 1, operation, recorded_at),
            ).lastrowid
        assert seq is not None
        planted = (seq, code, version + 1)
        self.changes.append(planted)
        return planted

    def repair(self, change: tuple[int, str, int], edit: Edit) -> None:
        _, code, version = change
        doc = self.snapshot(code, version)
        edit(doc)
        with sqlite3.connect(self.db) as conn:
            conn.execute(
                "UPDATE record_version SET snapshot = ? WHERE kind = 'item' AND code = ? "
                "AND version = ?",
                (orjson.dumps(doc).decode(), code, version),
            )


def condition(text: str) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        doc["guide"]["conditions"][0] = text

    return edit


def nothing(doc: dict[str, Any]) -> None:
    pass


class Pull:
    """``catalogue sync pull`` of the source served on ``port`` into ``target``."""

    def __init__(self, target: Engine, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.target = target
        self.target_url = target.url.render_as_string(hide_password=False)
        self.key = position_key(self.url, None)

    def start_at(self, seq: int) -> None:
        """The target as a copy that has applied the source's feed up to ``seq`` (both
        hold the same seed: what follows it is what was planted)."""
        with Session(self.target) as session:
            session.add(SyncPosition(source=self.key, last_seq=seq))
            session.commit()

    def __call__(self, batch: int) -> Any:
        return run_cli(self.target_url, "sync", "pull", "--from", self.url, "--batch", str(batch))

    def position(self) -> int:
        with Session(self.target) as session:
            found = session.get(SyncPosition, self.key)
            return found.last_seq if found else 0

    def holds(self, change: tuple[int, str, int]) -> bool:
        _, code, version = change
        with Session(self.target) as session:
            return (
                session.execute(
                    select(RecordVersion.id).where(
                        RecordVersion.kind == "item",
                        RecordVersion.code == code,
                        RecordVersion.version == version,
                    )
                ).first()
                is not None
            )


@pytest.fixture
def pull(
    source: Path, served_source: tuple[Path, int], own_engine: Engine
) -> Iterator[tuple[Planted, Callable[[], Pull]]]:
    _, port = served_source

    def serve() -> Pull:  # once planted: the source as it is then, served
        return Pull(own_engine, port)

    yield Planted(source), serve


def stopped_line(proc: Any) -> str:
    assert proc.returncode == EXIT_CANNOT_STORE, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def plant_around(planted: Planted, bad: Edit) -> tuple[list[tuple[int, str, int]], Any]:
    """Four good changes, then a page of one good change, the bad one and two more."""
    items = planted.items
    before = [planted.version(items[i], nothing) for i in range(5)]
    change = planted.version(items[5], bad)
    after = [planted.version(items[i], nothing) for i in (6, 7)]
    return [*before, change, *after], change


@pytest.mark.parametrize(
    ("text", "shown", "rule"),
    [("申请人a\x00b须知", "U+0000", "text.nul")],
    ids=["nul"],
)
def test_a_change_breaking_the_text_policy_stops_the_pull(
    pull: tuple[Planted, Callable[[], Pull]], text: str, shown: str, rule: str
) -> None:
    planted, serve = pull
    changes, bad = plant_around(planted, condition(text))
    run = serve()
    run.start_at(planted.head)

    for _ in range(2):  # run again, it stops at the same change
        line = stopped_line(run(batch=4))
        seq, code, version = bad
        assert line.startswith(
            f"catalogue sync pull: stopped at seq {seq} (item {code} version {version}): "
            f"guide.conditions.0 holds {shown} ({rule}); this copy cannot store it."
        ), line
        assert text not in line and "\x00" not in line
        # the page of four before it is kept; nothing of its own page is
        assert run.position() == changes[3][0]
        assert [run.holds(c) for c in changes] == [True] * 4 + [False] * 4

    # the source's version repaired: the pull goes on from where it stopped
    planted.repair(bad, condition("申请人须知"))
    again = run(batch=4)
    assert again.returncode in (0, 3), again.stderr + again.stdout  # 3: seeded apart
    assert "Traceback" not in again.stderr
    assert run.position() == changes[-1][0]
    assert all(run.holds(c) for c in changes)


def test_a_change_the_database_refuses_stops_the_pull(
    pull: tuple[Planted, Callable[[], Pull]],
) -> None:
    """A material code that another item's material holds: the copy's unique index refuses
    it (no text rule could tell); the page is applied again change by change to name it."""
    planted, serve = pull
    other = planted.items[-1]
    taken = planted.snapshot(other, 1)["materials"][0]["code"]

    def steal(doc: dict[str, Any]) -> None:
        doc["materials"][0]["code"] = taken

    changes, bad = plant_around(planted, steal)
    run = serve()
    run.start_at(planted.head)

    line = stopped_line(run(batch=4))
    seq, code, version = bad
    assert line.startswith(
        f"catalogue sync pull: stopped at seq {seq} (item {code} version {version}): "
        "the database refused it ("
    ), line
    assert "item_material" in line and "this copy cannot store it" in line, line
    assert run.position() == changes[3][0]
    assert [run.holds(c) for c in changes] == [True] * 4 + [False] * 4


def test_a_value_too_long_for_postgresql_stops_the_pull(
    pull: tuple[Planted, Callable[[], Pull]], db_url: str
) -> None:
    """SQLite takes a text longer than its column's bound; PostgreSQL refuses it."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite stores any length")
    planted, serve = pull

    def long_level(doc: dict[str, Any]) -> None:
        doc["level"] = "33"

    changes, bad = plant_around(planted, long_level)
    run = serve()
    run.start_at(planted.head)
    line = stopped_line(run(batch=4))
    assert line.startswith(f"catalogue sync pull: stopped at seq {bad[0]} (item {bad[1]} "), line
    assert "StringDataRightTruncation" in line and "character varying(1)" in line, line
    assert run.position() == changes[3][0]
    assert [run.holds(c) for c in changes] == [True] * 4 + [False] * 4


def test_a_nul_that_passed_the_check_is_still_stopped_by_the_database(
    pull: tuple[Planted, Callable[[], Pull]], own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text check skipped, PostgreSQL itself refuses the NUL (SQLite stores it): the
    pull names the change all the same, and stops."""
    if own_engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores a NUL")
    planted, serve = pull
    changes, bad = plant_around(planted, condition("申请人a\x00b须知"))
    run = serve()
    run.start_at(planted.head)
    monkeypatch.setattr(
        mirror, "check_changes", lambda page: [orjson.dumps(c["item"]).decode() for c in page]
    )
    with pytest.raises(ChangeRefused) as stopped:
        mirror.pull(lambda: Session(own_engine), run.url, batch=4)
    message = str(stopped.value)
    assert message.startswith(
        f"stopped at seq {bad[0]} (item {bad[1]} version {bad[2]}): the database refused it ("
    ), message
    assert "\\u0000 cannot be converted to text" in message and "\n" not in message, message
    assert run.position() == changes[3][0]
    assert [run.holds(c) for c in changes] == [True] * 4 + [False] * 4


def test_the_quick_look_at_a_state_misses_no_character_the_policy_refuses() -> None:
    """The mirror walks a state's strings only when the JSON it stores looks suspect; for
    every code point the policy refuses, the JSON of a text holding it does."""
    missed = []
    for point in range(0x110000):
        if 0xD800 <= point <= 0xDFFF:  # orjson cannot write these: the state is walked
            continue
        text = f"甲{chr(point)}乙"
        if violation(text) is not None:
            raw = orjson.dumps({"guide": {"conditions": [text]}})
            if not _suspect(raw, raw.decode()):
                missed.append(f"U+{point:04X}")
    assert missed == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a\ud800b", "U+D800 (text.encoding)"),  # a lone surrogate: no JSON can be written
        ("a\rb", None),  # the policy refuses it in input; a copy stores what the source holds
        ("a\u200bb", None),
        ("第一行\r\n第二行\t备注", None),  # multi-line text
        ("C:\\bin\\u0000\\r", None),  # backslashes that look like escapes in the JSON
    ],
)
def test_check_changes_names_the_first_string_the_policy_refuses(
    text: str, found: str | None
) -> None:
    clean = {"seq": 7, "kind": "item", "code": "X1", "version": 2, "key": "k", "item": {}}
    change = {**clean, "seq": 8, "item": {"guide": {"conditions": ["ok", text]}}}
    if found is None:
        assert len(check_changes([clean, change])) == 2
        return
    with pytest.raises(ChangeRefused) as refused:
        check_changes([clean, change])
    assert str(refused.value).startswith(
        f"stopped at seq 8 (item X1 version 2): guide.conditions.1 holds {found}; "
    )
    with pytest.raises(ChangeRefused, match=r"version\.reason holds U\+0000 \(text\.nul\)"):
        check_changes([{**clean, "reason": "a\x00"}])


def test_a_department_breaking_the_text_policy_stops_the_pull_before_the_feed(
    own_engine: Engine,
) -> None:
    """The directory (read whole, before the feed) is checked too. Served by a stub: the
    service itself answers 500 for a department whose stored name breaks the policy."""
    with Session(own_engine) as session:
        dept = session.execute(select(Department).order_by(Department.credit_code)).scalar()
        assert dept is not None
        row = {**dept.model_dump(mode="json"), "name": dept.name + "\x00"}
        name = dept.name

    def source(request: httpx.Request) -> httpx.Response:
        items = {"/api/v1/departments": [row], "/api/v1/materials": []}[request.url.path]
        return httpx.Response(200, json={"items": items, "next_cursor": None})

    with pytest.raises(ChangeRefused) as stopped:
        mirror.pull(
            lambda: Session(own_engine), "http://source", transport=httpx.MockTransport(source)
        )
    assert str(stopped.value) == (
        f"stopped at the directory (department {row['credit_code']}): name holds U+0000 "
        "(text.nul); this copy cannot store it. Correct it at the source, then pull again."
    )
    with Session(own_engine) as session:
        assert session.get(Department, row["credit_code"]).name == name  # type: ignore[union-attr]
        assert session.get(SyncPosition, position_key("http://source", None)) is None
