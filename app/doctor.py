"""``catalogue doctor``: stored text that the text policy (:mod:`app.fields`) refuses.

Inputs are checked by the policy when they arrive; rows stored before it may break it, and
the feed hands them on as they are (a PostgreSQL copy cannot store a NUL at all). The
doctor reads, in batches (keyset pages, so memory stays bounded however large the
catalogue):

* the latest version of every item, entry and department (``record_version``: the
  snapshot JSON that ``GET`` and the feed serve, and the version's reason, decision,
  details and key, under ``version.``); with ``all_versions`` every version, since the
  feed serves every one of them to a mirror;
* the text and JSON columns of ``implementation``, ``item_material``, ``item_fee``,
  ``catalogue_entry``, ``department`` and ``shared_material``.

How a string is judged: a string inside JSON (snapshots, guides, legal bases…) is judged
as multi-line text, since stored JSON does not say which field kind (one-line ``Line`` or
multi-line ``Para``) a value had; so tabs and line breaks there are never reported, every
other refused character is. A text column is judged one-line when it has a length bound
(``VARCHAR(n)``: names, codes, phones) and multi-line when it has none (instructions,
legal basis, notes), which is how the input schemas declare them.

A finding names where (the table, or the kind of a version), the code, the JSON path of the
field (``guide.conditions.0``), the rule (``text.nul``…), the code point and its offset,
with at most :data:`app.stored_text.CONTEXT` characters around it, escaped: never the stored text itself.
This module does not import FastAPI.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    String,
    Table,
    TypeDecorator,
    and_,
    func,
    select,
    tuple_,
)

from app.catalogue.models import CatalogueEntry, Implementation, ItemFee, ItemMaterial
from app.directory.models import Department, SharedMaterial
from app.fields import violation
from app.stored_text import Violation, escape, excerpt, text_violations
from app.versionlog import RecordVersion

#: exit code of ``catalogue doctor`` when it found something (0: nothing found)
EXIT_FINDINGS = 4

#: the tables whose text columns are read: (table, the column a finding names it by)
TABLES: tuple[tuple[Any, str], ...] = (
    (Implementation, "code"),
    (ItemMaterial, "code"),
    (ItemFee, "code"),
    (CatalogueEntry, "basic_code"),
    (Department, "credit_code"),
    (SharedMaterial, "code"),
)
#: the columns of a version read beside its snapshot (paths ``version.<column>``)
_VERSION_FIELDS = ("reason", "decision", "details", "key_name")


@dataclass(frozen=True)
class Finding:
    #: the table, or for a version the kind of record (item, entry, department)
    where: str
    code: str
    path: str
    rule: str
    point: str
    offset: int
    context: str
    #: the version, for a finding in ``record_version``
    version: int | None = None
    key: bool = False

    def line(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        key = " (a key)" if self.key else ""
        return (
            f"{self.where} {escape(self.code)}{version} {escape(self.path)}{key}: {self.rule} "
            f'{self.point} at offset {self.offset}: "{self.context}"'
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finding(where: str, code: str, found: Violation, version: int | None = None) -> Finding:
    return Finding(
        where=where,
        code=code,
        path=found.path,
        rule=found.rule,
        point=found.point,
        offset=found.offset,
        context=found.context(),
        version=version,
        key=found.key,
    )


class Scan:
    """The findings of one pass over the database, and how much it read."""

    def __init__(self, engine: Engine, *, batch: int = 500, all_versions: bool = False) -> None:
        self.engine = engine
        self.batch = batch
        self.all_versions = all_versions
        self.versions = 0
        self.rows = 0

    def __iter__(self) -> Iterator[Finding]:
        with self.engine.connect() as conn:
            yield from self._versions(conn)
            for model, name_column in TABLES:
                yield from self._rows(conn, model.__table__, name_column)

    # --- versions ----------------------------------------------------------------------

    def _version_pages(self, conn: Connection) -> Iterator[list[Any]]:
        rv: Table = RecordVersion.__table__  # type: ignore[attr-defined]
        columns = (rv.c.id, rv.c.kind, rv.c.code, rv.c.version, rv.c.snapshot) + tuple(
            rv.c[name] for name in _VERSION_FIELDS
        )
        if self.all_versions:
            last_id = None
            while True:
                stmt = select(*columns).order_by(rv.c.id).limit(self.batch)
                if last_id is not None:
                    stmt = stmt.where(rv.c.id > last_id)
                rows = conn.execute(stmt).all()
                conn.rollback()  # no read transaction held between pages
                if not rows:
                    return
                yield rows
                last_id = rows[-1].id
        after: tuple[str, str] | None = None
        while True:
            # the next page of (kind, code) with its newest version, by the unique index
            latest = select(rv.c.kind, rv.c.code, func.max(rv.c.version).label("version"))
            if after is not None:
                latest = latest.where(tuple_(rv.c.kind, rv.c.code) > tuple_(*after))
            page = (
                latest.group_by(rv.c.kind, rv.c.code)
                .order_by(rv.c.kind, rv.c.code)
                .limit(self.batch)
                .subquery("latest")
            )
            stmt = (
                select(*columns)
                .join(
                    page,
                    and_(
                        rv.c.kind == page.c.kind,
                        rv.c.code == page.c.code,
                        rv.c.version == page.c.version,
                    ),
                )
                .order_by(rv.c.kind, rv.c.code)
            )
            rows = conn.execute(stmt).all()
            conn.rollback()
            if not rows:
                return
            yield rows
            after = (rows[-1].kind, rows[-1].code)

    def _versions(self, conn: Connection) -> Iterator[Finding]:
        for rows in self._version_pages(conn):
            for row in rows:
                self.versions += 1
                try:
                    snapshot = orjson.loads(row.snapshot)
                except orjson.JSONDecodeError as exc:
                    yield Finding(
                        where=row.kind,
                        code=row.code,
                        path="",
                        rule="json.invalid",
                        point="",
                        offset=exc.pos,
                        context=excerpt(row.snapshot, exc.pos),
                        version=row.version,
                    )
                    continue
                for found in text_violations(snapshot):
                    yield _finding(row.kind, row.code, found, row.version)
                for name in _VERSION_FIELDS:
                    for found in text_violations(row._mapping[name], f"version.{name}"):
                        yield _finding(row.kind, row.code, found, row.version)

    # --- tables ------------------------------------------------------------------------

    @staticmethod
    def _base_type(column: Any) -> Any:
        kind = column.type
        while isinstance(kind, TypeDecorator):  # sqlmodel's AutoString wraps a VARCHAR
            kind = kind.impl_instance
        return kind

    def _rows(self, conn: Connection, table: Table, name_column: str) -> Iterator[Finding]:
        (key,) = table.primary_key.columns
        texts = [c for c in table.columns if isinstance(self._base_type(c), String)]
        jsons = [c for c in table.columns if isinstance(self._base_type(c), JSON)]
        one_line = {c.name for c in texts if self._base_type(c).length is not None}
        name = table.c[name_column]
        wanted = list(dict.fromkeys([key, name, *texts, *jsons]))
        last = None
        while True:
            stmt = select(*wanted).order_by(key).limit(self.batch)
            if last is not None:
                stmt = stmt.where(key > last)
            rows = conn.execute(stmt).all()
            conn.rollback()
            if not rows:
                return
            for row in rows:
                self.rows += 1
                values = row._mapping
                code = str(values[name])
                for column in texts:
                    value = values[column]
                    if not isinstance(value, str):
                        continue
                    # a length bound: a one-line value (names, codes); none: multi-line
                    bad = violation(value, multiline=column.name not in one_line)
                    if bad is not None:
                        found = Violation(column.name, bad[0], bad[1], value)
                        yield _finding(table.name, code, found)
                for column in jsons:
                    for found in text_violations(values[column], column.name):
                        yield _finding(table.name, code, found)
            last = rows[-1]._mapping[key]
