"""HTTP imports: upload a CSV, XLSX, JSON or NDJSON file (editor, sync or admin key, within
its scope) → 202 with the job; its progress and row report by GET. ``?dry_run=true``
checks the file and answers the same report without writing. Thin: the rules are in
:mod:`app.sync.import_jobs` and :mod:`app.sync.importer`."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, UploadFile
from pydantic import BaseModel

from app.db import get_engine
from app.deps import Caller, ReadSession, WriteSession
from app.responses import json_bytes
from app.sync import import_jobs

router = APIRouter(prefix="/api/v1", tags=["imports"])


class ReportLine(BaseModel):
    row: int
    field: str
    rule: str
    message: str


class ImportJobOut(BaseModel):
    id: int
    status: str
    filename: str
    format: str
    profile: str | None
    dry_run: bool
    processed: int
    counts: dict[str, int] | None
    report: list[ReportLine]
    report_truncated: bool
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    status_url: str


def start_import(job_id: int, path: Any, actor: Any) -> None:
    """Run a job in a thread of its own (a long file must not hold a request thread); the
    app keeps it in ``app.state.import_runner`` (a test app without a database of its own
    replaces it)."""
    threading.Thread(
        target=import_jobs.run_job,
        args=(get_engine(), job_id, path, actor),
        name=f"import-{job_id}",
        daemon=True,
    ).start()


@router.post(
    "/imports",
    response_model=ImportJobOut,
    status_code=202,
    summary="Import a file (CSV, XLSX, JSON, NDJSON) in the background; dry_run only checks it",
    openapi_extra={
        "x-body-limit": "bulk",  # and binary: the edge leaves the encoding to the reader
        "x-roles": list(import_jobs.ROLES),
        "requestBody": {"content": {"multipart/form-data": {}}},  # merged into FastAPI's
    },
)
def create_import(
    request: Request,
    session: WriteSession,
    caller: Caller,
    background: BackgroundTasks,
    file: Annotated[UploadFile, File(description="the file; its suffix tells the format")],
    dry_run: Annotated[bool, Query(description="check every row, write nothing")] = False,
    format: Annotated[str | None, Query(description="json, ndjson, csv or xlsx")] = None,
    profile: Annotated[str | None, Query(description="implementation or listing")] = None,
) -> Any:
    job, path = import_jobs.create_job(
        session,
        caller,
        file.filename or "upload",
        file.file.read(),
        fmt=format,
        profile=profile,
        dry_run=dry_run,
        folder=import_jobs.upload_folder(),
    )
    runner = getattr(request.app.state, "import_runner", start_import)
    background.add_task(runner, job.id, path, caller)  # after the job row is committed
    doc = import_jobs.job_document(job)
    return json_bytes(doc, status_code=202, headers={"Location": doc["status_url"]})


@router.get("/imports/{import_id}", response_model=ImportJobOut, summary="An import's progress")
def get_import(session: ReadSession, caller: Caller, import_id: int) -> Any:
    return json_bytes(import_jobs.job_document(import_jobs.get_job(session, import_id, caller)))
