"""Regions, departments, code lists and the shared material catalogue."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam
from sqlmodel import Session, col, select

from app import clock
from app.codes.rules import CodeError, RegionFacts, validate_credit_code, validate_region_code
from app.dbtypes import utcnow
from app.directory.models import CodeListEntry, Department, Region, SharedMaterial
from app.directory.schemas import DEPARTMENT_READ_ONLY, DepartmentIn, SharedMaterialIn
from app.errors import InvalidInput, NotFound, PreconditionFailed, field_error
from app.fields import read_only_errors
from app.security import Principal, region_prefix
from app.versionlog import record_version, refresh_dependents


class CodeLists:
    """The code lists, read once per unit of work."""

    def __init__(self, session: Session) -> None:
        self._codes: dict[str, dict[str, str]] = {}
        for row in session.exec(select(CodeListEntry)):
            self._codes.setdefault(row.list_name, {})[row.code] = row.label

    def label(self, list_name: str, code: str) -> str | None:
        return self._codes.get(list_name, {}).get(code)

    def check(
        self, errors: list[dict[str, Any]], loc: list[str | int], list_name: str, code: str | None
    ) -> None:
        """Append an error for ``loc`` unless ``code`` is in ``list_name``."""
        if code is None or code in self._codes.get(list_name, {}):
            return
        errors.append(
            field_error(
                loc,
                (f"{code!r} is not in code list {list_name} (GET /api/v1/code-lists/{list_name})"),
                f"code_list.{list_name}",
            )
        )


def code_list(session: Session, name: str) -> list[CodeListEntry]:
    rows = list(
        session.exec(
            select(CodeListEntry)
            .where(CodeListEntry.list_name == name)
            .order_by(CodeListEntry.position, CodeListEntry.code)
        )
    )
    if not rows:
        raise NotFound(f"no code list named {name!r}")
    return rows


def code_list_names(session: Session) -> list[str]:
    return list(session.exec(select(CodeListEntry.list_name).distinct().order_by("list_name")))


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"no region {code}")
    return region


def region_children(session: Session, code: str) -> list[Region]:
    return list(session.exec(select(Region).where(Region.parent_code == code).order_by("code")))


def list_regions(
    session: Session, *, parent: str | None, level: int | None, after: str | None, limit: int
) -> list[Region]:
    q = select(Region).order_by("code")
    if parent:
        q = q.where(Region.parent_code == parent)
    if level:
        q = q.where(Region.level == level)
    if after:
        q = q.where(Region.code > after)
    return list(session.exec(q.limit(limit)))


def check_region(
    errors: list[dict[str, Any]], loc: list[str | int], code: str, region: Region | None, on: date
) -> Region | None:
    """``region`` is what the caller found for ``code`` (None: not in GB/T 2260)."""
    facts = RegionFacts(code, region.valid_from, region.valid_to) if region else None
    try:
        validate_region_code(code, facts, on)
    except CodeError as exc:
        errors.append(field_error(loc, exc.message, exc.rule))
        return None
    return region


def check_credit_code(errors: list[dict[str, Any]], loc: list[str | int], code: str) -> bool:
    try:
        validate_credit_code(code)
    except CodeError as exc:
        errors.append(field_error(loc, exc.message, exc.rule))
        return False
    return True


def get_department(session: Session, credit_code: str) -> Department:
    dept = session.get(Department, credit_code)
    if dept is None:
        raise NotFound(f"no department {credit_code}")
    return dept


def list_departments(
    session: Session,
    *,
    region: str | None,
    level: str | None,
    q: str | None,
    after: str | None,
    limit: int,
) -> list[Department]:
    stmt = select(Department).order_by("credit_code")
    if region:
        stmt = stmt.where(Department.region_code == region)
    if level:
        stmt = stmt.where(Department.level == level)
    if q:
        stmt = stmt.where(col(Department.name).contains(q))
    if after:
        stmt = stmt.where(Department.credit_code > after)
    return list(session.exec(stmt.limit(limit)))


def department_document(dept: Department) -> dict[str, Any]:
    """The department as stored (the text policy judges what is written, not what is read:
    ``catalogue doctor`` reports old text that breaks it)."""
    return {
        "credit_code": dept.credit_code,
        "name": dept.name,
        "short_name": dept.short_name,
        "region_code": dept.region_code,
        "level": dept.level,
        "parent_credit_code": dept.parent_credit_code,
        "version": dept.version,
        "updated_at": dept.updated_at.isoformat() if dept.updated_at else None,
        "updated_by": dept.updated_by,
    }


def save_department(
    session: Session,
    data: DepartmentIn,
    actor: Principal,
    *,
    credit_code: str | None = None,
    expected_version: int | None = None,
) -> Department:
    """Create (``credit_code`` None) or replace a department. Admin only. Each write is a
    version; a renamed department's items get a version showing the new name."""
    actor.require_admin()
    code = credit_code or data.credit_code
    existing = session.get(Department, code) if credit_code else None
    if existing is not None and data.version is not None and data.version != existing.version:
        raise PreconditionFailed(
            f"department {code} is at version {existing.version}, not {data.version}",
            extra={"current_version": existing.version},
        )
    errors = read_only_errors(
        data,
        DEPARTMENT_READ_ONLY if existing else (*DEPARTMENT_READ_ONLY, "version"),
        department_document(existing) if existing else None,
    )
    check_credit_code(errors, ["body", "credit_code"], data.credit_code)
    if credit_code and data.credit_code != credit_code:
        errors.append(
            field_error(
                ["body", "credit_code"],
                "the credit code in the body differs from the one in the path",
                "credit_code.mismatch",
            )
        )
    check_region(
        errors,
        ["body", "region_code"],
        data.region_code,
        session.get(Region, data.region_code),
        clock.today(),
    )
    CodeLists(session).check(errors, ["body", "level"], "levels", data.level)
    if data.parent_credit_code and session.get(Department, data.parent_credit_code) is None:
        errors.append(
            field_error(
                ["body", "parent_credit_code"],
                f"no department {data.parent_credit_code}",
                "department.unknown",
            )
        )
    existing = session.get(Department, code)
    if credit_code is None and existing is not None:
        errors.append(
            field_error(
                ["body", "credit_code"],
                f"department {code} exists; PUT /departments/{code} changes it",
                "department.exists",
            )
        )
    if credit_code is not None and existing is None:
        raise NotFound(f"no department {credit_code}")
    if errors:
        raise InvalidInput("the department is not valid", errors=errors)
    if existing is not None:
        if expected_version is not None and expected_version != existing.version:
            raise PreconditionFailed(
                f"department {code} is at version {existing.version}, not {expected_version}",
                extra={"current_version": existing.version},
            )
        renamed = existing.name != data.name
        for field, value in data.model_dump().items():
            setattr(existing, field, value)
        existing.version += 1
        existing.updated_at = utcnow()
        existing.updated_by = actor.name
        session.add(existing)
        session.flush()
        _record(session, existing, actor, "revise")
        if renamed:  # the items that show its name get a version too
            refresh_dependents(session, "department", code, actor)
        return existing
    dept = Department(**data.model_dump(), updated_by=actor.name)
    session.add(dept)
    session.flush()
    _record(session, dept, actor, "create")
    return dept


def _record(session: Session, dept: Department, actor: Principal, event: str) -> None:
    record_version(
        session,
        kind="department",
        code=dept.credit_code,
        version=dept.version,
        event=event,
        snapshot=department_document(dept),
        actor=actor,
    )


def get_material(session: Session, code: str) -> SharedMaterial:
    m = session.get(SharedMaterial, code)
    if m is None:
        raise NotFound(f"no shared material {code}")
    return m


def material_document(m: SharedMaterial) -> dict[str, Any]:
    """A shared material as GET /materials/{code} shows it (its version in the feed)."""
    return {
        "code": m.code,
        "name": m.name,
        "material_type": m.material_type,
        "form": m.form,
        "source": m.source,
        "issuer": m.issuer,
        "description": m.description,
        "licence_type": m.licence_type,
    }


def create_material(session: Session, data: SharedMaterialIn, actor: Principal) -> SharedMaterial:
    """Add a material to the shared catalogue (admin only), with its first version: the
    change feed carries it to every copy."""
    actor.require_admin()
    errors: list[dict[str, Any]] = []
    if session.get(SharedMaterial, data.code) is not None:
        errors.append(
            field_error(["body", "code"], f"shared material {data.code} exists", "material.exists")
        )
    lists = CodeLists(session)
    for field, name in (
        ("material_type", "material_types"),
        ("form", "material_forms"),
        ("source", "material_sources"),
    ):
        lists.check(errors, ["body", field], name, getattr(data, field))
    if errors:
        raise InvalidInput("the shared material is not valid", errors=errors)
    material = SharedMaterial(**data.model_dump())
    session.add(material)
    session.flush()
    record_version(
        session,
        kind="material",
        code=material.code,
        version=1,
        event="create",
        snapshot=material_document(material),
        actor=actor,
    )
    return material


def list_materials(
    session: Session, *, q: str | None, after: str | None, limit: int
) -> list[SharedMaterial]:
    stmt = select(SharedMaterial).order_by("code")
    if q:
        stmt = stmt.where(col(SharedMaterial.name).contains(q))
    if after:
        stmt = stmt.where(SharedMaterial.code > after)
    return list(session.exec(stmt.limit(limit)))


def check_filters(
    db: Session | Connection, *, region: str | None = None, department: str | None = None
) -> None:
    """A list filtered by a region or department that does not exist is a mistake, not an
    empty answer (a digest of ``region=999999`` must not say "0 items, equal")."""
    errors: list[dict[str, Any]] = []
    if region is not None and not _region_exists(db, region):
        errors.append(
            field_error(
                ["query", "region"],
                f"unknown region {region!r}: give a GB/T 2260 code (230100) or a prefix of "
                "one, as keys take (2301 is 230100 and the regions below it)",
                "region_code.unknown",
            )
        )
    if department is not None:
        for code in department.split(","):
            if db.execute(_DEPARTMENT, {"code": code}).first() is None:
                errors.append(
                    field_error(
                        ["query", "department"],
                        f"unknown department {code!r}",
                        "department.unknown",
                    )
                )
    if errors:
        raise InvalidInput("a filter names nothing in the catalogue", errors=errors)


_REGION = (
    select(Region.code)
    .where(col(Region.code) >= bindparam("low"), col(Region.code) < bindparam("high"))
    .limit(1)
)


def _region_exists(db: Session | Connection, region: str) -> bool:
    """A region filter is a code or a prefix of one (``2301`` ≡ ``230100`` and below), read
    by :func:`app.security.region_prefix` as keys read theirs."""
    if not (region.isdigit() and 2 <= len(region) <= 12):
        return False
    prefix = region_prefix(region)
    return db.execute(_REGION, {"low": prefix, "high": prefix + "~"}).first() is not None


_DEPARTMENT = select(Department.credit_code).where(Department.credit_code == bindparam("code"))


def check_key_scope(session: Session, departments: list[str], region: str | None) -> None:
    """Refuse a scope that names nothing: a department the directory does not hold, a
    region (prefix) no region's code starts with. A key scoped so would open nothing, and
    the typo would only show when its holder's first write is refused."""
    for n, code in enumerate(departments):
        if session.get(Department, code) is None:
            raise InvalidInput.field(
                ["departments", n],
                f"there is no department with the credit code {code} "
                "(the departments are listed by GET /api/v1/departments)",
                "scope.department",
            )
    if region is not None:
        prefix = region_prefix(region)
        found = session.exec(select(Region.code).where(Region.code.startswith(prefix))).first()  # type: ignore[attr-defined]
        if not region.isdigit() or found is None:
            raise InvalidInput.field(
                ["region"],
                f"no region has a code starting with {prefix}: give a region code of "
                "GB/T 2260 (230100 for 哈尔滨市) or its prefix (2301)",
                "scope.region",
            )
