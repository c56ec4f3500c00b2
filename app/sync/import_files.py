"""What an import file is, told before it is read.

Before anything is unpacked, the file is sniffed (its content, not its name): an XLSX is a
ZIP archive holding worksheets, whose central directory says how many members it has and
what each unpacks to (Python's zipfile, which openpyxl reads through, stops a member at the
size declared there, so the declaration bounds what is read); each sheet's declared size
(``<dimension ref=...>``) is read from its first bytes. A text file is UTF-8 and starts as
its format does. :func:`check_file` does this for an upload before anything is written.

Before openpyxl reads a workbook, :func:`count_workbook` counts it in one streaming pass
that keeps no tree: each sheet's rows by their index and cells by the columns each row
spans, as openpyxl yields them (the declared size is not trusted), the shared strings and
the elements of the other parts openpyxl holds whole in memory. Every XML parsed here goes
through ``defusedxml`` (no DTD, no entities)."""

from __future__ import annotations

import codecs
import re
import zipfile
import zlib
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from app.sync.import_limits import (
    Budget,
    FileRefused,
    ImportLimit,
    Limits,
    too_many_cells,
    too_many_rows,
)

#: members of an XLSX archive (a workbook has about a dozen)
MAX_ENTRIES = 1_000
#: members smaller than this are not held to the ratio (small parts compress unevenly)
RATIO_FLOOR = 1 << 20
#: Excel's last column, XFD
MAX_COLUMN = 16_384
#: elements of one row or shared string (a cell and its value are two; rich text more)
MAX_GROUP_ELEMENTS = 4 * MAX_COLUMN
#: elements of a part other than rows and shared strings (merged ranges, styles...)
MAX_OTHER_ELEMENTS = 100_000
#: bytes of a member fed to the parser at a time (the budget is checked between them)
CHUNK = 64 * 1024
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: what a file that is no spreadsheet often is, by its first bytes
KNOWN_KINDS = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-format (.xls) or password-protected workbook: save it as .xlsx without a password",
    ),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")

#: an XML member of a workbook and the name of its root element (``worksheet``, ``sst``...)
Part = tuple[str, str]


def check_file(source: IO[bytes], fmt: str, limits: Limits) -> list[Part]:
    """Refuse a file whose content is not of ``fmt`` (:class:`FileRefused`) or that passes a
    limit before it is unpacked (:class:`ImportLimit`); an XLSX's XML parts."""
    head = source.read(8192)
    source.seek(0)
    kind = _kind(head)
    if fmt == "xlsx":
        if not head.startswith(ZIP_MAGIC):
            raise FileRefused(
                "import.media_type", f"not an XLSX workbook: {kind or 'text'}", unsupported=True
            )
        return inspect_workbook(source, limits)
    if kind is not None:
        hint = " (an XLSX workbook is sent as .xlsx or with format=xlsx)" if "ZIP" in kind else ""
        raise FileRefused(
            "import.media_type", f"{kind}, not {fmt.upper()} text{hint}", unsupported=True
        )
    _check_text(source, fmt, limits)
    return []


def _kind(head: bytes) -> str | None:
    if head.startswith(ZIP_MAGIC):
        return "a ZIP archive"
    for magic, what in KNOWN_KINDS:
        if head.startswith(magic):
            return what
    return "a binary file" if b"\0" in head else None


def _check_text(source: IO[bytes], fmt: str, limits: Limits) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    size, first = 0, ""
    while chunk := source.read(1 << 20):
        size += len(chunk)
        if size > limits.max_unpacked_bytes:
            raise ImportLimit(
                "max_unpacked_bytes", f"the file is larger than {limits.max_unpacked_bytes:,} bytes"
            )
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise FileRefused(
                "import.encoding",
                f"not UTF-8 text (byte {size - len(chunk) + exc.start:,}): save it as UTF-8",
            ) from None
        if "\0" in text:
            raise FileRefused(
                "import.media_type", f"a binary file, not {fmt.upper()} text", unsupported=True
            )
        first = first or text.lstrip("\ufeff \t\r\n")[:1]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FileRefused(
            "import.encoding", "not UTF-8 text: the file ends inside a character"
        ) from None
    source.seek(0)
    if fmt == "json" and first != "[":
        raise FileRefused("import.json", "a JSON import file holds an array of implementations")
    if fmt == "ndjson" and first not in ("", "{"):
        raise FileRefused("import.ndjson", "an NDJSON import file holds one JSON object a line")


def inspect_workbook(source: IO[bytes], limits: Limits) -> list[Part]:
    """The XML parts of an XLSX archive, once its central directory (members, each one's
    size and ratio, the total) and each sheet's declared size passed the limits; nothing is
    unpacked beyond the first bytes of each XML member."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise FileRefused("import.zip", f"a broken ZIP archive: {exc}") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ENTRIES:
            raise ImportLimit(
                "max_entries",
                f"the archive holds {len(members):,} members, more than {MAX_ENTRIES:,}",
                setting=False,
            )
        total = 0
        for m in members:
            total += m.file_size
            if total > limits.max_unpacked_bytes:
                raise ImportLimit(
                    "max_unpacked_bytes",
                    f"the workbook unpacks to more than {limits.max_unpacked_bytes:,} bytes",
                )
            ratio = m.file_size / max(m.compress_size, 1)
            if m.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
                raise ImportLimit(
                    "max_ratio",
                    f"{m.filename} unpacks to {ratio:,.0f} times its packed size, more than "
                    f"{limits.max_ratio:g}",
                )
            if m.flag_bits & 0x1:
                raise FileRefused("import.zip", f"{m.filename} is encrypted", unsupported=True)
        if "[Content_Types].xml" not in archive.namelist():
            raise FileRefused(
                "import.media_type", "a ZIP archive, not an XLSX workbook", unsupported=True
            )
        parts = []
        for m in members:
            if m.is_dir() or not m.filename.endswith((".xml", ".rels")):
                continue
            head = _Head()
            _parse(archive, m.filename, head)
            if head.root == "worksheet":
                _check_declared(m.filename, head.ref, limits)
            parts.append((m.filename, head.root))
        if not any(root == "worksheet" for _, root in parts):
            raise FileRefused(
                "import.media_type",
                "a ZIP archive without worksheets: not an XLSX workbook",
                unsupported=True,
            )
    return parts


def _check_declared(name: str, ref: str | None, limits: Limits) -> None:
    """A sheet's ``<dimension ref="A1:XFD1048576"/>``: refused when it says more rows or
    cells than may be read (openpyxl would yield every one of them)."""
    if ref is None:
        return
    corner = _cell(ref.split(":")[-1])
    if corner is None:
        raise FileRefused("import.sheet", f"{name}: the dimension {ref[:40]!r} is no cell range")
    columns, rows = corner
    where = f"{name} declares {ref}: "
    if rows > limits.max_rows:
        raise too_many_rows(rows, limits, where)
    if rows * columns > limits.max_cells:
        raise too_many_cells(rows, limits, where)


def _cell(ref: str) -> tuple[int, int] | None:
    """(column, row) of ``XFD1048576``."""
    match = _CELL_REF.match(ref.strip())
    if match is None:
        return None
    column = 0
    for ch in match[1].upper():
        column = column * 26 + ord(ch) - 64
    return column, int(match[2])


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class _Enough(Exception):
    """A parse stopped early: the part read says all that is needed."""


def _parse(archive: zipfile.ZipFile, name: str, target: Any, budget: Budget | None = None) -> None:
    """Feed a member to a parser that builds nothing and calls ``target`` (no DTD, no
    entities), a chunk at a time, the budget checked between chunks."""
    parser = DefusedXMLParser(target=target, forbid_dtd=True)
    try:
        with archive.open(name) as stream:
            while chunk := stream.read(CHUNK):
                parser.feed(chunk)
                if budget is not None:
                    budget.check()
        parser.close()
    except _Enough:
        pass
    except (ParseError, DefusedXmlException) as exc:
        raise FileRefused("import.xml", f"{name} is not well-formed XML: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FileRefused("import.zip", f"{name}: {exc}") from None
    except NotImplementedError as exc:  # a compression method zipfile does not read
        raise FileRefused("import.zip", f"{name}: {exc}", unsupported=True) from None


class _Target:
    """A parser's target that keeps nothing (the subclasses count)."""

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        pass

    def end(self, tag: str) -> None:
        pass

    def close(self) -> None:
        pass


class _Head(_Target):
    """A part's root element, and a sheet's declared size (read up to its rows)."""

    def __init__(self) -> None:
        self.root = ""
        self.ref: str | None = None
        self._seen = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        local = _local(tag)
        self._seen += 1
        if self._seen == 1:
            self.root = local
            if local != "worksheet":
                raise _Enough()
        elif local == "dimension":
            self.ref = attrib.get("ref")
            raise _Enough()
        elif local == "sheetData" or self._seen > 1_000:
            raise _Enough()


def count_workbook(source: IO[bytes], parts: list[Part], budget: Budget) -> None:
    """Count each sheet's rows (by their index: openpyxl fills the missing ones) and cells
    (the columns each row spans), the shared strings and the elements of the other parts,
    before openpyxl reads any, stopping as soon as a limit is passed."""
    with zipfile.ZipFile(source) as archive:
        cells = 0
        for name, root in parts:
            if root == "worksheet":
                sheet = _SheetCounter(name, budget.limits, cells)
                _parse(archive, name, sheet, budget)
                cells = sheet.cells
            elif root == "sst":
                _parse(archive, name, _StringsCounter(name, budget.limits), budget)
            else:
                _parse(archive, name, _PartCounter(name), budget)


def _too_many_elements(name: str, what: str, most: int) -> ImportLimit:
    return ImportLimit(
        "max_elements", f"{name}: {what} holds more than {most:,} elements", setting=False
    )


class _PartCounter(_Target):
    """A part openpyxl holds whole (styles, the workbook, relationships...)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.elements = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_OTHER_ELEMENTS:
            raise _too_many_elements(self.name, "the part", MAX_OTHER_ELEMENTS)


class _StringsCounter(_Target):
    """The shared strings, which openpyxl holds whole (~150 bytes and 15 µs a string)."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name, self.limits = name, limits
        self.strings = self.elements = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if _local(tag) == "si":
            self.strings += 1
            self.elements = 0
            if self.strings > self.limits.max_strings:
                raise ImportLimit(
                    "max_strings",
                    f"{self.name} holds more than {self.limits.max_strings:,} shared strings",
                )
        else:
            self.elements += 1
            if self.elements > MAX_GROUP_ELEMENTS:
                raise _too_many_elements(
                    self.name, f"shared string {self.strings:,}", MAX_GROUP_ELEMENTS
                )


class _SheetCounter(_Target):
    def __init__(self, name: str, limits: Limits, cells: int) -> None:
        self.name, self.limits, self.cells = name, limits, cells
        self.row = 0  # the index of the row read last
        self.depth = 0  # inside a row: how deep
        self.elements = 0  # of the row
        self.other = 0  # of the sheet outside its rows
        self.count = self.column = self.width = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        local = _local(tag)
        if self.depth:
            self.depth += 1
            self.elements += 1
            if self.elements > MAX_GROUP_ELEMENTS:
                raise _too_many_elements(self.name, f"row {self.row:,}", MAX_GROUP_ELEMENTS)
            if local == "c":
                self._cell(attrib.get("r"))
        elif local == "row":
            self.depth = 1
            self.elements = self.count = self.column = self.width = 0
            self.row = self._index(attrib.get("r"))
            if self.row > self.limits.max_rows:
                raise too_many_rows(self.row, self.limits, f"{self.name}: ")
        else:
            self.other += 1
            if self.other > MAX_OTHER_ELEMENTS:
                raise _too_many_elements(
                    self.name, "the sheet outside its rows", MAX_OTHER_ELEMENTS
                )

    def end(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
            if not self.depth:  # the row ends: openpyxl yields as many values as it spans
                self.cells += max(self.width, self.count)
                if self.cells > self.limits.max_cells:
                    raise too_many_cells(self.row, self.limits, f"{self.name}: ")

    def _index(self, r: str | None) -> int:
        if r is None:
            return self.row + 1
        if not r.isdigit():
            raise FileRefused("import.sheet", f"{self.name}: row index {r[:20]!r} is no number")
        return int(r)

    def _cell(self, ref: str | None) -> None:
        self.count += 1
        if ref is None:
            self.column += 1
        else:
            cell = _cell(ref)
            if cell is None:
                raise FileRefused("import.sheet", f"{self.name}: {ref[:20]!r} is no cell")
            self.column = cell[0]
        if self.column > MAX_COLUMN:
            raise FileRefused(
                "import.sheet", f"{self.name}: row {self.row:,} has a cell beyond column XFD"
            )
        self.width = max(self.width, self.column)
