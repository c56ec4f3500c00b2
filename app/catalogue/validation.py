"""Every rule an implementation must keep, checked before anything is written: code lists,
codes, scope, 四级四同, situations, read-only fields, the expected version."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import bindparam, literal, union_all
from sqlmodel import Session, col, select

from app import clock
from app.catalogue import situations
from app.catalogue.documents import FOUR_SAME_FIELDS
from app.catalogue.models import (
    CatalogueEntry,
)
from app.catalogue.schemas import (
    READ_ONLY_FIELDS,
    ImplementationIn,
)
from app.codes.rules import (
    CodeError,
    implementation_code,
    validate_implementation_code,
)
from app.directory.models import CodeListEntry, Department, Region, SharedMaterial
from app.directory.service import CodeLists, check_credit_code, check_region
from app.errors import InvalidInput, PreconditionFailed, RuleViolation, field_error
from app.fields import read_only_errors
from app.legal import citations

Errors = list[dict[str, Any]]


def check_version(kind: str, code: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        sent = f"version {expected}" if expected >= 0 else "a tag that is no version of ours"
        raise PreconditionFailed(
            f"{kind} {code} is at version {current}; you sent {sent}. "
            "Read it again and re-apply your change.",
            extra={"current_version": current},
        )


_SHARED_CODE = SharedMaterial.__table__.c.code  # type: ignore[attr-defined]
#: the shared materials among some codes
_SHARED = select(_SHARED_CODE).where(_SHARED_CODE.in_(bindparam("codes", expanding=True)))
#: the list name no code list has, under which :data:`_KNOWN_CODES` answers shared materials
_SHARED_LIST = ""
#: the codes among some that the code lists hold (one lookup on the primary key), and the
#: shared materials among some, in one round trip
_KNOWN_CODES = union_all(
    select(CodeListEntry.list_name, CodeListEntry.code, CodeListEntry.label).where(
        col(CodeListEntry.list_name).in_(bindparam("names", expanding=True)),
        col(CodeListEntry.code).in_(bindparam("codes", expanding=True)),
    ),
    select(literal(_SHARED_LIST), _SHARED_CODE, literal("")).where(
        _SHARED_CODE.in_(bindparam("shared", expanding=True))
    ),
)


class ItemCodeLists(CodeLists):
    """The code lists as far as one item names them: its few dozen codes looked up, not
    the lists' every row read (that read was a sixth of a single write's time)."""

    def __init__(
        self, session: Session, wanted: set[tuple[str, str]], shared: set[str] | None = None
    ) -> None:
        self._codes = {}
        #: those of the ``shared`` material codes the directory holds
        self.shared: set[str] = set()
        if not wanted and not shared:
            return
        params = {
            "names": sorted({name for name, _ in wanted}),
            "codes": sorted({code for _, code in wanted}),
            "shared": sorted(shared or ()),
        }
        for name, code, text in session.execute(_KNOWN_CODES, params):
            if name == _SHARED_LIST:
                self.shared.add(code)
            else:
                self._codes.setdefault(name, {})[code] = text


def _by_key(model: Any) -> Any:
    """The row of ``model``'s table with a given primary key (bound as ``key``)."""
    table = model.__table__
    (key,) = table.primary_key.columns
    return select(table).where(key == bindparam("key"))


_ENTRY, _DEPARTMENT, _REGION = _by_key(CatalogueEntry), _by_key(Department), _by_key(Region)
_ENTRIES = CatalogueEntry.__table__  # type: ignore[attr-defined]
_DEPARTMENTS = Department.__table__  # type: ignore[attr-defined]
_REGIONS = Region.__table__  # type: ignore[attr-defined]
_PARTS = (
    (_ENTRY, _ENTRIES, "basic_code"),
    (_DEPARTMENT, _DEPARTMENTS, "credit_code"),
    (_REGION, _REGIONS, "code"),
)
#: the entry, department and region an item names, in one round trip: each table's
#: columns in turn, or NULLs where no row has that key, outer-joined to a row of one
_ONE = select(literal(1).label("one")).subquery("one")
_CONTEXT = (
    select(*(c.label(f"{pk}_{c.name}") for _, table, pk in _PARTS for c in table.columns))
    .select_from(_ONE)
    .outerjoin(_ENTRIES, _ENTRIES.c.basic_code == bindparam("basic_code"))
    .outerjoin(_DEPARTMENTS, _DEPARTMENTS.c.credit_code == bindparam("credit_code"))
    .outerjoin(_REGIONS, _REGIONS.c.code == bindparam("code"))
)


class ItemLookups:
    """What validating an implementation looks up, one item at a time. The entry,
    department and region come as read-only rows with the models' attributes (a Core
    read: a quarter of the ORM's cost), each read once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._rows: dict[tuple[Any, str], Any] = {}
        #: the shared material codes asked with the code lists, and those found
        self._shared: tuple[set[str], set[str]] = (set(), set())

    def code_lists(self, wanted: set[tuple[str, str]], shared: set[str] | None = None) -> CodeLists:
        """The code lists, holding at least the ``wanted`` (list, code) pairs they hold;
        the ``shared`` material codes looked up in the same statement (see
        :meth:`shared_materials`)."""
        lists = ItemCodeLists(self.session, wanted, shared)
        self._shared = (set(shared or ()), lists.shared)
        return lists

    def preload(self, basic_code: str, credit_code: str, region: str) -> None:
        """Read the entry, department and region an input names in one statement (three
        were a tenth of a single write)."""
        parts = list(zip(_PARTS, (basic_code, credit_code, region), strict=True))
        if all((statement, key) in self._rows for (statement, _, _), key in parts):
            return
        keys = {pk: key for (_, _, pk), key in parts}  # basic_code, credit_code, code
        values = self.session.execute(_CONTEXT, keys).one()
        at = 0
        for (statement, table, pk), key in parts:
            names = [c.name for c in table.columns]
            row = dict(zip(names, values[at : at + len(names)], strict=True))
            at += len(names)
            self._rows[(statement, key)] = None if row[pk] is None else SimpleNamespace(**row)

    def _row(self, statement: Any, key: str) -> Any:
        if (statement, key) not in self._rows:
            found = self.session.execute(statement, {"key": key}).first()
            self._rows[(statement, key)] = found
        return self._rows[(statement, key)]

    def entry(self, basic_code: str) -> CatalogueEntry | None:
        return cast(CatalogueEntry | None, self._row(_ENTRY, basic_code))

    def department(self, credit_code: str) -> Department | None:
        return cast(Department | None, self._row(_DEPARTMENT, credit_code))

    def region(self, code: str) -> Region | None:
        return cast(Region | None, self._row(_REGION, code))

    def shared_materials(self, codes: set[str]) -> set[str]:
        if not codes:
            return set()
        asked, found = self._shared
        if codes <= asked:
            return codes & found
        return set(self.session.execute(_SHARED, {"codes": sorted(codes)}).scalars())


class BatchLookups(ItemLookups):
    """The same, preloaded for a batch: a few queries in all instead of several per item."""

    def __init__(self, session: Session, items: list[ImplementationIn]) -> None:
        super().__init__(session)
        self._lists: CodeLists | None = None
        basic = {d.basic_code for d in items} | {d.code[19:] for d in items if d.code}
        self._entries = {
            e.basic_code: e
            for e in session.exec(
                select(CatalogueEntry).where(col(CatalogueEntry.basic_code).in_(basic))
            )
        }
        depts = {d.department for d in items}
        self._departments = {
            d.credit_code: d
            for d in session.exec(select(Department).where(col(Department.credit_code).in_(depts)))
        }
        regions = {d.region for d in items}
        self._regions = {
            r.code: r for r in session.exec(select(Region).where(col(Region.code).in_(regions)))
        }
        self._shared = super().shared_materials(
            {m.shared_material for d in items for m in d.materials if m.shared_material}
        )

    def preload(self, basic_code: str, credit_code: str, region: str) -> None:
        pass  # read for the whole batch already

    def entry(self, basic_code: str) -> CatalogueEntry | None:
        return self._entries.get(basic_code)

    def department(self, credit_code: str) -> Department | None:
        return self._departments.get(credit_code)

    def region(self, code: str) -> Region | None:
        return self._regions.get(code)

    def shared_materials(self, codes: set[str]) -> set[str]:
        return codes & self._shared

    def code_lists(self, wanted: set[tuple[str, str]], shared: set[str] | None = None) -> CodeLists:
        """Every list, read once for the batch (its items name most of them)."""
        if self._lists is None:
            self._lists = CodeLists(self.session)
        return self._lists


class ItemContext:
    """What an implementation write was checked against."""

    def __init__(self, entry: CatalogueEntry, department: Department, region: Region) -> None:
        self.entry = entry
        self.department = department
        self.region = region


def department_misfits(
    credit_code: str, where: tuple[str, str], region: str | None, level: str
) -> list[tuple[str, str, str]]:
    """(field, rule, message) of each way an implementation in ``region`` at ``level``
    does not fit its department, which stands in region ``where[0]`` at level ``where[1]``."""
    out = []
    if level != where[1]:
        out.append(
            (
                "level",
                "implementation_code.level",
                f"department {credit_code} exercises level {where[1]}, not {level}",
            )
        )
    if region is not None and where[0] != region:
        out.append(
            (
                "region",
                "implementation.region",
                f"department {credit_code} is in region {where[0]}, not {region}",
            )
        )
    return out


def has_situations(data: ImplementationIn) -> bool:
    """Whether an input uses situations or conditions (most items do not: no dump then)."""
    guide = data.guide
    return bool(
        guide.situations
        or guide.time_limits
        or any(s.when is not None for s in guide.process)
        or any(m.options or m.when is not None for m in data.materials)
        or any(f.when is not None for f in data.fees)
    )


def _coded(data: ImplementationIn) -> set[tuple[str, str]]:
    """The (code list, code) pairs an input names: what :func:`validate_item` checks."""
    pairs = [
        ("levels", data.level),
        ("power_sources", data.power_source),
        ("body_natures", data.body_nature),
        ("case_types", data.case_type),
        *(("audiences", c) for c in data.audience),
        *(("themes", c) for c in data.themes),
    ]
    for m in data.materials:
        pairs += [
            ("material_types", m.material_type),
            ("material_forms", m.form),
            ("material_necessity", m.necessity),
            ("material_sources", m.source),
        ]
    return {(name, code) for name, code in pairs if code is not None}


def validate_item(
    lookups: ItemLookups, data: ImplementationIn, path_code: str | None
) -> tuple[str, ItemContext]:
    """Check every rule an implementation must keep; raise 422 with every bad field, or 409
    for a 四级四同 field that disagrees with the catalogue entry."""
    errors: Errors = []
    body = ["body"]
    lookups.preload(data.basic_code, data.department, data.region)
    shared = {m.shared_material for m in data.materials if m.shared_material}
    lists = lookups.code_lists(_coded(data), shared)
    lists.check(errors, [*body, "level"], "levels", data.level)
    lists.check(errors, [*body, "power_source"], "power_sources", data.power_source)
    lists.check(errors, [*body, "body_nature"], "body_natures", data.body_nature)
    lists.check(errors, [*body, "case_type"], "case_types", data.case_type)
    for i, code in enumerate(data.audience):
        lists.check(errors, [*body, "audience", i], "audiences", code)
    for i, code in enumerate(data.themes):
        lists.check(errors, [*body, "themes", i], "themes", code)
    known_shared = lookups.shared_materials(shared)
    for i, m in enumerate(data.materials):
        loc = [*body, "materials", i]
        lists.check(errors, [*loc, "material_type"], "material_types", m.material_type)
        lists.check(errors, [*loc, "form"], "material_forms", m.form)
        lists.check(errors, [*loc, "necessity"], "material_necessity", m.necessity)
        lists.check(errors, [*loc, "source"], "material_sources", m.source)
        if m.shared_material and m.shared_material not in known_shared:
            errors.append(
                field_error(
                    [*loc, "shared_material"],
                    f"no shared material {m.shared_material} (GET /api/v1/materials)",
                    "material.unknown",
                )
            )
    if bool(data.fees) and not data.guide.charges_fee:
        errors.append(
            field_error(
                [*body, "guide", "charges_fee"],
                "the item lists fees, so charges_fee must be true",
                "guide.charges_fee",
            )
        )
    if has_situations(data):
        dump = data.model_dump(mode="json", include={"guide", "materials", "fees"})
        errors += situations.check_item(dump, body)
    cited = [c.id for c in data.guide.legal_basis]
    missing = citations.unknown(lookups.session, set(cited))
    for i, basis in enumerate(cited):
        if basis in missing:
            loc = [*body, "guide", "legal_basis", i, "id"]
            errors.append(field_error(loc, f"no legal basis {basis}", "legal_basis.unknown"))
    if data.body_nature == "3" and not data.entrusting_department:
        errors.append(
            field_error(
                [*body, "entrusting_department"],
                "a 受委托组织 names the entrusting department",
                "implementation.entrusting_department",
            )
        )

    entry = lookups.entry(data.basic_code)
    if entry is None:
        errors.append(
            field_error(
                [*body, "basic_code"],
                f"basic code {data.basic_code} is not in the catalogue",
                "implementation_code.basic_code",
            )
        )
    department = None
    if check_credit_code(errors, [*body, "department"], data.department):
        department = lookups.department(data.department)
        if department is None:
            errors.append(
                field_error(
                    [*body, "department"],
                    f"no department {data.department} (GET /api/v1/departments)",
                    "department.unknown",
                )
            )
    region = check_region(
        errors, [*body, "region"], data.region, lookups.region(data.region), clock.today()
    )
    if department is not None:
        for fld, rule, message in department_misfits(
            department.credit_code,
            (department.region_code, department.level),
            region.code if region is not None else None,
            data.level,
        ):
            errors.append(field_error([*body, fld], message, rule))
    built = implementation_code(data.department, data.level, data.basic_code)
    for loc, given in (([*body, "code"], data.code), (["path", "code"], path_code)):
        if given is None:
            continue
        try:
            validate_implementation_code(
                given,
                basic_code_exists=lookups.entry(given[19:]) is not None,
                department_level=department.level if department else None,
            )
        except CodeError as exc:
            errors.append(field_error(loc, exc.message, exc.rule))
            continue
        if given != built:
            errors.append(
                field_error(
                    loc,
                    f"code {given} does not match department + level + basic code ({built})",
                    "implementation_code.mismatch",
                )
            )
    if errors:
        raise InvalidInput("the implementation is not valid", errors=errors)
    assert entry and department and region
    _check_four_same(data, entry)
    return built, ItemContext(entry, department, region)


def _check_four_same(data: ImplementationIn, entry: CatalogueEntry) -> None:
    """四级四同: name, basic code, type and legal basis come from the catalogue entry."""
    if all(getattr(data, f) is None for f in FOUR_SAME_FIELDS):
        return  # the usual case: nothing to compare (and no dump)
    given = {
        f: v
        for f, v in data.model_dump(mode="json", include=set(FOUR_SAME_FIELDS)).items()
        if v is not None  # an absent field agrees; a provision's empty url is part of it
    }
    current = {"name": entry.name, "item_type": entry.item_type, "legal_basis": entry.legal_basis}
    changed = [f for f, v in given.items() if v != current[f]]
    if changed:
        raise RuleViolation(
            f"四级四同: {', '.join(changed)} of an implementation come from catalogue entry "
            f"{entry.basic_code} and cannot be changed here; change the catalogue entry",
            type="four-same",
            errors=[
                field_error(["body", f], "read-only: set by the catalogue entry", "four-same")
                for f in changed
            ],
        )


def check_read_only(data: ImplementationIn, current: Callable[[], dict[str, Any]] | None) -> None:
    """The fields the catalogue assigns, sent back: unchanged they are ignored (what GET
    returns can be written back), changed (or given for a new item) they are refused.
    ``current`` reads the representation GET returns now (only when one was sent)."""
    sent = [n for n in READ_ONLY_FIELDS if n in data.model_fields_set]
    placed_rows = [
        (key, i, row)
        for key in ("materials", "fees")
        for i, row in enumerate(getattr(data, key))
        if row.position is not None
    ]
    if not sent and not placed_rows:
        return  # the usual case: nothing to compare, nothing read
    doc = current() if current is not None else None
    errors = read_only_errors(data, READ_ONLY_FIELDS, doc)
    positions = {
        (key, r["code"]): r["position"]
        for key in ("materials", "fees")
        for r in (doc or {}).get(key, [])
    }
    for key, i, row in placed_rows:
        if positions.get((key, row.code)) != row.position:
            msg = "position is read-only: the order of the list places each entry"
            errors.append(field_error(["body", key, i, "position"], msg, "read_only"))
    if errors:
        raise InvalidInput("a read-only field was changed", errors=errors)
