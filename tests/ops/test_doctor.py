"""``catalogue doctor`` on both databases: text stored before the text policy (planted
straight into the rows, past the API) is found with its table or kind, code, path, rule and
code point; a clean catalogue exits 0."""

from __future__ import annotations

import json
from typing import Any

import orjson
from sqlalchemy import Engine, select, update

from app.catalogue.models import Implementation, ItemFee, ItemMaterial
from app.directory.models import Department
from app.doctor import EXIT_FINDINGS
from app.stored_text import excerpt
from app.versionlog import RecordVersion
from tests.helpers import run_cli


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def items_with_conditions(engine: Engine, n: int) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Implementation.code, Implementation.guide).order_by(Implementation.code)
        ).all()
    codes = [code for code, guide in rows if guide and guide.get("conditions")]
    assert len(codes) >= n
    return codes[:n]


def latest_snapshot(engine: Engine, code: str) -> tuple[int, dict[str, Any]]:
    with engine.connect() as conn:
        version, snapshot = conn.execute(
            select(RecordVersion.version, RecordVersion.snapshot)
            .where(RecordVersion.kind == "item", RecordVersion.code == code)
            .order_by(RecordVersion.version.desc())  # type: ignore[attr-defined]
            .limit(1)
        ).one()
    return version, orjson.loads(snapshot)


def set_snapshot(engine: Engine, code: str, version: int, doc: dict[str, Any]) -> None:
    # orjson writes a NUL as the escape \u0000: plain ASCII, which a PostgreSQL text column
    # holds too (its JSON columns and text cannot)
    with engine.begin() as conn:
        conn.execute(
            update(RecordVersion)
            .where(
                RecordVersion.kind == "item",
                RecordVersion.code == code,
                RecordVersion.version == version,
            )
            .values(snapshot=orjson.dumps(doc).decode())
        )


def doctor(engine: Engine, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    proc = run_cli(url_of(engine), "doctor", "--format", "json", *args)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["where"], f["code"], f["path"], f["rule"], f["point"], f["version"])


def test_a_clean_catalogue_exits_0(own_engine: Engine) -> None:
    proc = run_cli(url_of(own_engine), "doctor")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout == ""
    assert "0 findings" in proc.stderr and "Traceback" not in proc.stderr


def test_doctor_finds_text_stored_before_the_policy(own_engine: Engine) -> None:
    engine = own_engine
    sqlite = engine.dialect.name == "sqlite"
    nul_item, bidi_item, old_item = items_with_conditions(engine, 3)

    # a NUL in the latest version's snapshot, deep in a long text
    version, doc = latest_snapshot(engine, nul_item)
    secret = "甲" * 300 + "a\x00b" + "乙" * 300
    doc["guide"]["conditions"][0] = secret
    set_snapshot(engine, nul_item, version, doc)

    with engine.begin() as conn:
        # U+202E in a stored guide (a JSON column)
        guide = conn.execute(
            select(Implementation.guide).where(Implementation.code == bidi_item)
        ).scalar_one()
        guide["conditions"][0] = "申请人\u202e须知"
        conn.execute(
            update(Implementation).where(Implementation.code == bidi_item).values(guide=guide)
        )
        # an ANSI escape in a one-line text column
        material, name = conn.execute(
            select(ItemMaterial.code, ItemMaterial.name).order_by(ItemMaterial.code).limit(1)
        ).one()
        conn.execute(
            update(ItemMaterial).where(ItemMaterial.code == material).values(name=name + "\x1b[31m")
        )
        # a zero-width space in a department's name
        dept, dept_name = conn.execute(
            select(Department.credit_code, Department.name).order_by(Department.credit_code)
        ).first()  # type: ignore[misc]
        conn.execute(
            update(Department)
            .where(Department.credit_code == dept)
            .values(name=dept_name[:2] + "\u200b" + dept_name[2:])
        )
        # a CR LF in a multi-line column is text; a lone CR is not
        fee, fee_two = conn.execute(select(ItemFee.code).order_by(ItemFee.code).limit(2)).scalars()
        conn.execute(update(ItemFee).where(ItemFee.code == fee).values(standard="每件\r\n10元"))
        if sqlite:  # a NUL in a text column: PostgreSQL cannot hold one at all
            conn.execute(update(ItemFee).where(ItemFee.code == fee_two).values(standard="a\x00"))
        else:
            conn.execute(update(ItemFee).where(ItemFee.code == fee_two).values(standard="a\rb"))

    # an item with a newer, clean version: its old version is no finding, unless asked
    version, doc = latest_snapshot(engine, old_item)
    doc["guide"]["conditions"][0] = "旧\u200b版"
    set_snapshot(engine, old_item, version, doc)
    doc["guide"]["conditions"][0] = "新版"
    doc["version"] = version + 1
    with engine.begin() as conn:
        row = conn.execute(
            select(RecordVersion).where(
                RecordVersion.kind == "item",
                RecordVersion.code == old_item,
                RecordVersion.version == version,
            )
        ).one()
        conn.execute(
            RecordVersion.__table__.insert().values(  # type: ignore[attr-defined]
                kind="item",
                code=old_item,
                version=version + 1,
                event="update",
                snapshot=orjson.dumps(doc).decode(),
                recorded_at=row.recorded_at,
            )
        )

    expected = {
        (
            "item",
            nul_item,
            "guide.conditions.0",
            "text.nul",
            "U+0000",
            version_of(engine, nul_item),
        ),
        ("implementation", bidi_item, "guide.conditions.0", "text.bidi", "U+202E", None),
        ("item_material", material, "name", "text.control", "U+001B", None),
        ("department", dept, "name", "text.invisible", "U+200B", None),
        (
            ("item_fee", fee_two, "standard", "text.nul", "U+0000", None)
            if sqlite
            else ("item_fee", fee_two, "standard", "text.control", "U+000D", None)
        ),
    }
    code, findings, summary = doctor(engine)
    assert code == EXIT_FINDINGS == 4, summary
    assert {key(f) for f in findings} == expected
    assert f"{len(expected)} findings" in summary

    nul = next(f for f in findings if f["rule"] == "text.nul" and f["where"] == "item")
    assert nul["offset"] == 301
    # 40 characters around the offender, escaped, never the stored text itself
    assert nul["context"] == excerpt(secret, 301) == "…" + "甲" * 19 + "a\\u0000b" + "乙" * 18 + "…"
    bidi = next(f for f in findings if f["rule"] == "text.bidi")
    assert bidi["context"] == "申请人\\u202e须知"

    everything = {key(f) for f in doctor(engine, "--all-versions")[1]}
    assert everything == {
        *expected,
        ("item", old_item, "guide.conditions.0", "text.invisible", "U+200B", version),
    }

    # the text format: one line a finding, the offender escaped
    proc = run_cli(url_of(engine), "doctor")
    assert proc.returncode == 4
    lines = proc.stdout.splitlines()
    assert len(lines) == len(expected)
    line = next(x for x in lines if x.startswith(f"item {nul_item} "))
    assert "guide.conditions.0: text.nul U+0000 at offset 301" in line
    assert "\x00" not in proc.stdout and "\u202e" not in proc.stdout and "\x1b" not in proc.stdout
    assert len(line) < 200


def version_of(engine: Engine, code: str) -> int:
    return latest_snapshot(engine, code)[0]
