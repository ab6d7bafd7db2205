"""Properties of hpf.money: parse/format round trips, half-up rounding against an exact oracle."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.money import (
    fen_from_yuan,
    fen_round,
    format_wan,
    format_yuan,
    parse_amount,
    parse_rate,
    round_half_up,
    to_decimal,
    truncate_to,
    yuan_from_fen,
)

fens = st.integers(min_value=-(10**15), max_value=10**15)


def oracle_round_half_up(value: Fraction, quantum: Fraction) -> Fraction:
    """Half-up (ties away from zero) rounding of an exact rational to a multiple of quantum."""
    steps = abs(value) / quantum
    whole = int(steps)  # floor, steps >= 0
    if steps - whole >= Fraction(1, 2):
        whole += 1
    return (whole if value >= 0 else -whole) * quantum


@given(fens)
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_amount(format_yuan(fen)) == fen
    assert parse_amount(format_yuan(fen, grouping=True)) == fen


@given(fens)
def test_format_yuan_has_exactly_two_decimals_and_the_right_value(fen: int) -> None:
    text = format_yuan(fen)
    whole, _, cents = text.lstrip("-").partition(".")
    assert len(cents) == 2 and whole.isdigit()
    assert Fraction(text) == Fraction(fen, 100)


@given(fens)
def test_yuan_from_fen_is_exact(fen: int) -> None:
    yuan = yuan_from_fen(fen)
    assert yuan * 100 == fen
    assert yuan.as_tuple().exponent == -2


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["万", "万元"]))
def test_wan_unit_means_ten_thousand_yuan(n: int, unit: str) -> None:
    assert parse_amount(f"{n}{unit}") == n * 10_000 * 100


@given(st.integers(min_value=0, max_value=10**4))
def test_yi_unit_means_a_hundred_million_yuan(n: int) -> None:
    assert parse_amount(f"{n}亿") == n * 100_000_000 * 100


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1,234.56", 123456),
        ("1234.56元", 123456),
        ("5万元", 5_000_000),
        ("100万", 100_000_000),
        ("1.5万", 1_500_000),
        ("-5000", -500000),
        (".5", 50),
        ("0", 0),
    ],
)
def test_parse_amount_examples(text: str, fen: int) -> None:
    assert parse_amount(text) == fen


@pytest.mark.parametrize("text", ["", "abc", "1.234", "1..2", "12$", "1.2.3", "万"])
def test_parse_amount_refuses_malformed_or_sub_fen(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(text)


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=0, max_value=6),
)
def test_round_half_up_matches_exact_oracle(mantissa: int, places: int) -> None:
    value = Decimal(mantissa).scaleb(-places)
    expected = oracle_round_half_up(Fraction(mantissa, 10**places), Fraction(1, 100))
    assert Fraction(round_half_up(value)) == expected


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_round_half_up_ties_go_away_from_zero(cents: int) -> None:
    tie = Decimal(cents).scaleb(-2) + (Decimal("0.005") if cents >= 0 else Decimal("-0.005"))
    away = cents + (1 if cents >= 0 else -1)
    assert round_half_up(tie) == Decimal(away).scaleb(-2)


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(0, 5))
def test_fen_from_yuan_and_fen_round_match_oracle(mantissa: int, places: int) -> None:
    yuan = Decimal(mantissa).scaleb(-places)
    expected = int(oracle_round_half_up(Fraction(mantissa, 10**places) * 100, Fraction(1)))
    assert fen_from_yuan(yuan) == expected
    assert fen_round(yuan * 100) == expected


def test_floats_are_refused() -> None:
    with pytest.raises(InvalidInput):
        to_decimal(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        format_yuan(1.0)  # type: ignore[arg-type]


def test_format_wan_rounds_half_up() -> None:
    # 123456789 fen = 1,234,567.89 yuan = 123.456789 万 -> 123.46
    assert format_wan(123456789) == "123.46"
    # 12345000 fen = 123,450 yuan = 12.345 万 -> tie, half-up -> 12.35
    assert format_wan(12_345_000) == "12.35"


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=10**6))
def test_truncate_to_rounds_down_to_a_multiple(fen: int, unit: int) -> None:
    result = truncate_to(fen, unit)
    assert result % unit == 0
    assert 0 <= fen - result < unit


@pytest.mark.parametrize(("text", "rate"), [("3.1", "3.1"), ("3.1%", "3.1"), ("0", "0")])
def test_parse_rate(text: str, rate: str) -> None:
    assert parse_rate(text) == Decimal(rate)


@pytest.mark.parametrize("text", ["-0.1", "100", "abc"])
def test_parse_rate_refuses_out_of_range(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_rate(text)
