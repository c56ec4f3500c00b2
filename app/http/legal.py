"""Legal bases (法律法规及政策文件) and the tasks their amendment or repeal gives."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from app.http.deps import Caller, ExpectedVersion, ReadSession, WriteSession
from app.http.responses import json_bytes
from app.legal import citations, service
from app.legal.models import LegalStatus
from app.legal.schemas import LegalBasisIn, LegalBasisOut, LegalBasisTaskOut
from app.pagination import Page, decode_number_cursor, encode_cursor

router = APIRouter(prefix="/api/v1")
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/legal-bases", response_model=Page[LegalBasisOut], tags=["legal bases"])
def list_legal_bases(
    session: ReadSession,
    status: LegalStatus | None = None,
    q: Annotated[str | None, Query(max_length=100, description="in the title or 文号")] = None,
    issuer: Annotated[str | None, Query(max_length=100)] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Response:
    rows = service.list_legal_bases(
        session,
        status=status,
        q=q,
        issuer=issuer,
        after=decode_number_cursor(cursor),
        limit=limit + 1,
    )
    next_cursor = encode_cursor(str(rows[limit - 1].id)) if len(rows) > limit else None
    return json_bytes(
        {
            "items": [service.legal_basis_document(r) for r in rows[:limit]],
            "next_cursor": next_cursor,
        }
    )


@router.get("/legal-bases/tasks", response_model=list[LegalBasisTaskOut], tags=["legal bases"])
def list_tasks(
    session: ReadSession,
    department: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}$")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,6}$")] = None,
    legal_basis: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    item: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}\d{13}$")] = None,
) -> list[LegalBasisTaskOut]:
    """整改任务: the items still citing a document amended or repealed since they cited it,
    by department."""
    rows = citations.citations_needing_action(
        session, department=department, region=region, legal_basis=legal_basis, item=item
    )
    return [LegalBasisTaskOut.model_validate(r) for r in rows]


@router.get("/legal-bases/{basis_id}", response_model=LegalBasisOut, tags=["legal bases"])
def get_legal_basis(
    session: ReadSession,
    basis_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    basis = service.get_legal_basis(session, basis_id)
    return json_bytes(
        service.legal_basis_document(basis), version=basis.version, if_none_match=if_none_match
    )


@router.post("/legal-bases", response_model=LegalBasisOut, status_code=201, tags=["legal bases"])
def create_legal_basis(session: WriteSession, caller: Caller, data: LegalBasisIn) -> Response:
    basis = service.save_legal_basis(session, data, caller)
    return json_bytes(
        service.legal_basis_document(basis),
        version=basis.version,
        status_code=201,
        headers={"Location": f"/api/v1/legal-bases/{basis.id}"},
    )


@router.put("/legal-bases/{basis_id}", response_model=LegalBasisOut, tags=["legal bases"])
def replace_legal_basis(
    session: WriteSession,
    caller: Caller,
    basis_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    data: LegalBasisIn,
    version: ExpectedVersion,
) -> Response:
    basis = service.save_legal_basis(
        session, data, caller, basis_id=basis_id, expected_version=version
    )
    return json_bytes(service.legal_basis_document(basis), version=basis.version)
