"""ID numbers (GB 11643) and unified social credit codes (GB 32100)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.identifiers import (
    is_valid_id_number,
    make_id_number,
    make_uscc,
    parse_id_number,
    parse_uscc,
)

# The standard's own worked example (GB 11643-1999 annex): 11010519491231002X.
STANDARD_EXAMPLE = "11010519491231002X"


def test_standard_example_and_decoding() -> None:
    parsed = parse_id_number(STANDARD_EXAMPLE.lower())
    assert parsed.value == STANDARD_EXAMPLE
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"  # 17th digit 2 is even
    assert parsed.region == "110105"


def oracle_check(first17: str) -> str:
    """Independent form of the ISO 7064 MOD 11-2 rule: weights are 2^(17-i) mod 11."""
    s = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    return "X" if (12 - s % 11) % 11 == 10 else str((12 - s % 11) % 11)


@given(
    region=st.from_regex(r"\A[1-6][0-9]{5}\Z"),
    birth=st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31)),
    seq=st.integers(0, 999),
    male=st.booleans(),
)
def test_generated_numbers_validate_and_match_oracle(
    region: str, birth: date, seq: int, male: bool
) -> None:
    value = make_id_number(region, birth, seq, male=male)
    assert value[17] == oracle_check(value[:17])
    parsed = parse_id_number(value)
    assert parsed.birth_date == birth and parsed.sex == ("M" if male else "F")


@given(st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(position: int, delta: int) -> None:
    good = make_id_number("371302", date(1990, 1, 1), 123, male=True)
    digit = (int(good[position]) + delta) % 10
    bad = good[:position] + str(digit) + good[position + 1 :]
    assert not is_valid_id_number(bad)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "123",
        "37130219900101123",
        "3713021990010112345",
        "371302199013011239",
        "37130219900101123A",
    ],
)
def test_malformed_id_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_id_number(text)


def test_uscc_check_digit() -> None:
    code = make_uscc("91371300MA3C00000")
    assert parse_uscc(code.lower()) == code
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(InvalidInput, match="check digit"):
        parse_uscc(wrong)
    with pytest.raises(InvalidInput):
        parse_uscc("91371300MA3C0000I")  # I is not in the alphabet and too short
