"""Regions, departments, the shared material catalogue and code lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from app.directory import service
from app.directory.schemas import (
    CodeListOut,
    CodeOut,
    DepartmentIn,
    DepartmentOut,
    RegionDetail,
    RegionOut,
    SharedMaterialOut,
)
from app.http.deps import Caller, ExpectedVersion, ReadSession, WriteSession
from app.http.responses import json_bytes
from app.pagination import Page, decode_cursor, page

router = APIRouter(prefix="/api/v1")
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/regions", response_model=Page[RegionOut], tags=["directory"])
def list_regions(
    session: ReadSession,
    parent: str | None = None,
    level: Annotated[int | None, Query(ge=1, le=5, description="1 province … 5 township")] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Page[RegionOut]:
    rows = service.list_regions(
        session, parent=parent, level=level, after=decode_cursor(cursor), limit=limit + 1
    )
    rows, next_cursor = page(rows, limit, "code")
    return Page[RegionOut](
        items=[RegionOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/regions/{code}", response_model=RegionDetail, tags=["directory"])
def get_region(session: ReadSession, code: str) -> RegionDetail:
    region = service.get_region(session, code)
    detail = RegionDetail.model_validate(region)
    if region.parent_code:
        detail.parent = RegionOut.model_validate(service.get_region(session, region.parent_code))
    detail.children = [RegionOut.model_validate(r) for r in service.region_children(session, code)]
    return detail


@router.get("/departments", response_model=Page[DepartmentOut], tags=["directory"])
def list_departments(
    session: ReadSession,
    region: str | None = None,
    level: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Response:
    rows = service.list_departments(
        session, region=region, level=level, q=q, after=decode_cursor(cursor), limit=limit + 1
    )
    rows, next_cursor = page(rows, limit, "credit_code")
    # stored rows as stored: the output is not judged by the input's text policy
    return json_bytes(
        {"items": [service.department_document(r) for r in rows], "next_cursor": next_cursor}
    )


@router.get("/departments/{credit_code}", response_model=DepartmentOut, tags=["directory"])
def get_department(
    session: ReadSession,
    credit_code: str,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    dept = service.get_department(session, credit_code)
    body = service.department_document(dept)
    return json_bytes(body, version=dept.version, if_none_match=if_none_match)


@router.post("/departments", response_model=DepartmentOut, status_code=201, tags=["directory"])
def create_department(session: WriteSession, caller: Caller, data: DepartmentIn) -> Response:
    dept = service.save_department(session, data, caller)
    body = service.department_document(dept)
    return json_bytes(
        body,
        version=dept.version,
        status_code=201,
        headers={"Location": f"/api/v1/departments/{dept.credit_code}"},
    )


@router.put("/departments/{credit_code}", response_model=DepartmentOut, tags=["directory"])
def replace_department(
    session: WriteSession,
    caller: Caller,
    credit_code: str,
    data: DepartmentIn,
    version: ExpectedVersion,
) -> Response:
    dept = service.save_department(
        session, data, caller, credit_code=credit_code, expected_version=version
    )
    body = service.department_document(dept)
    return json_bytes(body, version=dept.version)


@router.get("/materials", response_model=Page[SharedMaterialOut], tags=["directory"])
def list_materials(
    session: ReadSession, q: str | None = None, cursor: str | None = None, limit: Limit = 50
) -> Page[SharedMaterialOut]:
    rows = service.list_materials(session, q=q, after=decode_cursor(cursor), limit=limit + 1)
    rows, next_cursor = page(rows, limit, "code")
    return Page[SharedMaterialOut](
        items=[SharedMaterialOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/materials/{code}", response_model=SharedMaterialOut, tags=["directory"])
def get_material(session: ReadSession, code: str) -> SharedMaterialOut:
    return SharedMaterialOut.model_validate(service.get_material(session, code))


@router.get("/code-lists", response_model=list[str], tags=["directory"])
def list_code_lists(session: ReadSession) -> list[str]:
    return service.code_list_names(session)


@router.get("/code-lists/{name}", response_model=CodeListOut, tags=["directory"])
def get_code_list(session: ReadSession, name: str) -> CodeListOut:
    rows = service.code_list(session, name)
    return CodeListOut(name=name, codes=[CodeOut.model_validate(r) for r in rows])
