"""What bench/abuse.py's hostile key-holders send and run: two XLSX bombs, a PATCH of
combinatorial situations, and webhook receivers (one that answers at once, one that answers a
byte at a time)."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
#: seconds between two bytes of a slow receiver's answer
TRICKLE_S = 1.9

# --- the hostile inputs ----------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def xlsx(sheet: str, strings: Iterable[bytes] | None = None) -> bytes:
    """A minimal workbook: one sheet (its ``<worksheet>`` body), shared strings streamed in."""
    sst = strings is not None
    types = (
        f'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
        + (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/>'
            if sst
            else ""
        )
        + "</Types>"
    )
    rel = '<Relationship Id="{}" Type="{}/{}" Target="{}"/>'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{_RELS}">'
            + rel.format("rId1", _DOC, "officeDocument", "xl/workbook.xml")
            + "</Relationships>",
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{_RELS}">'
            + rel.format("rId1", _DOC, "worksheet", "worksheets/sheet1.xml")
            + (rel.format("rId2", _DOC, "sharedStrings", "sharedStrings.xml") if sst else "")
            + "</Relationships>",
        )
        z.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{_MAIN}">{sheet}</worksheet>')
        if strings is not None:
            with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
                for chunk in strings:
                    f.write(chunk)
    return buf.getvalue()


def dimension_bomb() -> bytes:
    """A sheet declaring the largest range, a header and one cell in the last row."""
    return xlsx(
        '<dimension ref="A1:XFD1048576"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
        '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        "</sheetData>"
    )


def strings_bomb(mb: int = 400) -> bytes:
    """Shared strings of ``mb`` MB of 30,000-letter strings (deflate: about 1:950)."""
    one = f"<si><t>{'x' * 30_000}</t></si>".encode()
    n = mb * 1024 * 1024 // len(one) // 10 * 10

    def chunks() -> Iterator[bytes]:
        yield f'<sst xmlns="{_MAIN}" count="{n}" uniqueCount="{n}">'.encode()
        for _ in range(n // 10):
            yield one * 10
        yield b"</sst>"

    cells = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    )
    return xlsx(f"<sheetData>{cells}</sheetData>", chunks())


def combinatorial_patch(item: dict[str, Any]) -> bytes:
    """10 multiple-choice questions of 20 options, each question used by a material (so that
    the check reaches the count of answer sets)."""
    questions = [
        {
            "id": f"q{i}",
            "question": f"第{i + 1}个问题：您的情况属于以下哪几种？",
            "multiple": True,
            "options": [{"id": f"q{i}o{j}", "label": f"第{j + 1}种情形"} for j in range(20)],
        }
        for i in range(10)
    ]
    materials = [{k: v for k, v in m.items() if k != "position"} for m in item["materials"]]
    materials[0]["options"] = [f"q{i}o0" for i in range(10)]
    patch = {"guide": {"situations": questions}, "materials": materials}
    return json.dumps(patch, ensure_ascii=False).encode()


def multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- webhook receivers --------------------------------------------------------------------


class NormalReceiver:
    """Answers 200 at once; the arrival time of each change, by (code, version)."""

    def __init__(self) -> None:
        self.arrived: dict[tuple[str, int], float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                now = time.perf_counter()
                for change in body["changes"]:
                    receiver.arrived.setdefault((change["code"], change["version"]), now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SlowReceiver:
    """Reads the delivery, then answers ``200 OK`` a byte every ``TRICKLE_S`` s."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.sock = socket.create_server((HOST, 0))
        self.sock.settimeout(0.2)
        self.url = f"http://{HOST}:{self.sock.getsockname()[1]}/hook"
        self.deliveries = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()
        self.sock.close()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536) or b"\r\n\r\n"
                self.deliveries += 1
                for byte in self.ANSWER:
                    if self.stop.wait(TRICKLE_S):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return
