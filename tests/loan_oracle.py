"""An independent oracle for loan schedules with prepayments and repricings (domain.md §6).

Written from the formulas with ``fractions.Fraction`` and its own due-date arithmetic; it shares
no code with ``hpf.loans``. One loop walks the installments of a loan; before each installment it
applies any rate change whose day is on or before the installment's due date (recomputing the
level over the installments left), and after each installment any prepayment made on its due date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from fractions import Fraction


@dataclass(frozen=True)
class Row:
    n: int
    due_date: date
    payment: int
    principal: int
    interest: int
    balance: int


@dataclass(frozen=True)
class RateEvent:
    """The new annual rate (percent, as text) for installments due on or after ``day``."""

    day: date
    rate_pct: str


@dataclass(frozen=True)
class PrepayEvent:
    """Prepay ``amount`` fen right after installment ``after_n``; option "shorter"/"lower"."""

    after_n: int
    amount: int
    option: str


def half_up(x: Fraction) -> int:
    """Round an exact rational to the nearest integer, ties away from zero."""
    if x < 0:
        return -half_up(-x)
    whole = x.numerator // x.denominator
    return whole + 1 if x - whole >= Fraction(1, 2) else whole


def ceil_frac(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def due_on(first: date, k: int) -> date:
    """The due date k months after the first, on the first's day clamped to the month's end."""
    months = first.year * 12 + first.month - 1 + k
    year, month = months // 12, months % 12 + 1
    return date(year, month, min(first.day, calendar.monthrange(year, month)[1]))


def i_of(rate_pct: str) -> Fraction:
    return Fraction(rate_pct) / 1200


def level_of(method: str, balance: int, i: Fraction, count: int) -> int:
    """A = round(B·i·(1+i)^m / ((1+i)^m − 1)) (B/m at 0%) for annuity; round(B/m) for linear."""
    if method == "linear" or i == 0:
        return half_up(Fraction(balance, count))
    g = (1 + i) ** count
    return half_up(balance * i * g / (g - 1))


def count_for_level(method: str, balance: int, i: Fraction, level: int) -> int:
    """Installments of ``level`` needed: smallest m with A·(1 − (1+i)^−m)/i ≥ B (annuity)."""
    if method == "linear" or i == 0:
        return ceil_frac(Fraction(balance, level))
    m, discount, pv = 0, Fraction(1), Fraction(0)
    while pv < balance:
        m += 1
        discount /= 1 + i
        pv += level * discount
    return m


def oracle_loan(
    method: str,
    principal: int,
    rate_pct: str,
    months: int,
    first: date,
    rates: list[RateEvent] | None = None,
    prepayments: list[PrepayEvent] | None = None,
) -> list[Row]:
    """Every installment of the loan under the given events, in order."""
    pending = sorted(rates or [], key=lambda event: event.day)
    prepays = {event.after_n: event for event in prepayments or []}
    i = i_of(rate_pct)
    balance, last = principal, months
    level = level_of(method, principal, i, months)
    rows: list[Row] = []
    k = 0
    while k < last and balance != 0:
        due = due_on(first, k)
        while pending and pending[0].day <= due:
            new_i = i_of(pending.pop(0).rate_pct)
            if new_i != i:
                i = new_i
                level = level_of(method, balance, i, last - k)
        interest = half_up(balance * i)
        if k + 1 == last:
            principal_part = balance
        elif method == "annuity":
            principal_part = level - interest
        else:
            principal_part = level
        balance -= principal_part
        k += 1
        rows.append(Row(k, due, principal_part + interest, principal_part, interest, balance))
        event = prepays.get(k)
        if event is not None and balance != 0:
            balance -= event.amount
            if balance == 0:
                break
            if event.option == "lower":
                level = level_of(method, balance, i, last - k)
            else:
                last = k + min(count_for_level(method, balance, i, level), last - k)
    return rows
