"""Distribution rules (pure): order, ratios, rounding, the optional cap; property: it adds up."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from hpf.finance.rules import plan_distribution, value_added_income

SIXTY = Decimal("0.60")


def test_sixty_percent_half_up_then_budget_then_rest() -> None:
    plan = plan_distribution(100_001, reserve_share=SIXTY, management_budget_fen=10_000)
    assert plan.reserve_fen == 60_001  # 60000.6 fen → 60001
    assert (plan.management_fen, plan.supplement_fen) == (10_000, 30_000)


def test_nothing_distributed_without_income() -> None:
    assert value_added_income(100, 250) == -150
    plan = plan_distribution(-150, reserve_share=SIXTY, management_budget_fen=10)
    assert (plan.reserve_fen, plan.management_fen, plan.supplement_fen) == (0, 0, 0)


def test_cap_tops_the_reserve_up_to_a_share_of_loans() -> None:
    plan = plan_distribution(
        1_000_000,
        reserve_share=SIXTY,
        management_budget_fen=0,
        reserve_cap_of_loans=Decimal("0.01"),
        loan_balance_fen=50_000_000,
        reserve_balance_fen=200_000,
    )
    assert plan.reserve_fen == 300_000 and plan.supplement_fen == 700_000
    full = plan_distribution(
        1_000_000,
        reserve_share=SIXTY,
        management_budget_fen=0,
        reserve_cap_of_loans=Decimal("0.01"),
        loan_balance_fen=50_000_000,
        reserve_balance_fen=900_000,
    )
    assert full.reserve_fen == 0


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=1, places=4),
)
def test_distribution_adds_up(value_added: int, budget: int, share: Decimal) -> None:
    plan = plan_distribution(value_added, reserve_share=share, management_budget_fen=budget)
    if value_added > 0:
        assert plan.total_fen == value_added
        assert min(plan.reserve_fen, plan.management_fen, plan.supplement_fen) >= 0
        assert plan.management_fen <= budget
    else:
        assert plan.total_fen == 0
