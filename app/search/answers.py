"""The search API's answer as declared in the OpenAPI document (搜索结果). The route sends
the service's dict as bytes (``json_bytes``): these models describe it, they are not on the
hot path."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CodeLabel(BaseModel):
    code: str | None = None
    name: str | None = None


class TypeLabel(BaseModel):
    code: str
    label: str | None = None


class SearchHitOut(BaseModel):
    """One hit: an implementation; without a region, the best-ranked implementation of one
    catalogue entry, with how many regions implement it."""

    code: str
    basic_code: str
    name: str
    department: CodeLabel
    region: CodeLabel
    type: TypeLabel
    status: str = Field(description="item status code; 7 待完善: an imported item without guide")
    online: bool
    score: float
    highlight: dict[str, list[str]]
    regions: int | None = Field(
        default=None,
        description="grouped answers only: how many regions implement this catalogue entry "
        "(the citizen's next step: choose a region, or list them all with entry=basic_code)",
    )


class FacetOut(BaseModel):
    key: str
    label: str | None = None
    count: int


class SearchAnswer(BaseModel):
    total: int = Field(description="hits in all; grouped: catalogue entries")
    took_ms: float
    region: str | None = None
    grouped: bool = Field(
        default=False, description="true without a region and without entry: one hit per entry"
    )
    hits: list[SearchHitOut]
    facets: dict[str, list[FacetOut]]
    next_cursor: str | None = None
    notice: str | None = Field(
        default=None,
        description="region_without_items: the catalogue holds no item of the region, its city "
        "or its province (the answer is empty on purpose, never other regions' results)",
    )
