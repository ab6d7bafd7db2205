"""Loan repayment schedules (还款计划): 等额本息 (annuity) and 等额本金 (linear).

Implements the "Conventions for schedules" of docs/domain.md section 6 (个人住房公积金贷款):

- rates are annual percentages; the monthly rate is i = annual / 12 / 100;
- annuity (等额本息): payment A = round(P·i·(1+i)^n / ((1+i)^n − 1)); each installment's interest
  is round(balance × i) on the balance before it, its principal A − interest; the last installment
  pays the remaining balance plus its interest (so its payment usually differs from A);
- linear (等额本金): principal round(P / n) for every installment but the last, which pays the
  remainder; interest round(balance × i);
- every round() is half-up to the fen (0.01 yuan); installment k (1-based) is due on
  ``add_months(first_due, k - 1, day=first_due.day)``, i.e. on the first due date's day of month
  clamped to the month's end, each computed from the first due date (never chained).

Money is integer fen. The arithmetic is exact: the Decimal rate is turned into an exact ratio of
integers and every quotient is rounded half-up from exact integers, so no intermediate value is
ever rounded (this is stricter than high-precision Decimal and gives the same results whenever
that is exact). Pure domain logic: no database, web or IO.

The convention is applied literally, also for degenerate inputs: the rounding of A (and of each
interest) drifts the balance by at most about ((1+i)^n − 1)/i fen (22.60 yuan at 10% over 360
months), which the last installment absorbs. For a tiny principal at a high rate that drift can
exceed what is owed, and the schedule then ends with a negative principal (an overpayment to
refund), e.g. 2 fen over 4 months at 0% (等额本金): 1, 1, 1, −1 fen. It never happens for real
loans (for instance any principal of at least 10,000 yuan at a rate of at most 10%).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from hpf.dates import add_months
from hpf.errors import InvalidInput
from hpf.money import div_round_half_up

MAX_MONTHS = 360
"""Term at most 30 years (domain.md section 6)."""


class RepaymentMethod(StrEnum):
    """How a loan is repaid: 等额本息 (annuity) or 等额本金 (linear)."""

    ANNUITY = "annuity"
    LINEAR = "linear"

    @property
    def label_zh(self) -> str:
        return "等额本息" if self is RepaymentMethod.ANNUITY else "等额本金"


@dataclass(frozen=True, slots=True)
class Installment:
    """One row of a repayment schedule; money in integer fen.

    ``balance`` is the principal still owed AFTER this installment.
    """

    n: int
    due_date: date
    payment: int
    principal: int
    interest: int
    balance: int


# --- exact helpers ---------------------------------------------------------------------------


def _monthly_rate_ratio(annual_rate_pct: Decimal) -> tuple[int, int]:
    """The monthly rate i = annual / 12 / 100 as an exact ratio (numerator, denominator)."""
    num, den = annual_rate_pct.as_integer_ratio()
    return num, den * 1200


def _interest(balance_fen: int, rate: tuple[int, int]) -> int:
    """round(balance × i), half-up to the fen."""
    return div_round_half_up(balance_fen * rate[0], rate[1])


# --- validation --------------------------------------------------------------------------------


def validate_loan(principal_fen: int, annual_rate_pct: Decimal, months: int) -> None:
    """Reject a principal, rate or term outside the ranges a schedule is defined for."""
    if isinstance(principal_fen, bool) or not isinstance(principal_fen, int):
        raise InvalidInput("贷款本金必须是整数分", "principal must be integer fen")
    if principal_fen <= 0:
        raise InvalidInput(
            f"贷款本金必须大于零：{principal_fen}", f"principal must be positive: {principal_fen}"
        )
    if isinstance(months, bool) or not isinstance(months, int):
        raise InvalidInput("贷款期数必须是整数", "number of months must be an integer")
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(
            f"贷款期数须在 1 至 {MAX_MONTHS} 个月之间：{months}",
            f"months must be between 1 and {MAX_MONTHS}: {months}",
        )
    if not isinstance(annual_rate_pct, Decimal) or not annual_rate_pct.is_finite():
        raise InvalidInput(
            "利率必须是有限的 Decimal 百分数", "rate must be a finite Decimal percentage"
        )
    if not Decimal(0) <= annual_rate_pct < Decimal(100):
        raise InvalidInput(
            f"年利率须在 0 至 100（不含）之间：{annual_rate_pct}",
            f"annual rate must be in [0, 100): {annual_rate_pct}",
        )


def due_date(first_due: date, n: int) -> date:
    """Due date of installment ``n`` (1-based): the first due date's day, clamped to month end."""
    return add_months(first_due, n - 1, day=first_due.day)


# --- schedules -----------------------------------------------------------------------------------


def annuity_payment(principal_fen: int, annual_rate_pct: Decimal, months: int) -> int:
    """The 等额本息 monthly payment A = round(P·i·(1+i)^n / ((1+i)^n − 1)); round(P/n) at 0%."""
    validate_loan(principal_fen, annual_rate_pct, months)
    num, den = _monthly_rate_ratio(annual_rate_pct)
    if num == 0:
        return div_round_half_up(principal_fen, months)
    # With i = num/den: A = P·num·(den+num)^n / (den·((den+num)^n − den^n)), all integers.
    grown = (den + num) ** months
    return div_round_half_up(principal_fen * num * grown, den * (grown - den**months))


def annuity_schedule(
    principal_fen: int, annual_rate_pct: Decimal, months: int, first_due: date
) -> list[Installment]:
    """The 等额本息 schedule: equal payments A, the last one settling the remaining balance."""
    payment = annuity_payment(principal_fen, annual_rate_pct, months)
    return _annuity_rows(principal_fen, annual_rate_pct, months, first_due, payment)


def linear_schedule(
    principal_fen: int, annual_rate_pct: Decimal, months: int, first_due: date
) -> list[Installment]:
    """The 等额本金 schedule: principal round(P/n) each month, the last paying the remainder."""
    validate_loan(principal_fen, annual_rate_pct, months)
    return _linear_rows(principal_fen, annual_rate_pct, months, first_due)


def repayment_schedule(
    method: RepaymentMethod | str,
    principal_fen: int,
    annual_rate_pct: Decimal,
    months: int,
    first_due: date,
) -> list[Installment]:
    """The schedule for ``method`` ("annuity" 等额本息 or "linear" 等额本金)."""
    chosen = parse_method(method)
    if chosen is RepaymentMethod.ANNUITY:
        return annuity_schedule(principal_fen, annual_rate_pct, months, first_due)
    return linear_schedule(principal_fen, annual_rate_pct, months, first_due)


def total_interest(schedule: Sequence[Installment]) -> int:
    """Σ interest over a schedule, in fen."""
    return sum(row.interest for row in schedule)


def parse_method(method: RepaymentMethod | str) -> RepaymentMethod:
    """A RepaymentMethod from its value ("annuity"/"linear"), refusing anything else."""
    if isinstance(method, RepaymentMethod):
        return method
    try:
        return RepaymentMethod(str(method).strip().lower())
    except ValueError:
        raise InvalidInput(
            f"未知的还款方式：{method!r}（应为 annuity 等额本息 或 linear 等额本金）",
            f"unknown repayment method: {method!r} (want annuity or linear)",
        ) from None


def _row(n: int, first_due: date, principal: int, interest: int, balance: int) -> Installment:
    payment = principal + interest
    return Installment(n, due_date(first_due, n), payment, principal, interest, balance)


def _annuity_rows(
    principal_fen: int, annual_rate_pct: Decimal, months: int, first_due: date, payment: int
) -> list[Installment]:
    rate = _monthly_rate_ratio(annual_rate_pct)
    rows: list[Installment] = []
    balance = principal_fen
    for n in range(1, months + 1):
        interest = _interest(balance, rate)
        principal = balance if n == months else payment - interest
        balance -= principal
        rows.append(_row(n, first_due, principal, interest, balance))
    return rows


def _linear_rows(
    principal_fen: int, annual_rate_pct: Decimal, months: int, first_due: date
) -> list[Installment]:
    rate = _monthly_rate_ratio(annual_rate_pct)
    part = div_round_half_up(principal_fen, months)
    rows: list[Installment] = []
    balance = principal_fen
    for n in range(1, months + 1):
        interest = _interest(balance, rate)
        principal = balance if n == months else part
        balance -= principal
        rows.append(_row(n, first_due, principal, interest, balance))
    return rows


def schedule_from(
    balance_fen: int,
    annual_rate_pct: Decimal,
    next_n: int,
    count: int,
    first_due: date,
    method: RepaymentMethod | str,
    *,
    level_fen: int | None = None,
) -> list[Installment]:
    """The rest of a loan's schedule: installments ``next_n`` .. ``next_n + count − 1``.

    Rows keep the loan's own numbering and due dates (``due_date(first_due, n)``, anchored on the
    first due date's day of month), so a schedule continued after a prepayment or a repricing
    stays on the contract's day, clamped to month ends. ``level_fen`` is the payment A (等额本息)
    or the principal part (等额本金) to keep; None recomputes it from ``balance_fen`` over
    ``count`` installments by the same convention as a new loan. Every installment but the last
    pays the level; the last pays the remaining balance plus its interest.

    With ``next_n = 1``, ``count = months`` and no level this is exactly the loan's own schedule.
    """
    chosen = parse_method(method)
    validate_loan(balance_fen, annual_rate_pct, count)
    if isinstance(next_n, bool) or not isinstance(next_n, int) or next_n < 1:
        raise InvalidInput(
            f"期次必须是正整数：{next_n!r}", f"installment number must be positive: {next_n!r}"
        )
    if level_fen is None:
        if chosen is RepaymentMethod.ANNUITY:
            level_fen = annuity_payment(balance_fen, annual_rate_pct, count)
        else:
            level_fen = div_round_half_up(balance_fen, count)
    rate = _monthly_rate_ratio(annual_rate_pct)
    rows: list[Installment] = []
    balance = balance_fen
    last_n = next_n + count - 1
    for n in range(next_n, last_n + 1):
        interest = _interest(balance, rate)
        if n == last_n:
            principal = balance
        elif chosen is RepaymentMethod.ANNUITY:
            principal = level_fen - interest
        else:
            principal = level_fen
        balance -= principal
        rows.append(_row(n, first_due, principal, interest, balance))
    return rows
