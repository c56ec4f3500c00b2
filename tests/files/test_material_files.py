"""Material files (规范表格、填写说明、示范文本): checked by content, stored once by SHA-256 in
the database, served immutable; an editor's upload goes through review; a second app
instance on the same database and a mirror serve the same bytes. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.catalogue.models import Implementation, ItemMaterial
from app.catalogue.reads import SessionSnapshots
from app.config import get_settings
from app.db import make_engine
from app.files.models import StoredFile
from app.sync import mirror
from tests.conftest import Keys
from tests.helpers import API, committing_app, problem
from tests.sync.test_effective_day_sync import through

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
#: the start of a Windows executable, sent as a PDF
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def office(main_part: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(main_part, "<document/>")
    return out.getvalue()


def a_material(session: Session) -> tuple[str, str, str]:
    """An item in use with a material: (item code, material code, department)."""
    code, material, dept = session.execute(
        select(ItemMaterial.implementation_code, ItemMaterial.code, Implementation.department_code)
        .join(Implementation, Implementation.code == ItemMaterial.implementation_code)  # type: ignore[arg-type]
        .where(Implementation.status == "1")
        .order_by(ItemMaterial.code)
        .limit(1)
    ).one()
    return code, material, dept


def upload(
    client: TestClient,
    headers: dict[str, str],
    code: str,
    material: str,
    data: bytes,
    *,
    kind: str = "blank_form",
    filename: str = "申请表.pdf",
    content_type: str = "application/pdf",
) -> Any:
    return client.post(
        f"{API}/items/{code}/materials/{material}/files",
        data={"kind": kind},
        files={"file": (filename, data, content_type)},
        headers=headers,
    )


def material_of(client: TestClient, code: str, material: str) -> dict[str, Any]:
    item = client.get(f"{API}/items/{code}").json()
    return next(m for m in item["materials"] if m["code"] == material)


def test_an_admin_upload_is_attached_and_served_immutable(
    client: TestClient, session: Session, keys: Keys
) -> None:
    code, material, _ = a_material(session)
    admin = keys.admin()
    resp = upload(client, admin, code, material, PDF)
    assert resp.status_code == 201, resp.text
    sha = hashlib.sha256(PDF).hexdigest()
    assert resp.json() == {
        "sha256": sha,
        "name": "申请表.pdf",
        "kind": "blank_form",
        "size": len(PDF),
        "media_type": "application/pdf",
        "url": f"http://testserver{API}/files/{sha}",
    }
    assert material_of(client, code, material)["blank_form"] == {
        "name": "申请表.pdf",
        "url": f"http://testserver{API}/files/{sha}",
        "sha256": sha,
    }
    got = client.get(f"{API}/files/{sha}")
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert "immutable" in got.headers["cache-control"]
    assert got.headers["etag"] == f'"{sha}"'
    assert "filename*=UTF-8''%E7%94%B3%E8%AF%B7%E8%A1%A8.pdf" in got.headers["content-disposition"]
    assert (
        client.get(f"{API}/files/{sha}", headers={"If-None-Match": f'"{sha}"'}).status_code == 304
    )
    problem(client.get(f"{API}/files/{'0' * 64}"), 404)
    problem(client.get(f"{API}/files/not-a-hash"), 422)

    # the same bytes again are stored once; a sample beside it
    docx = office("word/document.xml")
    again = upload(client, admin, code, material, docx, kind="sample", filename="样表.docx",
                   content_type="application/octet-stream")  # fmt: skip
    assert again.status_code == 201, again.text
    assert again.json()["media_type"].endswith("wordprocessingml.document")
    assert upload(client, admin, code, material, PDF).status_code == 201
    assert session.execute(select(StoredFile.sha256)).scalars().all().count(sha) == 1

    # the item page and the checklist link them
    page = client.get(f"/items/{code}").text
    assert f'href="http://testserver{API}/files/{sha}"' in page and "下载空白表格" in page
    assert (
        f'href="http://testserver{API}/files/{hashlib.sha256(docx).hexdigest()}"' in page
        and "查看样表" in page
    )
    checklist = client.get(f"/items/{code}/checklist").text
    assert f'href="http://testserver{API}/files/{sha}"' in checklist and "下载空白表格" in checklist

    # filling instructions go beside the 填报须知 text, which stays as it was
    text_before = material_of(client, code, material).get("instructions")
    xlsx = office("xl/workbook.xml")
    shown = upload(client, admin, code, material, xlsx, kind="instructions", filename="说明.xlsx")
    assert shown.status_code == 201, shown.text
    after = material_of(client, code, material)
    assert after["instructions"] == text_before
    assert after["instructions_file"]["sha256"] == hashlib.sha256(xlsx).hexdigest()
    assert "查看填写说明" in client.get(f"/items/{code}").text
    assert "查看填写说明" in client.get(f"/items/{code}/checklist").text

    # the export carries the link with its hash
    rows = client.get(f"{API}/exports/items.csv", params={"sheet": "materials"}).text
    assert f"http://testserver{API}/files/{sha},{sha}" in rows

    # the feed carries the link with its hash
    feed = client.get(f"{API}/changes", params={"after": 0, "limit": 1000})
    assert f'"sha256":"{sha}"' in feed.text or f'"sha256": "{sha}"' in feed.text


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (EXE, "申请表.pdf", "application/pdf"),
        (office("content.xml"), "表格.docx", DOCX := "application/vnd.openxmlformats-officedocument"
         ".wordprocessingml.document"),
        (b"PK\x03\x04 not a zip at all", "表格.xlsx", "application/octet-stream"),
        (b"<html><script>alert(1)</script></html>", "样表.png", "image/png"),
    ],
    ids=["renamed-executable", "zip-without-main-part", "broken-zip", "html-as-png"],
)  # fmt: skip
def test_a_file_is_judged_by_its_content_not_its_name(
    client: TestClient,
    session: Session,
    keys: Keys,
    data: bytes,
    filename: str,
    content_type: str,
) -> None:
    code, material, _ = a_material(session)
    before = material_of(client, code, material)
    body = problem(
        upload(
            client, keys.admin(), code, material, data, filename=filename, content_type=content_type
        ),
        415,
    )
    assert "PDF, DOCX, XLSX, PNG, JPEG" in body["detail"]
    assert session.get(StoredFile, hashlib.sha256(data).hexdigest()) is None
    assert material_of(client, code, material) == before


def test_the_key_and_the_size_are_checked_before_the_body(
    client: TestClient, session: Session, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, material, _ = a_material(session)
    problem(upload(client, {}, code, material, PDF), 401)
    monkeypatch.setenv("CATALOGUE_FILE_LIMIT", "1000")
    get_settings.cache_clear()
    try:
        with TestClient(client.app) as small:
            big = PDF + b"\x00" * 2000
            body = problem(upload(small, keys.admin(), code, material, big), 413)
            assert body["limit"] == 1000
            # past the file limit but within the framing's allowance: refused by the route
            body = problem(upload(small, keys.admin(), code, material, PDF + b" " * 1200), 413)
            assert body["limit"] == 1000
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    problem(upload(client, keys.admin(), code, "NO-SUCH-MATERIAL", PDF), 404)
    body = problem(upload(client, keys.admin(), code, material, PDF, kind="poster"), 422)
    assert body["errors"][0]["loc"][-1] == "kind"


def test_an_editors_upload_goes_through_review(
    client: TestClient, session: Session, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOGUE_REVIEW_EDITORS", "true")
    get_settings.cache_clear()
    try:
        code, material, dept = a_material(session)
        region = session.get(Implementation, code).region_code  # type: ignore[union-attr]
        editor = keys.editor(dept)
        resp = upload(client, editor, code, material, PDF)
        assert resp.status_code == 202, resp.text
        sha = hashlib.sha256(PDF).hexdigest()
        assert resp.headers["x-file-sha256"] == sha
        request = resp.json()
        assert sha in str(request)  # the change request carries the file's hash
        assert (
            "blank_form" not in material_of(client, code, material)
            or (material_of(client, code, material)["blank_form"] or {}).get("sha256") != sha
        )  # nothing public before the approval
        reviewer = keys.make("reviewer", region=region[:2] + "0000")
        approved = client.post(f"{API}/change-requests/{request['id']}/approve", headers=reviewer)
        assert approved.status_code == 200, approved.text
        assert material_of(client, code, material)["blank_form"]["sha256"] == sha
        assert client.get(f"{API}/files/{sha}").content == PDF
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.fixture
def two_instances(own_engine: Engine) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps with their own connection pools on one database, writes committing."""
    second = make_engine(own_engine.url.render_as_string(hide_password=False))
    with Session(own_engine) as a_reads, Session(second) as b_reads:
        a = committing_app(own_engine, SessionSnapshots(a_reads))
        b = committing_app(second, SessionSnapshots(b_reads))
        with TestClient(a) as ca, TestClient(b) as cb:
            yield ca, cb
    second.dispose()


def test_a_second_instance_and_a_mirror_serve_the_same_bytes(
    two_instances: tuple[TestClient, TestClient],
    own_engine: Engine,
    client: TestClient,
    session: Session,
    keys: Keys,
) -> None:
    first, second = two_instances
    with Session(own_engine) as s:
        code, material, _ = a_material(s)
        admin = Keys(s).admin()
    data = office("xl/workbook.xml") + b"\x00" * 5000  # an XLSX with padding
    resp = upload(first, admin, code, material, data, filename="填报表.xlsx")
    assert resp.status_code == 201, resp.text
    sha = resp.json()["sha256"]
    got = second.get(f"{API}/files/{sha}")
    assert got.status_code == 200
    assert got.content == data and hashlib.sha256(got.content).hexdigest() == sha
    assert got.headers["content-type"].endswith("spreadsheetml.sheet")

    # a mirror of the test's source copies the bytes its items name
    code, material, _ = a_material(session)
    assert upload(client, keys.admin(), code, material, PDF).status_code == 201
    sha = hashlib.sha256(PDF).hexdigest()
    result = mirror.pull(lambda: Session(own_engine), "http://source", transport=through(client))
    assert result["equal"], result
    with Session(own_engine) as copy:
        held = copy.get(StoredFile, sha)
        assert held is not None and bytes(held.data) == PDF
    assert second.get(f"{API}/files/{sha}").content == PDF
