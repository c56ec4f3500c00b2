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

This module reads the rows, maps each row's local code to the national identity and checks
it before anything is written; :mod:`app.sync.listing_write` plans the groups and writes."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlmodel import Session, col, select

from app.codes.rules import (
    CodeError,
    organisation_code,
    validate_credit_code,
)
from app.config import get_settings
from app.directory.models import Department
from app.directory.service import CodeLists

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


def row_text(row: dict[str, Any], key: str, limit: int) -> str | None:
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
        short = row_text(row, "department", 100) if credit else None
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
    name = row_text(row, "name", 300)
    if name is None:
        errors.append(("name", "listing.name", "the item's name (1-300 characters) is required"))
    short_name = row_text(row, "department", 100)
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
