"""Writing a public listing (see :mod:`app.sync.listing_rows`): the groups (主项) planned, then
each batch's departments, entries and 待完善 items through the version log and change log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.catalogue.entries import entry_document
from app.catalogue.issuing import issued_under, record_issued
from app.catalogue.models import CatalogueEntry
from app.catalogue.statuses import STATUS_INCOMPLETE
from app.catalogue.validation import department_misfits
from app.codes.rules import (
    implementation_code,
    next_basic_code,
    validate_basic_code,
)
from app.directory.models import Department, Region
from app.directory.schemas import DepartmentIn
from app.directory.service import CodeLists, check_region, save_department
from app.pagination import with_prefix
from app.security import Principal
from app.sync.listing_items import Placed, write_items
from app.sync.listing_rows import (
    BATCH,
    ListingError,
    Outcome,
    Parsed,
    detect_source,
    known_bodies,
    load_source_systems,
    parse_row,
)
from app.versionlog import record_version


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
                    *with_prefix(CatalogueEntry.basic_code, owner),
                )
            ):
                assert local is not None
                self.entries[(owner, local)] = basic

    def _issued(self, head: str) -> set[str]:
        if head not in self.issued:
            self.issued[head] = set(issued_under(self.session, head, "basic"))
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
            status=STATUS_INCOMPLETE,
            updated_by=self.actor.name,
        )
        self.session.add(entry)
        self.session.flush()
        record_version(
            self.session,
            kind="entry",
            code=code,
            version=1,
            event="create",
            snapshot=entry_document(entry),
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
    on_batch: Callable[[Session, int], None] | None = None,
    read_factory: Callable[[], Session] | None = None,
) -> dict[str, Any]:
    """Import listing rows ``(row number, row)``; returns counts and the report lines
    (row, field, rule, message) of rejected rows, duplicates and notes. The rows are parsed,
    checked and planned in a session of ``read_factory`` (without the write slot), then
    written in batches, each in one transaction of ``session_factory``: ``on_batch`` runs
    in it before it commits, ``progress`` after."""
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

    with (read_factory or session_factory)() as session:
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
                errors, ["region_code"], p.region, writer.region(p.region), clock.today()
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
                    for _, rule, message in department_misfits(
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

    # what was read stays on its objects (regions, departments): the writes need no more
    with session_factory() as session:
        writer.session = session
        for batch in _chunks(valid, BATCH):
            placed = [
                _place_row(writer, p, region, level, groups, out) for p, region, level in batch
            ]
            write_items(session, placed, writer.source, writer.actor, out)
            if on_batch:
                on_batch(session, len(batch))
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


def _place_row(
    writer: _Writer,
    p: Parsed,
    region: Region,
    level: str,
    groups: dict[str, _Group],
    out: Outcome,
) -> Placed:
    """The department and entry of a row (found, or created now): its implementation code."""
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
    return Placed(p, region, dept, level, basic, code)
