"""Whole-catalogue evaluation (``catalogue quality``) of the seed and of the 广安区 listing
(tests/data/items_guangan_sample.json; the full list beside the checkout when present),
on SQLite and PostgreSQL: the findings the writes recorded are the ones a re-evaluation
finds (nothing new, nothing fixed), and the counts per rule are printed for the record."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app.catalogue.models import Implementation
from app.catalogue.statuses import ItemStatus
from app.quality.models import QualityFinding
from tests.helpers import run_cli

DATA = Path(__file__).resolve().parents[1] / "data" / "items_guangan_sample.json"
FULL = Path(__file__).resolve().parents[3] / "shared" / "data" / "items_guangan.json"
LISTINGS = [
    pytest.param(DATA, id="sample"),
    pytest.param(
        FULL,
        id="full",
        marks=pytest.mark.skipif(not FULL.exists(), reason=f"{FULL} is not there"),
    ),
]


def by_rule(engine: Engine, region: str) -> Counter[str]:
    with Session(engine) as session:
        rows = session.execute(
            select(QualityFinding.rule, func.count())
            .where(QualityFinding.region_code.startswith(region))  # type: ignore[attr-defined]
            .group_by(QualityFinding.rule)
        ).all()
    return Counter(dict(rows))  # type: ignore[arg-type]


def test_the_seed_as_the_writes_left_it(own_engine: Engine) -> None:
    url = own_engine.url.render_as_string(hide_password=False)
    before = by_rule(own_engine, "23")
    ran = run_cli(url, "quality", "--fail-on", "error")
    assert ran.returncode == 0, ran.stderr
    assert "0 findings new, 0 fixed" in ran.stdout
    assert by_rule(own_engine, "23") == before
    print("seed findings by rule:", dict(sorted(before.items())))
    # the seed is complete: only material rules find something
    assert before and all(rule.startswith("M-") for rule in before)


@pytest.mark.parametrize("listing", LISTINGS)
def test_the_guangan_listing(own_engine: Engine, listing: Path) -> None:
    url = own_engine.url.render_as_string(hide_password=False)
    imported = run_cli(url, "import", str(listing))
    assert imported.returncode in (0, 2), imported.stderr
    found = by_rule(own_engine, "5116")
    with Session(own_engine) as session:
        items = session.execute(
            select(func.count()).where(Implementation.region_code.startswith("5116"))  # type: ignore[attr-defined]
        ).scalar_one()
        incomplete = session.execute(
            select(func.count()).where(
                Implementation.region_code.startswith("5116"),  # type: ignore[attr-defined]
                Implementation.status == ItemStatus.INCOMPLETE,
            )
        ).scalar_one()
    ran = run_cli(url, "quality", "--region", "511602", "--fail-on", "error")
    assert ran.returncode == 3, ran.stderr  # a listing without guides is far from the standard
    assert re.search(rf"evaluated {items} items: 0 findings new, 0 fixed", ran.stdout)
    print(
        f"{listing.name}: {items} items ({incomplete} 待完善), findings by rule:",
        dict(sorted(found.items())),
    )
    # a listing carries no guide: every item lacks its consultation channel and process
    assert found["E-CONSULTATION"] == found["E-PROCESS"] == incomplete == items
