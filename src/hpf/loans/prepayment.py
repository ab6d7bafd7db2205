"""Prepayment (提前还款): partial with a shorter term or a lower payment, and full prepayment.

docs/domain.md section 6, "Conventions for schedules": a prepayment is made on a due date, after
that installment has been paid. The rest of the schedule is re-derived from the balance left:

- "shorter term" (缩短期限) keeps the level — the payment A (等额本息) or the principal part
  (等额本金) — and recomputes the number of installments;
- "lower payment" (减少月供) keeps the remaining number of installments and recomputes the level
  from the balance exactly as for a new loan (A = round(B·i·(1+i)^m / ((1+i)^m − 1)), or
  round(B / m));
- in both, interest stays round(balance × i), the last installment pays the remaining balance plus
  its interest, and due dates keep the contract's day of month (clamped to month ends).

Rules chosen here where domain.md is silent:

- a prepayment is only possible on a due date after at least one installment has been paid (the
  position is "after installment k"); no accrued interest is due on it because installment k paid
  interest up to its due date; a prepayment between due dates is not modelled;
- any positive amount up to the balance is accepted (no minimum); an amount equal to the balance is
  a full prepayment (全额提前还款) that settles the loan, whatever the option;
- the number of installments after a "shorter term" prepayment is the smallest m whose present
  value of m payments of A at the loan's rate covers the balance, m = ⌈−ln(1 − B·i/A) / ln(1+i)⌉
  (⌈B / A⌉ at 0%), for 等额本息; ⌈B / principal part⌉ for 等额本金. As for a new loan, the last
  installment absorbs the rounding drift (it may exceed A by a few fen). The count never exceeds
  the installments that were left (a prepayment never lengthens the loan).

Pure domain logic: no database, web or IO.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from hpf.errors import InvalidInput
from hpf.loans.position import LoanPosition
from hpf.loans.rules import MAX_MONTHS, Installment, RepaymentMethod, due_date


class PrepaymentOption(StrEnum):
    """What a partial prepayment changes: 缩短期限 (shorter term) or 减少月供 (lower payment)."""

    SHORTER_TERM = "shorter_term"
    LOWER_PAYMENT = "lower_payment"

    @property
    def label_zh(self) -> str:
        return "缩短期限" if self is PrepaymentOption.SHORTER_TERM else "减少月供"


@dataclass(frozen=True, slots=True)
class Prepayment:
    """A prepayment of ``amount_fen`` on ``on`` (the due date of installment ``before.paid_n``)."""

    on: date
    amount_fen: int
    option: PrepaymentOption
    before: LoanPosition
    after: LoanPosition

    @property
    def full(self) -> bool:
        """The prepayment settled the loan (全额提前还款)."""
        return self.after.balance_fen == 0

    def schedule(self) -> list[Installment]:
        """The installments left after the prepayment (empty after a full prepayment)."""
        return self.after.schedule()


def parse_option(option: PrepaymentOption | str) -> PrepaymentOption:
    """A PrepaymentOption from its value ("shorter_term"/"lower_payment")."""
    if isinstance(option, PrepaymentOption):
        return option
    try:
        return PrepaymentOption(str(option).strip().lower().replace("-", "_"))
    except ValueError:
        raise InvalidInput(
            f"未知的提前还款方式：{option!r}（应为 shorter_term 缩短期限 或 lower_payment 减少月供）",
            f"unknown prepayment option: {option!r} (want shorter_term or lower_payment)",
        ) from None


def prepay(position: LoanPosition, amount_fen: int, option: PrepaymentOption | str) -> Prepayment:
    """Prepay ``amount_fen`` right after installment ``position.paid_n``, on its due date."""
    chosen = parse_option(option)
    on = _check_prepayable(position)
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise InvalidInput("提前还款金额必须是整数分", "prepayment must be integer fen")
    if not 0 < amount_fen <= position.balance_fen:
        raise InvalidInput(
            f"提前还款金额须大于零且不超过贷款余额 {position.balance_fen} 分：{amount_fen}",
            f"prepayment must be positive and at most the balance {position.balance_fen} fen: "
            f"{amount_fen}",
        )
    balance = position.balance_fen - amount_fen
    if balance == 0:
        after = replace(position, last_n=position.paid_n, balance_fen=0)
    elif chosen is PrepaymentOption.LOWER_PAYMENT:
        after = replace(position, balance_fen=balance).with_level_recomputed()
    else:
        count = installments_for_level(
            position.method, balance, position.annual_rate_pct, position.level_fen
        )
        after = replace(
            position,
            balance_fen=balance,
            last_n=position.paid_n + min(count, position.remaining_n),
        )
    return Prepayment(on, amount_fen, chosen, position, after)


def prepay_in_full(position: LoanPosition) -> Prepayment:
    """全额提前还款: pay the whole balance right after installment ``position.paid_n``."""
    _check_prepayable(position)
    return prepay(position, position.balance_fen, PrepaymentOption.SHORTER_TERM)


def installments_for_level(
    method: RepaymentMethod, balance_fen: int, annual_rate_pct: Decimal, level_fen: int
) -> int:
    """The number of installments that keeping ``level_fen`` takes to repay ``balance_fen``.

    等额本息: the smallest m with A·((1+i)^m − 1) ≥ B·i·(1+i)^m (present value of m payments
    covers B), computed exactly; 等额本金: ⌈B / part⌉. Counts above MAX_MONTHS stop at
    MAX_MONTHS + 1 (the caller never keeps more installments than were left).
    """
    if balance_fen <= 0:
        raise InvalidInput("余额必须大于零", "balance must be positive")
    if level_fen <= 0:
        raise InvalidInput("月供或每期本金必须大于零", "level must be positive")
    if method is RepaymentMethod.LINEAR:
        return -(-balance_fen // level_fen)
    num, den = annual_rate_pct.as_integer_ratio()
    den *= 1200  # i = num / den
    if num == 0:
        return -(-balance_fen // level_fen)
    if level_fen * den <= balance_fen * num:
        raise InvalidInput(
            f"月供 {level_fen} 分不足以支付利息，无法缩短期限",
            f"payment of {level_fen} fen does not cover the interest; the term cannot shrink",
        )
    # Multiply both sides by den^(m+1): A·den·((den+num)^m − den^m) ≥ B·num·(den+num)^m.
    grown, base, m = den + num, den, 1
    while level_fen * den * (grown - base) < balance_fen * num * grown and m <= MAX_MONTHS:
        grown *= den + num
        base *= den
        m += 1
    return m


def _check_prepayable(position: LoanPosition) -> date:
    if position.paid_n == 0:
        raise InvalidInput(
            "提前还款须在已还款的某期还款日办理（首期还款日之前不能提前还款）",
            "a prepayment is made on a due date after that installment; none has been paid yet",
        )
    if position.settled:
        raise InvalidInput("贷款已结清，无需提前还款", "the loan is already settled")
    return due_date(position.first_due, position.paid_n)
