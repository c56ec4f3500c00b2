"""What an import may cost, checked before and while it reads its file.

Before anything is unpacked, the file is sniffed (its content, not its name): an XLSX is a
ZIP archive holding worksheets, whose central directory says how many members it has and
what each unpacks to (Python's zipfile, which openpyxl reads through, stops a member at the
size declared there, so the declaration bounds what is read); each sheet's declared size
(``<dimension ref=...>``) is read from its first bytes. A text file is UTF-8 and starts as
its format does. :func:`check_file` does this for an upload before anything is written.

Before openpyxl reads a workbook, :func:`count_sheets` counts its sheets in one streaming
pass that keeps no tree: rows by their index and cells by the columns each row spans, as
openpyxl yields them (the declared size is not trusted). While the rows are read, a
:class:`Budget` counts them again and watches the job's wall and CPU seconds and its
cancel. Every XML parsed here goes through ``defusedxml`` (no DTD, no entities).

Each limit is a setting (``CATALOGUE_IMPORT_MAX_*``); one passed stops the import with
:class:`ImportLimit`, naming its rule and setting."""

from __future__ import annotations

import codecs
import copy
import re
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from app.config import get_settings

#: members of an XLSX archive (a workbook has about a dozen)
MAX_ENTRIES = 1_000
#: members smaller than this are not held to the ratio (small parts compress unevenly)
RATIO_FLOOR = 1 << 20
#: Excel's last column, XFD
MAX_COLUMN = 16_384
#: elements of one row (a cell and its value are two; rich text a few more)
MAX_ROW_ELEMENTS = 4 * MAX_COLUMN
#: elements of a sheet outside its rows (merged ranges, validations, formats...)
MAX_OTHER_ELEMENTS = 100_000
#: seconds between two looks at a job's cancel
CANCEL_POLL = 1.0
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


class ImportError_(ValueError):
    """The file cannot be read at all (as opposed to rows that are rejected)."""


class FileRefused(ImportError_):
    """A file that is not what its format says (``unsupported``: another kind of file) or
    that is broken; ``rule`` names the check."""

    def __init__(self, rule: str, message: str, *, unsupported: bool = False) -> None:
        super().__init__(message)
        self.rule = rule
        self.unsupported = unsupported


class ImportLimit(ImportError_):
    """A limit passed: ``rule`` names it, ``row`` is where reading stopped (if known);
    ``partial`` holds what the import had done before it stopped."""

    def __init__(self, name: str, message: str, *, row: int | None = None, setting: bool = True):
        rule = f"import.{name}"
        if setting:
            message += f" (CATALOGUE_IMPORT_{name.upper()})"
        super().__init__(message)
        self.rule = rule
        self.row = row
        self.partial: dict[str, Any] | None = None


class Cancelled(Exception):
    """The job's cancel was seen; ``partial`` as for :class:`ImportLimit`."""

    partial: dict[str, Any] | None = None


@dataclass(frozen=True)
class Limits:
    max_rows: int
    max_cells: int
    max_unpacked_bytes: int
    max_ratio: float
    max_seconds: float
    max_cpu_seconds: float

    @classmethod
    def from_settings(cls) -> Limits:
        s = get_settings()
        return cls(
            max_rows=s.import_max_rows,
            max_cells=s.import_max_cells,
            max_unpacked_bytes=s.import_max_unpacked_bytes,
            max_ratio=s.import_max_ratio,
            max_seconds=s.import_max_seconds,
            max_cpu_seconds=s.import_max_cpu_seconds,
        )


class Budget:
    """What one import may still spend, checked as it reads: rows (of each sheet or file)
    and cells (all together) counted, wall and CPU seconds since it started (CPU: of the
    thread that made the budget, which reads), and a cancel, asked every
    :data:`CANCEL_POLL` seconds at most of ``cancelled``."""

    def __init__(self, limits: Limits, cancelled: Callable[[], bool] | None = None) -> None:
        self.limits = limits
        self.cells = 0
        self._cancelled = cancelled
        self._started = self._polled = time.monotonic()
        self._cpu = time.thread_time()

    def fork(self) -> Budget:
        """A budget of the same limits, clock and cancel that counts rows and cells anew,
        for a pass that counts a file before it is read."""
        other = copy.copy(self)
        other.cells = 0
        return other

    def row(self, n: int, cells: int) -> None:
        """Row ``n`` of a sheet or file, spanning ``cells`` cells, is being read."""
        if n > self.limits.max_rows:
            raise too_many_rows(n, self.limits)
        self.cells += cells
        if self.cells > self.limits.max_cells:
            raise too_many_cells(n, self.limits)
        self.check()

    def check(self, *, cancel: bool = False) -> None:
        """Stop when the seconds are spent or a cancel is asked (``cancel``: ask now)."""
        now = time.monotonic()
        if now - self._started > self.limits.max_seconds:
            raise ImportLimit(
                "max_seconds", f"the import ran longer than {self.limits.max_seconds:g} s"
            )
        if time.thread_time() - self._cpu > self.limits.max_cpu_seconds:
            raise ImportLimit(
                "max_cpu_seconds",
                f"the import used more than {self.limits.max_cpu_seconds:g} s of CPU time",
            )
        if self._cancelled is not None and (cancel or now - self._polled >= CANCEL_POLL):
            self._polled = now
            if self._cancelled():
                raise Cancelled()


def too_many_rows(row: int, limits: Limits, where: str = "") -> ImportLimit:
    return ImportLimit(
        "max_rows", f"{where}row {row:,} passes the limit of {limits.max_rows:,} rows", row=row
    )


def too_many_cells(row: int, limits: Limits, where: str = "") -> ImportLimit:
    return ImportLimit(
        "max_cells", f"{where}row {row:,} passes the limit of {limits.max_cells:,} cells", row=row
    )


# --- what the file is ----------------------------------------------------------------


def check_file(source: IO[bytes], fmt: str, limits: Limits) -> list[str]:
    """Refuse a file whose content is not of ``fmt`` (:class:`FileRefused`) or that passes a
    limit before it is unpacked (:class:`ImportLimit`); an XLSX's worksheet members."""
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


def inspect_workbook(source: IO[bytes], limits: Limits) -> list[str]:
    """The worksheet members of an XLSX archive, once its central directory (members, each
    one's size and ratio, the total) and each sheet's declared size passed the limits;
    nothing is unpacked beyond the first bytes of each XML member."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
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
        sheets = []
        for m in members:
            if m.is_dir() or not m.filename.endswith(".xml"):
                continue
            head = _SheetHead(m.filename)
            _parse(archive, m.filename, head)
            if head.sheet:
                _check_declared(m.filename, head.ref, limits)
                sheets.append(m.filename)
        if "[Content_Types].xml" not in archive.namelist() or not sheets:
            raise FileRefused(
                "import.media_type",
                "a ZIP archive without worksheets: not an XLSX workbook",
                unsupported=True,
            )
    return sheets


def _check_declared(name: str, ref: str | None, limits: Limits) -> None:
    """A sheet's ``<dimension ref="A1:XFD1048576"/>``: refused when it says more rows or
    cells than may be read (openpyxl would yield every one of them)."""
    if ref is None:
        return
    corner = _cell(ref.split(":")[-1])
    if corner is None:
        raise FileRefused("import.sheet", f"{name}: the dimension {ref!r} is not a cell range")
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


class _SheetHead:
    """Is the part a worksheet, and what size does it declare (read up to its rows)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sheet = False
        self.ref: str | None = None
        self._seen = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        local = _local(tag)
        self._seen += 1
        if self._seen == 1:
            self.sheet = local == "worksheet"
            if not self.sheet:
                raise _Enough()
        elif local == "dimension":
            self.ref = attrib.get("ref")
            raise _Enough()
        elif local == "sheetData" or self._seen > 1_000:
            raise _Enough()

    def end(self, tag: str) -> None:
        pass

    def close(self) -> None:
        pass


def count_sheets(source: IO[bytes], sheets: list[str], budget: Budget) -> None:
    """Count each worksheet's rows (by their index: openpyxl fills the missing ones) and
    cells (the columns each row spans) before openpyxl reads any, stopping as soon as a
    limit is passed."""
    with zipfile.ZipFile(source) as archive:
        cells = 0
        for name in sheets:
            counter = _SheetCounter(name, budget.limits, cells)
            _parse(archive, name, counter, budget)
            cells = counter.cells


class _SheetCounter:
    def __init__(self, name: str, limits: Limits, cells: int) -> None:
        self.name, self.limits, self.cells = name, limits, cells
        self.row = 0  # the index of the row read last
        self.depth = 0  # inside a row: how deep
        self.elements = 0  # of the row, or of the sheet outside its rows
        self.other = 0
        self.count = self.column = self.width = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        local = _local(tag)
        if self.depth:
            self.depth += 1
            self.elements += 1
            if self.elements > MAX_ROW_ELEMENTS:
                raise ImportLimit(
                    "max_row_elements",
                    f"{self.name}: row {self.row:,} holds more than {MAX_ROW_ELEMENTS:,} elements",
                    row=self.row,
                    setting=False,
                )
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
                raise ImportLimit(
                    "max_elements",
                    f"{self.name} holds more than {MAX_OTHER_ELEMENTS:,} elements outside its rows",
                    setting=False,
                )

    def end(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
            if not self.depth:  # the row ends: openpyxl yields as many values as it spans
                self.cells += max(self.width, self.count)
                if self.cells > self.limits.max_cells:
                    raise too_many_cells(self.row, self.limits, f"{self.name}: ")

    def close(self) -> None:
        pass

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
