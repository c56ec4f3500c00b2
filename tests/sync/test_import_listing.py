"""`catalogue import` of a public listing: the real 广安区 list (../shared/data/items_guangan.json,
v-luobo/zwfw, Apache-2.0; its attributed sample tests/data/items_guangan_sample.json runs
where the full file is absent) gets national identities and keeps its local codes; what it
creates is 待完善 until a full write completes it."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.catalogue.models import CatalogueEntry, Implementation
from app.directory.models import Department
from app.security import create_key
from app.sync.listing_rows import LOCAL_CODE
from app.versionlog import ChangeLog, RecordVersion
from tests.conftest import SHARED_DATA, _postgres_database, app_on, build_database
from tests.helpers import API, run_cli, writable

GUANGAN = SHARED_DATA / "items_guangan.json"
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "items_guangan_sample.json"
needs_data = pytest.mark.skipif(
    not GUANGAN.exists(),
    reason=f"{GUANGAN} is absent (the shared data folder is not part of a fresh clone; "
    "the sample in tests/data runs instead)",
)

# What the 1,135 rows of the file give (see README, Import): 1,103 get a national identity,
# 121 of them through a body named otherwise than by its credit code: 30 by its GB 11714
# organisation code (083372204 = positions 9-17 of 区教科体局's 115113010833722043), 91 by its
# credit code with one character missing (区人社局's 1151130108778239R for
# 11511301008778239R, 区公安分局's); each such row carries a note. 32 are rejected: 22 name
# a body by a code that is neither (2222222222222, 0087790701…), 7 a code that fails its
# check character (烟草专卖局's TE5116…), 3 a local code without region and sub-code, 1 a
# province-level code listed under 广安区.
IMPORTED = 1103
REJECTED = Counter(
    {
        ("item_code", "credit_code.length"): 22,
        ("item_code", "credit_code.check_digit"): 7,
        ("item_code", "local_code.layout"): 3,
        ("region_code", "local_code.region"): 1,
    }
)
READ_AS = Counter({"credit_code.organisation_code": 30, "credit_code.missing_character": 91})


@dataclass(frozen=True)
class Listing:
    """A listing file and what importing it gives, counted from its rows (not by the importer)."""

    path: Path
    imported: int
    rejected: Counter[tuple[str, str]]
    read_as: Counter[str]
    length_row: int  # the first row naming its body 2222222222222
    org_code_row: int  # a row naming 区教科体局 by its organisation code 083372204


FULL = Listing(GUANGAN, IMPORTED, REJECTED, READ_AS, length_row=165, org_code_row=10)
# The sample's 169 rows (tests/data/README.md): 161 get a national identity, 8 are rejected
# (row 29, ga-0118, for both a short code and a province-level region).
SAMPLE_LISTING = Listing(
    SAMPLE,
    161,
    Counter(
        {
            ("item_code", "credit_code.length"): 5,
            ("item_code", "credit_code.check_digit"): 1,
            ("item_code", "local_code.layout"): 2,
            ("region_code", "local_code.region"): 1,
        }
    ),
    Counter({"credit_code.organisation_code": 6, "credit_code.missing_character": 12}),
    length_row=37,
    org_code_row=6,
)
# The sample runs even beside the full file, so its numbers are checked where CI runs too.
LISTINGS = [
    pytest.param(FULL, id="full", marks=needs_data),
    pytest.param(SAMPLE_LISTING, id="sample"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    urls = (
        iter([f"sqlite:///{tmp_path}/listing.db"])
        if request.param == "sqlite"
        else _postgres_database()
    )
    url = next(urls)
    engine = build_database(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        for _ in urls:  # drops the PostgreSQL database
            pass


def api(session: Session) -> TestClient:
    return TestClient(app_on(session))


def local_basic_code(row: dict[str, Any]) -> str:
    match = LOCAL_CODE.match(row["item_code"])
    assert match is not None
    return match["basic"]


def local_credit(row: dict[str, Any]) -> str:
    match = LOCAL_CODE.match(row["item_code"])
    assert match is not None
    return match["credit"].upper()


def report_lines(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


@pytest.mark.parametrize("listing", LISTINGS)
def test_the_guangan_listing_imports_with_national_identities(
    database: tuple[str, Engine], tmp_path: Path, listing: Listing
) -> None:
    url, engine = database
    imported = listing.imported
    rows = json.loads(listing.path.read_text(encoding="utf-8"))
    report = tmp_path / "report.csv"
    first = run_cli(url, "import", str(listing.path), "--report", str(report))
    assert first.returncode == 2, first.stderr  # some rows are rejected
    assert f"{imported} created, 0 unchanged, {len(rows) - imported} rejected" in first.stdout
    assert f"{imported} rows with a national identity" in first.stdout

    lines = report_lines(report)
    rejected = [line for line in lines if line["outcome"] == "rejected"]
    assert Counter((line["field"], line["rule"]) for line in rejected) == listing.rejected
    by_row = {int(line["row"]): line for line in rejected}
    length = by_row[listing.length_row]
    assert length["rule"] == "credit_code.length" and "2222222222222" in length["message"]
    tobacco = next(n for n, r in enumerate(rows, 1) if "TE5116020105116050" in r["item_code"])
    assert by_row[tobacco]["rule"] == "credit_code.check_digit"
    read_as = {
        int(line["row"]): line
        for line in lines
        if line["outcome"] == "note" and line["rule"] in READ_AS
    }
    assert Counter(line["rule"] for line in read_as.values()) == listing.read_as
    # 083372204: its organisation code
    assert "115113010833722043" in read_as[listing.org_code_row]["message"]

    with Session(engine) as session:
        items = {
            i.local_code: i
            for i in session.execute(
                select(Implementation).where(Implementation.source_system == "sczwfw")
            ).scalars()
        }
        assert len(items) == imported
        imported_rows = [r for n, r in enumerate(rows, 1) if n not in by_row]
        short_names: defaultdict[str, set[str]] = defaultdict(set)
        for r in imported_rows:
            short_names[local_credit(r)].add(r["department"])
        assert {r["item_code"] for r in imported_rows} == set(items)
        for r in imported_rows:
            item = items[r["item_code"]]
            credit = item.code[:18]
            # implementation code = the row's credit code + county level 4 + basic code
            given = local_credit(r)
            if len(given) == 18:
                assert credit == given
            else:  # the body of the same short name whose credit code carries or completes it
                assert credit in read_as[rows.index(r) + 1]["message"]
                assert given.replace("-", "") in credit or len(given) == 17
                assert r["department"] in short_names[credit]
            assert item.code == f"{credit}4{item.basic_code}" and item.level == "4"
            assert item.region_code == "511602" and item.status == "7" and item.guide is None
        entries = {
            e.local_basic_code: e
            for e in session.execute(
                select(CatalogueEntry).where(CatalogueEntry.local_basic_code.is_not(None))  # type: ignore[union-attr]
            ).scalars()
        }
        for r in imported_rows:
            entry = entries[local_basic_code(r)]
            assert entry.basic_code.startswith("51") and entry.status == "7"
            assert entry.item_type == r["task_type_code"].zfill(2) and entry.legal_basis == []
            assert items[r["item_code"]].basic_code == entry.basic_code
        # the rows of 主项 户口登记（包括注销、恢复、变更） are sub items of one main item
        hukou = [
            entries[local_basic_code(r)]
            for r in imported_rows
            if r["group"] == "户口登记（包括注销、恢复、变更）"
        ]
        assert len(hukou) == 4 and len({e.parent_basic_code for e in hukou}) == 1
        main = session.get(CatalogueEntry, hukou[0].parent_basic_code)
        assert main is not None and main.name == "户口登记（包括注销、恢复、变更）"
        assert all(e.basic_code[:9] == main.basic_code[:9] for e in hukou)
        hrss = session.get(Department, "11511301008778239R")
        assert hrss is not None and hrss.name == "四川省广安市广安区人社局"
        assert hrss.short_name == "区人社局" and hrss.level == "4"
        # every write has its version and its change-log row
        for code in list(items.values())[:50]:
            assert session.execute(
                select(func.count())
                .select_from(ChangeLog)
                .where(ChangeLog.code == code.code, ChangeLog.version == 1)
            ).scalar_one()
        versions_before = session.execute(select(func.count(RecordVersion.id))).scalar_one()

    again = run_cli(url, "import", str(listing.path))
    assert again.returncode == 2
    assert f"0 created, {imported} unchanged, {len(rows) - imported} rejected" in again.stdout
    assert "0 catalogue entries and 0 departments created" in again.stdout

    with Session(engine) as session:
        assert session.execute(select(func.count(RecordVersion.id))).scalar_one() == (
            versions_before
        )
        key = create_key(session, name="listing-admin", role="admin")
        session.commit()
        auth = {"Authorization": f"Bearer {key}"}
        client = api(session)
        row = next(r for r in imported_rows if r["name"] == "户口恢复")
        code = items[row["item_code"]].code
        got = client.get(f"{API}/items/{code}").json()
        assert got["local_code"] == row["item_code"] and got["source_system"] == "sczwfw"
        assert got["status"] == "7" and got["guide"] is None and got["materials"] == []
        assert got["case_type"] is None and got["legal_basis"] == []
        entry = client.get(f"{API}/catalogue-entries/{got['basic_code']}").json()
        assert entry["local_basic_code"] == "511F09014007" and entry["status"] == "7"
        # incomplete items are left out of lists unless asked for
        listed = client.get(f"{API}/items", params={"region": "511602", "limit": 1000}).json()
        assert listed["items"] == []
        asked: list[dict[str, Any]] = []
        cursor = None
        while True:  # pages of 1,000 at most
            page = client.get(
                f"{API}/items",
                params={"region": "511602", "status": "7", "limit": 1000, "cursor": cursor},
            ).json()
            asked += page["items"]
            if (cursor := page["next_cursor"]) is None:
                break
        assert len({i["code"] for i in asked}) == len(asked) == imported

        # a PUT of the full implementation completes it: 在用, with a version
        template = writable(
            client,
            session.execute(
                select(Implementation.code)
                .where(Implementation.source_system.is_(None))  # type: ignore[union-attr]
                .order_by(Implementation.code)
                .limit(1)
            ).scalar_one(),
        )
        body = {
            **template,
            "code": None,
            "basic_code": got["basic_code"],
            "department": got["department"]["code"],
            "region": "511602",
            "level": "4",
            "materials": [],
            "fees": [],
            "local_code": row["item_code"],
            "source_system": "sczwfw",
        }
        body["guide"] = {**body["guide"], "charges_fee": False}
        done = client.put(f"{API}/items/{code}", json=body, headers=auth)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "1" and done.json()["version"] == 2
        assert done.json()["guide"]["conditions"] == template["guide"]["conditions"]
        assert client.get(f"{API}/items/{code}").json()["status"] == "1"
        versions = client.get(f"{API}/items/{code}/versions").json()["items"]
        assert [(v["event"], v["status_after"]) for v in versions] == [
            ("create", "7"),
            ("complete", "1"),
        ]
        listed = client.get(f"{API}/items", params={"region": "511602"}).json()["items"]
        assert [i["code"] for i in listed] == [code]
        assert session.execute(
            select(func.count())
            .select_from(ChangeLog)
            .where(ChangeLog.code == code, ChangeLog.version == 2)
        ).scalar_one()
        session.close()


def listing_row(**fields: Any) -> dict[str, Any]:
    row = {
        "id": "t-1",
        "name": "户口恢复",
        "department": "区公安分局",
        "group": None,
        "type": "行政确认",
        "task_type_code": "7",
        "item_code": "511F09014007-511602000000-000-11511300008778693M-1-00",
        "region_code": "511602",
        "guide_url": "http://www.sczwfw.gov.cn/jiq/front/transition/ywTransToDetail",
        "duplicate_of_previous": False,
    }
    return {**row, **fields}


def test_duplicates_and_bad_rows_are_reported_and_write_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/small.db"
    engine = build_database(url)
    path = tmp_path / "listing.json"
    rows = [
        listing_row(),
        listing_row(duplicate_of_previous=True),
        listing_row(id="t-3"),  # the same body and local code again
        listing_row(item_code="511F09014009-511602000000-000-11511300008778693X-1-00"),
        listing_row(
            item_code="511F09014010-511602000000-000-11511300008778693M-1-00", type="行政许可"
        ),
        listing_row(task_type_code="99", item_code="X-511602000000-000-11511300008778693M-1-00"),
    ]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    report = tmp_path / "report.csv"
    with Session(engine) as session:
        before = session.execute(select(func.count(RecordVersion.id))).scalar_one()
    proc = run_cli(url, "import", str(path), "--report", str(report))
    assert proc.returncode == 2, proc.stderr
    assert "1 created, 0 unchanged, 3 rejected, 2 duplicates" in proc.stdout
    lines = {(int(x["row"]), x["outcome"], x["field"], x["rule"]) for x in report_lines(report)}
    assert lines == {
        (2, "duplicate", "duplicate_of_previous", "duplicate"),
        (3, "duplicate", "item_code", "duplicate"),
        (4, "rejected", "item_code", "credit_code.check_digit"),
        (5, "rejected", "type", "item_type.mismatch"),
        (6, "rejected", "task_type_code", "code_list.item_types"),
    }
    with Session(engine) as session:
        # one department, one entry, one item: three versions and no more
        after = session.execute(select(func.count(RecordVersion.id))).scalar_one()
        assert after - before == 3
        assert (
            session.execute(
                select(func.count()).select_from(Implementation).where(Implementation.status == "7")
            ).scalar_one()
            == 1
        )
    bad = run_cli(url, "import", str(path), "--profile", "nonsense")
    assert bad.returncode == 1 and "unknown profile" in bad.stderr
    engine.dispose()


def test_a_body_named_otherwise_is_read_only_as_the_one_body_that_fits(tmp_path: Path) -> None:
    """A row naming its body by the organisation code inside a credit code (GB 32100
    positions 9-17), or by the credit code with one character missing, is read as that body
    when exactly one body of the same short name carries it; else it is rejected."""
    url = f"sqlite:///{tmp_path}/bodies.db"
    engine = build_database(url)
    path = tmp_path / "listing.json"
    local = "511F0901401{}-511602000000-000-{}-1-00"
    rows = [
        listing_row(),  # 区公安分局 by its credit code 11511300008778693M
        listing_row(id="t-2", item_code=local.format(1, "00877869-3")),
        listing_row(id="t-3", item_code=local.format(2, "1151130000877869M")),
        listing_row(id="t-4", item_code=local.format(3, "008778693"), department="区人社局"),
        listing_row(id="t-5", item_code=local.format(4, "008778694")),  # bad check digit
    ]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    report = tmp_path / "report.csv"
    proc = run_cli(url, "import", str(path), "--report", str(report))
    assert proc.returncode == 2, proc.stderr
    assert "3 created, 0 unchanged, 2 rejected" in proc.stdout
    lines = {(int(x["row"]), x["outcome"], x["rule"]) for x in report_lines(report)}
    assert lines == {
        (2, "note", "credit_code.organisation_code"),
        (3, "note", "credit_code.missing_character"),
        (4, "rejected", "credit_code.length"),
        (5, "rejected", "credit_code.length"),
    }
    with Session(engine) as session:
        codes = {
            i.local_code: i.code[:18]
            for i in session.execute(
                select(Implementation).where(Implementation.source_system == "sczwfw")
            ).scalars()
        }
    assert codes == {r["item_code"]: "11511300008778693M" for r in rows[:3]}
    engine.dispose()
