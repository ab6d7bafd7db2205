"""Loan eligibility and limit (可贷额度), domain.md §6, under the shipped Linyi policy.

Policy on 2024-06-01: multiple 15, minimum counted balance 20,000, cap 600,000 / 800,000, down
payment 20% (first ≤ 90 m²) / 30% (first > 90 m²) / 50% (second), capacity 40%, granularity
100 yuan, 30 years, max age at maturity 65 (men) / 60 (women), 6 consecutive months; rates
2.35 / 2.85 (first home ≤ 5 / > 5 years) and 2.775 / 3.325 (second home).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpf.errors import InvalidInput
from hpf.loans.limit import (
    Constraint,
    Contributor,
    LimitApplication,
    LimitResult,
    TermLimit,
    loan_limit,
    max_principal_for_payment,
    max_term_months,
)
from hpf.loans.rules import annuity_payment
from hpf.policy.loader import load_shipped_policy

SNAPSHOT = load_shipped_policy().on(date(2024, 6, 1))
LIMITS, RATES = SNAPSHOT.loan_limit, SNAPSHOT.loan_rate
LTV, BAL, CAP, CAPACITY = (
    Constraint.LOAN_TO_VALUE,
    Constraint.BALANCE,
    Constraint.CAP,
    Constraint.REPAYMENT_CAPACITY,
)


def person(balance_yuan: int, contribution_yuan: int, months: int = 24) -> Contributor:
    """A contributor at 12% + 12%: wage = contribution / 0.24, employer share = half of it."""
    return Contributor.from_contribution(
        balance_yuan * 100, contribution_yuan * 100, Decimal(12), Decimal(12), months
    )


RICH = person(50_000, 4_800)  # wage 20,000 + employer 2,400: capacity far above the cap


@dataclass(frozen=True)
class Case:
    id: str
    app: LimitApplication
    limit_yuan: int
    binding: tuple[Constraint, ...]
    term: int
    rate: str
    amounts_yuan: tuple[str, str, str, str]  # loan-to-value, balance, cap, capacity


CASES = [
    Case(
        # price 500,000, 90 m² (small first home): 500,000 × 80% = 400,000 < cap 600,000,
        # 50,000 × 15 = 750,000 and a capacity of ~2 million.
        "loan-to-value-small-first-home",
        LimitApplication(RICH, 50_000_000, Decimal(90), 1, 35, True),
        400_000,
        (LTV,),
        360,
        "2.85",
        ("400000.00", "750000.00", "600000.00", "2166568.73"),
    ),
    Case(
        # balance 10,000 counts as 20,000: × 15 = 300,000; 1,000,000 × 70% (120 m²) = 700,000.
        "balance-with-minimum-counted",
        LimitApplication(person(10_000, 4_800), 100_000_000, Decimal(120), 1, 35, True),
        300_000,
        (BAL,),
        360,
        "2.85",
        ("700000.00", "300000.00", "600000.00", "2166568.73"),
    ),
    Case(
        # two contributors: (40,000 + 30,000) × 15 = 1,050,000; price 2,000,000 × 70% =
        # 1,400,000; the two-contributor cap 800,000 binds. Capacity: both incomes,
        # (20,000 + 2,400 + 10,000 + 1,200) × 40% = 13,440 a month -> 13,440 / 0.0041355 =
        # 3,249,852.50 (largest P with round(P·f) <= 13,440.00).
        "cap-two-contributors",
        LimitApplication(
            person(40_000, 4_800), 200_000_000, Decimal(140), 1, 35, True, person(30_000, 2_400)
        ),
        800_000,
        (CAP,),
        360,
        "2.85",
        ("1400000.00", "1050000.00", "800000.00", "3249852.50"),
    ),
    Case(
        # contribution 1,200 at 24% -> wage 5,000, employer 600: (5,000 + 600) × 40% − 500 debt
        # = 1,740 a month. At 2.85% over 360: f = i(1+i)^n/((1+i)^n − 1) with i = 0.002375,
        # (1+i)^360 = 2.34904, f = 0.0041355; P = 1740 / f = 420,740.88 -> 420,700.
        "repayment-capacity-with-debt",
        LimitApplication(
            person(50_000, 1_200),
            100_000_000,
            Decimal(120),
            1,
            35,
            True,
            existing_monthly_debt_fen=50_000,
        ),
        420_700,
        (CAPACITY,),
        360,
        "2.85",
        ("700000.00", "750000.00", "600000.00", "420740.88"),
    ),
    Case(
        # a man of 50: (65 − 50) × 12 = 180 months (still the > 5-year band, 2.85%);
        # (5,000 + 600) × 40% = 2,240 over 180 months: 327,778.25 -> 327,700.
        "age-limits-the-term-man",
        LimitApplication(person(50_000, 1_200), 100_000_000, Decimal(120), 1, 50, True),
        327_700,
        (CAPACITY,),
        180,
        "2.85",
        ("700000.00", "750000.00", "600000.00", "327778.25"),
    ),
    Case(
        # a woman of 58: (60 − 58) × 12 = 24 months, the ≤ 5-year band 2.35%:
        # 2,240 a month over 24 months repays 52,466.16 -> 52,400.
        "age-limits-the-term-woman",
        LimitApplication(person(50_000, 1_200), 100_000_000, Decimal(120), 1, 58, False),
        52_400,
        (CAPACITY,),
        24,
        "2.35",
        ("700000.00", "750000.00", "600000.00", "52466.16"),
    ),
    Case(
        # second home: 50% down, 3.325%: 1,000,000 × 50% = 500,000.
        "second-home",
        LimitApplication(RICH, 100_000_000, Decimal(60), 2, 35, True),
        500_000,
        (LTV,),
        360,
        "3.325",
        ("500000.00", "750000.00", "600000.00", "2039455.48"),
    ),
    Case(
        # 333,333 × 80% = 266,666.40 -> rounded down to 266,600.
        "rounded-down-to-100-yuan",
        LimitApplication(RICH, 33_333_300, Decimal(80), 1, 35, True),
        266_600,
        (LTV,),
        360,
        "2.85",
        ("266666.40", "750000.00", "600000.00", "2166568.73"),
    ),
    Case(
        # a 5-year term asked for: the ≤ 5-year band (2.35%); cap and LTV tie at 600,000
        # (price 750,000 × 80%); the first in order (loan-to-value) is *the* binding one.
        # Capacity: contribution 9,600 -> (40,000 + 4,800) × 40% = 17,920 a month over 60
        # months at 2.35%: × (1 − (1+i)^−60) / i ≈ 56.56 -> 1,013,500.44.
        "tie-and-short-term",
        replace(
            LimitApplication(person(50_000, 9_600), 75_000_000, Decimal(85), 1, 35, True),
            term_months=60,
        ),
        600_000,
        (LTV, CAP),
        60,
        "2.35",
        ("600000.00", "750000.00", "600000.00", "1013500.44"),
    ),
]


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_limit_table(case: Case) -> None:
    result = loan_limit(case.app, LIMITS, RATES)
    assert result.eligible and not result.refusals
    assert result.limit_fen == case.limit_yuan * 100
    assert result.binding == case.binding and result.binding_constraint is case.binding[0]
    assert (result.term_months, result.annual_rate_pct) == (case.term, Decimal(case.rate))
    amounts = tuple(yuan(result.amount(c)) for c in (LTV, BAL, CAP, CAPACITY))
    assert amounts == case.amounts_yuan
    assert result.monthly_payment_fen == annuity_payment(
        result.limit_fen, Decimal(case.rate), case.term
    )
    bound = result.reasons[0]
    assert bound.code == f"binding_{case.binding[0].value}"
    assert f"{case.limit_yuan:,}.00" in bound.zh and f"{case.limit_yuan:,}.00" in bound.en


def test_capacity_figure_by_the_closed_form() -> None:
    # 1,740.00 a month at 2.85% over 360 months: the largest P with round(P·f) <= 174,000 fen.
    p = max_principal_for_payment(174_000, Decimal("2.85"), 360)
    assert p == 42_074_088
    assert (
        annuity_payment(p, Decimal("2.85"), 360)
        <= 174_000
        < annuity_payment(p + 1, Decimal("2.85"), 360)
    )
    assert max_principal_for_payment(0, Decimal("2.85"), 360) == 0
    # 0%: round(P / 12) <= 1,000.00 -> P / 12 < 1000.005 -> P = 12,000.05 (1,200,005 fen).
    assert max_principal_for_payment(100_000, Decimal(0), 12) == 1_200_005


def test_reasons_are_plain_language_in_both_languages() -> None:
    result = loan_limit(CASES[3].app, LIMITS, RATES)
    capacity = next(c for c in result.constraints if c.constraint is CAPACITY)
    assert "5,600.00 元 × 40%" in capacity.reason.zh and "500.00" in capacity.reason.zh
    assert "1,740.00" in capacity.reason.en and "360 months" in capacity.reason.en
    assert result.reasons[0].zh.startswith("可贷额度由还款能力决定")
    assert result.reasons[0].en.startswith("the limit is set by repayment capacity")
    assert [r.code for r in result.reasons[1:]] == ["term_longest"]


def refusal_codes(result: LimitResult) -> list[str]:
    assert not result.eligible and result.limit_fen == 0
    return [reason.code for reason in result.refusals]


def test_third_home_is_refused() -> None:
    result = loan_limit(
        LimitApplication(RICH, 100_000_000, Decimal(90), 3, 35, True), LIMITS, RATES
    )
    assert refusal_codes(result) == ["third_home"]
    assert "第三套" in result.refusals[0].zh and result.binding == ()
    # a policy that allows it treats it as a second home
    allowed = LIMITS.model_copy(update={"third_home_allowed": True})
    result = loan_limit(
        LimitApplication(RICH, 100_000_000, Decimal(90), 3, 35, True), allowed, RATES
    )
    assert result.eligible and result.down_payment_pct == Decimal(50)
    assert result.annual_rate_pct == Decimal("3.325")


@pytest.mark.parametrize(("months", "eligible"), [(5, False), (6, True)])
def test_contribution_history_boundary(months: int, eligible: bool) -> None:
    app = LimitApplication(person(50_000, 4_800, months), 100_000_000, Decimal(90), 1, 35, True)
    result = loan_limit(app, LIMITS, RATES)
    assert result.eligible is eligible
    if not eligible:
        assert refusal_codes(result) == ["contribution_history"]
        assert "5 个月" in result.refusals[0].zh and "6" in result.refusals[0].en


def test_total_months_count_when_the_policy_does_not_ask_for_consecutive() -> None:
    broken = Contributor.from_contribution(5_000_000, 480_000, Decimal(12), Decimal(12), 3, 30)
    app = LimitApplication(broken, 100_000_000, Decimal(90), 1, 35, True)
    assert refusal_codes(loan_limit(app, LIMITS, RATES)) == ["contribution_history"]
    relaxed = LIMITS.model_copy(update={"contribution_months_consecutive": False})
    assert loan_limit(app, relaxed, RATES).eligible


@pytest.mark.parametrize(("age", "male"), [(65, True), (70, True), (60, False)])
def test_too_old_is_refused(age: int, male: bool) -> None:
    result = loan_limit(
        LimitApplication(RICH, 100_000_000, Decimal(90), 1, age, male), LIMITS, RATES
    )
    assert refusal_codes(result) == ["age"]
    assert result.max_term_months == 0


def test_several_refusals_are_all_reported() -> None:
    app = LimitApplication(person(50_000, 4_800, 0), 100_000_000, Decimal(90), 3, 66, True)
    assert refusal_codes(loan_limit(app, LIMITS, RATES)) == [
        "third_home",
        "contribution_history",
        "age",
    ]


def test_term_is_shortened_to_the_age_limit_with_a_note() -> None:
    # a woman of 45 asking for 30 years: (60 − 45) × 12 = 180 months.
    app = LimitApplication(RICH, 100_000_000, Decimal(90), 1, 45, False, term_months=360)
    result = loan_limit(app, LIMITS, RATES)
    assert (result.term_months, result.max_term_months) == (180, 180)
    assert result.term_limited_by is TermLimit.AGE
    assert [r.code for r in result.reasons[1:]] == ["term_shortened"]
    assert max_term_months(30, True, LIMITS) == (360, TermLimit.MAX_TERM)
    assert max_term_months(40, True, LIMITS) == (300, TermLimit.AGE)


def test_co_borrower_without_history_is_not_a_second_contributor() -> None:
    # The spouse's 1 month is too short: single cap 600,000 and only 50,000 × 15 counted, but
    # their income (contribution 4,800 -> 22,400 basis) still adds to the capacity.
    app = LimitApplication(
        person(50_000, 1_200), 200_000_000, Decimal(140), 1, 35, True, person(30_000, 4_800, 1)
    )
    result = loan_limit(app, LIMITS, RATES)
    assert not result.two_contributors
    assert (result.amount(CAP), result.amount(BAL)) == (60_000_000, 75_000_000)
    assert result.amount(CAPACITY) == max_principal_for_payment(
        (5_600 + 22_400) * 40, Decimal("2.85"), 360
    )
    assert "co_borrower_not_counted" in [r.code for r in result.reasons]


def test_debt_above_capacity_gives_a_zero_limit_refusal() -> None:
    app = LimitApplication(
        person(50_000, 1_200),
        100_000_000,
        Decimal(120),
        1,
        35,
        True,
        existing_monthly_debt_fen=300_000,
    )
    result = loan_limit(app, LIMITS, RATES)
    assert refusal_codes(result) == ["no_limit"]
    assert result.binding == (CAPACITY,) and result.amount(CAPACITY) == 0


def test_wage_route() -> None:
    # wage 10,000 and employer 1,200: (11,200) × 40% = 4,480 a month.
    direct = Contributor.from_wage(5_000_000, 1_000_000, 120_000, 24)
    assert direct.income_basis_fen == Fraction(1_120_000)
    assert person(50_000, 2_400).income_basis_fen == Fraction(1_120_000)


@pytest.mark.parametrize(
    "build",
    [
        lambda: LimitApplication(RICH, 0, Decimal(90), 1, 35, True),
        lambda: LimitApplication(RICH, 100, Decimal(0), 1, 35, True),
        lambda: LimitApplication(RICH, 100, Decimal("NaN"), 1, 35, True),
        lambda: LimitApplication(RICH, 100, Decimal(90), 0, 35, True),
        lambda: LimitApplication(RICH, 100, Decimal(90), 1, 17, True),
        lambda: LimitApplication(RICH, 100, Decimal(90), 1, 35, True, term_months=0),
        lambda: LimitApplication(RICH, 100, Decimal(90), 1, 35, True, existing_monthly_debt_fen=-1),
        lambda: Contributor.from_contribution(-1, 100, Decimal(12), Decimal(12), 6),
        lambda: Contributor.from_contribution(100, 100, Decimal(0), Decimal(12), 6),
        lambda: Contributor.from_contribution(100, 100, Decimal(12), Decimal(12), 12, 6),
        lambda: Contributor.from_wage(100, -5, 0, 6),
    ],
)
def test_invalid_applications(build: object) -> None:
    with pytest.raises(InvalidInput):
        build()  # type: ignore[operator]


# --- properties ---------------------------------------------------------------------------------

people = st.builds(
    Contributor.from_contribution,
    st.integers(min_value=0, max_value=50_000_000),
    st.integers(min_value=0, max_value=1_000_000),
    st.integers(min_value=5, max_value=12).map(Decimal),
    st.integers(min_value=5, max_value=12).map(Decimal),
    st.integers(min_value=0, max_value=240),
)
applications = st.builds(
    LimitApplication,
    applicant=people,
    price_fen=st.integers(min_value=1_000_000, max_value=1_000_000_000),
    area_m2=st.integers(min_value=20, max_value=300).map(Decimal),
    home_number=st.integers(min_value=1, max_value=3),
    age=st.integers(min_value=18, max_value=70),
    male=st.booleans(),
    co_borrower=st.none() | people,
    term_months=st.none() | st.integers(min_value=1, max_value=420),
    existing_monthly_debt_fen=st.integers(min_value=0, max_value=500_000),
)


@settings(max_examples=200, deadline=None)
@given(applications)
def test_limit_never_exceeds_any_constraint(app: LimitApplication) -> None:
    result = loan_limit(app, LIMITS, RATES)
    assert result.limit_fen % LIMITS.granularity_fen == 0
    if not result.constraints:
        assert not result.eligible and result.refusals and result.limit_fen == 0
        return
    lowest = min(item.amount_fen for item in result.constraints)
    for item in result.constraints:
        assert result.limit_fen <= item.amount_fen
    assert lowest - LIMITS.granularity_fen < result.limit_fen <= lowest or lowest <= 0
    assert all(result.amount(c) == lowest for c in result.binding)
    assert result.eligible == (result.limit_fen > 0)
    assert result.term_months <= result.max_term_months <= 360
    assert app.age * 12 + result.term_months <= LIMITS.max_age_at_maturity(male=app.male) * 12
    # repayment capacity: its payment fits the allowance and one fen more would not
    if result.eligible:
        people_ = [app.applicant] + ([app.co_borrower] if app.co_borrower else [])
        allowance = math.floor(
            sum((p.income_basis_fen for p in people_), Fraction(0)) * Fraction("0.4")
            - app.existing_monthly_debt_fen
        )
        capacity = result.amount(CAPACITY)
        rate = result.annual_rate_pct
        assert rate is not None
        assert annuity_payment(result.limit_fen, rate, result.term_months) <= allowance
        assert annuity_payment(capacity + 1, rate, result.term_months) > allowance
