"""Situations and the one-time checklist (一次告知): public reads of an item's questions and
of what one set of answers yields. Thin: the rules are in :mod:`app.catalogue.situations`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.catalogue import situations
from app.catalogue.situation_schemas import ChecklistIn, ChecklistOut, SituationsOut
from app.fields import Day
from app.http.checklist_path import parsed
from app.http.readpath import item_json
from app.http.responses import json_bytes

router = APIRouter(prefix="/api/v1", tags=["situations"])
AsOf = Annotated[Day | None, Query(description="as the item stood in force on this day")]


async def _item(request: Request, code: str, as_of: AsOf) -> tuple[int, dict]:
    version, body, _ = await item_json(request.app.state.snapshots, code, as_of)
    return version, parsed(body)


@router.get(
    "/items/{code}/situations",
    response_model=SituationsOut,
    summary="The item's situation questions (情形引导) and common situations (常用情形)",
)
async def get_situations(request: Request, code: str, as_of: AsOf = None) -> Response:
    version, doc = await _item(request, code, as_of)
    return json_bytes(
        situations.questions_of(doc),
        version=version,
        if_none_match=request.headers.get("if-none-match"),
    )


@router.post(
    "/items/{code}/checklist",
    response_model=ChecklistOut,
    summary="The one-time checklist (一次告知) for a set of answers",
    description="The materials, fees, time limits, steps and windows that apply to the "
    "answers. An item without situations answers its whole list. 422 names every "
    "unanswered, unknown or not-asked question and every unknown option.",
    openapi_extra={
        "x-body-limit": 65536,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ChecklistIn.model_json_schema()}},
        },
    },
)
async def post_checklist(request: Request, code: str, as_of: AsOf = None) -> Response:
    # the body is read here rather than by a parameter: FastAPI's body machinery costs as
    # much as the checklist itself (bench/checklist.py), and the rules are the model's
    try:
        body = ChecklistIn.model_validate_json(await request.body() or b"{}")
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    version, doc = await _item(request, code, as_of)
    return json_bytes(situations.checklist(doc, body.answers), version=version)
