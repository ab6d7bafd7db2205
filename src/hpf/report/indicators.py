"""Annual-report indicators (年度报告指标), domain.md §8: pure formulas over integer fen.

Ratios are Decimal fractions rounded half-up to ``RATIO_PLACES`` decimal places, computed
once from the exact quotient; a ratio whose denominator is zero is undefined (None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext

from hpf.money import round_half_up

RATIO_PLACES = 6
QUANTUM = Decimal(1).scaleb(-RATIO_PLACES)


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator, half-up to 6 places; None when the denominator is zero."""
    if denominator == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 40
        return round_half_up(Decimal(numerator) / Decimal(denominator), QUANTUM)


def withdrawal_ratio(withdrawals_fen: int, contributions_fen: int) -> Decimal | None:
    """提取率 = 提取额 / 缴存额."""
    return ratio(withdrawals_fen, contributions_fen)


def loan_to_deposit_ratio(loan_balance_fen: int, deposit_balance_fen: int) -> Decimal | None:
    """个贷率 = 个贷余额 / 缴存余额 (both at the year end)."""
    return ratio(loan_balance_fen, deposit_balance_fen)


def overdue_ratio(overdue_fen: int, loan_balance_fen: int) -> Decimal | None:
    """逾期率 = 逾期额 / 个贷余额 (at the year end)."""
    return ratio(overdue_fen, loan_balance_fen)


def reserve_adequacy(reserve_fen: int, loan_balance_fen: int) -> Decimal | None:
    """风险准备金充足率 = 风险准备金余额 / 个贷余额 (at the year end)."""
    return ratio(reserve_fen, loan_balance_fen)


def value_added_yield(value_added_fen: int, month_end_balances: Sequence[int]) -> Decimal | None:
    """增值收益率 = 增值收益 / average of the 12 month-end deposit balances.

    Computed as 12 × 增值收益 / Σ balances, so the average is never rounded on its own.
    """
    if len(month_end_balances) != 12:
        raise ValueError("twelve month-end balances are needed")
    return ratio(value_added_fen * 12, sum(month_end_balances))


def housing_contribution_ratio(
    loans_issued_fen: int, housing_withdrawals_fen: int, contributions_fen: int
) -> Decimal | None:
    """住房贡献率 = (个贷发放额 + 住房消费类提取额) / 缴存额."""
    return ratio(loans_issued_fen + housing_withdrawals_fen, contributions_fen)


def growth(this_year_fen: int, last_year_fen: int) -> Decimal | None:
    """缴存增长率 = this year's / last year's contributions − 1."""
    if last_year_fen == 0:
        return None
    return ratio(this_year_fen - last_year_fen, last_year_fen)


def shares(parts: Mapping[str, int]) -> dict[str, Decimal | None]:
    """Each part's share of the total, to 6 places, summing to exactly 1 (largest remainder).

    Every part is first rounded down to 0.000001; the units left over go one each to the parts
    with the largest remainders (the earlier part on a tie). All None when the total is zero;
    with a negative part (a reversal larger than the rest) each share is the plain half-up ratio.
    """
    total = sum(parts.values())
    if total == 0:
        return dict.fromkeys(parts)
    if any(v < 0 for v in parts.values()):
        return {k: ratio(v, total) for k, v in parts.items()}
    scale = 10**RATIO_PLACES
    floors = {k: v * scale // total for k, v in parts.items()}
    order = sorted(parts, key=lambda k: -(parts[k] * scale % total))
    for k in order[: scale - sum(floors.values())]:
        floors[k] += 1
    return {k: Decimal(v).scaleb(-RATIO_PLACES) for k, v in floors.items()}


def text(value: Decimal | None) -> str | None:
    """A ratio as the report writes it: ``"0.012345"``, or None when undefined."""
    return None if value is None else f"{value:.{RATIO_PLACES}f}"
