"""The labels of an item's fields (app/catalogue/labels.py): every field of the exchange
format has one in zh-Hans, zh-Hant and English, and a path is named by its nearest
labelled ancestor when the table does not know it."""

from __future__ import annotations

import typing
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from app.catalogue import labels
from app.catalogue.labels import label, thing, value_text
from app.catalogue.schemas import CatalogueEntryIn, ImplementationIn, ItemOut
from app.catalogue.situation_schemas import AllOf, AnyOf, NotOf

#: models read as a whole value (a condition) or only shown, never diffed field by field
WHOLE = {AllOf, AnyOf, NotOf}
NOT_DIFFED = {"lifecycle", "scheduled", "upcoming"}


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in WHOLE:
            yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def _paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, info in model.model_fields.items():
        if not prefix and name in NOT_DIFFED:
            continue
        yield (*prefix, name)
        for inner in _models(info.annotation):
            yield from _paths(inner, (*prefix, name))


def _field(path: tuple[str, ...]) -> labels.F | None:
    """The table's field for a path of field names (each one labelled, no element keys)."""
    here: labels.F | None = labels.ITEM
    for name in path:
        here = here.fields.get(name) if here is not None else None
    return here


@pytest.mark.parametrize("model", [ImplementationIn, ItemOut, CatalogueEntryIn])
def test_every_field_of_the_exchange_format_has_a_label(model: type[BaseModel]) -> None:
    missing = [".".join(p) for p in _paths(model) if _field(p) is None]
    assert missing == []
    for path in _paths(model):
        field = _field(path)
        assert field is not None
        words = [field.name(lang) for lang in labels.LANGS]
        assert all(words) and not any(w.isascii() for w in words[:2]), (path, words)


def test_a_path_is_named_as_the_guide_names_it() -> None:
    assert label(["materials", "11230103MBUYEQ7D4B4000701001001002", "originals"]) == (
        "申请材料 原件份数"
    )
    assert label(["materials", 2, "paper_size"]) == "申请材料第3项 纸张规格"
    assert label("guide.windows.0.phone") == "办理窗口第1项 电话"
    assert label("guide.windows.0.phone", "zh-Hant") == "辦理窗口第1項 電話"
    assert label("guide.windows.0.phone", "en") == "Service windows #1 › Phone"
    assert label(["body", "guide", "charges_fee"]) == "是否收费"  # as a problem's loc says it
    assert label("fees.X.amount") == "收费 金额（元）"
    assert label("guide.promised_time_limit.note") == "承诺办结时限 说明"
    assert label("guide.consultation.0.phone") == "咨询方式第1项 电话"
    # past what the table knows: the nearest labelled ancestor, then the rest as it is
    assert label("guide.remedies.appeal.days") == "救济途径 appeal.days"
    assert label("nothing.known") == "nothing.known"


def test_a_thing_is_named_by_its_name_and_values_as_people_read_them() -> None:
    assert thing(["materials"], "居民户口簿") == "材料「居民户口簿」"
    assert thing("guide.windows", "南岗区户政服务大厅", "zh-Hant") == "窗口「南岗区户政服务大厅」"
    assert thing("guide.windows", "南岗区户政服务大厅", "en") == "Window “南岗区户政服务大厅”"
    assert thing(["fees"], None) == "收费"
    assert value_text("guide.charges_fee", False) == "否"
    assert value_text("guide.charges_fee", True, "en") == "yes"
    assert value_text("guide.legal_time_limit.unit", "working_days") == "工作日"
    assert value_text("guide.process.0.channel", "offline", "zh-Hant") == "線下"
    assert value_text("materials.X.originals", 2) is None
