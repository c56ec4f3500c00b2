"""``catalogue import --profile listing``: a public listing of implementations that carries a
local platform's codes but no guide, legal basis or materials (四川政务服务网's list of
广安区, ``../shared/data/items_guangan.json``).

Each row's local implementation code (``item_code``, e.g.
``511A0138000000-511602000000-000-115113010833722043-1-00``: local basic code, 12-digit
region, sub-code, the implementing body's credit code, two more segments) is mapped to the
national identity:

* department = the credit code (validated as everywhere, ``app.codes.rules``), created in
  the row's region when missing. A row that names its body by its GB 11714 organisation
  code, or by its credit code with one character missing, is read as the one body of the
  same short name (in the file or the catalogue) whose credit code carries or completes it,
  with a note; otherwise it is rejected. A new body is named from the local short name
  qualified with the region (区人社局 → 四川省广安市广安区人社局);
* catalogue entry = the one holding the row's local basic code, else a new locally added
  entry (owner = the province, item type mapped from the portal's task type, domain from
  the department's name, the next main or sub sequence); rows of one ``group`` (主项)
  become sub items of one main item when they share item type and domain;
* implementation code = credit code + exercise level (from the region's level: a county's
  bodies exercise level 4) + basic code, keeping ``local_code`` = ``item_code``.

The listing says nothing of guide, legal basis, materials, power source, body nature or
case type, so what it creates has status 7 (待完善) with those empty (null), until a full
write completes it. Every write goes through the version log and the change log, in the
transaction of its batch. Rows are checked before anything is written: a rejected row
leaves nothing behind. Importing the same file again creates nothing.

The mappings of a source system (task types, levels, domain words) are data:
``seed/source_systems.json``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlmodel import Session, col, select

from app.catalogue import service as catalogue
from app.catalogue.issuing import record_issued
from app.catalogue.models import CatalogueEntry, Implementation, IssuedCode
from app.codes.rules import (
    CodeError,
    implementation_code,
    next_basic_code,
    organisation_code,
    validate_basic_code,
    validate_credit_code,
)
from app.config import get_settings
from app.directory.models import Department, Region
from app.directory.schemas import DepartmentIn
from app.directory.service import CodeLists, check_region, save_department
from app.security import Principal

PROFILE = "listing"
#: counts an import reports
RESULTS = ("created", "unchanged", "rejected", "duplicates")
#: rows written per transaction
BATCH = 500

LOCAL_CODE = re.compile(
    r"^(?P<basic>[0-9A-Za-z][0-9A-Za-z-]*?)-(?P<region>\d{12})-(?P<sub>\d{3})-"
    r"(?P<credit>[0-9A-Za-z-]+)-(?P<tail>\d+-\d+)$"
)


class ListingError(ValueError):
    """The listing cannot be imported at all (no mapping for its source system…)."""


def is_listing(row: Any) -> bool:
    """A listing row names its local implementation code and carries no guide."""
    return isinstance(row, dict) and "item_code" in row and "guide" not in row


def load_source_systems(seed_dir: Path | None = None) -> dict[str, Any]:
    path = Path(seed_dir or get_settings().seed_dir) / "source_systems.json"
    return json.loads(path.read_text(encoding="utf-8"))


def detect_source(rows: list[tuple[int, Any]], systems: dict[str, Any]) -> str | None:
    """The source system whose portal the rows' guide URLs point at."""
    for _, row in rows:
        host = urlparse(str((row or {}).get("guide_url") or "")).hostname
        for name, spec in systems.items():
            if host and host in spec.get("hosts", []):
                return name
    return None


@dataclass
class Parsed:
    row: int
    item_code: str
    local_basic_code: str
    region: str
    credit_code: str
    name: str
    short_name: str
    group: str | None
    item_type: str
    domain: str


@dataclass
class Outcome:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))
    report: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    entries_created: int = 0
    departments_created: int = 0
    #: row → implementation code, of every row that has a national identity
    identities: dict[int, str] = field(default_factory=dict)

    def line(self, kind: str, row: int, fld: str, rule: str, message: str) -> None:
        getattr(self, kind).append({"row": row, "field": fld, "rule": rule, "message": message})

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "entries_created": self.entries_created,
            "departments_created": self.departments_created,
            "identities": len(self.identities),
            "report": self.report,
            "duplicate_report": self.duplicates,
            "notes": self.notes,
        }


def _text(row: dict[str, Any], key: str, limit: int) -> str | None:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        return None
    return value.strip()


def _domain(short_name: str, spec: dict[str, Any]) -> str:
    words = spec["domains"]["words"]
    found = [w for w in words if w in short_name]
    return words[max(found, key=len)] if found else spec["domains"]["default"]


def _local_credit(row: Any) -> str | None:
    """The implementing body's code in a row's local code, upper case (as read, unchecked)."""
    code = row.get("item_code") if isinstance(row, dict) else None
    match = LOCAL_CODE.match(code) if isinstance(code, str) else None
    return match["credit"].upper() if match else None


def known_bodies(session: Session, rows: list[tuple[int, Any]]) -> dict[str, set[str]]:
    """Valid credit code → short names, of the bodies named in ``rows`` by a credit code and
    of the catalogue's departments that share a short name with a row naming its body by
    something else (see :func:`_body_code`)."""
    bodies: dict[str, set[str]] = defaultdict(set)
    unsure: set[str] = set()
    for _, row in rows:
        credit = _local_credit(row)
        short = _text(row, "department", 100) if credit else None
        if credit is None or short is None:
            continue
        if len(credit) == 18:
            bodies[credit].add(short)
        else:
            unsure.add(short)
    if unsure:
        for credit, short in session.execute(
            select(Department.credit_code, Department.short_name).where(
                col(Department.short_name).in_(unsure)
            )
        ):
            bodies[credit].add(short)
    for credit in list(bodies):
        try:
            validate_credit_code(credit)
        except CodeError:
            del bodies[credit]
    return bodies


def _body_code(
    given: str, short: str | None, bodies: dict[str, set[str]]
) -> tuple[str, str, str] | None:
    """(credit code, rule, how) of a body a row names by something other than its credit
    code: the one body of the same short name whose credit code carries ``given`` as its
    GB 11714 organisation code (GB 32100 puts it in positions 9-17), or, for 17 characters,
    is ``given`` with one character more. None when there is none, or more than one."""
    named = [c for c, names in bodies.items() if short in names]
    org = organisation_code(given)
    found = [c for c in named if c[8:17] == org] if org else []
    if len(found) == 1:
        return (
            found[0],
            "credit_code.organisation_code",
            "carries it as its organisation code (GB 11714)",
        )
    if len(given) == 17:
        found = [c for c in named if any(c[:i] + c[i + 1 :] == given for i in range(18))]
        if len(found) == 1:
            return found[0], "credit_code.missing_character", "it is with one character missing"
    return None


def parse_row(
    n: int,
    row: Any,
    spec: dict[str, Any],
    lists: CodeLists,
    out: Outcome,
    bodies: dict[str, set[str]],
) -> Parsed | None:
    """Check what can be checked without the database; report every problem of the row.
    ``bodies``: :func:`known_bodies`."""
    if not isinstance(row, dict):
        out.line("report", n, "(row)", "listing.row", "a listing row is a JSON object")
        return None
    errors: list[tuple[str, str, str]] = []
    name = _text(row, "name", 300)
    if name is None:
        errors.append(("name", "listing.name", "the item's name (1-300 characters) is required"))
    short_name = _text(row, "department", 100)
    if short_name is None:
        errors.append(
            ("department", "listing.department", "the implementing body's short name is required")
        )
    item_code = row.get("item_code")
    match = LOCAL_CODE.match(item_code) if isinstance(item_code, str) else None
    credit = region = basic = ""
    if match is None or len(item_code) > 100:
        errors.append(
            (
                "item_code",
                "local_code.layout",
                f"{item_code!r} is not a local implementation code: local basic code - "
                "12-digit region - 3-digit sub-code - credit code - two segments",
            )
        )
    else:
        basic, region = match["basic"], match["region"][:6]
        credit = match["credit"].upper()
        if credit != match["credit"]:
            out.line(
                "notes",
                n,
                "item_code",
                "credit_code.case",
                f"credit code {match['credit']} read in upper case as {credit}",
            )
        body = _body_code(credit, short_name, bodies) if len(credit) != 18 else None
        if body is not None:
            found, rule, how = body
            out.line(
                "notes",
                n,
                "item_code",
                rule,
                f"{match['credit']} is not a credit code; read as {found}, the credit code "
                f"of {short_name} elsewhere, which {how}",
            )
            credit = found
        try:
            validate_credit_code(credit)
        except CodeError as exc:
            errors.append(
                (
                    "item_code",
                    exc.rule,
                    f"the implementing body's credit code {match['credit']!r} in the local "
                    f"code: {exc.message}",
                )
            )
        given_region = row.get("region_code")
        if given_region not in (None, "") and given_region != region:
            errors.append(
                (
                    "region_code",
                    "local_code.region",
                    f"region_code {given_region} differs from the local code's region {region}",
                )
            )
    item_type = spec["item_types"]["codes"].get(str(row.get("task_type_code") or ""))
    if item_type is None:
        errors.append(
            (
                "task_type_code",
                "code_list.item_types",
                f"task type {row.get('task_type_code')!r} has no item type in the mapping of "
                "this source system (seed/source_systems.json)",
            )
        )
    elif row.get("type") and lists.label("item_types", item_type) != row["type"]:
        errors.append(
            (
                "type",
                "item_type.mismatch",
                f"type {row['type']!r} is not item type {item_type} "
                f"({lists.label('item_types', item_type)}) of task type {row['task_type_code']}",
            )
        )
    group = row.get("group")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        group = None
    for fld, rule, message in errors:
        out.line("report", n, fld, rule, message)
    if errors:
        return None
    assert name and short_name and item_type
    return Parsed(
        row=n,
        item_code=item_code,
        local_basic_code=basic,
        region=region,
        credit_code=credit,
        name=name,
        short_name=short_name,
        group=group.strip()[:300] if group else None,
        item_type=item_type,
        domain=_domain(short_name, spec),
    )


class _Writer:
    """Departments and entries found or created during one import."""

    def __init__(self, session: Session, actor: Principal, source: str) -> None:
        self.session = session
        self.actor = actor
        self.source = source
        self.departments: dict[str, Department | None] = {}
        self.entries: dict[tuple[str, str], str] = {}  # (owner, local basic code) → basic code
        self.issued: dict[str, set[str]] = {}
        #: credit code → (short name, name) of the departments this import creates
        self.planned: dict[str, tuple[str, str]] = {}
        #: (credit code, short name) pairs already noted as differing
        self.noted: set[tuple[str, str]] = set()
        self.regions: dict[str, Region | None] = {}
        self.entries_created = 0
        self.departments_created = 0

    def region(self, code: str) -> Region | None:
        if code not in self.regions:
            self.regions[code] = self.session.get(Region, code)
        return self.regions[code]

    def region_path(self, region: Region) -> str:
        names = []
        current: Region | None = region
        while current is not None:
            names.append(current.name)
            current = self.region(current.parent_code) if current.parent_code else None
        # GB/T 2260 grouping codes (市辖区, 县, 省直辖县级行政区划) are not part of a name
        grouping = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
        return "".join(n for n in reversed(names[1:]) if n not in grouping) + region.name

    def department(self, code: str) -> Department | None:
        if code not in self.departments:
            self.departments[code] = self.session.get(Department, code)
        return self.departments[code]

    def qualified(self, short: str, region: Region) -> str:
        """区人社局 in 广安区 → 四川省广安市广安区人社局."""
        path = self.region_path(region)
        if short.startswith(region.name):
            return path[: -len(region.name)] + short
        if short[0] == region.name[-1]:
            return path + short[1:]
        return path + short

    def plan_departments(self, rows: list[tuple[Parsed, Region, str]]) -> None:
        """Names of the departments this import creates: the short name most of a body's
        rows use, qualified with the region; when several bodies answer to one short name
        (区人社局 and the institutions under it), a 机关 (category 1) that most rows name
        keeps the plain name and the others add their credit code."""
        shorts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        where: dict[str, Region] = {}
        for p, region, _ in rows:
            if self.department(p.credit_code) is None:
                shorts[p.credit_code][p.short_name] += 1
                where.setdefault(p.credit_code, region)
        claims: dict[tuple[str, str], list[tuple[tuple[bool, int], str]]] = defaultdict(list)
        for credit, counts in shorts.items():
            short = max(counts, key=lambda s: counts[s])  # ties: the first seen
            region = where[credit]
            self.planned[credit] = (short, "")
            rank = (credit[1] != "1", -counts[short])
            claims[(region.code, self.qualified(short, region))].append((rank, credit))
        for (region_code, name), bodies in claims.items():
            taken = self.session.exec(
                select(Department.credit_code).where(
                    Department.region_code == region_code, Department.name == name
                )
            ).first()
            for i, (_, credit) in enumerate(sorted(bodies)):
                plain = i == 0 and taken is None
                short = self.planned[credit][0]
                self.planned[credit] = (short, name if plain else f"{name}（{credit}）")

    def create_department(self, p: Parsed, region: Region, level: str) -> Department:
        short, name = self.planned.get(p.credit_code) or (p.short_name, "")
        dept = save_department(
            self.session,
            DepartmentIn(
                credit_code=p.credit_code,
                name=(name or self.qualified(short, region))[:200],
                short_name=short,
                region_code=region.code,
                level=level,
            ),
            self.actor,
        )
        self.departments[p.credit_code] = dept
        self.departments_created += 1
        return dept

    def find_entries(self, owner: str, local_codes: set[str]) -> None:
        for chunk in _chunks(sorted(local_codes), 500):
            for basic, local in self.session.exec(
                select(CatalogueEntry.basic_code, CatalogueEntry.local_basic_code).where(
                    col(CatalogueEntry.local_basic_code).in_(chunk),
                    *catalogue.with_prefix(CatalogueEntry.basic_code, owner),
                )
            ):
                assert local is not None
                self.entries[(owner, local)] = basic

    def _issued(self, head: str) -> set[str]:
        if head not in self.issued:
            self.issued[head] = set(
                self.session.exec(
                    select(IssuedCode.code).where(
                        IssuedCode.kind == "basic", *catalogue.with_prefix(IssuedCode.code, head)
                    )
                )
            )
        return self.issued[head]

    def create_entry(
        self,
        *,
        name: str,
        owner: str,
        item_type: str,
        domain: str,
        parent: str | None,
        local_basic_code: str | None,
    ) -> str:
        """A locally added entry with the next code, status 待完善: no legal basis yet."""
        head = parent[:9] if parent else f"{owner}{item_type}{domain}"
        issued = self._issued(head)
        code = next_basic_code(owner, item_type, domain, issued, parent=parent)
        validate_basic_code(code, item_type=item_type, domain=domain, parent=parent)
        issued.add(code)
        record_issued(self.session, code, "basic")
        entry = CatalogueEntry(
            basic_code=code,
            name=name,
            item_type=item_type,
            domain=domain,
            parent_basic_code=parent,
            legal_basis=[],
            handling_items=[],
            aliases=[],
            local_basic_code=local_basic_code,
            status=catalogue.STATUS_INCOMPLETE,
            updated_by=self.actor.name,
        )
        self.session.add(entry)
        self.session.flush()
        catalogue.record_version(
            self.session,
            kind="entry",
            code=code,
            version=1,
            event="create",
            snapshot=catalogue.entry_document(entry),
            actor=self.actor,
        )
        if local_basic_code:
            self.entries[(owner, local_basic_code)] = code
        self.entries_created += 1
        return code


def _chunks(values: list[Any], size: int) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


@dataclass
class _Group:
    rows: list[Parsed]
    feasible: bool
    main: str | None = None  # basic code of the main item, once known


def import_listing(
    session_factory: Callable[[], Session],
    rows: list[tuple[int, Any]],
    *,
    name: str,
    source: str | None = None,
    seed_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Import listing rows ``(row number, row)``; returns counts and the report lines
    (row, field, rule, message) of rejected rows, duplicates and notes."""
    systems = load_source_systems(seed_dir)
    source = source or detect_source(rows, systems)
    if source not in systems:
        raise ListingError(
            f"no mapping for source system {source!r} in seed/source_systems.json "
            f"(known: {', '.join(systems)}); name it with --source"
        )
    spec = systems[source]
    actor = Principal(name=f"import:{name}"[:100], role="admin")
    out = Outcome()

    with session_factory() as session:
        lists = CodeLists(session)
        bodies = known_bodies(session, rows)
        parsed: list[Parsed] = []
        seen: dict[tuple[str, str], int] = {}
        previous: int | None = None
        for n, row in rows:
            if isinstance(row, dict) and row.get("duplicate_of_previous") is True:
                out.counts["duplicates"] += 1
                out.line(
                    "duplicates",
                    n,
                    "duplicate_of_previous",
                    "duplicate",
                    f"marked as a duplicate of the previous row ({previous})",
                )
                continue
            previous = n
            p = parse_row(n, row, spec, lists, out, bodies)
            if p is None:
                out.counts["rejected"] += 1
                continue
            key = (p.credit_code, p.local_basic_code)
            if key in seen:
                out.counts["duplicates"] += 1
                out.line(
                    "duplicates",
                    n,
                    "item_code",
                    "duplicate",
                    f"the same body and local basic code as row {seen[key]}",
                )
                continue
            seen[key] = n
            parsed.append(p)

        writer = _Writer(session, actor, source)
        valid: list[tuple[Parsed, Region, str]] = []
        planned: dict[str, tuple[str, str]] = {}  # credit code → (region, level) of new ones
        for p in parsed:
            errors: list[dict[str, Any]] = []
            region = check_region(
                errors, ["region_code"], p.region, writer.region(p.region), date.today()
            )
            level = spec["levels"]["codes"].get(str(region.level)) if region else None
            if region is not None and level is None:
                errors.append(
                    {
                        "loc": ["region_code"],
                        "msg": f"region {p.region} (level {region.level}) has no exercise level",
                        "type": "listing.level",
                    }
                )
            dept = writer.department(p.credit_code)
            if region is not None and level is not None:
                where = (
                    (dept.region_code, dept.level)
                    if dept is not None
                    else planned.setdefault(p.credit_code, (region.code, level))
                )
                # a listing's level and region are both read from its local code
                errors += [
                    {"loc": ["item_code"], "msg": message, "type": rule}
                    for _, rule, message in catalogue.department_misfits(
                        p.credit_code, where, region.code, level
                    )
                ]
            for e in errors:
                out.line("report", p.row, str(e["loc"][0]), e["type"], e["msg"])
            if errors:
                out.counts["rejected"] += 1
                continue
            assert region is not None and level is not None
            valid.append((p, region, level))

        owners = {p.region[:2] for p, _, _ in valid}
        for owner in owners:
            writer.find_entries(
                owner, {p.local_basic_code for p, _, _ in valid if p.region[:2] == owner}
            )
        groups = _plan_groups([p for p, _, _ in valid], writer, out)
        writer.plan_departments(valid)

        for batch in _chunks(valid, BATCH):
            for p, region, level in batch:
                _write_row(session, writer, p, region, level, groups, out)
            session.commit()
            if progress:
                progress(len(batch))
        out.entries_created = writer.entries_created
        out.departments_created = writer.departments_created
    return out.as_dict()


def _plan_groups(rows: list[Parsed], writer: _Writer, out: Outcome) -> dict[str, _Group]:
    """Rows of one 主项 become sub items of one main item when they share owner, item
    type and domain (a sub item's code extends its main item's)."""
    by_group: dict[str, list[Parsed]] = defaultdict(list)
    for p in rows:
        if p.group:
            by_group[p.group].append(p)
    groups: dict[str, _Group] = {}
    for name, members in by_group.items():
        kinds = {(p.region[:2], p.item_type, p.domain) for p in members}
        feasible = len(kinds) == 1
        if not feasible:
            out.line(
                "notes",
                members[0].row,
                "group",
                "group.mixed",
                f"the rows of 主项 {name!r} differ in item type or domain "
                f"({', '.join(sorted('/'.join(k[1:]) for k in kinds))}): each is a main item",
            )
        group = _Group(members, feasible)
        if feasible:
            # an earlier import made them sub items: the same main item again
            session = writer.session
            found = [
                writer.entries.get((p.region[:2], p.local_basic_code))
                for p in members
                if p.name != name
            ]
            for basic in filter(None, found):
                entry = session.get(CatalogueEntry, basic)
                if entry is not None and entry.parent_basic_code:
                    group.main = entry.parent_basic_code
                    break
        groups[name] = group
    return groups


def _main_item(writer: _Writer, group_name: str, group: _Group) -> str:
    """The basic code of the group's main item: the entry of the row named like the group,
    else an entry named after the group (no implementation of its own)."""
    if group.main is None:
        first = group.rows[0]
        owner = first.region[:2]
        named = next((p for p in group.rows if p.name == group_name), None)
        if named is not None and (owner, named.local_basic_code) in writer.entries:
            group.main = writer.entries[(owner, named.local_basic_code)]
        else:
            group.main = writer.create_entry(
                name=group_name,
                owner=owner,
                item_type=first.item_type,
                domain=first.domain,
                parent=None,
                local_basic_code=named.local_basic_code if named else None,
            )
    return group.main


def _write_row(
    session: Session,
    writer: _Writer,
    p: Parsed,
    region: Region,
    level: str,
    groups: dict[str, _Group],
    out: Outcome,
) -> None:
    owner = p.region[:2]
    dept = writer.department(p.credit_code)
    if dept is None:
        dept = writer.create_department(p, region, level)
    if dept.short_name != p.short_name and (p.credit_code, p.short_name) not in writer.noted:
        writer.noted.add((p.credit_code, p.short_name))  # once per body and short name
        out.line(
            "notes",
            p.row,
            "department",
            "department.short_name",
            f"{p.credit_code} is {dept.name} ({dept.short_name}); the row says {p.short_name}",
        )
    basic = writer.entries.get((owner, p.local_basic_code))
    if basic is None:
        group = groups.get(p.group) if p.group else None
        parent = None
        if group is not None and group.feasible:
            main = _main_item(writer, p.group or "", group)
            parent = None if p.name == p.group else main
            basic = writer.entries.get((owner, p.local_basic_code))
        if basic is None:
            basic = writer.create_entry(
                name=p.name,
                owner=owner,
                item_type=p.item_type,
                domain=p.domain,
                parent=parent,
                local_basic_code=p.local_basic_code,
            )
    code = implementation_code(p.credit_code, level, basic)
    out.identities[p.row] = code
    existing = session.get(Implementation, code)
    if existing is not None:
        if existing.local_code == p.item_code:
            out.counts["unchanged"] += 1
        else:
            out.counts["duplicates"] += 1
            out.line(
                "duplicates",
                p.row,
                "item_code",
                "duplicate",
                f"implementation {code} exists already with local code {existing.local_code}",
            )
        return
    if session.get(IssuedCode, code) is not None:
        out.counts["rejected"] += 1
        del out.identities[p.row]
        out.line(
            "report",
            p.row,
            "item_code",
            "code-already-issued",
            f"implementation code {code} was issued before; a code is never issued twice",
        )
        return
    record_issued(session, code, "implementation")
    item = Implementation(
        code=code,
        basic_code=basic,
        department_code=p.credit_code,
        region_code=region.code,
        level=level,
        power_source=None,
        body_nature=None,
        case_type=None,
        audience=[],
        themes=[],
        status=catalogue.STATUS_INCOMPLETE,
        guide=None,
        local_code=p.item_code,
        source_system=writer.source,
        updated_by=writer.actor.name,
    )
    session.add(item)
    session.flush()
    catalogue.record_item(
        session, item, writer.actor, "create", status_after=catalogue.STATUS_INCOMPLETE
    )
    out.counts["created"] += 1
