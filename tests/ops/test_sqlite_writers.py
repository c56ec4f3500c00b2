"""SQLite write transactions of one process take turns at a FIFO write slot (app.db);
readers never wait for it. No timings asserted: threads are synchronised on the queue's
own state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app import db
from app.db import WriteSlot, for_writing, make_engine, write_slot


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for another thread to reach a state (generous bound: a hang fails, slowness
    does not)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.001)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def slot_of(engine: Engine) -> WriteSlot:
    slot = write_slot(engine.url.database)
    assert slot is not None
    return slot


def test_turns_are_granted_in_arrival_order() -> None:
    slot = WriteSlot()
    assert slot.acquire(1)
    order: list[int] = []

    def writer(n: int) -> None:
        assert slot.acquire(30)
        order.append(n)
        slot.release()

    threads = []
    for n in range(6):
        t = threading.Thread(target=writer, args=(n,))
        t.start()
        threads.append(t)
        until(lambda n=n: slot.waiting == n + 1, f"writer {n} queued")
    slot.release()
    for t in threads:
        t.join()
    assert order == list(range(6))
    assert not slot.held and slot.waiting == 0


def test_a_release_hands_the_slot_over_before_a_newcomer_can_take_it() -> None:
    slot = WriteSlot()
    assert slot.acquire(1)
    got: list[str] = []
    queued = threading.Thread(target=lambda: got.append(str(slot.acquire(30))))
    queued.start()
    until(lambda: slot.waiting == 1, "the writer queued")
    slot.release()
    assert slot.held  # already the queued writer's, even if it has not run yet
    assert not slot.acquire(0.01)  # a newcomer waits its turn
    queued.join()
    assert got == ["True"]
    slot.release()
    assert not slot.held


def test_a_writer_that_waited_too_long_leaves_the_queue() -> None:
    slot = WriteSlot()
    assert slot.acquire(1)
    assert not slot.acquire(0.01)
    assert slot.waiting == 0 and slot.held
    slot.release()
    assert not slot.held
    assert slot.acquire(0.01)
    slot.release()


def test_one_slot_per_database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert write_slot(str(tmp_path / "a.db")) is write_slot("a.db")
    assert write_slot("a.db") is not write_slot("b.db")
    assert write_slot(":memory:") is None and write_slot("") is None


def test_an_in_memory_database_has_no_slot() -> None:
    engine = make_engine("sqlite://")
    with for_writing(engine).begin() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_writers_queue_in_the_process_and_readers_do_not(engine: Engine) -> None:
    slot = slot_of(engine)
    release_first = threading.Event()
    errors: list[BaseException] = []

    def write(n: int, hold: threading.Event | None) -> None:
        try:
            with Session(for_writing(engine)) as session:
                session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                if hold is not None:
                    hold.wait(30)
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=write, args=(1, release_first))
    first.start()
    until(lambda: slot.held, "the first writer holds the slot")
    second = threading.Thread(target=write, args=(2, None))
    second.start()
    until(lambda: slot.waiting == 1, "the second writer queued in the process")

    # a reader, meanwhile: neither writer is in its way (WAL), nor is the queue
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    with Session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0

    release_first.set()
    first.join()
    second.join()
    assert not errors
    assert not slot.held and slot.waiting == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]


def test_deferred_transactions_do_not_take_the_slot(engine: Engine) -> None:
    slot = slot_of(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not slot.held
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        assert not slot.held


def test_the_slot_is_given_back_however_the_transaction_ends(engine: Engine) -> None:
    slot = slot_of(engine)
    writing = for_writing(engine)

    with Session(writing) as session:  # commit
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert slot.held
        session.commit()
        assert not slot.held

    with Session(writing) as session:  # rollback
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.rollback()
        assert not slot.held

    with pytest.raises(ZeroDivisionError), writing.begin() as conn:  # an error
        conn.execute(text("INSERT INTO t VALUES (3)"))
        assert slot.held
        1 / 0  # noqa: B018
    assert not slot.held

    session = Session(writing)  # closed with the transaction open
    session.execute(text("INSERT INTO t VALUES (4)"))
    session.close()
    assert not slot.held

    conn = writing.connect()  # the connection itself thrown away
    conn.execute(text("INSERT INTO t VALUES (5)"))
    conn.invalidate()
    conn.close()
    assert not slot.held

    with Session(writing) as session:  # a failed statement, then the rollback
        session.execute(text("INSERT INTO t VALUES (6)"))
        with pytest.raises(OperationalError):
            session.execute(text("INSERT INTO no_such_table VALUES (1)"))
        session.rollback()
        assert not slot.held

    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalars().all() == [1]


def test_no_turn_in_time_is_database_busy(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the bounded wait the error is SQLite's own "database is locked", which the
    API answers with 503 and the CLI reports."""
    slot = slot_of(engine)
    monkeypatch.setattr(db, "WRITE_SLOT_TIMEOUT", 0.01)
    assert slot.acquire(1)  # another writer of this process
    try:
        with pytest.raises(OperationalError) as caught, Session(for_writing(engine)) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert "locked" in str(caught.value.orig)
        assert slot.waiting == 0
    finally:
        slot.release()
    assert not slot.held
    with Session(for_writing(engine)) as session:  # and the next writer goes ahead
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.commit()
    assert not slot.held


def test_a_begin_refused_by_another_process_gives_the_turn_back(
    engine: Engine, tmp_path: Path
) -> None:
    """A writer of another process (here: a bare sqlite3 connection) holds the lock; ours
    waits in SQLite's busy handler with the slot, then gives it back when that fails."""
    import sqlite3

    slot = slot_of(engine)
    other = sqlite3.connect(str(tmp_path / "writers.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        conn = for_writing(engine).connect()
        conn.connection.driver_connection.execute("PRAGMA busy_timeout=10")  # no BEGIN
        with pytest.raises(OperationalError) as caught:
            conn.begin()
        assert "locked" in str(caught.value.orig)
        assert not slot.held
        conn.invalidate()  # not back to the pool with that busy_timeout
        conn.close()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_the_pool_has_a_connection_for_every_thread_that_may_hold_one(engine: Engine) -> None:
    """Queued writers each hold a connection; the hot read path checks one out on the
    event loop: 40 worker threads, the loop and the indexer never exhaust the pool."""
    slot = slot_of(engine)
    held = [engine.raw_connection() for _ in range(44)]
    try:
        with engine.connect() as conn:  # one more, at once
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        for raw in held:
            raw.close()
    assert not slot.held
