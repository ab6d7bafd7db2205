"""Loan statistics (贷款统计) by branch and month, and the overdue ratio (逾期率) at a date.

domain.md §8: 个贷发放笔数/金额; 个贷余额; 个贷率 = 个贷余额 / 缴存余额; 逾期额, 逾期率 = 逾期额 /
个贷余额; §6 convention: 逾期额 = unpaid principal of installments past due at the period end.

Everything is reckoned from the stored facts, so a past date gives the figures as they were:
- loan balance at D = principal disbursed on or before D − principal repaid on or before D;
- overdue at D = principal of installments due before D and not paid by the end of D;
- deposit balance (缴存余额) at D = the depositors' accounts (201-…) from postings dated on or
  before D, by the account's branch.
Each figure is one grouped query per date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hpf.dates import add_months, month_end
from hpf.errors import InvalidInput
from hpf.ledger.models import Account, Journal, Posting
from hpf.loans.models import Installment, Loan, Repayment
from hpf.loans.overdue import overdue_ratio
from hpf.money import round_half_up


@dataclass(frozen=True)
class OverdueRow:
    """逾期额 and 个贷余额 of one branch (None = all branches) at a date."""

    branch_id: int | None
    balance_fen: int
    overdue_fen: int

    @property
    def ratio(self) -> Decimal:
        return overdue_ratio(self.overdue_fen, self.balance_fen)


@dataclass(frozen=True)
class MonthRow:
    """One branch's month (``month`` = first day)."""

    branch_id: int
    month: date
    issued: int
    issued_fen: int
    repaid_fen: int
    """Installments paid: principal + interest + penalty."""
    prepayments: int
    prepaid_fen: int
    balance_fen: int
    deposit_balance_fen: int
    overdue_fen: int

    @property
    def loan_to_deposit(self) -> Decimal:
        """个贷率 = 个贷余额 / 缴存余额 (0..), half-up to 0.0001; 0 without deposits."""
        if self.deposit_balance_fen <= 0:
            return Decimal(0)
        return round_half_up(
            Decimal(self.balance_fen) / Decimal(self.deposit_balance_fen), Decimal("0.0001")
        )

    @property
    def overdue_ratio(self) -> Decimal:
        return overdue_ratio(self.overdue_fen, self.balance_fen)


def _by_branch(rows: Iterable[tuple[object, object]]) -> dict[int, int]:
    return {int(str(b)): int(str(v or 0)) for b, v in rows}


def loan_balances(session: Session, on: date) -> dict[int, int]:
    """个贷余额 by branch at the end of ``on``."""
    disbursed = _by_branch(
        session.execute(
            select(Loan.branch_id, func.sum(Loan.principal_fen))
            .where(Loan.disbursed_on <= on)
            .group_by(Loan.branch_id)
        ).all()
    )
    repaid = _by_branch(
        session.execute(
            select(Repayment.branch_id, func.sum(Repayment.principal_fen))
            .where(Repayment.paid_on <= on)
            .group_by(Repayment.branch_id)
        ).all()
    )
    return {b: disbursed.get(b, 0) - repaid.get(b, 0) for b in disbursed.keys() | repaid.keys()}


def overdue_amounts(session: Session, on: date) -> dict[int, int]:
    """逾期额 by branch at the end of ``on``."""
    return _by_branch(
        session.execute(
            select(Loan.branch_id, func.sum(Installment.principal_fen))
            .join(Loan, Loan.id == Installment.loan_id)
            .where(
                Installment.due_date < on,
                or_(Installment.paid_on.is_(None), Installment.paid_on > on),
                Loan.disbursed_on <= on,
            )
            .group_by(Loan.branch_id)
        ).all()
    )


def deposit_balances(session: Session, on: date) -> dict[int, int]:
    """缴存余额 by branch at the end of ``on`` (credit-positive)."""
    rows = session.execute(
        select(Account.branch_id, -func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id)
        .join(Journal, Journal.id == Posting.journal_id)
        .where(Account.subsidiary_kind == "depositor", Journal.posting_date <= on)
        .group_by(Account.branch_id)
    ).all()
    return _by_branch((b, v) for b, v in rows if b is not None)


def overdue_by_branch(session: Session, on: date) -> list[OverdueRow]:
    """逾期额, 个贷余额 and 逾期率 of every branch with loans at ``on``, then the total (None)."""
    balances = loan_balances(session, on)
    overdue = overdue_amounts(session, on)
    rows = [
        OverdueRow(b, balances.get(b, 0), overdue.get(b, 0))
        for b in sorted(balances.keys() | overdue.keys())
    ]
    rows.append(
        OverdueRow(None, sum(r.balance_fen for r in rows), sum(r.overdue_fen for r in rows))
    )
    return rows


def loan_stats(
    session: Session, *, start: date, end: date, branch_id: int | None = None
) -> list[MonthRow]:
    """Month by month from ``start``'s month to ``end``'s, by branch (rows with any figure)."""
    if end < start:
        raise InvalidInput("结束日期早于开始日期", "the end date is before the start date")
    first, last = start.replace(day=1), end.replace(day=1)
    if (last.year - first.year) * 12 + last.month - first.month > 120:
        raise InvalidInput("统计期间最长十年", "at most ten years at a time")
    issued: dict[tuple[int, date], tuple[int, int]] = {}
    for b, m, n, amount in session.execute(
        select(Loan.branch_id, Loan.disbursed_month, func.count(), func.sum(Loan.principal_fen))
        .where(Loan.disbursed_month >= first, Loan.disbursed_month <= last)
        .group_by(Loan.branch_id, Loan.disbursed_month)
    ):
        issued[(int(b), _d(m))] = (int(n), int(amount or 0))
    repaid: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for b, m, kind, n, amount in session.execute(
        select(
            Repayment.branch_id,
            Repayment.month,
            Repayment.kind,
            func.count(),
            func.sum(Repayment.amount_fen),
        )
        .where(Repayment.month >= first, Repayment.month <= last)
        .group_by(Repayment.branch_id, Repayment.month, Repayment.kind)
    ):
        line = repaid[(int(b), _d(m))]
        if kind == "installment":
            line[0] += int(amount or 0)
        else:
            line[1] += int(n)
            line[2] += int(amount or 0)
    out: list[MonthRow] = []
    month = first
    while month <= last:
        end_day = min(month_end(month), end)
        balances = loan_balances(session, end_day)
        deposits = deposit_balances(session, end_day)
        overdue = overdue_amounts(session, end_day)
        branches = (
            set(balances)
            | {b for b, m in issued if m == month}
            | {b for b, m in repaid if m == month}
        )
        for b in sorted(branches):
            if branch_id is not None and b != branch_id:
                continue
            n, amount = issued.get((b, month), (0, 0))
            inst, pre_n, pre_fen = repaid.get((b, month), [0, 0, 0])
            row = MonthRow(
                b,
                month,
                n,
                amount,
                inst,
                pre_n,
                pre_fen,
                balances.get(b, 0),
                deposits.get(b, 0),
                overdue.get(b, 0),
            )
            if any((row.issued, row.balance_fen, row.repaid_fen, row.prepaid_fen)):
                out.append(row)
        month = add_months(month, 1)
    return out


def _d(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def issued_in(session: Session, start: date, end: date) -> tuple[int, int]:
    """个贷发放笔数 and 金额 (fen): loans disbursed from ``start`` to ``end`` inclusive."""
    n, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(Loan.principal_fen), 0)).where(
            Loan.disbursed_on >= start, Loan.disbursed_on <= end
        )
    ).one()
    return int(n or 0), int(amount or 0)


def principal_repaid_in(session: Session, start: date, end: date) -> int:
    """Principal repaid (installments and prepayments) from ``start`` to ``end`` inclusive."""
    value = session.scalar(
        select(func.coalesce(func.sum(Repayment.principal_fen), 0)).where(
            Repayment.paid_on >= start, Repayment.paid_on <= end
        )
    )
    return int(value or 0)
