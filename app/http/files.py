"""Material files: upload (through review for an editor) and the immutable download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Path, Request, Response, UploadFile
from pydantic import BaseModel, Field

from app.catalogue.items import patch_item
from app.catalogue.models import Implementation
from app.config import get_settings
from app.errors import InvalidInput, NotFound
from app.fields import Line
from app.files import service
from app.files.content import FileKind
from app.http.deps import Caller, ReadSession, WriteSession
from app.http.responses import json_bytes
from app.http.review import request_response
from app.review import service as review

router = APIRouter(prefix="/api/v1")

#: a stored file never changes: its address is its hash
IMMUTABLE = "public, max-age=31536000, immutable"


class StoredFileOut(BaseModel):
    sha256: str
    name: str
    kind: FileKind
    size: int
    media_type: str
    url: str = Field(description="GET /files/{sha256}")


@router.post(
    "/items/{code}/materials/{material_code}/files",
    response_model=StoredFileOut,
    status_code=201,
    tags=["files"],
    summary="Attach a blank form, filling instructions or a sample to a material",
    openapi_extra={
        "x-body-limit": "file",
        "requestBody": {"content": {"multipart/form-data": {}}},
    },
)
async def upload_file(
    request: Request,
    session: WriteSession,
    caller: Caller,
    code: str,
    material_code: str,
    kind: Annotated[FileKind, Form()],
    file: Annotated[UploadFile, File(description="PDF, DOCX, XLSX, PNG or JPEG")],
    name: Annotated[Line(200) | None, Form()] = None,
) -> Response:
    """The file is checked by its content and kept once by its SHA-256; the material then
    names it through the item's write (an editor's becomes a change request: 202)."""
    item = session.get(Implementation, code)
    if item is None:
        raise NotFound(f"no implementation {code}")
    # the key's scope before the bytes are read (the write checks it again under its lock)
    caller.require_item_scope(item.department_code, item.region_code)
    limit = get_settings().file_limit
    data = await file.read(limit + 1)  # never more than one byte past the limit
    media_type = service.check_content(data, limit)
    shown = name or (file.filename or "").rsplit("/", 1)[-1][:200] or f"{kind}"
    if not shown.strip():
        raise InvalidInput.field(["body", "name"], "the file needs a name", "file.name")
    sha256 = service.store(session, data, shown, media_type, caller)
    base = get_settings().public_base_url or str(request.base_url)
    patch, version = service.attach_patch(session, code, material_code, kind, sha256, shown, base)
    out = StoredFileOut(
        sha256=sha256,
        name=shown,
        kind=kind,
        size=len(data),
        media_type=media_type,
        url=base.rstrip("/") + service.file_url(sha256),
    ).model_dump(mode="json")
    proposal = review.instead_of_direct_write(
        session, caller, kind="edit", item=code, patch=patch, expected_version=version
    )
    if proposal is not None:
        response = request_response(session, proposal, 202)
        response.headers["X-File-SHA256"] = sha256
        return response
    patch_item(session, code, patch, caller, version)
    return json_bytes(out, status_code=201, headers={"Location": out["url"]})


@router.get(
    "/files/{sha256}",
    tags=["files"],
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_file(
    session: ReadSession,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$")],
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The bytes as uploaded, with their type and name; immutable (the address is the hash)."""
    stored = service.get_file(session, sha256)
    etag = f'"{stored.sha256}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if if_none_match and etag in if_none_match:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = _disposition(stored.name)
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(stored.data, media_type=stored.media_type, headers=headers)


def _disposition(name: str) -> str:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
