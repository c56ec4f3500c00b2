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


The code: :mod:`app.sync.listing_rows` reads and checks the rows, :mod:`app.sync.listing_write`
plans the groups and writes."""

from __future__ import annotations

from app.sync.listing_rows import (  # noqa: F401
    BATCH,
    LOCAL_CODE,
    PROFILE,
    RESULTS,
    ListingError,
    Outcome,
    Parsed,
    detect_source,
    is_listing,
    known_bodies,
    load_source_systems,
    parse_row,
    row_text,
)
from app.sync.listing_write import (  # noqa: F401
    import_listing,
)

__all__ = [
    "BATCH",
    "LOCAL_CODE",
    "ListingError",
    "Outcome",
    "PROFILE",
    "Parsed",
    "RESULTS",
    "detect_source",
    "import_listing",
    "is_listing",
    "known_bodies",
    "load_source_systems",
    "parse_row",
    "row_text",
]
