"""Where a loan stands (贷款现状): balance, rate and level after its last paid installment.

A :class:`LoanPosition` is the state that prepayment (提前还款, :mod:`hpf.loans.prepayment`) and
repricing (利率调整, :mod:`hpf.loans.repricing`) start from and return. Its remaining schedule is
derived from it alone with :func:`hpf.loans.rules.schedule_from`, following the schedule
conventions of docs/domain.md section 6: every installment but the last pays the level (the
payment A for 等额本息, the principal part for 等额本金); interest is round(balance × i); the last
installment pays the remaining balance plus its interest; installment n is due on
``due_date(first_due, n)`` (the first due date's day, clamped to the month's end).

Walking a new loan's position forward installment by installment reproduces its schedule exactly.
Pure domain logic: no database, web or IO.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from hpf.errors import InvalidInput
from hpf.loans.rules import (
    MAX_MONTHS,
    Installment,
    RepaymentMethod,
    annuity_payment,
    due_date,
    parse_method,
    schedule_from,
    validate_loan,
)
from hpf.money import div_round_half_up


@dataclass(frozen=True, slots=True)
class LoanPosition:
    """A loan after ``paid_n`` installments (0 = just disbursed); money in integer fen.

    ``last_n`` is the number of the loan's final installment (the term, unless a prepayment
    shortened it); ``balance_fen`` is the principal still owed; ``level_fen`` the payment A
    (等额本息) or principal part (等额本金) that every installment but the last pays.
    """

    method: RepaymentMethod
    annual_rate_pct: Decimal
    first_due: date
    paid_n: int
    last_n: int
    balance_fen: int
    level_fen: int

    def __post_init__(self) -> None:
        for name in ("paid_n", "last_n", "balance_fen", "level_fen"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(f"{name} 必须是整数", f"{name} must be an integer")
        if not 0 <= self.paid_n <= self.last_n or self.last_n < 1:
            raise InvalidInput(
                f"期次无效：已还 {self.paid_n} 期，末期 {self.last_n}",
                f"invalid installments: paid {self.paid_n}, last {self.last_n}",
            )
        if self.remaining_n > MAX_MONTHS:
            raise InvalidInput(
                f"剩余期数超过 {MAX_MONTHS}", f"more than {MAX_MONTHS} installments remain"
            )

    @property
    def remaining_n(self) -> int:
        """Installments still to pay."""
        return self.last_n - self.paid_n

    @property
    def settled(self) -> bool:
        """Nothing left to pay (结清)."""
        return self.remaining_n == 0 or self.balance_fen == 0

    @property
    def next_due(self) -> date | None:
        """Due date of the next installment, or None once settled."""
        return None if self.settled else due_date(self.first_due, self.paid_n + 1)

    @property
    def last_paid_due(self) -> date | None:
        """Due date of the last paid installment, or None before the first one."""
        return due_date(self.first_due, self.paid_n) if self.paid_n else None

    def schedule(self) -> list[Installment]:
        """The remaining installments, numbered and dated as in the contract."""
        if self.settled:
            return []
        return schedule_from(
            self.balance_fen,
            self.annual_rate_pct,
            self.paid_n + 1,
            self.remaining_n,
            self.first_due,
            self.method,
            level_fen=self.level_fen,
        )

    def with_level_recomputed(self) -> LoanPosition:
        """The same position with its level recomputed from the balance over the remaining
        installments (the "lower payment" and repricing conventions of domain.md section 6)."""
        if self.settled:
            return self
        return replace(
            self,
            level_fen=level_for(
                self.method, self.balance_fen, self.annual_rate_pct, self.remaining_n
            ),
        )


def level_for(
    method: RepaymentMethod | str, balance_fen: int, annual_rate_pct: Decimal, count: int
) -> int:
    """The level of a fresh schedule: A = annuity_payment (等额本息) or round(B / n) (等额本金)."""
    validate_loan(balance_fen, annual_rate_pct, count)
    if parse_method(method) is RepaymentMethod.ANNUITY:
        return annuity_payment(balance_fen, annual_rate_pct, count)
    return div_round_half_up(balance_fen, count)


def new_loan(
    method: RepaymentMethod | str,
    principal_fen: int,
    annual_rate_pct: Decimal,
    months: int,
    first_due: date,
) -> LoanPosition:
    """The position of a loan just disbursed (no installment paid yet)."""
    chosen = parse_method(method)
    level = level_for(chosen, principal_fen, annual_rate_pct, months)
    return LoanPosition(chosen, annual_rate_pct, first_due, 0, months, principal_fen, level)


def advance(position: LoanPosition, count: int) -> tuple[list[Installment], LoanPosition]:
    """Pay the next ``count`` installments as scheduled: (the rows paid, the new position)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidInput(f"期数无效：{count!r}", f"invalid number of installments: {count!r}")
    if count > position.remaining_n:
        raise InvalidInput(
            f"只剩 {position.remaining_n} 期，不能还 {count} 期",
            f"only {position.remaining_n} installments remain, cannot pay {count}",
        )
    if count == 0:
        return [], position
    rows = position.schedule()[:count]
    after = replace(position, paid_n=position.paid_n + count, balance_fen=rows[-1].balance)
    return rows, after


def advance_before(position: LoanPosition, day: date) -> tuple[list[Installment], LoanPosition]:
    """Pay every remaining installment due strictly before ``day``."""
    count = 0
    while (
        count < position.remaining_n
        and due_date(position.first_due, position.paid_n + count + 1) < day
    ):
        count += 1
    return advance(position, count)
