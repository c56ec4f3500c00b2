"""What a file is, by its bytes (not its name or the type its sender claims)."""

from __future__ import annotations

import io
import zipfile
from enum import StrEnum


class FileKind(StrEnum):
    """What a material file is for."""

    BLANK_FORM = "blank_form"  # 空白表格 (规范表格)
    INSTRUCTIONS = "instructions"  # 填写说明
    SAMPLE = "sample"  # 示范文本 (示例样表)


PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: the file types a material may carry, for the problem text
ACCEPTED = "PDF, DOCX, XLSX, PNG, JPEG"

#: a zip member name an Office document has besides its main part
_CONTENT_TYPES = "[Content_Types].xml"


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` read from its content, or None when it is none of the
    accepted types (an executable renamed .pdf, a zip that is not a Word or Excel file)."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        return _office(data)
    return None


def _office(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if _CONTENT_TYPES not in names:
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None
