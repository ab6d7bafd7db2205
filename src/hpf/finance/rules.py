"""Value-added income and its distribution (增值收益及其分配): pure rules, domain.md §7.

- value-added income (增值收益) = business income (业务收入) − business expenses (业务支出);
- distribution order (财综字〔1999〕59号 art. 23): (1) loan risk reserve (贷款风险准备金),
  (2) the center's management expenses (管理费用), (3) the public-housing supplement
  (城市廉租住房建设补充资金), which takes the remainder;
- **convention**: reserve = round_half_up(value-added income × ``reserve_share``) to the fen;
  with ``reserve_cap_of_loans`` set, the reserve only tops the reserve balance up to that share
  of the year-end loan balance (never below zero); management expenses = the approved budget,
  limited to what remains after the reserve; the supplement takes the rest.
- nothing is distributed when value-added income is zero or negative.

Money is integer fen; shares are Decimal fractions. No database, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hpf.errors import InvalidInput
from hpf.money import fen_round


@dataclass(frozen=True)
class DistributionPlan:
    """How one year's value-added income is distributed (fen)."""

    value_added_fen: int
    reserve_fen: int
    management_fen: int
    supplement_fen: int

    @property
    def total_fen(self) -> int:
        return self.reserve_fen + self.management_fen + self.supplement_fen


def value_added_income(income_fen: int, expenses_fen: int) -> int:
    """增值收益 = 业务收入 − 业务支出 (fen)."""
    return income_fen - expenses_fen


def plan_distribution(
    value_added_fen: int,
    *,
    reserve_share: Decimal,
    management_budget_fen: int,
    reserve_cap_of_loans: Decimal | None = None,
    loan_balance_fen: int = 0,
    reserve_balance_fen: int = 0,
) -> DistributionPlan:
    """Distribute ``value_added_fen`` in the order and ratios of domain.md §7 (see module doc).

    ``reserve_balance_fen`` is the reserve before this distribution, used only with a cap.
    """
    for name, value in (
        ("management_budget_fen", management_budget_fen),
        ("loan_balance_fen", loan_balance_fen),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"金额必须是非负整数分：{name}", f"{name} must be non-negative fen")
    if not Decimal(0) <= reserve_share <= Decimal(1):
        raise InvalidInput("风险准备金提取比例应在 0 到 1 之间", "reserve_share must be in 0..1")
    if value_added_fen <= 0:
        return DistributionPlan(value_added_fen, 0, 0, 0)
    reserve = fen_round(Decimal(value_added_fen) * reserve_share)
    if reserve_cap_of_loans is not None:
        room = fen_round(Decimal(loan_balance_fen) * reserve_cap_of_loans) - reserve_balance_fen
        reserve = max(0, min(reserve, room))
    reserve = min(reserve, value_added_fen)
    management = min(management_budget_fen, value_added_fen - reserve)
    supplement = value_added_fen - reserve - management
    return DistributionPlan(value_added_fen, reserve, management, supplement)
