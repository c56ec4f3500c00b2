"""GET /exports/…: the published catalogue as files, streamed, and as HSDS 3.0's paged API
shape for services. Public reads (no key)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.config import get_settings
from app.exports import cpsv, csvfile, hsds, hsds_api, hsds_package, xlsx
from app.exports.service import Scope, check_scope, export_chunks
from app.fields import Instant
from app.http.deps import ReadSession

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])

Region = Annotated[
    str | None, Query(description="region code; includes the regions under it (422 if unknown)")
]
Department = Annotated[
    str | None, Query(description="credit code of the implementing body (422 if unknown)")
]
Status = Annotated[
    str | None,
    Query(
        description="item status (code list item_statuses); default: every status but "
        "4 待承接 and 7 待完善, as GET /items"
    ),
]


class XlsxResponse(StreamingResponse):
    media_type = xlsx.MEDIA_TYPE


class CsvResponse(StreamingResponse):
    media_type = csvfile.MEDIA_TYPE


class JsonLdResponse(StreamingResponse):
    media_type = cpsv.MEDIA_TYPE


class HsdsResponse(StreamingResponse):
    media_type = hsds.MEDIA_TYPE


class ZipResponse(StreamingResponse):
    media_type = hsds_package.MEDIA_TYPE


def _scope(region: Region = None, department: Department = None, status: Status = None) -> Scope:
    """The filters every export takes (checked by :func:`_stream`, as /items checks them)."""
    return Scope(region=region, department=department, status=status)


ExportScope = Annotated[Scope, Depends(_scope)]


def _file(media_type: str, schema: dict[str, Any], description: str) -> dict[int | str, Any]:
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


BINARY = {"type": "string", "format": "binary"}
CSV_TYPE = csvfile.MEDIA_TYPE.split(";")[0]


def _stream(
    response: type[StreamingResponse],
    session: Session,
    fmt: str,
    scope: Scope,
    filename: str,
    **options: Any,
) -> StreamingResponse:
    check_scope(session, scope)  # before the first byte: a 422 is still possible
    chunks: Iterator[bytes] = export_chunks(session, fmt, scope, **options)
    return response(chunks, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get(
    "/items.xlsx",
    response_class=XlsxResponse,
    responses=_file(
        xlsx.MEDIA_TYPE,
        BINARY,
        "The 清单 workbook: sheets 事项 (one row per implementation), 申请材料 and 收费项目 "
        "(keyed by 实施编码 and the material's or fee's code). `catalogue import` reads it back.",
    ),
    summary="The implementations as an XLSX workbook in the 清单 layout",
)
def items_xlsx(
    session: ReadSession,
    scope: ExportScope,
) -> StreamingResponse:
    return _stream(XlsxResponse, session, "xlsx", scope, "items.xlsx")


@router.get(
    "/items.csv",
    response_class=CsvResponse,
    responses=_file(
        CSV_TYPE,
        {"type": "string"},
        "One sheet of the 清单 workbook as CSV (UTF-8 with a byte-order mark)",
    ),
    summary="The implementations as CSV in the 清单 layout (one sheet: ?sheet=)",
)
def items_csv(
    session: ReadSession,
    scope: ExportScope,
    sheet: Annotated[
        Literal[
            "items",
            "materials",
            "fees",
            "process",
            "windows",
            "consultation",
            "complaint",
            "results",
            "special_procedures",
            "faq",
            "intermediary_services",
        ],
        Query(
            description="items (事项), materials (申请材料), fees (收费项目), or a list of the "
            "guide: process (办理流程), windows (办理窗口), consultation (咨询方式), complaint "
            "(监督投诉方式), results (办理结果), special_procedures (特别程序), faq (常见问题), "
            "intermediary_services (中介服务)"
        ),
    ] = "items",
) -> StreamingResponse:
    name = "items.csv" if sheet == "items" else f"items-{sheet}.csv"
    return _stream(CsvResponse, session, "csv", scope, name, sheet=sheet)


@router.get(
    "/cpsv-ap.jsonld",
    response_class=JsonLdResponse,
    responses=_file(
        cpsv.MEDIA_TYPE,
        {
            "type": "object",
            "required": ["@context", "@graph"],
            "properties": {
                "@context": {"type": "object"},
                "@graph": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/JsonLdNode"},
                },
            },
        },
        "CPSV-AP 3.2.0 JSON-LD: each implementation a cpsv:PublicService",
    ),
    summary="The implementations as CPSV-AP 3.2.0 (JSON-LD)",
)
def cpsv_ap(
    request: Request,
    session: ReadSession,
    scope: ExportScope,
) -> StreamingResponse:
    # a stable published address where one is set; the request's otherwise
    base = (get_settings().public_base_url or str(request.base_url)).rstrip("/")
    return _stream(JsonLdResponse, session, "cpsv-ap", scope, "cpsv-ap.jsonld", base_url=base)


@router.get(
    "/hsds.json",
    response_class=HsdsResponse,
    responses=_file(
        hsds.MEDIA_TYPE,
        {
            "type": "object",
            "description": "HSDS 3.0 tables (schema/compiled/tabular.json): one array per table",
            "properties": {t: {"type": "array", "items": {"type": "object"}} for t in hsds.TABLES},
        },
        "HSDS 3.0 JSON: organization, service, location, service_at_location, contact, "
        "phone, schedule, cost_option, required_document, service_area…",
    ),
    summary="The implementations as HSDS 3.0 (Open Referral) JSON",
)
def hsds_json(
    session: ReadSession,
    scope: ExportScope,
) -> StreamingResponse:
    return _stream(HsdsResponse, session, "hsds", scope, "hsds.json")


@router.get(
    "/hsds.zip",
    response_class=ZipResponse,
    responses=_file(
        hsds_package.MEDIA_TYPE,
        BINARY,
        "HSDS 3.0 as its tabular data package: datapackage.json and a CSV a table",
    ),
    summary="The implementations as an HSDS 3.0 data package (datapackage.json + CSV)",
)
def hsds_zip(session: ReadSession, scope: ExportScope) -> StreamingResponse:
    return _stream(ZipResponse, session, "hsds-package", scope, "hsds.zip")


class HsdsServicePage(BaseModel):
    """HSDS 3.0's ``Page`` of services (its openapi.json, ``GET /services``)."""

    total_items: int = Field(description="services in scope")
    total_pages: int
    page_number: int = Field(description="this page's number, from 1")
    size: int = Field(description="services on this page")
    first_page: bool
    last_page: bool
    empty: bool = Field(description="true: no service on this page")
    contents: list[dict[str, Any]] = Field(
        description="service_list objects (HSDS schema/compiled/service_list.json): a "
        "service's one-to-one fields and its organization; with full=true fully nested "
        "services (compiled/service.json); with minimal=true only id and last_modified"
    )


class HsdsService(BaseModel):
    """A fully nested HSDS 3.0 service (schema/compiled/service.json)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="uuid5 of the implementation's code, as in hsds.json")
    name: str
    status: str


NO_SERVICE = {
    404: {
        "description": "no implementation has this service id",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
}


@router.get(
    "/hsds/services",
    response_model=HsdsServicePage,
    summary="The implementations as HSDS 3.0 services, a numbered page at a time",
)
def hsds_services(
    session: ReadSession,
    scope: ExportScope,
    page: Annotated[int, Query(ge=1, description="page number, from 1")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=hsds_api.MAX_PER_PAGE, description="services a page")
    ] = 50,
    modified_after: Annotated[
        Instant | None, Query(description="only services modified at or after this instant")
    ] = None,
    minimal: Annotated[bool, Query(description="only each service's id and last_modified")] = False,
    full: Annotated[bool, Query(description="fully nested services")] = False,
) -> dict[str, Any]:
    check_scope(session, scope)
    return hsds_api.services_page(
        session,
        scope,
        page=page,
        per_page=per_page,
        modified_after=modified_after,
        minimal=minimal,
        full=full,
    )


@router.get(
    "/hsds/services/{service_id}",
    response_model=HsdsService,
    responses=NO_SERVICE,
    summary="One implementation as a fully nested HSDS 3.0 service",
)
def hsds_service(session: ReadSession, service_id: str) -> dict[str, Any]:
    return hsds_api.service_by_id(session, service_id)
