"""HTTP imports (POST /imports): a file is saved, a job recorded, and the file applied in a
background thread through :func:`app.sync.importer.import_file`, the path of
``catalogue import``, with the caller's key (its scope decides, row by row). A dry run checks
every row by the same rules and answers the same report without writing.

The job runs in the process that received the file (the file is there). While it runs, a
heartbeat thread marks the job every :data:`HEARTBEAT_EVERY` seconds; a job not finished
whose last sign of life is older than ``CATALOGUE_IMPORT_STALE_AFTER`` seconds reads as ``failed`` (its process
stopped: what was committed stays, the rest was not applied), so a client polling
``GET /imports/{id}`` is not left waiting for ever."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col

from app.config import get_settings
from app.db import for_writing
from app.dbtypes import utcnow
from app.errors import DomainError, Forbidden, InvalidInput, NotFound
from app.security import Principal
from app.sync.importer import (
    FORMATS,
    PROFILES,
    DryRunSession,
    ImportError_,
    detect_format,
    import_file,
)
from app.sync.models import ImportJob, ImportStatus

log = logging.getLogger("catalogue.imports")
#: rows of the report kept with a job (the counts always cover every row)
MAX_REPORT = 10_000
#: roles that may upload (a listing import also needs admin: the importer says so)
ROLES = ("admin", "editor", "sync")
#: seconds between two signs of life of a running job
HEARTBEAT_EVERY = 5.0


def stalled(job: ImportJob) -> bool:
    """Is this unfinished job's process gone? (No sign of life for the setting's seconds: a
    batch commits in about a second, SQLite's longest wait for the write slot is 30 s.)"""
    if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return False
    last = job.heartbeat_at or job.started_at or job.created_at
    return utcnow() - last > timedelta(seconds=get_settings().import_stale_after)


def job_document(job: ImportJob) -> dict[str, Any]:
    gone = stalled(job)
    return {
        "id": job.id,
        "status": ImportStatus.FAILED if gone else job.status,
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
            f"{(job.heartbeat_at or job.started_at or job.created_at).isoformat()}): the "
            f"{job.processed} rows counted were applied, the rest not; send the file again"
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
    folder: Path,
) -> tuple[ImportJob, Path]:
    """Record the job and keep the file for its run; refuse what cannot be imported."""
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
    job = ImportJob(
        filename=Path(filename).name[:200] or "upload",
        format=fmt,
        profile=profile,
        dry_run=dry_run,
        key_name=actor.name,
    )
    session.add(job)
    session.flush()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"import-{job.id}.{fmt}"
    path.write_bytes(content)
    return job, path


def get_job(session: Session, job_id: int, actor: Principal) -> ImportJob:
    """A job, for its own key or an admin."""
    job = session.get(ImportJob, job_id)
    if job is None or (job.key_name != actor.name and actor.role != "admin"):
        raise NotFound(f"no import {job_id} of this key")
    return job


def _set(engine: Engine, job_id: int, **values: Any) -> None:
    with Session(for_writing(engine)) as session:
        session.execute(update(ImportJob).where(col(ImportJob.id) == job_id).values(**values))
        session.commit()


def run_job(engine: Engine, job_id: int, path: Path, actor: Principal) -> None:
    """Apply (or check) the file; the job records progress, counts and the report."""
    with Session(engine) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        fmt, profile, dry_run = job.format, job.profile, job.dry_run
    now = utcnow()
    _set(engine, job_id, status=ImportStatus.RUNNING, started_at=now, heartbeat_at=now)
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        _set(engine, job_id, processed=done)

    factory: Callable[[], Session] = (
        (lambda: DryRunSession(for_writing(engine)))
        if dry_run
        else (lambda: Session(for_writing(engine)))
    )
    try:
        with _heartbeat(engine, job_id):
            result = import_file(
                factory, path, fmt=fmt, profile=profile, progress=progress, actor=actor
            )
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
    finally:
        path.unlink(missing_ok=True)
    report = result.pop("report", [])
    _set(
        engine,
        job_id,
        status=ImportStatus.DONE,
        profile=result.pop("profile", profile),
        counts={k: v for k, v in result.items() if isinstance(v, int)},
        report=report[:MAX_REPORT],
        report_truncated=len(report) > MAX_REPORT,
        processed=max(done, sum(v for v in result.values() if isinstance(v, int))),
        finished_at=utcnow(),
    )


@contextmanager
def _heartbeat(engine: Engine, job_id: int) -> Iterator[None]:
    """Mark the job alive every :data:`HEARTBEAT_EVERY` seconds, in a thread of its own (a
    batch that waits for the database does not stop it; the process dying does)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_EVERY):
            try:
                _set(engine, job_id, heartbeat_at=utcnow())
            except Exception as exc:  # the database busy or away: the next beat tries again
                log.warning("import %s: heartbeat not written: %s", job_id, type(exc).__name__)

    thread = threading.Thread(target=beat, name=f"import-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def upload_folder() -> Path:
    return Path(tempfile.gettempdir()) / "catalogue-imports"
