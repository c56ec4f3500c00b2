"""HTTP imports (POST /imports): a file is checked, saved, a job recorded, and the file
applied in a background thread through :func:`app.sync.importer.import_file`, the path of
``catalogue import``, with the caller's key (its scope decides, row by row). A dry run checks
every row by the same rules and answers the same report without writing.

A job is bounded (:mod:`app.sync.import_limits`): the upload is sniffed and a workbook's
archive inspected before anything is written (415, 422); a key has at most
``CATALOGUE_IMPORT_JOBS_PER_KEY`` jobs under way (429); the thread counts the file before it
applies a row and stops at the first limit passed, the job ``failed`` with the rule in its
error and report. A cancel (``DELETE /imports/{id}``, ``catalogue imports cancel``) is a
status of the job's row, ``cancelling``, which the thread reads between batches in whatever
process runs it, and ends as ``cancelled``. ``processed`` is written in the transaction of
each batch: it counts the rows committed, whatever stops the job.

The job runs in the process that received the file (the file is there, in a private folder:
:mod:`app.sync.import_uploads`, removed however the job ends). While it runs, a heartbeat
thread marks the job every :data:`HEARTBEAT_EVERY` seconds; a job not finished whose last
sign of life is older than ``CATALOGUE_IMPORT_STALE_AFTER`` seconds reads as ``failed`` (its
process stopped: what was committed stays, the rest was not applied), so a client polling
``GET /imports/{id}`` is not left waiting for ever."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from app.config import get_settings
from app.db import for_writing
from app.dbtypes import utcnow
from app.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RuleViolation,
    TooManyRequests,
    UnsupportedMediaType,
    field_error,
)
from app.security import ApiKey, Principal
from app.sync.import_files import check_file
from app.sync.import_limits import (
    Budget,
    Cancelled,
    FileRefused,
    ImportError_,
    ImportLimit,
    Limits,
)
from app.sync.import_uploads import save_upload
from app.sync.importer import FORMATS, PROFILES, DryRunSession, detect_format, import_file
from app.sync.models import ImportJob, ImportStatus

log = logging.getLogger("catalogue.imports")
#: rows of the report kept with a job (the counts always cover every row)
MAX_REPORT = 10_000
#: roles that may upload (a listing import also needs admin: the importer says so)
ROLES = ("admin", "editor", "sync")
#: seconds between two signs of life of a running job
HEARTBEAT_EVERY = 5.0
#: the statuses of a job under way
ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.CANCELLING)
#: what the counts of either profile say of each row (the sum: the file's rows)
ROW_OUTCOMES = ("created", "updated", "unchanged", "conflict", "rejected", "duplicates")
#: what a key refused for having too many jobs under way is told to wait (seconds)
RETRY_AFTER = 30


def stalled(job: ImportJob) -> bool:
    """Is this unfinished job's process gone? (No sign of life for the setting's seconds: a
    batch commits in about a second, SQLite's longest wait for the write slot is 30 s.)"""
    if job.status not in ACTIVE:
        return False
    last = job.heartbeat_at or job.started_at or job.created_at
    return utcnow() - last > timedelta(seconds=get_settings().import_stale_after)


def _applied(processed: int, dry_run: bool) -> str:
    if dry_run:
        return "nothing was written (a dry run)"
    return f"the {processed} rows counted were applied, the rest not"


def job_document(job: ImportJob) -> dict[str, Any]:
    gone = stalled(job)
    status = job.status
    if gone:  # a cancel asked of a job whose process stopped has what it asked
        status = (
            ImportStatus.CANCELLED if status == ImportStatus.CANCELLING else ImportStatus.FAILED
        )
    return {
        "id": job.id,
        "status": status,
        "filename": job.filename,
        "format": job.format,
        "profile": job.profile,
        "dry_run": job.dry_run,
        "processed": job.processed,
        "counts": job.counts,
        "report": job.report or [],
        "report_truncated": job.report_truncated,
        "error": (
            f"the process running the import stopped (last sign of life at "
            f"{(job.heartbeat_at or job.started_at or job.created_at).isoformat()}): "
            f"{_applied(job.processed, job.dry_run)}; send the file again"
            if gone
            else job.error
        ),
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
        "status_url": f"/api/v1/imports/{job.id}",
    }


def create_job(
    session: Session,
    actor: Principal,
    filename: str,
    content: bytes,
    *,
    fmt: str | None,
    profile: str | None,
    dry_run: bool,
) -> tuple[ImportJob, Path]:
    """Record the job and keep the file for its run. Refused before anything is written: a
    key whose role may not upload, a file that is not of its format (415: its content is
    sniffed) or is broken or passes a limit before it is unpacked (422), a key with as many
    jobs under way as it may have (429)."""
    actor.require_role(ROLES)
    if profile is not None and profile not in PROFILES:
        raise InvalidInput.field(
            ["query", "profile"], f"one of {', '.join(PROFILES)}", "import.profile"
        )
    if fmt is not None and fmt not in FORMATS:
        raise InvalidInput.field(
            ["query", "format"], f"one of {', '.join(FORMATS)}", "import.format"
        )
    try:
        fmt = fmt or detect_format(Path(filename))
    except ImportError_ as exc:
        raise InvalidInput.field(["body", "file"], str(exc), "import.format") from None
    if profile == "listing" and actor.role != "admin":
        raise Forbidden("a listing import (departments and entries) needs an admin key")
    try:
        check_file(io.BytesIO(content), fmt, Limits.from_settings())
    except (FileRefused, ImportLimit) as exc:
        errors = [field_error(["body", "file"], str(exc), exc.rule)]
        if isinstance(exc, FileRefused) and exc.unsupported:
            raise UnsupportedMediaType(str(exc), errors=errors) from None
        raise InvalidInput(str(exc), errors=errors) from None
    _check_under_way(session, actor)
    path = save_upload(content, fmt)
    try:
        job = ImportJob(
            filename=Path(filename).name[:200] or "upload",
            format=fmt,
            profile=profile,
            dry_run=dry_run,
            key_name=actor.name,
        )
        session.add(job)
        session.flush()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job, path


def _check_under_way(session: Session, actor: Principal) -> None:
    """At most ``CATALOGUE_IMPORT_JOBS_PER_KEY`` jobs of one key under way (a job whose
    process stopped does not count)."""
    # the key's row locked on PostgreSQL, so that two uploads at once count each other
    # (SQLite's write transaction, begun by this read, does the same)
    session.execute(select(ApiKey.id).where(ApiKey.name == actor.name).with_for_update())
    jobs = session.execute(
        select(ImportJob).where(
            col(ImportJob.key_name) == actor.name, col(ImportJob.status).in_(ACTIVE)
        )
    ).scalars()
    most = get_settings().import_jobs_per_key
    if sum(not stalled(job) for job in jobs) >= most:
        raise TooManyRequests(
            f"this key has {most} imports under way, as many as it may "
            f"(CATALOGUE_IMPORT_JOBS_PER_KEY): wait for one to end, or cancel one",
            retry_after=RETRY_AFTER,
        )


def get_job(session: Session, job_id: int, actor: Principal) -> ImportJob:
    """A job, for its own key or an admin."""
    job = session.get(ImportJob, job_id)
    if job is None or (job.key_name != actor.name and actor.role != "admin"):
        raise NotFound(f"no import {job_id} of this key")
    return job


def cancel_job(session: Session, job_id: int, actor: Principal) -> ImportJob:
    """Ask a job to stop (its own key or an admin): one not started yet, or whose process
    stopped, is ``cancelled`` at once; a running one is ``cancelling`` until its thread sees
    it between two batches. Cancelling again answers the same; a finished job is refused."""
    job = get_job(session, job_id, actor)
    seen = job.status
    if seen == ImportStatus.CANCELLED:
        return job
    if seen not in ACTIVE:
        raise RuleViolation(f"import {job_id} is {seen}: nothing to cancel", type="import-finished")
    if seen == ImportStatus.QUEUED or stalled(job):
        values: dict[str, Any] = {
            "status": ImportStatus.CANCELLED,
            "finished_at": utcnow(),
            "error": f"cancelled by {actor.name}: {_applied(job.processed, job.dry_run)}",
        }
    else:
        values = {"status": ImportStatus.CANCELLING}
    # only from the status seen: the job's thread may have moved it on meanwhile
    session.execute(
        update(ImportJob)
        .where(col(ImportJob.id) == job_id, col(ImportJob.status) == seen)
        .values(**values)
    )
    session.flush()
    session.refresh(job)
    return job


def _set(engine: Engine, job_id: int, *, only_if: str | None = None, **values: Any) -> bool:
    """Write the job's row in a transaction of its own (``only_if``: while it has that
    status); whether it was written."""
    stmt = update(ImportJob).where(col(ImportJob.id) == job_id)
    if only_if is not None:
        stmt = stmt.where(col(ImportJob.status) == only_if)
    with Session(for_writing(engine)) as session:
        written = session.execute(stmt.values(**values)).rowcount  # type: ignore[attr-defined]
        session.commit()
    return bool(written)


def _stopping(status: str | None) -> bool:
    return status in (ImportStatus.CANCELLING, ImportStatus.CANCELLED)


def _status(engine: Engine, job_id: int) -> str | None:
    with Session(engine) as session:
        return session.execute(
            select(ImportJob.status).where(col(ImportJob.id) == job_id)
        ).scalar_one_or_none()


def run_job(engine: Engine, job_id: int, path: Path, actor: Principal) -> None:
    """Apply (or check) the file; the job records progress, counts and the report. The file
    is removed however the job ends."""
    try:
        _run(engine, job_id, path, actor)
    finally:
        path.unlink(missing_ok=True)


def _run(engine: Engine, job_id: int, path: Path, actor: Principal) -> None:
    with Session(engine) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        fmt, profile, dry_run = job.format, job.profile, job.dry_run
    now = utcnow()
    started = _set(
        engine,
        job_id,
        only_if=ImportStatus.QUEUED,
        status=ImportStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
    )
    if not started:  # cancelled before it started
        return
    # made in this thread: the CPU time it counts is this thread's
    budget = Budget(Limits.from_settings(), cancelled=lambda: _stopping(_status(engine, job_id)))
    committed = 0  # rows committed (a dry run: checked)

    def progress(n: int) -> None:  # after a batch's commit
        nonlocal committed
        committed += n

    def on_batch(session: Session, n: int) -> None:
        """In the batch's transaction: the cancel looked at, the count kept with the rows."""
        status = session.execute(
            select(ImportJob.status).where(col(ImportJob.id) == job_id)
        ).scalar_one()
        if _stopping(status):
            raise Cancelled()
        session.execute(
            update(ImportJob).where(col(ImportJob.id) == job_id).values(processed=committed + n)
        )

    factory: Callable[[], Session] = (
        (lambda: DryRunSession(for_writing(engine)))
        if dry_run
        else (lambda: Session(for_writing(engine)))
    )
    try:
        # a dry run commits nothing: its count goes with the heartbeat
        with _heartbeat(engine, job_id, (lambda: committed) if dry_run else None):
            result = import_file(
                factory,
                path,
                fmt=fmt,
                profile=profile,
                progress=progress,
                actor=actor,
                budget=budget,
                on_batch=None if dry_run else on_batch,
                read_factory=lambda: Session(engine),
            )
    except Cancelled as exc:
        error = f"cancelled: {_applied(committed, dry_run)}"
        _stopped(engine, job_id, ImportStatus.CANCELLED, error, exc.partial, committed)
        return
    except (ImportLimit, FileRefused) as exc:
        line = {"row": getattr(exc, "row", None) or 0, "field": "(file)", "rule": exc.rule}
        error = f"{exc}: {_applied(committed, dry_run)}"
        partial = getattr(exc, "partial", None)
        _stopped(engine, job_id, ImportStatus.FAILED, error, partial, committed, line)
        return
    except (ImportError_, ValueError, DomainError) as exc:
        _set(engine, job_id, status=ImportStatus.FAILED, error=str(exc), finished_at=utcnow())
        return
    except Exception as exc:  # the job must end, whatever the file did
        log.exception("import %s failed", job_id)
        _set(
            engine,
            job_id,
            status=ImportStatus.FAILED,
            error=type(exc).__name__,
            finished_at=utcnow(),
        )
        return
    report = result.pop("report", [])
    _set(
        engine,
        job_id,
        status=ImportStatus.DONE,
        profile=result.pop("profile", profile),
        counts={k: v for k, v in result.items() if isinstance(v, int)},
        report=report[:MAX_REPORT],
        report_truncated=len(report) > MAX_REPORT,
        processed=max(committed, sum(result.get(k, 0) for k in ROW_OUTCOMES)),
        finished_at=utcnow(),
    )


def _stopped(
    engine: Engine,
    job_id: int,
    status: ImportStatus,
    error: str,
    partial: dict[str, Any] | None,
    committed: int,
    line: dict[str, Any] | None = None,
) -> None:
    """A job stopped before its end: what the batches before did, and why it stopped."""
    partial = dict(partial or {})
    report = partial.pop("report", [])
    kept = report[: MAX_REPORT - 1] if line is not None else report[:MAX_REPORT]
    if line is not None:  # the rule that stopped it, last
        kept.append({**line, "message": error})
    counts = {k: v for k, v in partial.items() if isinstance(v, int)}
    _set(
        engine,
        job_id,
        status=status,
        error=error,
        counts=counts or None,
        report=kept,
        report_truncated=len(report) > len(kept) - (line is not None),
        processed=committed,
        finished_at=utcnow(),
    )


@contextmanager
def _heartbeat(engine: Engine, job_id: int, processed: Callable[[], int] | None) -> Iterator[None]:
    """Mark the job alive every :data:`HEARTBEAT_EVERY` seconds, in a thread of its own (a
    batch that waits for the database does not stop it; the process dying does), with the
    rows ``processed`` so far when given."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_EVERY):
            values: dict[str, Any] = {"heartbeat_at": utcnow()}
            if processed is not None:
                values["processed"] = processed()
            try:
                _set(engine, job_id, **values)
            except Exception as exc:  # the database busy or away: the next beat tries again
                log.warning("import %s: heartbeat not written: %s", job_id, type(exc).__name__)

    thread = threading.Thread(target=beat, name=f"import-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
