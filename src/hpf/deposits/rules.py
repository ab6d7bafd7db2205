"""Contribution rules (缴存规则), domain.md §3: monthly amounts, base and rate limits, statuses.

Pure functions over plain values. Amounts are integer fen; rates Decimal percent.
Monthly amounts (月缴存额): employer = base × employer rate, employee = base × employee rate,
computed separately, each rounded half-up to 0.01 yuan (policy ``rounding = "fen"``) or to whole
yuan (``rounding = "yuan"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

import numpy as np

from hpf.errors import DomainError, InvalidInput
from hpf.money import div_round_half_up, format_yuan

Rounding = Literal["fen", "yuan"]

EMPLOYER_STATUSES = {"01": "正常", "02": "开户", "03": "缓缴", "04": "销户", "05": "封存"}
"""单位账户状态 (JGJ/T 320 A.4)."""

DEPOSITOR_STATUSES = {
    "01": "正常",
    "02": "封存",
    "03": "合并销户",
    "04": "外部转出销户",
    "05": "提取销户",
    "06": "冻结",
}
"""个人账户状态 (JGJ/T 320 A.6)."""

CLOSED_DEPOSITOR_STATUSES = frozenset({"03", "04", "05"})

EMPLOYER_TYPES = {
    "government": ("国家机关和事业单位", "government bodies and public institutions"),
    "state_owned": ("国有企业", "state-owned enterprises"),
    "collective": ("城镇集体企业", "urban collective enterprises"),
    "foreign_invested": ("外商投资企业", "foreign-invested enterprises"),
    "private": ("城镇私营企业及其他城镇企业", "urban private and other urban enterprises"),
    "non_profit": ("民办非企业单位和社会团体", "private non-enterprise units and social groups"),
    "flexible": ("灵活就业人员", "flexibly employed people"),
    "other": ("其他", "other"),
}
"""单位性质: the employer categories of the national annual report (全国住房公积金年度报告,
domain.md §8), code → (Chinese, English), in the report's order. ``other`` is the default."""


def parse_employer_type(value: str) -> str:
    """An employer type code of ``EMPLOYER_TYPES`` (also accepted: its Chinese name)."""
    text = value.strip()
    for code, (zh, _) in EMPLOYER_TYPES.items():
        if text in (code, zh):
            return code
    raise InvalidInput(
        f"单位性质不正确：{value!r}（可选 {'、'.join(EMPLOYER_TYPES)}）",
        f"unknown employer type {value!r} (one of {', '.join(EMPLOYER_TYPES)})",
    )


class ContributionRuleError(DomainError):
    """A contribution figure breaks a policy limit (缴存基数/比例超限)."""

    code = "contribution_rule"


@dataclass(frozen=True)
class ContributionLimits:
    """The limits in force for one employer on one day (from the policy snapshot)."""

    employer_rate_min_pct: Decimal
    employer_rate_max_pct: Decimal
    employee_rate_min_pct: Decimal
    employee_rate_max_pct: Decimal
    base_cap_fen: int
    base_floor_fen: int
    rounding: Rounding = "fen"


@dataclass(frozen=True)
class MonthlyAmounts:
    """One person's monthly contribution: the employer's share and the employee's share."""

    employer_fen: int
    employee_fen: int

    @property
    def total_fen(self) -> int:
        return self.employer_fen + self.employee_fen


def share_of_base(base_fen: int, rate_pct: Decimal, rounding: Rounding = "fen") -> int:
    """base × rate%, rounded half-up to the fen or to the whole yuan, exactly."""
    if base_fen < 0:
        raise InvalidInput("缴存基数不能为负", "the contribution base cannot be negative")
    num, den = rate_pct.as_integer_ratio()
    if rounding == "fen":
        return div_round_half_up(base_fen * num, den * 100)
    return div_round_half_up(base_fen * num, den * 100 * 100) * 100


def monthly_amounts(
    base_fen: int,
    employer_rate_pct: Decimal,
    employee_rate_pct: Decimal,
    rounding: Rounding = "fen",
) -> MonthlyAmounts:
    """The two monthly amounts of one person, each rounded on its own."""
    return MonthlyAmounts(
        share_of_base(base_fen, employer_rate_pct, rounding),
        share_of_base(base_fen, employee_rate_pct, rounding),
    )


def check_rates(
    employer_rate_pct: Decimal, employee_rate_pct: Decimal, limits: ContributionLimits
) -> None:
    """Refuse rates outside the range in force (建金管〔2005〕5号: 5%–12%)."""
    for label_zh, label_en, rate, low, high in (
        (
            "单位",
            "employer",
            employer_rate_pct,
            limits.employer_rate_min_pct,
            limits.employer_rate_max_pct,
        ),
        (
            "个人",
            "employee",
            employee_rate_pct,
            limits.employee_rate_min_pct,
            limits.employee_rate_max_pct,
        ),
    ):
        if not low <= rate <= high:
            raise ContributionRuleError(
                f"{label_zh}缴存比例 {rate}% 超出 {low}%–{high}% 的范围",
                f"{label_en} rate {rate}% is outside {low}%–{high}%",
            )


def check_base(base_fen: int, limits: ContributionLimits) -> None:
    """Refuse a base above the cap (3× the city's average wage) or below the floor (minimum wage)."""
    if base_fen > limits.base_cap_fen:
        raise ContributionRuleError(
            f"缴存基数 {format_yuan(base_fen)} 元超过上限 {format_yuan(limits.base_cap_fen)} 元",
            f"base {format_yuan(base_fen)} exceeds the cap {format_yuan(limits.base_cap_fen)}",
        )
    if base_fen < limits.base_floor_fen:
        raise ContributionRuleError(
            f"缴存基数 {format_yuan(base_fen)} 元低于下限 {format_yuan(limits.base_floor_fen)} 元",
            f"base {format_yuan(base_fen)} is below the floor {format_yuan(limits.base_floor_fen)}",
        )


def clamp_base(base_fen: int, limits: ContributionLimits) -> int:
    """The base brought within the cap and floor (used when drafting from an average wage)."""
    return max(limits.base_floor_fen, min(base_fen, limits.base_cap_fen))


def month_start(d: date) -> date:
    """The first day of ``d``'s month: contribution months are stored as that date."""
    return d.replace(day=1)


def parse_month(text: str) -> date:
    """Parse ``YYYY-MM`` (or ``YYYYMM``) into the month's first day."""
    raw = (text or "").strip()
    try:
        if len(raw) == 6 and raw.isdigit():
            return date(int(raw[:4]), int(raw[4:]), 1)
        year, month = raw.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInput(
            f"无效月份：{text!r}（应为 YYYY-MM）", f"invalid month: {text!r} (want YYYY-MM)"
        ) from None


def shares_of_base(
    bases_fen: np.ndarray, rate_pct: Decimal, rounding: Rounding = "fen"
) -> np.ndarray:
    """Vectorised ``share_of_base`` over an int64 array of bases (month-end drafting)."""
    num, den = rate_pct.as_integer_ratio()
    den = den * 100 * (1 if rounding == "fen" else 100)
    scaled = bases_fen.astype(np.int64) * num
    result = (2 * scaled + den) // (2 * den)
    return result if rounding == "fen" else result * 100
