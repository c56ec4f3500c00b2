"""Material files (规范表格、填写说明、示范文本): stored once by SHA-256 in the database,
attached to a material through the item's one write pipeline (an editor's upload becomes a
change request carrying the file's hash)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlmodel import Session, col, select

from app.catalogue.documents import item_input
from app.catalogue.reads import SessionSnapshots, get_item_json
from app.errors import PROBLEM_BASE, DomainError, NotFound
from app.files.content import ACCEPTED, FileKind, sniff
from app.files.models import StoredFile
from app.security import Principal

FILES_PATH = "/api/v1/files/"


class UnsupportedFile(DomainError):
    status = 415
    type = PROBLEM_BASE + "unsupported-media-type"
    title = "Unsupported media type"


class FileTooLarge(DomainError):
    status = 413
    type = PROBLEM_BASE + "too-large"
    title = "File too large"


def file_url(sha256: str) -> str:
    """The file's path on any instance (a mirror serves the bytes it copied)."""
    return FILES_PATH + sha256


def check_content(data: bytes, limit: int) -> str:
    """The media type of an uploaded file, or a refusal: 413 past ``limit``, 415 when its
    bytes are none of the accepted types."""
    if len(data) > limit:
        raise FileTooLarge(f"a material file holds at most {limit:,} bytes", extra={"limit": limit})
    media_type = sniff(data)
    if media_type is None:
        raise UnsupportedFile(
            f"the file's content is none of {ACCEPTED} (read from its bytes, not its name)",
            extra={"accepted": ACCEPTED.split(", ")},
        )
    return media_type


def store(session: Session, data: bytes, name: str, media_type: str, actor: Principal) -> str:
    """Keep ``data`` once under its SHA-256 (a second upload of the same bytes stores
    nothing). Returns the hash."""
    digest = hashlib.sha256(data).hexdigest()
    if session.get(StoredFile, digest) is None:
        session.add(
            StoredFile(
                sha256=digest,
                name=name,
                media_type=media_type,
                size=len(data),
                data=data,
                created_by=actor.name,
            )
        )
        session.flush()
    return digest


def get_file(session: Session, sha256: str) -> StoredFile:
    found = session.get(StoredFile, sha256.lower())
    if found is None:
        raise NotFound(f"no file {sha256}")
    return found


def attachment(sha256: str, name: str, base: str) -> dict[str, Any]:
    """What the material carries of its file: a link is absolute (``base``: the
    published address), the hash lets any copy serve it from its own database."""
    return {"name": name, "url": base.rstrip("/") + file_url(sha256), "sha256": sha256}


def attach_patch(
    session: Session,
    code: str,
    material_code: str,
    kind: FileKind,
    sha256: str,
    name: str,
    base: str,
) -> tuple[dict[str, Any], int]:
    """The merge patch that puts the file on the material (arrays are replaced whole), and
    the item's version it was made from."""
    version, body = get_item_json(SessionSnapshots(session), code)
    current = item_input(orjson.loads(body))
    materials = current.get("materials") or []
    found = [m for m in materials if m.get("code") == material_code]
    if not found:
        raise NotFound(f"item {code} has no material {material_code}")
    # the material's ``instructions`` is its 填报须知 text: the file goes beside it
    field = "instructions_file" if kind == FileKind.INSTRUCTIONS else str(kind)
    found[0][field] = attachment(sha256, name, base)
    return {"materials": materials}, version


def referenced_hashes(session: Session) -> set[str]:
    """Every file hash the materials of the catalogue name (what a mirror must hold)."""
    from app.catalogue.models import ItemMaterial

    out: set[str] = set()
    for blank, sample, instructions in session.exec(
        select(ItemMaterial.blank_form, ItemMaterial.sample, ItemMaterial.instructions_file).where(
            col(ItemMaterial.blank_form).is_not(None)
            | col(ItemMaterial.sample).is_not(None)
            | col(ItemMaterial.instructions_file).is_not(None)
        )
    ):
        for a in (blank, sample, instructions):
            if isinstance(a, dict) and a.get("sha256"):
                out.add(a["sha256"])
    return out


def missing(session: Session, hashes: set[str]) -> set[str]:
    if not hashes:
        return set()
    held = set(session.exec(select(StoredFile.sha256).where(col(StoredFile.sha256).in_(hashes))))
    return hashes - held


def keep_copy(session: Session, sha256: str, data: bytes, name: str) -> bool:
    """A mirror keeps the bytes it fetched if they are what the hash says (False: not)."""
    if hashlib.sha256(data).hexdigest() != sha256:
        return False
    media_type = sniff(data)
    if media_type is None:
        return False
    if session.get(StoredFile, sha256) is None:
        session.add(
            StoredFile(
                sha256=sha256,
                name=name,
                media_type=media_type,
                size=len(data),
                data=data,
                created_by="mirror",
            )
        )
        session.flush()
    return True
