"""Deposit interest by 积数 (domain.md section 4) against a day-by-day oracle."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.interest.rules import (
    interest_fen,
    interest_from_jishu,
    jishu_fen_days,
    jishu_increment,
)

# --- day-by-day oracle ---------------------------------------------------------------------------


def days(start: date, end: date) -> list[date]:
    out, day = [], start
    while day <= end:
        out.append(day)
        day += timedelta(days=1)
    return out


def end_of_day_balances(
    opening: int, txns: list[tuple[date, int]], start: date, end: date
) -> list[tuple[date, int]]:
    """(day, end-of-day balance) for every day, postings counted from their own day."""
    balance, out = opening, []
    for day in days(start, end):
        balance += sum(a for d, a in txns if d == day)
        out.append((day, balance))
    return out


def oracle_jishu(opening: int, txns: list[tuple[date, int]], start: date, end: date) -> int:
    return sum(b for _, b in end_of_day_balances(opening, txns, start, end))


def oracle_interest(
    opening: int,
    txns: list[tuple[date, int]],
    start: date,
    end: date,
    rates: list[tuple[date, str]],
) -> int:
    """Σ over days of balance × (rate in force that day) / 100 / 360, rounded half-up once."""
    total = Fraction(0)
    for day, balance in end_of_day_balances(opening, txns, start, end):
        in_force = max((r for r in rates if r[0] <= day), key=lambda r: r[0])
        total += Fraction(balance) * Fraction(in_force[1]) / 100 / 360
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    whole = magnitude.numerator // magnitude.denominator
    return sign * (whole + 1 if magnitude - whole >= Fraction(1, 2) else whole)


# --- strategies ----------------------------------------------------------------------------------


@st.composite
def periods(draw: st.DrawFn) -> tuple[int, list[tuple[date, int]], date, date]:
    start = draw(st.dates(min_value=date(2010, 1, 1), max_value=date(2035, 12, 31)))
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=800)))
    opening = draw(st.integers(min_value=0, max_value=10**9))
    txn_dates = st.dates(min_value=start, max_value=end)
    amounts = st.integers(min_value=-(10**8), max_value=10**8)
    txns = draw(st.lists(st.tuples(txn_dates, amounts), max_size=25))
    return opening, txns, start, end


rate_values = st.integers(min_value=0, max_value=9_999).map(lambda m: str(Decimal(m).scaleb(-2)))


@settings(max_examples=200, deadline=None)
@given(periods())
def test_jishu_matches_the_day_by_day_oracle(
    case: tuple[int, list[tuple[date, int]], date, date],
) -> None:
    opening, txns, start, end = case
    assert jishu_fen_days(opening, txns, start, end) == oracle_jishu(opening, txns, start, end)


@settings(max_examples=200, deadline=None)
@given(periods())
def test_increments_plus_opening_equal_the_day_by_day_jishu(
    case: tuple[int, list[tuple[date, int]], date, date],
) -> None:
    opening, txns, start, end = case
    incremental = opening * ((end - start).days + 1) + sum(
        jishu_increment(a, d, end) for d, a in txns
    )
    assert incremental == oracle_jishu(opening, txns, start, end)


@settings(max_examples=200, deadline=None)
@given(periods(), rate_values)
def test_single_rate_interest_matches_the_oracle(
    case: tuple[int, list[tuple[date, int]], date, date], rate: str
) -> None:
    opening, txns, start, end = case
    expected = oracle_interest(opening, txns, start, end, [(start, rate)])
    assert interest_fen(opening, txns, start, end, Decimal(rate)) == expected
    assert interest_fen(opening, txns, start, end, [(start, Decimal(rate))]) == expected
    jishu = jishu_fen_days(opening, txns, start, end)
    assert interest_from_jishu(jishu, Decimal(rate)) == expected


@settings(max_examples=200, deadline=None)
@given(periods(), st.data())
def test_rate_changes_match_the_oracle(
    case: tuple[int, list[tuple[date, int]], date, date], data: st.DataObject
) -> None:
    opening, txns, start, end = case
    # An entry in force before the period, possibly some inside it, possibly some after it.
    before = start - timedelta(days=data.draw(st.integers(min_value=0, max_value=400)))
    inside = data.draw(
        st.lists(
            st.dates(min_value=start, max_value=end + timedelta(days=30)),
            unique=True,
            max_size=4,
        )
    )
    effective = [before, *(d for d in inside if d != before)]
    rates = [(d, data.draw(rate_values)) for d in effective]
    expected = oracle_interest(opening, txns, start, end, rates)
    shuffled = data.draw(st.permutations(rates))
    assert interest_fen(opening, txns, start, end, [(d, Decimal(r)) for d, r in shuffled]) == (
        expected
    )


def test_golden_issue_example() -> None:
    # Opening 10,000 yuan, +1,200 on 2022-08-15, −5,000 on 2023-03-01,
    # period 2022-07-01..2023-06-30, rate 1.5%.
    # Days: 2022-07-01..2023-06-30 = 365; 2022-08-15..2023-06-30 = 17 (Aug) + 30 + 31 + 30 + 31
    #   + 31 + 28 + 31 + 30 + 31 + 30 = 320; 2023-03-01..2023-06-30 = 31 + 30 + 31 + 30 = 122.
    # jishu = 10,000 × 365 + 1,200 × 320 − 5,000 × 122 = 3,650,000 + 384,000 − 610,000
    #       = 3,424,000 yuan·days
    # interest = 3,424,000 × 0.015 / 360 = 51,360 / 360 = 142.666... -> 142.67 yuan
    txns = [(date(2022, 8, 15), 120_000), (date(2023, 3, 1), -500_000)]
    start, end = date(2022, 7, 1), date(2023, 6, 30)
    assert jishu_fen_days(1_000_000, txns, start, end) == 3_424_000 * 100
    assert interest_fen(1_000_000, txns, start, end, Decimal("1.5")) == 14267
    assert jishu_increment(120_000, date(2022, 8, 15), end) == 120_000 * 320


def test_golden_rate_change_inside_the_period() -> None:
    # Same account, rate 1.5% until 2022-12-31 and 1.75% from 2023-01-01:
    # part 1 (2022-07-01..12-31): 10,000 × 45 + 11,200 × 139 = 2,006,800 yuan·days
    #   -> 2,006,800 × 0.015 / 360 = 83.6166...
    # part 2 (2023-01-01..06-30): 11,200 × 59 + 6,200 × 122 = 1,417,200 yuan·days
    #   -> 1,417,200 × 0.0175 / 360 = 68.8916...
    # sum 152.5083... -> 152.51 yuan
    txns = [(date(2022, 8, 15), 120_000), (date(2023, 3, 1), -500_000)]
    rates = [(date(2016, 2, 21), Decimal("1.5")), (date(2023, 1, 1), Decimal("1.75"))]
    assert interest_fen(1_000_000, txns, date(2022, 7, 1), date(2023, 6, 30), rates) == 15251


def test_rate_change_parts_are_summed_unrounded_and_rounded_once() -> None:
    # 60 yuan on 2023-01-01 at 1.8%: 60 × 0.018 / 360 = 0.003 yuan (0.3 fen);
    # −30 on 2023-01-02, 30 yuan at 3.6%: 30 × 0.036 / 360 = 0.003 yuan (0.3 fen).
    # Rounded once: 0.6 fen -> 1 fen; rounding each part would give 0 + 0 = 0.
    rates = [(date(2023, 1, 1), Decimal("1.8")), (date(2023, 1, 2), Decimal("3.6"))]
    txns = [(date(2023, 1, 2), -3_000)]
    assert interest_fen(6_000, txns, date(2023, 1, 1), date(2023, 1, 2), rates) == 1


def test_interest_rounds_half_up_on_an_exact_tie() -> None:
    # 120 yuan for one day at 1.5%: 120 × 0.015 / 360 = 0.005 yuan = 0.5 fen -> 1 fen.
    assert interest_fen(12_000, [], date(2023, 1, 1), date(2023, 1, 1), Decimal("1.5")) == 1
    # 119.99 yuan: 0.49995 fen -> 0.
    assert interest_fen(11_999, [], date(2023, 1, 1), date(2023, 1, 1), Decimal("1.5")) == 0


def test_a_posting_counts_from_its_own_day() -> None:
    start, end = date(2023, 1, 1), date(2023, 1, 10)
    # On the first day it counts all 10 days; on the last day exactly one day.
    assert jishu_fen_days(0, [(start, 100)], start, end) == 1_000
    assert jishu_fen_days(0, [(end, 100)], start, end) == 100
    assert jishu_increment(100, end, end) == 100
    assert jishu_increment(100, end + timedelta(days=1), end) == 0


def test_a_rate_in_force_before_the_period_applies() -> None:
    # 36,500 yuan all of 2023 (365 days) at 1.5% since 2016: 36,500 × 365 × 0.015 / 360
    # = 555.1041... -> 555.10 yuan.
    rates = [(date(2016, 2, 21), Decimal("1.5")), (date(2030, 1, 1), Decimal("9"))]
    assert interest_fen(3_650_000, [], date(2023, 1, 1), date(2023, 12, 31), rates) == 55510


def test_long_period_with_many_postings_is_not_a_day_loop() -> None:
    # A thousand years and 5,000 postings: a loop over days would take far longer than this test.
    start, end = date(1000, 1, 1), date(2999, 12, 31)
    txns = [(start + timedelta(days=137 * k), 100) for k in range(5_000)]
    jishu = jishu_fen_days(0, txns, start, end)
    assert jishu == sum(100 * ((end - d).days + 1) for d, _ in txns)
    rates = [(start, Decimal("1.5")), (date(2000, 1, 1), Decimal("1.1"))]
    assert interest_fen(0, txns, start, end, rates) > 0


@pytest.mark.parametrize(
    "txn_date",
    [date(2022, 6, 30), date(2023, 7, 1)],
)
def test_postings_outside_the_period_are_refused(txn_date: date) -> None:
    with pytest.raises(InvalidInput) as caught:
        jishu_fen_days(0, [(txn_date, 100)], date(2022, 7, 1), date(2023, 6, 30))
    assert str(txn_date) in caught.value.message_zh and str(txn_date) in caught.value.message_en
    with pytest.raises(InvalidInput):
        interest_fen(0, [(txn_date, 100)], date(2022, 7, 1), date(2023, 6, 30), Decimal("1.5"))


def test_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidInput):
        jishu_fen_days(0, [], date(2023, 1, 2), date(2023, 1, 1))


@pytest.mark.parametrize(
    "rates",
    [
        [(date(2023, 1, 2), Decimal("1.5"))],  # nothing in force on the first day
        [(date(2023, 1, 1), Decimal("1.5")), (date(2023, 1, 1), Decimal("1.75"))],  # duplicate
        [(date(2023, 1, 1), Decimal("-1"))],
        [(date(2023, 1, 1), Decimal("100"))],
    ],
)
def test_bad_rates_are_refused(rates: list[tuple[date, Decimal]]) -> None:
    with pytest.raises(InvalidInput):
        interest_fen(100, [], date(2023, 1, 1), date(2023, 1, 31), rates)


def test_non_integer_money_is_refused() -> None:
    with pytest.raises(InvalidInput):
        jishu_fen_days(1.5, [], date(2023, 1, 1), date(2023, 1, 2))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        jishu_fen_days(0, [(date(2023, 1, 1), Decimal(1))], date(2023, 1, 1), date(2023, 1, 2))  # type: ignore[list-item]
