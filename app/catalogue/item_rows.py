"""The one writer of implementation rows (``implementation``) and of their materials and fees
(``item_material``, ``item_fee``). Single writes, bulk creates and updates, listing imports,
lifecycle events, approved change requests, the effective day and the mirror all write
through here, set-based: a batch of rows in a few statements (a single write is a batch of
one). What the rows say (validation, documents, hashes, versions) is the callers'; this
module only stores it.

The single write path keeps an ORM :class:`Implementation` in hand as its read model:
:func:`save_item` writes the row with Core and shows the values on that object as
committed, so the ORM never writes the row a second time."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from app.catalogue.models import Implementation, ItemFee, ItemMaterial
from app.db import insert_rows, upsert

_ITEMS = Implementation.__table__  # type: ignore[attr-defined]
_MATERIALS = ItemMaterial.__table__  # type: ignore[attr-defined]
_FEES = ItemFee.__table__  # type: ignore[attr-defined]
_FIELDS = Implementation.model_fields


def item_row(**values: Any) -> dict[str, Any]:
    """Every column of a new implementation: ``values`` over the model's defaults (a Core
    insert fills none of them, an ORM object would)."""
    row = {
        name: field.get_default(call_default_factory=True)
        for name, field in _FIELDS.items()
        if name not in values
    }
    row.update(values)
    return row


def insert_items(
    session: Session,
    rows: list[dict[str, Any]],
    materials: list[dict[str, Any]] | None = None,
    fees: list[dict[str, Any]] | None = None,
) -> None:
    """New implementations (full rows, :func:`item_row`), their materials and fees: one
    multi-row insert each."""
    session.flush()  # what the rows refer to (entries, departments) first
    conn = session.connection()
    insert_rows(conn, _ITEMS, rows)
    insert_rows(conn, _MATERIALS, materials or [])
    insert_rows(conn, _FEES, fees or [])


@functools.cache
def _update(columns: tuple[str, ...], guarded: bool) -> Any:
    where = [_ITEMS.c.code == bindparam("b_code")]
    if guarded:
        where.append(_ITEMS.c.version == bindparam("b_old"))
    return update(_ITEMS).where(*where).values({c: bindparam(f"b_{c}") for c in columns})


def update_items(
    session: Session, rows: Sequence[dict[str, Any]], old_versions: Sequence[int] | None = None
) -> None:
    """Set the columns each row names (every row the same ones) of the implementations its
    ``code`` names, in one executemany; with ``old_versions``, only where the row is still
    at that version (the effective day re-checks under its lock)."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != "code")
    params = [{f"b_{k}": v for k, v in r.items()} for r in rows]
    if old_versions is not None:
        for p, old in zip(params, old_versions, strict=True):
            p["b_old"] = old
    session.flush()
    session.connection().execute(_update(columns, old_versions is not None), params)


def save_item(session: Session, item: Any, values: dict[str, Any]) -> None:
    """Write ``values`` to the row of ``item`` (an :class:`Implementation` the caller holds,
    or any object with its attributes) and show them on it."""
    update_items(session, [{"code": item.code, **values}])
    mapped = isinstance(item, Implementation)
    for name, value in values.items():
        if mapped:  # committed: the ORM has nothing left to write
            set_committed_value(item, name, value)
        else:
            setattr(item, name, value)


#: the materials and fees of some implementations: built once (building them for each
#: write cost a twentieth of a single PATCH)
_DELETE_CHILDREN = tuple(
    delete(t).where(t.c.implementation_code.in_(bindparam("codes", expanding=True)))
    for t in (_MATERIALS, _FEES)
)


def replace_children(
    session: Session,
    codes: Sequence[str],
    materials: list[dict[str, Any]],
    fees: list[dict[str, Any]],
) -> None:
    """The materials and fees of these implementations, replaced by the rows given."""
    replace_child_rows(session, codes, codes, materials, fees)


def replace_child_rows(
    session: Session,
    material_codes: Sequence[str],
    fee_codes: Sequence[str],
    materials: list[dict[str, Any]],
    fees: list[dict[str, Any]],
) -> None:
    """The materials of some implementations and the fees of some, replaced by the rows
    given (each of the implementations its list names)."""
    session.flush()
    conn = session.connection()
    for statement, codes in zip(_DELETE_CHILDREN, (material_codes, fee_codes), strict=True):
        if codes:
            conn.execute(statement, {"codes": list(codes)})
    insert_rows(conn, _MATERIALS, materials)
    insert_rows(conn, _FEES, fees)


def upsert_items(
    session: Session,
    rows: list[dict[str, Any]],
    materials: list[dict[str, Any]],
    fees: list[dict[str, Any]],
) -> None:
    """Implementations as another copy holds them (the mirror): the rows inserted or
    updated (one upsert), their materials and fees replaced."""
    if not rows:
        return
    session.flush()
    conn = session.connection()
    codes = [r["code"] for r in rows]
    existing = list(
        conn.execute(select(_ITEMS.c.code).where(_ITEMS.c.code.in_(codes))).scalars().all()
    )
    conn.execute(
        upsert(_ITEMS, conn.dialect.name, ["code"], [c for c in rows[0] if c != "code"]), rows
    )
    # a new item has no children to replace (a first pull: none at all)
    replace_children(session, existing, materials, fees)
