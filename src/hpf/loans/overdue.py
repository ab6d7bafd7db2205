"""Overdue loans (逾期): penalty interest (罚息), arrears aging, overdue amount and ratio (逾期率).

docs/domain.md section 6: an installment is overdue when it is unpaid after its due date.
Penalty interest = overdue principal and interest × contract rate × factor / day count × days
overdue, with the factor (1.5; 银发〔2003〕251号 allows +30%..+50%) and the day count (360) from the
policy's ``[[overdue]]`` entry. **Convention:** overdue amount (逾期额) = unpaid principal of
installments past due at the period end; overdue ratio (逾期率) = overdue amount / loan balance at
the period end (the seed's goal: below 0.3%).

Rules chosen here where domain.md is silent:

- days overdue = calendar days from the due date to the payment (or reckoning) date: paid on the
  due date → 0 days, the next day → 1; an installment due on the period end is not yet past due;
- penalty interest is computed per installment on its unpaid principal plus interest (no penalty
  on penalty), and rounded half-up to the fen once per installment;
- aging buckets (账龄) classify each unpaid installment by its own days overdue: 1–30, 31–90,
  91–180 and over 180 days; a loan's days past due are those of its oldest unpaid installment;
- the loan balance of the ratio is all outstanding principal, overdue principal included; a zero
  balance gives a ratio of 0 (and refuses a positive overdue amount).

Pure domain logic: no database, web or IO.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum

from hpf.errors import InvalidInput
from hpf.money import div_round_half_up, format_pct
from hpf.policy.schema import OverdueEntry


class AgingBucket(StrEnum):
    """Arrears aging bucket (逾期账龄) by days overdue."""

    DAYS_1_30 = "1-30"
    DAYS_31_90 = "31-90"
    DAYS_91_180 = "91-180"
    OVER_180 = "over-180"

    @property
    def label_zh(self) -> str:
        return {
            AgingBucket.DAYS_1_30: "逾期1至30天",
            AgingBucket.DAYS_31_90: "逾期31至90天",
            AgingBucket.DAYS_91_180: "逾期91至180天",
            AgingBucket.OVER_180: "逾期180天以上",
        }[self]


@dataclass(frozen=True, slots=True)
class UnpaidInstallment:
    """What is still unpaid of one installment (integer fen)."""

    n: int
    due_date: date
    principal_fen: int
    interest_fen: int

    def __post_init__(self) -> None:
        for value in (self.principal_fen, self.interest_fen):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(
                    f"未还金额必须是非负整数分：{value!r}",
                    f"unpaid amounts must be non-negative integer fen: {value!r}",
                )

    @property
    def amount_fen(self) -> int:
        return self.principal_fen + self.interest_fen


def days_overdue(due: date, on: date) -> int:
    """Days from the due date to ``on`` (0 when paid on or before the due date)."""
    return max(0, (on - due).days)


def penalty_interest(
    overdue_fen: int, contract_rate_pct: Decimal, days: int, policy: OverdueEntry
) -> int:
    """罚息 = overdue principal and interest × rate × factor / day count × days, half-up to the fen."""
    if isinstance(overdue_fen, bool) or not isinstance(overdue_fen, int) or overdue_fen < 0:
        raise InvalidInput("逾期金额必须是非负整数分", "overdue amount must be non-negative fen")
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise InvalidInput(f"逾期天数必须是非负整数：{days!r}", f"days must be >= 0: {days!r}")
    if not isinstance(contract_rate_pct, Decimal) or not contract_rate_pct.is_finite():
        raise InvalidInput("利率必须是 Decimal 百分数", "rate must be a Decimal percentage")
    if contract_rate_pct < 0:
        raise InvalidInput("利率不能为负", "rate must not be negative")
    rate_num, rate_den = contract_rate_pct.as_integer_ratio()
    factor_num, factor_den = policy.penalty_factor.as_integer_ratio()
    numerator = overdue_fen * rate_num * factor_num * days
    denominator = rate_den * 100 * factor_den * policy.day_count
    return div_round_half_up(numerator, denominator)


def installment_penalty(
    unpaid: UnpaidInstallment, contract_rate_pct: Decimal, on: date, policy: OverdueEntry
) -> int:
    """Penalty interest of one unpaid installment reckoned on ``on``."""
    return penalty_interest(
        unpaid.amount_fen, contract_rate_pct, days_overdue(unpaid.due_date, on), policy
    )


def aging_bucket(days: int) -> AgingBucket | None:
    """The bucket of ``days`` overdue; None when not overdue (0 days)."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise InvalidInput(f"逾期天数必须是非负整数：{days!r}", f"days must be >= 0: {days!r}")
    if days == 0:
        return None
    if days <= 30:
        return AgingBucket.DAYS_1_30
    if days <= 90:
        return AgingBucket.DAYS_31_90
    if days <= 180:
        return AgingBucket.DAYS_91_180
    return AgingBucket.OVER_180


@dataclass(frozen=True, slots=True)
class AgingLine:
    """Unpaid principal and interest of the installments in one aging bucket."""

    bucket: AgingBucket
    installments: int
    principal_fen: int
    interest_fen: int


def arrears_aging(unpaid: Iterable[UnpaidInstallment], on: date) -> list[AgingLine]:
    """Arrears by aging bucket on ``on`` (every bucket listed, in order; not-yet-due ignored)."""
    totals = {bucket: [0, 0, 0] for bucket in AgingBucket}
    for item in unpaid:
        bucket = aging_bucket(days_overdue(item.due_date, on))
        if bucket is None or item.amount_fen == 0:
            continue
        line = totals[bucket]
        line[0] += 1
        line[1] += item.principal_fen
        line[2] += item.interest_fen
    return [AgingLine(bucket, *totals[bucket]) for bucket in AgingBucket]


def days_past_due(unpaid: Iterable[UnpaidInstallment], on: date) -> int:
    """A loan's days past due: those of its oldest unpaid installment (0 when none is overdue)."""
    return max(
        (days_overdue(item.due_date, on) for item in unpaid if item.amount_fen > 0), default=0
    )


def overdue_amount(unpaid: Iterable[UnpaidInstallment], period_end: date) -> int:
    """逾期额: unpaid principal of installments past due at the period end (due before it)."""
    return sum(item.principal_fen for item in unpaid if item.due_date < period_end)


def overdue_ratio(overdue_fen: int, loan_balance_fen: int) -> Decimal:
    """逾期率 = overdue amount / loan balance at the period end, as a fraction (28 digits)."""
    for value in (overdue_fen, loan_balance_fen):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(
                f"金额必须是非负整数分：{value!r}", f"amounts must be non-negative fen: {value!r}"
            )
    if overdue_fen > loan_balance_fen:
        raise InvalidInput(
            f"逾期额 {overdue_fen} 分大于贷款余额 {loan_balance_fen} 分",
            f"overdue amount {overdue_fen} fen exceeds the loan balance {loan_balance_fen} fen",
        )
    if loan_balance_fen == 0:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 28
        return Decimal(overdue_fen) / Decimal(loan_balance_fen)


def format_overdue_ratio(overdue_fen: int, loan_balance_fen: int, places: int = 2) -> str:
    """The overdue ratio as a percentage string, e.g. ``"0.25%"``."""
    return format_pct(overdue_ratio(overdue_fen, loan_balance_fen), places)


RISK_GRADE_UPTO_DAYS: tuple[tuple[int, str], ...] = (
    (0, "01"),
    (90, "02"),
    (180, "03"),
    (360, "04"),
)
"""Risk grade (五级分类) by a loan's days past due: 01 正常 (none), 02 关注 (1–90), 03 次级
(91–180), 04 可疑 (181–360), 05 损失 (over 360). domain.md lists the grades only; these bounds
are the project's rule (the common banking practice of grading by days past due)."""

AGING_UPTO_DAYS: tuple[tuple[int, AgingBucket], ...] = (
    (30, AgingBucket.DAYS_1_30),
    (90, AgingBucket.DAYS_31_90),
    (180, AgingBucket.DAYS_91_180),
)
"""The upper bounds of :func:`aging_bucket` (over the last: ``OVER_180``), for set-based SQL."""


def risk_grade(days_past_due: int) -> str:
    """The risk grade code (01–05) of a loan ``days_past_due`` days past due."""
    if isinstance(days_past_due, bool) or not isinstance(days_past_due, int) or days_past_due < 0:
        raise InvalidInput(
            f"逾期天数必须是非负整数：{days_past_due!r}", f"days must be >= 0: {days_past_due!r}"
        )
    for upto, grade in RISK_GRADE_UPTO_DAYS:
        if days_past_due <= upto:
            return grade
    return "05"
