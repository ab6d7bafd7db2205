"""Repricing (利率调整) of existing loans: the date, the rate timeline and the schedule after it.

Schedules are checked to the fen against the independent oracle of tests/loan_oracle.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.loans.position import advance, new_loan
from hpf.loans.prepayment import prepay
from hpf.loans.repricing import (
    RateChange,
    loan_rate_timeline,
    policy_schedule,
    reprice,
    reprice_date,
    repriced_schedule,
)
from hpf.loans.rules import Installment, annuity_payment
from hpf.policy.loader import load_shipped_policy
from hpf.policy.schema import LoanRateEntry
from loan_oracle import PrepayEvent, RateEvent, Row, oracle_loan

RATES = load_shipped_policy().document.loan_rate
"""The shipped history: 2015-08-26, 2022-10-01, 2024-05-18, 2025-05-08 (domain.md §6 table)."""


def entry(effective: date, **changes: object) -> LoanRateEntry:
    return RATES[-1].model_copy(update={"effective": effective, **changes})


def as_rows(schedule: list[Installment]) -> list[Row]:
    return [Row(r.n, r.due_date, r.payment, r.principal, r.interest, r.balance) for r in schedule]


@pytest.mark.parametrize(
    ("effective", "disbursed", "term", "changes", "expected"),
    [
        # Term over one year: January 1 of the year after the change.
        (date(2024, 5, 18), date(2023, 3, 1), 360, {}, date(2025, 1, 1)),
        (date(2025, 5, 8), date(2020, 1, 1), 13, {}, date(2026, 1, 1)),
        # A change on January 1 itself also waits a full year ("the following year").
        (date(2024, 1, 1), date(2023, 3, 1), 360, {}, date(2025, 1, 1)),
        (date(2024, 12, 31), date(2023, 3, 1), 360, {}, date(2025, 1, 1)),
        # Term of at most one year: keeps the contract rate.
        (date(2024, 5, 18), date(2023, 3, 1), 12, {}, None),
        # Disbursed on or after the change: the new rate is the contract rate, not a repricing.
        (date(2024, 5, 18), date(2024, 5, 18), 360, {}, None),
        (date(2024, 5, 18), date(2024, 9, 1), 360, {}, None),
        # A policy that reprices at once.
        (
            date(2024, 5, 18),
            date(2023, 3, 1),
            360,
            {"reprice_existing": "immediately"},
            date(2024, 5, 18),
        ),
    ],
)
def test_reprice_date(
    effective: date, disbursed: date, term: int, changes: dict[str, object], expected: date | None
) -> None:
    assert reprice_date(entry(effective, **changes), disbursed, term) == expected


def test_timeline_first_home_over_five_years() -> None:
    # Disbursed 2022-03-01 under the 2015-08-26 entry: 3.25%. The 2022-10-01 entry (3.10)
    # applies from 2023-01-01, 2024-05-18 (2.85) from 2025-01-01, 2025-05-08 (2.60) from 2026-01-01.
    timeline = loan_rate_timeline(RATES, date(2022, 3, 1), 360, second_home=False)
    assert [(c.applies_from, c.annual_rate_pct) for c in timeline] == [
        (date(2022, 3, 1), Decimal("3.25")),
        (date(2023, 1, 1), Decimal("3.10")),
        (date(2025, 1, 1), Decimal("2.85")),
        (date(2026, 1, 1), Decimal("2.60")),
    ]
    assert timeline[1] == RateChange(date(2023, 1, 1), Decimal("3.10"), date(2022, 10, 1))


def test_timeline_second_home_skips_an_unchanged_rate() -> None:
    # The 2022-10-01 entry kept second homes at 3.575%: no repricing on 2023-01-01.
    timeline = loan_rate_timeline(RATES, date(2022, 3, 1), 360, second_home=True)
    assert [(c.applies_from, c.annual_rate_pct) for c in timeline] == [
        (date(2022, 3, 1), Decimal("3.575")),
        (date(2025, 1, 1), Decimal("3.325")),
        (date(2026, 1, 1), Decimal("3.075")),
    ]


def test_timeline_short_band_and_short_term() -> None:
    # 60 months is the <=5-year band: 2.75 -> 2.60 -> 2.35 -> 2.10.
    five = loan_rate_timeline(RATES, date(2022, 3, 1), 60, second_home=False)
    assert [c.annual_rate_pct for c in five] == [
        Decimal(x) for x in ("2.75", "2.60", "2.35", "2.10")
    ]
    # 12 months: never repriced.
    assert len(loan_rate_timeline(RATES, date(2022, 3, 1), 12, second_home=False)) == 1
    with pytest.raises(InvalidInput):
        loan_rate_timeline(RATES, date(2015, 1, 1), 360, second_home=False)


def test_two_changes_in_one_year_the_latest_wins() -> None:
    rates = [
        RATES[0],
        entry(date(2023, 3, 1)),
        entry(date(2023, 9, 1), first_home_over_5y_pct=Decimal("2.2")),
    ]
    timeline = loan_rate_timeline(rates, date(2022, 3, 1), 360, second_home=False)
    assert [(c.applies_from, c.annual_rate_pct) for c in timeline] == [
        (date(2022, 3, 1), Decimal("3.25")),
        (date(2024, 1, 1), Decimal("2.2")),
    ]


def test_small_repricing_by_hand() -> None:
    # 10,000 yuan at 12% over 4 months, first due 2024-11-30; 6% from 2025-01-01.
    # A = 2562.81 (see test_prepayment). Due before 2025-01-01: installments 1 and 2, at 12%:
    # 1 (2024-11-30): interest 100.00, principal 2462.81, balance 7537.19
    # 2 (2024-12-30): interest round(75.3719) = 75.37, principal 2487.44, balance 5049.75
    # From installment 3 at 6% (i = 0.5%) over the 2 left:
    # A' = 5049.75 × 0.005 × 1.005^2 / (1.005^2 − 1) = 25.24875 × 1.010025 / 0.010025 = 2543.83
    # 3 (2025-01-30): interest round(25.24875) = 25.25 (half-up), principal 2518.58, bal 2531.17
    # 4 (2025-02-28): interest round(12.65585) = 12.66, pays 2531.17 + 12.66 = 2543.83
    rows = repriced_schedule(
        "annuity",
        1_000_000,
        4,
        date(2024, 11, 30),
        [(date(2024, 11, 1), Decimal(12)), (date(2025, 1, 1), Decimal(6))],
    )
    assert as_rows(rows) == [
        Row(1, date(2024, 11, 30), 256281, 246281, 10000, 753719),
        Row(2, date(2024, 12, 30), 256281, 248744, 7537, 504975),
        Row(3, date(2025, 1, 30), 254383, 251858, 2525, 253117),
        Row(4, date(2025, 2, 28), 254383, 253117, 1266, 0),
    ]


def test_golden_one_million_repriced_mid_loan() -> None:
    # 1,000,000 yuan at 3.1% over 360 months from 2023-01-31; 2.85% from 2025-01-01.
    # Installments 1..24 (the 24th due 2024-12-31) are at 3.1%; the balance after 24 is
    # 958,290.37; from installment 25 (2025-01-31) A' = annuity(958,290.37, 2.85%, 336) = 4143.00:
    # interest round(958290.37 × 2.85 / 1200) = round(2275.9396) = 2275.94, principal 1867.06.
    first = date(2023, 1, 31)
    changes = [(date(2022, 12, 20), Decimal("3.1")), (date(2025, 1, 1), Decimal("2.85"))]
    rows = repriced_schedule("annuity", 100_000_000, 360, first, changes)
    assert rows[23].balance == 95_829_037 and rows[23].payment == 427016
    assert rows[24] == Installment(25, date(2025, 1, 31), 414300, 186706, 227594, 95_642_331)
    assert annuity_payment(95_829_037, Decimal("2.85"), 336) == 414300
    assert rows[25].due_date == date(2025, 2, 28)
    assert rows[-1].due_date == date(2052, 12, 31) and rows[-1].balance == 0
    assert as_rows(rows) == oracle_loan(
        "annuity", 100_000_000, "3.1", 360, first, rates=[RateEvent(date(2025, 1, 1), "2.85")]
    )


def test_policy_schedule_follows_the_shipped_history() -> None:
    # Disbursed 2022-03-01, first due 2022-04-01: 3.25%, then 3.10 / 2.85 / 2.60 on January 1st.
    rows = policy_schedule(
        RATES, "linear", 50_000_000, 360, date(2022, 3, 1), date(2022, 4, 1), second_home=False
    )
    expected = oracle_loan(
        "linear",
        50_000_000,
        "3.25",
        360,
        date(2022, 4, 1),
        rates=[
            RateEvent(date(2023, 1, 1), "3.10"),
            RateEvent(date(2025, 1, 1), "2.85"),
            RateEvent(date(2026, 1, 1), "2.60"),
        ],
    )
    assert as_rows(rows) == expected
    # The first installment due in 2023 (2023-01-01) already pays interest at 3.10%.
    jan = next(r for r in rows if r.due_date == date(2023, 1, 1))
    before = rows[jan.n - 2].balance
    assert jan.interest == (before * 310 + 60_000) // 120_000  # round(before × 3.10 / 1200)


def test_unchanged_rate_does_not_recompute_and_past_days_are_refused() -> None:
    position = new_loan("annuity", 1_000_000, Decimal(12), 4, date(2024, 11, 30))
    paid, same = reprice(position, Decimal(12), date(2025, 1, 1))
    assert len(paid) == 2 and same.level_fen == position.level_fen
    with pytest.raises(InvalidInput):
        reprice(same, Decimal(6), date(2024, 12, 1))
    with pytest.raises(InvalidInput):
        repriced_schedule(
            "annuity",
            1_000_000,
            4,
            date(2024, 11, 30),
            [(date(2025, 1, 1), Decimal(12)), (date(2024, 1, 1), Decimal(6))],
        )
    with pytest.raises(InvalidInput):
        repriced_schedule("annuity", 1_000_000, 4, date(2024, 11, 30), [])


def test_repricing_after_the_last_installment_changes_nothing() -> None:
    rows = repriced_schedule(
        "annuity",
        1_000_000,
        4,
        date(2024, 1, 31),
        [(date(2024, 1, 1), Decimal(12)), (date(2030, 1, 1), Decimal(6))],
    )
    assert rows == repriced_schedule(
        "annuity", 1_000_000, 4, date(2024, 1, 31), [(date(2024, 1, 1), Decimal(12))]
    )


# --- properties ---------------------------------------------------------------------------------

methods = st.sampled_from(["annuity", "linear"])
principals = st.integers(min_value=1_000_000, max_value=300_000_000)
rate_texts = st.integers(min_value=0, max_value=8_000).map(lambda m: str(Decimal(m).scaleb(-3)))
firsts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@settings(max_examples=120, deadline=None)
@given(methods, principals, rate_texts, st.integers(min_value=13, max_value=360), firsts, st.data())
def test_repricing_matches_the_oracle(
    method: str, p: int, rate: str, n: int, first: date, data: st.DataObject
) -> None:
    years = data.draw(
        st.lists(
            st.integers(min_value=first.year, max_value=first.year + 31), max_size=3, unique=True
        )
    )
    changes = [
        (date(y, 1, 1), Decimal(data.draw(rate_texts)))
        for y in sorted(years)
        if date(y, 1, 1) > first
    ]
    timeline = [(date(first.year - 1, 12, 1), Decimal(rate)), *changes]
    rows = repriced_schedule(method, p, n, first, timeline)
    events = [RateEvent(day, str(r)) for day, r in changes]
    assert as_rows(rows) == oracle_loan(method, p, rate, n, first, rates=events)
    assert sum(r.principal for r in rows) == p
    assert [r.n for r in rows] == list(range(1, n + 1))
    # Every installment pays interest at the rate of the latest change due on or before it.
    before = p
    for row in rows:
        applicable = [r for d, r in changes if d <= row.due_date]
        num, den = (applicable[-1] if applicable else Decimal(rate)).as_integer_ratio()
        assert row.interest == (2 * before * num + den * 1200) // (2 * den * 1200)
        before = row.balance


@settings(max_examples=60, deadline=None)
@given(
    methods,
    principals,
    rate_texts,
    rate_texts,
    st.integers(min_value=24, max_value=360),
    firsts,
    st.data(),
)
def test_prepayment_then_repricing_matches_the_oracle(
    method: str, p: int, rate: str, new_rate: str, n: int, first: date, data: st.DataObject
) -> None:
    k = data.draw(st.integers(min_value=1, max_value=11))
    paid, position = advance(new_loan(method, p, Decimal(rate), n, first), k)
    amount = data.draw(st.integers(min_value=1, max_value=position.balance_fen - 1))
    option = data.draw(st.sampled_from(["shorter_term", "lower_payment"]))
    after = prepay(position, amount, option).after
    last_paid = position.last_paid_due
    assert last_paid is not None
    day = date(last_paid.year + 1, 1, 1)
    more, repriced = reprice(after, Decimal(new_rate), day)
    rows = paid + more + repriced.schedule()
    expected = oracle_loan(
        method,
        p,
        rate,
        n,
        first,
        rates=[RateEvent(day, new_rate)],
        prepayments=[PrepayEvent(k, amount, option.split("_")[0])],
    )
    assert as_rows(rows) == expected
    assert sum(r.principal for r in rows) + amount == p
