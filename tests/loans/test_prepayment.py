"""Prepayment (提前还款) and loan positions against hand computations and the independent oracle.

The oracle (tests/loan_oracle.py) re-derives every row from the formulas of domain.md §6 with
``fractions.Fraction``; it shares no code with hpf.loans.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.loans.position import LoanPosition, advance, advance_before, level_for, new_loan
from hpf.loans.prepayment import (
    PrepaymentOption,
    installments_for_level,
    parse_option,
    prepay,
    prepay_in_full,
)
from hpf.loans.rules import (
    Installment,
    RepaymentMethod,
    repayment_schedule,
    schedule_from,
)
from loan_oracle import PrepayEvent, Row, oracle_loan


def as_rows(schedule: list[Installment]) -> list[Row]:
    return [Row(r.n, r.due_date, r.payment, r.principal, r.interest, r.balance) for r in schedule]


def prepaid_loan(
    method: str, p: int, rate: str, n: int, first: date, k: int, amount: int, option: str
) -> tuple[list[Installment], LoanPosition]:
    """All rows of a loan prepaid after installment k: the k paid rows plus the new schedule."""
    paid, position = advance(new_loan(method, p, Decimal(rate), n, first), k)
    result = prepay(position, amount, option)
    return paid + result.schedule(), result.after


# --- hand-computed cases -------------------------------------------------------------------------


def test_annuity_lower_payment_by_hand() -> None:
    # 10,000 yuan at 12% (i = 1%) over 4 months, first due 2024-11-30:
    # A = 10000 × 0.01 × 1.01^4 / (1.01^4 − 1) = 100 × 1.04060401 / 0.04060401 = 2562.81
    # 1: interest 100.00, principal 2462.81, balance 7537.19; then 5,000 prepaid -> 2537.19.
    # Lower payment over the 3 left: A' = 25.3719 × 1.030301 / 0.030301 = 862.70
    # 2 (2024-12-30): interest round(25.3719) = 25.37, principal 837.33, balance 1699.86
    # 3 (2025-01-30): interest round(16.9986) = 17.00, principal 845.70, balance 854.16
    # 4 (2025-02-28, the 30th clamped): interest round(8.5416) = 8.54, pays 854.16 + 8.54 = 862.70
    rows, after = prepaid_loan(
        "annuity", 1_000_000, "12", 4, date(2024, 11, 30), 1, 500_000, "lower_payment"
    )
    assert as_rows(rows) == [
        Row(1, date(2024, 11, 30), 256281, 246281, 10000, 753719),
        Row(2, date(2024, 12, 30), 86270, 83733, 2537, 169986),
        Row(3, date(2025, 1, 30), 86270, 84570, 1700, 85416),
        Row(4, date(2025, 2, 28), 86270, 85416, 854, 0),
    ]
    assert (after.last_n, after.level_fen, after.balance_fen) == (4, 86270, 253719)


def test_annuity_shorter_term_by_hand() -> None:
    # Same loan, shorter term: keep A = 2562.81. One more payment has present value
    # 2562.81 / 1.01 = 2537.44 >= 2537.19, so m = 1: installment 2 pays the balance 2537.19
    # plus interest 25.37 = 2562.56 (a little less than A) and the loan ends at installment 2.
    rows, after = prepaid_loan(
        "annuity", 1_000_000, "12", 4, date(2024, 11, 30), 1, 500_000, "shorter_term"
    )
    assert as_rows(rows)[1:] == [Row(2, date(2024, 12, 30), 256256, 253719, 2537, 0)]
    assert (after.last_n, after.level_fen) == (2, 256281)


def test_linear_both_options_by_hand() -> None:
    # 12,000 yuan at 12% over 12 months (等额本金): principal 1,000.00 a month.
    # After 2 installments the balance is 10,000.00; 3,500 prepaid -> 6,500.00.
    # Shorter term: keep 1,000.00 -> ⌈6500 / 1000⌉ = 7 installments (3..9), the last 500.00
    # with interest round(500 × 1%) = 5.00.
    # Lower payment: 10 left -> principal round(6500 / 10) = 650.00; installment 3's interest
    # round(6500 × 1%) = 65.00, payment 715.00.
    first = date(2024, 1, 15)
    short, after = prepaid_loan("linear", 1_200_000, "12", 12, first, 2, 350_000, "shorter_term")
    assert after.last_n == 9 and len(short) == 9
    assert as_rows(short)[-1] == Row(9, date(2024, 9, 15), 50500, 50000, 500, 0)
    assert {r.principal for r in short[2:-1]} == {100_000}
    lower, after = prepaid_loan("linear", 1_200_000, "12", 12, first, 2, 350_000, "lower_payment")
    assert (after.last_n, after.level_fen) == (12, 65000)
    assert as_rows(lower)[2] == Row(3, date(2024, 3, 15), 71500, 65000, 6500, 585000)
    assert {r.principal for r in lower[2:]} == {65000}


def test_golden_one_million_prepaid_200k_after_a_year() -> None:
    # 1,000,000 yuan at 3.1% over 360 months, first due 2023-01-31 (month ends), A = 4270.16.
    # After 12 installments (the 12th due 2023-12-31) the balance is 979,468.01; 200,000 prepaid -> 779,468.01.
    # Shorter term: m = ⌈−ln(1 − B·i/A) / ln(1+i)⌉ with B·i = 779468.01 × 0.0025833 = 2013.63:
    # −ln(1 − 2013.63/4270.16) / ln(1.0025833) = 0.63785 / 0.0025800 = 247.2 -> 248, so the loan
    # ends at installment 12 + 248 = 260, due 2044-08-31; its last payment is 928.76.
    # Lower payment: A' = annuity(779,468.01, 3.1%, 348) = 3398.23.
    first = date(2023, 1, 31)
    short, after = prepaid_loan(
        "annuity", 100_000_000, "3.1", 360, first, 12, 20_000_000, "shorter_term"
    )
    assert after.last_n == 260 and after.level_fen == 427016
    assert short[11].balance == 97_946_801
    assert (short[12].due_date, short[13].due_date) == (date(2024, 1, 31), date(2024, 2, 29))
    assert short[-1] == Installment(260, date(2044, 8, 31), 92876, 92637, 239, 0)
    assert as_rows(short) == oracle_loan(
        "annuity",
        100_000_000,
        "3.1",
        360,
        first,
        prepayments=[PrepayEvent(12, 20_000_000, "shorter")],
    )
    lower, after = prepaid_loan(
        "annuity", 100_000_000, "3.1", 360, first, 12, 20_000_000, "lower_payment"
    )
    assert after.level_fen == 339823 and len(lower) == 360
    assert lower[-1].due_date == date(2052, 12, 31)
    assert as_rows(lower) == oracle_loan(
        "annuity",
        100_000_000,
        "3.1",
        360,
        first,
        prepayments=[PrepayEvent(12, 20_000_000, "lower")],
    )


def test_full_prepayment_settles_the_loan() -> None:
    _, position = advance(
        new_loan("annuity", 100_000_000, Decimal("3.1"), 360, date(2023, 1, 31)), 12
    )
    result = prepay_in_full(position)
    assert result.full and result.amount_fen == 97_946_801
    assert result.on == date(2023, 12, 31)
    assert result.after.settled and result.after.balance_fen == 0 and result.after.last_n == 12
    assert result.schedule() == []
    # Prepaying exactly the balance with either option is the same full prepayment.
    assert prepay(position, 97_946_801, "lower_payment").after == result.after


@pytest.mark.parametrize(
    ("paid", "amount", "option"),
    [
        (12, 0, "shorter_term"),
        (12, -1, "shorter_term"),
        (12, 97_946_802, "shorter_term"),  # one fen over the balance
        (0, 1_000, "shorter_term"),  # no due date passed yet
        (12, 1_000, "balloon"),
    ],
)
def test_invalid_prepayments_are_refused(paid: int, amount: int, option: str) -> None:
    position = new_loan("annuity", 100_000_000, Decimal("3.1"), 360, date(2023, 1, 31))
    _, position = advance(position, paid)
    with pytest.raises(InvalidInput) as caught:
        prepay(position, amount, option)
    assert caught.value.message_en.isascii()


def test_settled_loan_cannot_be_prepaid() -> None:
    _, position = advance(new_loan("linear", 120_000, Decimal(0), 12, date(2024, 1, 1)), 12)
    assert position.settled and position.next_due is None
    with pytest.raises(InvalidInput):
        prepay_in_full(position)


def test_options_parse() -> None:
    assert parse_option("shorter-term") is PrepaymentOption.SHORTER_TERM
    assert parse_option(" LOWER_PAYMENT ") is PrepaymentOption.LOWER_PAYMENT
    assert PrepaymentOption.LOWER_PAYMENT.label_zh == "减少月供"


def test_installments_for_level() -> None:
    # 0%: ⌈1000 / 300⌉ = 4. A payment that does not cover the interest never repays.
    assert installments_for_level(RepaymentMethod.ANNUITY, 1000, Decimal(0), 300) == 4
    with pytest.raises(InvalidInput):
        installments_for_level(RepaymentMethod.ANNUITY, 1_000_000, Decimal(12), 10_000)


# --- positions ---------------------------------------------------------------------------------


def test_schedule_from_the_start_is_the_loan_schedule() -> None:
    for method in RepaymentMethod:
        expected = repayment_schedule(method, 30_000_000, Decimal("2.85"), 240, date(2024, 1, 31))
        assert (
            schedule_from(30_000_000, Decimal("2.85"), 1, 240, date(2024, 1, 31), method)
            == expected
        )


def test_walking_a_position_reproduces_the_schedule() -> None:
    position = new_loan("annuity", 50_000_000, Decimal("3.1"), 120, date(2023, 3, 31))
    expected = position.schedule()
    rows: list[Installment] = []
    for _ in range(120):
        paid, position = advance(position, 1)
        rows += paid
    assert rows == expected and position.settled
    with pytest.raises(InvalidInput):
        advance(position, 1)


def test_advance_before_pays_installments_due_strictly_before_the_day() -> None:
    position = new_loan("annuity", 1_000_000, Decimal(12), 4, date(2024, 11, 30))
    paid, after = advance_before(position, date(2024, 12, 30))
    assert [r.n for r in paid] == [1] and after.next_due == date(2024, 12, 30)
    assert after.last_paid_due == date(2024, 11, 30)


# --- properties ---------------------------------------------------------------------------------

methods = st.sampled_from(["annuity", "linear"])
principals = st.integers(min_value=1_000_000, max_value=300_000_000)
rates = st.one_of(
    st.just("0"),
    st.integers(min_value=1, max_value=8_000).map(lambda m: str(Decimal(m).scaleb(-3))),
)
firsts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@settings(max_examples=120, deadline=None)
@given(
    methods,
    principals,
    rates,
    st.integers(min_value=2, max_value=360),
    firsts,
    st.data(),
    st.sampled_from(["shorter_term", "lower_payment"]),
)
def test_prepayment_matches_the_oracle(
    method: str, p: int, rate: str, n: int, first: date, data: st.DataObject, option: str
) -> None:
    k = data.draw(st.integers(min_value=1, max_value=n - 1), label="k")
    _, position = advance(new_loan(method, p, Decimal(rate), n, first), k)
    assume(position.balance_fen > 0)
    amount = data.draw(st.integers(min_value=1, max_value=position.balance_fen), label="amount")
    rows, after = prepaid_loan(method, p, rate, n, first, k, amount, option)
    oracle = oracle_loan(
        method, p, rate, n, first, prepayments=[PrepayEvent(k, amount, option.split("_")[0])]
    )
    assert as_rows(rows) == oracle
    # The remaining principal after the prepayment = previous balance − prepaid.
    assert after.balance_fen == position.balance_fen - amount
    assert sum(r.principal for r in rows[k:]) == after.balance_fen
    # Principal parts plus the prepayment repay exactly the loan.
    assert sum(r.principal for r in rows) + amount == p
    assert after.last_n <= n
    if option == "lower_payment" and amount < position.balance_fen:
        assert after.last_n == n and len(rows) == n
        # Never more than the payment recomputed without the prepayment (rounding drift aside,
        # that is the current level: a 1-fen prepayment may leave it a fen higher).
        assert after.level_fen <= level_for(method, position.balance_fen, Decimal(rate), n - k)
    if option == "shorter_term" and amount < position.balance_fen:
        assert after.level_fen == position.level_fen
    assert all(r.payment == r.principal + r.interest for r in rows)


@settings(max_examples=60, deadline=None)
@given(methods, principals, rates, st.integers(min_value=3, max_value=360), firsts, st.data())
def test_two_prepayments_match_the_oracle(
    method: str, p: int, rate: str, n: int, first: date, data: st.DataObject
) -> None:
    k1 = data.draw(st.integers(min_value=1, max_value=n - 2))
    paid, position = advance(new_loan(method, p, Decimal(rate), n, first), k1)
    a1 = data.draw(st.integers(min_value=1, max_value=max(1, position.balance_fen // 2)))
    assume(a1 < position.balance_fen)
    first_result = prepay(position, a1, "shorter_term")
    position = first_result.after
    assume(position.remaining_n >= 2)
    k2 = data.draw(st.integers(min_value=1, max_value=position.remaining_n - 1))
    more, position = advance(position, k2)
    a2 = data.draw(st.integers(min_value=1, max_value=position.balance_fen))
    second = prepay(position, a2, "lower_payment")
    rows = paid + more + second.schedule()
    events = [PrepayEvent(k1, a1, "shorter"), PrepayEvent(k1 + k2, a2, "lower")]
    assert as_rows(rows) == oracle_loan(method, p, rate, n, first, prepayments=events)
    assert sum(r.principal for r in rows) + a1 + a2 == p
