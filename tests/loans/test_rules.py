"""Loan schedules (等额本息 / 等额本金) against an independent exact oracle (domain.md section 6).

The oracle below re-derives every row from the closed formulas with ``fractions.Fraction`` and its
own due-date arithmetic; it shares no code with hpf.loans.rules.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.loans.rules import (
    Installment,
    RepaymentMethod,
    annuity_payment,
    annuity_schedule,
    linear_schedule,
    repayment_schedule,
    schedule_from,
    total_interest,
)

# --- independent oracle ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    n: int
    due_date: date
    payment: int
    principal: int
    interest: int
    balance: int


def half_up(x: Fraction) -> int:
    """Round an exact rational to the nearest integer, ties away from zero (四舍五入)."""
    if x < 0:
        return -half_up(-x)
    whole = x.numerator // x.denominator
    return whole + 1 if x - whole >= Fraction(1, 2) else whole


def oracle_due(first: date, k: int) -> date:
    """first due date moved k months on its own day of month, clamped (computed from first)."""
    year, month0 = divmod(first.year * 12 + first.month - 1 + k, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(first.day, last))


def monthly(rate_pct: str) -> Fraction:
    return Fraction(rate_pct) / 12 / 100


def oracle_payment(p: int, rate_pct: str, n: int) -> int:
    i = monthly(rate_pct)
    if i == 0:
        return half_up(Fraction(p, n))
    g = (1 + i) ** n
    return half_up(p * i * g / (g - 1))


def oracle_annuity(p: int, rate_pct: str, n: int, first: date) -> list[Row]:
    i, a, bal, rows = monthly(rate_pct), oracle_payment(p, rate_pct, n), p, []
    for k in range(1, n + 1):
        interest = half_up(bal * i)
        principal = bal if k == n else a - interest
        bal -= principal
        rows.append(
            Row(k, oracle_due(first, k - 1), principal + interest, principal, interest, bal)
        )
    return rows


def oracle_linear(p: int, rate_pct: str, n: int, first: date) -> list[Row]:
    i, part, bal, rows = monthly(rate_pct), half_up(Fraction(p, n)), p, []
    for k in range(1, n + 1):
        interest = half_up(bal * i)
        principal = bal if k == n else part
        bal -= principal
        rows.append(
            Row(k, oracle_due(first, k - 1), principal + interest, principal, interest, bal)
        )
    return rows


def divmod_ym(d: date) -> tuple[int, int]:
    return d.year, d.month


def as_rows(schedule: list[Installment]) -> list[Row]:
    return [Row(r.n, r.due_date, r.payment, r.principal, r.interest, r.balance) for r in schedule]


# --- strategies: realistic loans (1,000 yuan .. 3,000,000 yuan) ----------------------------------

principals = st.integers(min_value=100_000, max_value=300_000_000)
rates = st.one_of(
    st.just("0"),
    st.integers(min_value=1, max_value=15_000).map(lambda m: str(Decimal(m).scaleb(-3))),
    st.integers(min_value=1, max_value=9_999).map(lambda m: str(Decimal(m).scaleb(-2))),
)
terms = st.integers(min_value=1, max_value=360)
first_dues = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))


@settings(max_examples=150, deadline=None)
@given(principals, rates, terms, first_dues)
def test_annuity_schedule_matches_the_exact_oracle(p: int, rate: str, n: int, first: date) -> None:
    schedule = annuity_schedule(p, Decimal(rate), n, first)
    assert as_rows(schedule) == oracle_annuity(p, rate, n, first)
    assert annuity_payment(p, Decimal(rate), n) == oracle_payment(p, rate, n)


@settings(max_examples=150, deadline=None)
@given(principals, rates, terms, first_dues)
def test_linear_schedule_matches_the_exact_oracle(p: int, rate: str, n: int, first: date) -> None:
    assert as_rows(linear_schedule(p, Decimal(rate), n, first)) == oracle_linear(p, rate, n, first)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(RepaymentMethod)), principals, rates, terms, first_dues)
def test_schedule_invariants(
    method: RepaymentMethod, p: int, rate: str, n: int, first: date
) -> None:
    schedule = repayment_schedule(method, p, Decimal(rate), n, first)
    assert [r.n for r in schedule] == list(range(1, n + 1))
    assert sum(r.principal for r in schedule) == p
    assert schedule[-1].balance == 0
    assert all(r.payment == r.principal + r.interest for r in schedule)
    before = [p] + [r.balance for r in schedule[:-1]]
    assert all(b - r.balance == r.principal for b, r in zip(before, schedule, strict=True))
    for r in schedule:
        assert r.due_date.day == min(first.day, calendar.monthrange(*divmod_ym(r.due_date))[1])
    assert total_interest(schedule) == sum(r.interest for r in schedule)
    if method is RepaymentMethod.ANNUITY:
        payment = annuity_payment(p, Decimal(rate), n)
        assert all(r.payment == payment for r in schedule[:-1])
    else:
        assert len({r.principal for r in schedule[:-1]}) <= 1


NPF_CASES = [
    (100_000_000, "3.1", 360),
    (100_000_000, "3.25", 240),
    (60_000_000, "2.85", 300),
    (50_000_000, "2.6", 120),
    (30_000_000, "2.75", 60),
    (12_345_678, "3.575", 180),
    (80_000_000, "3.025", 12),
    (1_000_000, "4.9", 1),
    (25_000_000, "0", 36),
    (99_999_999, "2.1", 359),
]


@pytest.mark.parametrize(("p", "rate", "n"), NPF_CASES)
def test_annuity_payment_agrees_with_numpy_financial(p: int, rate: str, n: int) -> None:
    reference_yuan = float(npf.pmt(float(rate) / 1200, n, -p / 100))
    assert abs(annuity_payment(p, Decimal(rate), n) / 100 - round(reference_yuan, 2)) <= 0.0100001


def test_golden_one_million_at_3_1_percent_over_30_years_annuity() -> None:
    # i = 3.1 / 12 / 100 = 0.00258333...; (1+i)^360 = 2.53062...;
    # A = 1,000,000 × 0.00258333 × 2.53062 / 1.53062 = 4270.1640 yuan -> 4270.16
    # (numpy_financial.pmt: 4270.16398...). Installment 1: interest round(1,000,000 × i)
    # = round(2583.333) = 2583.33, principal 4270.16 − 2583.33 = 1686.83, balance 998,313.17.
    schedule = annuity_schedule(100_000_000, Decimal("3.1"), 360, date(2023, 2, 20))
    assert annuity_payment(100_000_000, Decimal("3.1"), 360) == 427016
    first = schedule[0]
    assert (first.payment, first.interest, first.principal, first.balance) == (
        427016,
        258333,
        168683,
        99_831_317,
    )
    assert first.due_date == date(2023, 2, 20)
    assert schedule[-1].due_date == date(2053, 1, 20)
    # The last installment settles the rest; its payment differs from A (4272.59 by the oracle)
    # and the total interest is 359 × 4270.16 + last − 1,000,000.
    last = schedule[-1]
    assert last.payment != 427016
    assert total_interest(schedule) == 359 * 427016 + last.payment - 100_000_000
    assert as_rows(schedule) == oracle_annuity(100_000_000, "3.1", 360, date(2023, 2, 20))


def test_golden_one_million_at_3_1_percent_over_30_years_linear() -> None:
    # principal round(1,000,000 / 360) = round(2777.777...) = 2777.78; interest on the full
    # principal round(2583.333) = 2583.33; first payment 5361.11.
    # Installment 2: balance 997,222.22 × i = 2576.157 -> 2576.16.
    # Last: principal 1,000,000 − 359 × 2777.78 = 2776.98, interest round(2776.98 × i) =
    # round(7.1739) = 7.17.
    schedule = linear_schedule(100_000_000, Decimal("3.1"), 360, date(2023, 2, 20))
    assert (schedule[0].principal, schedule[0].interest, schedule[0].payment) == (
        277778,
        258333,
        536111,
    )
    assert schedule[1].interest == 257616
    assert (schedule[-1].principal, schedule[-1].interest) == (277698, 717)
    # Close to the continuous approximation P·i·(n+1)/2 = 466,291.67 yuan.
    assert abs(total_interest(schedule) - 46_629_167) < 360


def test_small_annuity_by_hand_last_payment_differs() -> None:
    # 10,000 yuan at 12% (i = 1%) over 2 months:
    # A = 10000 × 0.01 × 1.0201 / 0.0201 = 5075.1243... -> 5075.12
    # 1: interest 100.00, principal 4975.12, balance 5024.88
    # 2: interest round(50.2488) = 50.25, principal 5024.88, payment 5075.13
    schedule = annuity_schedule(1_000_000, Decimal("12"), 2, date(2024, 1, 31))
    assert as_rows(schedule) == [
        Row(1, date(2024, 1, 31), 507512, 497512, 10000, 502488),
        Row(2, date(2024, 2, 29), 507513, 502488, 5025, 0),
    ]


def test_half_up_on_an_exact_tie() -> None:
    # 1 yuan at 6% (i = 0.5%) over one month: interest 0.5 fen exactly -> 1 fen (half-up);
    # A = P(1+i) = 100.5 fen -> 101 fen.
    assert annuity_payment(100, Decimal("6"), 1) == 101
    (row,) = annuity_schedule(100, Decimal("6"), 1, date(2024, 3, 1))
    assert (row.payment, row.principal, row.interest, row.balance) == (101, 100, 1, 0)


def test_zero_rate() -> None:
    # 12,000 yuan at 0% over 12 months: 1,000 yuan a month, no interest.
    schedule = annuity_schedule(1_200_000, Decimal("0"), 12, date(2024, 1, 15))
    assert annuity_payment(1_200_000, Decimal("0"), 12) == 100_000
    assert {r.payment for r in schedule} == {100_000}
    assert total_interest(schedule) == 0
    # 100 yuan over 3 months: round(33.333) = 33.33 twice, the last 33.34.
    assert [r.principal for r in annuity_schedule(10_000, Decimal(0), 3, date(2024, 1, 1))] == [
        3333,
        3333,
        3334,
    ]


def test_due_dates_are_computed_from_the_first_due_date_not_chained() -> None:
    schedule = annuity_schedule(1_000_000, Decimal("3.1"), 14, date(2023, 1, 31))
    assert [r.due_date for r in schedule[:4]] == [
        date(2023, 1, 31),
        date(2023, 2, 28),
        date(2023, 3, 31),
        date(2023, 4, 30),
    ]
    assert schedule[13].due_date == date(2024, 2, 29)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(list(RepaymentMethod)),
    st.integers(min_value=1_000_000, max_value=300_000_000),
    st.integers(min_value=0, max_value=10_000).map(lambda m: str(Decimal(m).scaleb(-3))),
    terms,
)
def test_realistic_loans_never_overpay(method: RepaymentMethod, p: int, rate: str, n: int) -> None:
    # >= 10,000 yuan at <= 10%: the rounding drift (<= 22.60 yuan) stays below the last
    # installment's principal, so every part and balance is non-negative.
    schedule = repayment_schedule(method, p, Decimal(rate), n, date(2024, 1, 1))
    assert all(r.principal >= 0 and r.interest >= 0 and r.balance >= 0 for r in schedule)
    assert all(a.balance >= b.balance for a, b in pairwise(schedule))


def test_degenerate_tiny_principal_follows_the_convention_literally() -> None:
    # 2 fen over 4 months at 0%: round(2 / 4) = round(0.5) = 1 fen a month for the first three
    # installments; the last pays the remaining balance, 2 − 3 = −1 fen (an overpayment).
    for method in RepaymentMethod:
        schedule = repayment_schedule(method, 2, Decimal(0), 4, date(2024, 1, 1))
        assert [r.principal for r in schedule] == [1, 1, 1, -1]
        assert [r.balance for r in schedule] == [1, 0, -1, 0]


def test_schedule_from_reprices_the_outstanding_balance() -> None:
    # Repricing on January 1: 11 installments paid at 3.1%, the rest at 2.85% from the balance.
    before = annuity_schedule(100_000_000, Decimal("3.1"), 360, date(2023, 2, 20))
    paid = before[:11]
    balance = paid[-1].balance
    after = schedule_from(balance, Decimal("2.85"), 12, 349, date(2023, 2, 20), "annuity")
    assert len(after) == 349
    assert after[0].n == 12
    assert sum(r.principal for r in after) == balance
    assert after[0].due_date == date(2024, 1, 20)
    assert after[0].payment == oracle_payment(balance, "2.85", 349)
    assert after[0].payment < before[11].payment


def test_repayment_method_values() -> None:
    assert RepaymentMethod("annuity") is RepaymentMethod.ANNUITY
    assert RepaymentMethod.LINEAR.value == "linear"
    assert str(RepaymentMethod.LINEAR) == "linear"
    with pytest.raises(InvalidInput):
        repayment_schedule("balloon", 100_000, Decimal(3), 12, date(2024, 1, 1))


@pytest.mark.parametrize(
    ("p", "rate", "n"),
    [
        (0, Decimal("3.1"), 12),
        (-100, Decimal("3.1"), 12),
        (100_000, Decimal("3.1"), 0),
        (100_000, Decimal("3.1"), 361),
        (100_000, Decimal("-0.1"), 12),
        (100_000, Decimal("100"), 12),
        (100_000, Decimal("NaN"), 12),
    ],
)
def test_invalid_inputs_are_refused_in_both_languages(p: int, rate: Decimal, n: int) -> None:
    for build in (annuity_schedule, linear_schedule):
        with pytest.raises(InvalidInput) as caught:
            build(p, rate, n, date(2024, 1, 1))
        assert caught.value.message_zh != caught.value.message_en
        assert caught.value.message_en.isascii()


def test_float_rate_is_refused() -> None:
    with pytest.raises(InvalidInput):
        annuity_payment(100_000, 3.1, 12)  # type: ignore[arg-type]
