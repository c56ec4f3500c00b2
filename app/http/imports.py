"""HTTP imports: upload a CSV, XLSX, JSON or NDJSON file (editor, sync or admin key, within
its scope) → 202 with the job; its progress and row report by GET, its cancel by DELETE.
``?dry_run=true`` checks the file and answers the same report without writing. Thin: the
rules are in :mod:`app.sync.import_jobs` and :mod:`app.sync.importer`."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from app.db import get_engine
from app.errors import InvalidInput, TooManyRequests
from app.http.deps import Caller, ReadSession, RowId, WriteSession
from app.http.responses import json_bytes
from app.sync import import_jobs
from app.sync.models import ImportStatus
from app.wording.import_report import said

log = logging.getLogger("catalogue.imports")


router = APIRouter(prefix="/api/v1", tags=["imports"])


class ReportLine(BaseModel):
    """A fault: where (a workbook's sheet, row and column header; a file's row) and what."""

    row: int
    field: str
    rule: str
    message: str
    sheet: str | None = None
    column: str | None = None
    text: str = Field(description="where and what, in Chinese, as the editor reads it")


class ImportJobOut(BaseModel):
    id: int
    status: ImportStatus
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
    heartbeat_at: str | None = None  # the running process's last sign of life
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


async def _file_of(request: Request) -> UploadFile:
    """The uploaded file (read here, not by a parameter: a body that is not multipart is a
    422 naming the field, as every bad input, not the parser's bare 400)."""
    try:
        form = await request.form()
    except Exception:  # the parser's errors are of several kinds, none of them the caller's key
        raise InvalidInput.field(
            ["body"], "not a multipart/form-data body", "import.multipart"
        ) from None
    file = form.get("file")
    if not isinstance(file, StarletteUpload):
        raise InvalidInput.field(["body", "file"], "a file is required", "import.file")
    return file  # type: ignore[return-value]


@router.post(
    "/imports",
    response_model=ImportJobOut,
    status_code=202,
    summary="Import a file (CSV, XLSX, JSON, NDJSON) in the background; dry_run only checks it",
    responses={
        429: {
            "description": "The key has as many imports under way as it may "
            "(CATALOGUE_IMPORT_JOBS_PER_KEY)",
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
            "headers": {
                "Retry-After": {
                    "description": "seconds after which to send it again",
                    "schema": {"type": "integer"},
                }
            },
        }
    },
    openapi_extra={
        "x-body-limit": "bulk",  # and binary: the edge leaves the encoding to the reader
        "x-roles": list(import_jobs.ROLES),
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "the file; its suffix tells the format",
                            }
                        },
                    }
                }
            },
        },
    },
)
async def create_import(
    request: Request,
    session: WriteSession,
    caller: Caller,
    background: BackgroundTasks,
    dry_run: Annotated[bool, Query(description="check every row, write nothing")] = False,
    format: Annotated[str | None, Query(description="json, ndjson, csv or xlsx")] = None,
    profile: Annotated[str | None, Query(description="implementation or listing")] = None,
) -> Any:
    file = await _file_of(request)
    content = await file.read()
    try:
        # sniffing, inspecting and saving up to the body limit: off the event loop
        job, path = await run_in_threadpool(
            import_jobs.create_job,
            session,
            caller,
            file.filename or "upload",
            content,
            fmt=format,
            profile=profile,
            dry_run=dry_run,
        )
    except TooManyRequests as exc:
        return Response(
            orjson.dumps(exc.problem()),
            status_code=exc.status,
            media_type="application/problem+json",
            headers={"Retry-After": str(exc.retry_after)},
        )
    runner = getattr(request.app.state, "import_runner", start_import)
    background.add_task(runner, job.id, path, caller)  # after the job row is committed
    doc = import_jobs.job_document(job)
    return json_bytes(doc, status_code=202, headers={"Location": doc["status_url"]})


@router.get("/imports/{import_id}", response_model=ImportJobOut, summary="An import's progress")
def get_import(session: ReadSession, caller: Caller, import_id: RowId) -> Any:
    return json_bytes(
        _said(import_jobs.job_document(import_jobs.get_job(session, import_id, caller)))
    )


def _said(doc: dict[str, Any]) -> dict[str, Any]:
    """Each report line with its text in the editor's language."""
    doc["report"] = [
        {**{k: v for k, v in line.items() if k != "ctx"}, "text": said(line)}
        for line in doc["report"]
    ]
    return doc


@router.delete(
    "/imports/{import_id}",
    response_model=ImportJobOut,
    status_code=202,
    summary="Cancel an import: stopped between two batches (what was committed stays)",
    responses={
        200: {"description": "Cancelled (it had not started, or its process had stopped)"},
        202: {"description": "Cancelling: the running job stops at its next batch"},
    },
)
def cancel_import(session: WriteSession, caller: Caller, import_id: RowId) -> Any:
    doc = _said(import_jobs.job_document(import_jobs.cancel_job(session, import_id, caller)))
    return json_bytes(doc, status_code=202 if doc["status"] == ImportStatus.CANCELLING else 200)
