"""The coding rules, on their own (no database)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc

from app.codes.rules import (
    CodeError,
    RegionFacts,
    implementation_code,
    make_credit_code,
    next_basic_code,
    organisation_check_digit,
    validate_basic_code,
    validate_credit_code,
    validate_implementation_code,
    validate_region_code,
)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
REAL_CREDIT_CODES = [
    "11450721MB15580811",
    "11450721348531435D",
    "114507210081153718",
    "115113010833722043",
]

org_bodies = st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8)
regions = st.from_regex(r"\A[1-6][0-9]{5}\Z")
credit_codes = st.builds(
    make_credit_code, st.sampled_from("159"), st.sampled_from("123"), regions, org_bodies
)


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code


#: letters in the registration authority / category positions (GB 32100: A 中央军委改革和编制办公室,
#: N 农业, Y 其他), which ``stdnum.cn.uscc.validate`` refuses
LETTER_HEADS = ["A1", "N2", "N3", "Y1"]


@pytest.mark.parametrize("head", LETTER_HEADS)
def test_letters_in_the_first_two_positions_validate(head: str) -> None:
    code = make_credit_code(head[0], head[1], "511602", "MA6D1X2B")
    assert validate_credit_code(code) == code
    assert not uscc.is_valid(code)  # what python-stdnum gets wrong
    broken = code[:17] + next(c for c in USCC_ALPHABET if c != code[17])
    with pytest.raises(CodeError) as err:
        validate_credit_code(broken)
    assert err.value.rule == "credit_code.check_digit"


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("11511301452259996u", "credit_code.format"),  # lower case: not the canonical form
        ("11A113010833722043", "credit_code.format"),  # a letter in the region code
        ("1151130108778239R", "credit_code.length"),
        ("TE5116020105116050", "credit_code.check_digit"),
    ],
)
def test_credit_code_rules_are_named(code: str, rule: str) -> None:
    with pytest.raises(CodeError) as err:
        validate_credit_code(code)
    assert err.value.rule == rule


@given(credit_codes)
def test_every_generated_credit_code_validates(code: str) -> None:
    assert validate_credit_code(code) == code


@given(credit_codes, st.integers(0, 17), st.sampled_from(USCC_ALPHABET + "IOSVZ"))
def test_every_single_character_change_is_caught(code: str, position: int, char: str) -> None:
    if code[position] == char:
        return
    tampered = code[:position] + char + code[position + 1 :]
    with pytest.raises(CodeError) as err:
        validate_credit_code(tampered)
    assert err.value.rule.startswith("credit_code.")


def test_organisation_check_digit_is_checked_on_its_own() -> None:
    # Change the organisation code's check digit and fix the final check digit: only the
    # GB 11714 check can catch it.
    code = "115113010833722043"
    org = code[8:16]
    wrong = "5" if organisation_check_digit(org) != "5" else "6"
    from stdnum.cn import uscc

    body = code[:16] + wrong
    tampered = body + uscc.calc_check_digit(body)
    with pytest.raises(CodeError) as err:
        validate_credit_code(tampered)
    assert err.value.rule == "credit_code.organisation_check_digit"


def test_basic_code_type_must_match_entry() -> None:
    assert validate_basic_code("000104002000", item_type="01").item_type == "01"
    with pytest.raises(CodeError) as err:
        validate_basic_code("000104002000", item_type="20")
    assert err.value.rule == "basic_code.item_type"
    with pytest.raises(CodeError) as err:
        validate_basic_code("00010400200", item_type="01")
    assert err.value.rule == "basic_code.layout"


def test_sub_item_extends_its_main_item() -> None:
    validate_basic_code("230101001002", item_type="01", parent="230101001000")
    with pytest.raises(CodeError):
        validate_basic_code("230101002001", item_type="01", parent="230101001000")


@given(
    st.sampled_from(["01", "07", "20"]),
    st.from_regex(r"\A[0-9]{2}\Z"),
    st.sets(st.integers(1, 998), max_size=20),
)
def test_next_basic_code_is_new_and_valid(item_type: str, domain: str, used: set[int]) -> None:
    issued = {f"23{item_type}{domain}{n:03d}000" for n in used}
    code = next_basic_code("23", item_type, domain, issued)
    assert code not in issued
    assert validate_basic_code(code, item_type=item_type, domain=domain).owner == "23"
    sub = next_basic_code("23", item_type, domain, issued | {code}, parent=code)
    assert sub.startswith(code[:9]) and sub.endswith("001")
    validate_basic_code(sub, item_type=item_type, parent=code)


def test_a_removed_code_is_not_issued_again() -> None:
    # 230101003000 was issued and its item deleted: the issued set still holds it
    issued = {"230101001000", "230101003000"}
    assert next_basic_code("23", "01", "01", issued) == "230101004000"


@given(credit_codes, st.sampled_from("23456"))
def test_built_implementation_codes_validate(credit: str, level: str) -> None:
    code = implementation_code(credit, level, "000104002000")
    assert len(code) == 31
    parsed = validate_implementation_code(code, basic_code_exists=True, department_level=level)
    assert parsed.credit_code == credit and parsed.basic_code == "000104002000"


def test_implementation_code_rules() -> None:
    good = "11450721MB15580811" + "4" + "000104002000"
    validate_implementation_code(good, basic_code_exists=True, department_level="4")
    with pytest.raises(CodeError, match="level"):
        validate_implementation_code(good, department_level="3")
    with pytest.raises(CodeError) as err:
        validate_implementation_code(good, basic_code_exists=False)
    assert err.value.rule == "implementation_code.basic_code"
    with pytest.raises(CodeError) as err:
        validate_implementation_code("11450721MB15580812" + "4" + "000104002000")
    assert err.value.rule == "credit_code.check_digit"
    with pytest.raises(CodeError) as err:
        validate_implementation_code("11450721MB15580811" + "9" + "000104002000")
    assert err.value.rule == "implementation_code.level"


def test_region_code_valid_on_date() -> None:
    facts = RegionFacts("230100", date(1990, 1, 1), date(2030, 1, 1))
    assert validate_region_code("230100", facts, date(2026, 1, 1)) == "230100"
    with pytest.raises(CodeError) as err:
        validate_region_code("230100", facts, date(2031, 1, 1))
    assert err.value.rule == "region_code.not_valid"
    with pytest.raises(CodeError) as err:
        validate_region_code("239999", None, date(2026, 1, 1))
    assert err.value.rule == "region_code.unknown"
