"""Overdue loans (逾期): penalty interest, aging buckets, overdue amount and ratio (domain.md §6)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.loans.overdue import (
    AgingBucket,
    AgingLine,
    UnpaidInstallment,
    aging_bucket,
    arrears_aging,
    days_overdue,
    days_past_due,
    format_overdue_ratio,
    installment_penalty,
    overdue_amount,
    overdue_ratio,
    penalty_interest,
)
from hpf.policy.loader import load_shipped_policy
from hpf.policy.schema import OverdueEntry
from loan_oracle import half_up

POLICY = load_shipped_policy().on(date(2024, 6, 1)).overdue  # factor 1.5, day count 360


@pytest.mark.parametrize(
    ("amount", "rate", "days", "policy", "expected"),
    [
        # 5,000.00 × 3.1% × 1.5 / 360 × 30 = 19.375 -> 19.38 (a tie, rounded half-up)
        (500_000, "3.1", 30, POLICY, 1938),
        # 4,270.16 × 3.25% × 1.5 / 360 × 10 = 5.78251... -> 5.78
        (427_016, "3.25", 10, POLICY, 578),
        # 100,000.00 × 2.85% × 1.5 / 360 × 181 = 2149.3750 -> 2149.38
        (10_000_000, "2.85", 181, POLICY, 214_938),
        # paid on the due date: 0 days, no penalty
        (500_000, "3.1", 0, POLICY, 0),
        # a policy with factor 1.3 and 365 days: 5,000 × 3.1% × 1.3 / 365 × 30 = 16.5616... -> 16.56
        (
            500_000,
            "3.1",
            30,
            POLICY.model_copy(update={"penalty_factor": Decimal("1.3"), "day_count": 365}),
            1656,
        ),
    ],
)
def test_penalty_interest_by_hand(
    amount: int, rate: str, days: int, policy: OverdueEntry, expected: int
) -> None:
    assert penalty_interest(amount, Decimal(rate), days, policy) == expected


def test_days_overdue_and_installment_penalty() -> None:
    due = date(2024, 1, 31)
    assert days_overdue(due, date(2024, 1, 31)) == 0
    assert days_overdue(due, date(2024, 1, 15)) == 0
    assert days_overdue(due, date(2024, 2, 1)) == 1
    assert days_overdue(due, date(2024, 3, 1)) == 30  # 29 days of a leap February + 1
    # principal 1,686.83 + interest 2,583.33 = 4,270.16 unpaid 30 days at 3.1%:
    # 4270.16 × 0.031 × 1.5 / 360 × 30 = 16.5468... -> 16.55
    unpaid = UnpaidInstallment(1, due, 168_683, 258_333)
    assert installment_penalty(unpaid, Decimal("3.1"), date(2024, 3, 1), POLICY) == 1655


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, None),
        (1, AgingBucket.DAYS_1_30),
        (30, AgingBucket.DAYS_1_30),
        (31, AgingBucket.DAYS_31_90),
        (90, AgingBucket.DAYS_31_90),
        (91, AgingBucket.DAYS_91_180),
        (180, AgingBucket.DAYS_91_180),
        (181, AgingBucket.OVER_180),
        (3650, AgingBucket.OVER_180),
    ],
)
def test_aging_bucket_boundaries(days: int, bucket: AgingBucket | None) -> None:
    assert aging_bucket(days) is bucket


BOOK = [
    # due dates of a loan with arrears, reckoned on 2024-06-30
    UnpaidInstallment(1, date(2023, 12, 20), 100_000, 20_000),  # 193 days: over 180
    UnpaidInstallment(2, date(2024, 1, 20), 100_500, 19_500),  # 162 days: 91-180
    UnpaidInstallment(5, date(2024, 4, 20), 102_000, 18_000),  # 71 days: 31-90
    UnpaidInstallment(6, date(2024, 5, 20), 102_500, 17_500),  # 41 days: 31-90
    UnpaidInstallment(7, date(2024, 6, 20), 103_000, 17_000),  # 10 days: 1-30
    UnpaidInstallment(8, date(2024, 6, 30), 103_500, 16_500),  # due on the period end: not yet
]


def test_arrears_aging_of_a_book() -> None:
    on = date(2024, 6, 30)
    assert arrears_aging(BOOK, on) == [
        AgingLine(AgingBucket.DAYS_1_30, 1, 103_000, 17_000),
        AgingLine(AgingBucket.DAYS_31_90, 2, 204_500, 35_500),
        AgingLine(AgingBucket.DAYS_91_180, 1, 100_500, 19_500),
        AgingLine(AgingBucket.OVER_180, 1, 100_000, 20_000),
    ]
    assert days_past_due(BOOK, on) == 193
    assert days_past_due([], on) == 0
    assert AgingBucket.OVER_180.label_zh == "逾期180天以上"


def test_overdue_amount_and_ratio() -> None:
    # 逾期额 = unpaid principal past due at 2024-06-30: 1,000 + 1,005 + 1,020 + 1,025 + 1,030
    # = 5,080.00 (installment 8, due that day, is not past due; interest is not counted).
    amount = overdue_amount(BOOK, date(2024, 6, 30))
    assert amount == 508_000
    # 逾期率 = 5,080 / 2,032,000 = 0.0025 = 0.25% (under the seed's 0.3%).
    assert overdue_ratio(amount, 203_200_000) == Decimal("0.0025")
    assert format_overdue_ratio(amount, 203_200_000) == "0.25%"
    # National 2021 for scale: 0.03%.
    assert format_overdue_ratio(3, 10_000) == "0.03%"
    assert overdue_ratio(0, 0) == Decimal(0)


@pytest.mark.parametrize(
    ("overdue", "balance"), [(1, 0), (-1, 100), (101, 100), (True, 100), (1, -5)]
)
def test_overdue_ratio_refuses_impossible_figures(overdue: int, balance: int) -> None:
    with pytest.raises(InvalidInput):
        overdue_ratio(overdue, balance)


def test_invalid_penalty_inputs() -> None:
    with pytest.raises(InvalidInput):
        penalty_interest(-1, Decimal("3.1"), 3, POLICY)
    with pytest.raises(InvalidInput):
        penalty_interest(100, Decimal("3.1"), -3, POLICY)
    with pytest.raises(InvalidInput):
        penalty_interest(100, 3.1, 3, POLICY)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        UnpaidInstallment(1, date(2024, 1, 1), -1, 0)
    with pytest.raises(InvalidInput):
        aging_bucket(-1)


@given(
    st.integers(min_value=0, max_value=10**10),
    st.integers(min_value=0, max_value=10_000).map(lambda m: Decimal(m).scaleb(-3)),
    st.integers(min_value=0, max_value=3_000),
    st.sampled_from(["1", "1.3", "1.5"]),
    st.sampled_from([360, 365]),
)
def test_penalty_is_the_exact_formula_rounded_once(
    amount: int, rate: Decimal, days: int, factor: str, day_count: int
) -> None:
    policy = POLICY.model_copy(update={"penalty_factor": Decimal(factor), "day_count": day_count})
    exact = Fraction(amount) * Fraction(rate) / 100 * Fraction(factor) / day_count * days
    assert penalty_interest(amount, rate, days, policy) == half_up(exact)
    assert penalty_interest(amount, rate, days + 1, policy) >= penalty_interest(
        amount, rate, days, policy
    )


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-400, max_value=400),
            st.integers(min_value=0, max_value=10**8),
            st.integers(min_value=0, max_value=10**7),
        ),
        max_size=12,
    ),
    st.integers(min_value=0, max_value=10**9),
)
def test_aging_and_ratio_properties(rows: list[tuple[int, int, int]], extra: int) -> None:
    on = date(2024, 6, 30)
    unpaid = [
        UnpaidInstallment(k, on + timedelta(days=offset), principal, interest)
        for k, (offset, principal, interest) in enumerate(rows, start=1)
    ]
    lines = arrears_aging(unpaid, on)
    past_due = [u for u in unpaid if u.due_date < on and u.amount_fen > 0]
    assert sum(line.principal_fen for line in lines) == sum(u.principal_fen for u in past_due)
    assert sum(line.interest_fen for line in lines) == sum(u.interest_fen for u in past_due)
    amount = overdue_amount(unpaid, on)
    assert amount == sum(u.principal_fen for u in unpaid if u.due_date < on)
    balance = sum(u.principal_fen for u in unpaid) + extra
    ratio = overdue_ratio(amount, balance)
    assert Decimal(0) <= ratio <= Decimal(1)
