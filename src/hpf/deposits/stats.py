"""归集 statistics by branch and month (the reports and the goal table read these).

Amounts, paying employers and depositors and new depositors come from the monthly summary kept
when remittances post; balances are summed from the postings of depositor accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hpf.deposits.models import MonthlyDepositStats


@dataclass(frozen=True)
class MonthStats:
    branch_id: int
    month: date
    amount_fen: int
    paying_employers: int
    paying_depositors: int
    new_depositors: int


def monthly(
    session: Session, first: date, last: date, *, branch_id: int | None = None
) -> list[MonthStats]:
    """Summary rows with ``first`` ≤ month ≤ ``last`` (months as their first day)."""
    stmt = select(MonthlyDepositStats).where(
        MonthlyDepositStats.month >= first, MonthlyDepositStats.month <= last
    )
    if branch_id is not None:
        stmt = stmt.where(MonthlyDepositStats.branch_id == branch_id)
    return [
        MonthStats(
            r.branch_id,
            r.month,
            r.amount_fen,
            r.paying_employers,
            r.paying_depositors,
            r.new_depositors,
        )
        for r in session.scalars(
            stmt.order_by(MonthlyDepositStats.month, MonthlyDepositStats.branch_id)
        )
    ]


def balances_by_branch(session: Session, as_of: date) -> dict[int, int]:
    """Depositors' balances (缴存余额, fen, positive) per branch at the end of ``as_of``."""
    rows = session.execute(
        text(
            "SELECT a.branch_id, -SUM(p.amount) AS balance FROM ledger_posting p "
            "JOIN ledger_journal j ON j.id = p.journal_id "
            "JOIN ledger_account a ON a.id = p.account_id "
            "WHERE a.subsidiary_kind = 'depositor' AND j.value_date <= :d GROUP BY a.branch_id"
        ),
        {"d": as_of},
    )
    return {int(b): int(v) for b, v in rows}


@dataclass(frozen=True)
class PayingCounts:
    """实缴单位数 / 实缴职工人数 and 新开户单位数 of a period (see ``paying_counts``)."""

    employers: int
    depositors: int
    new_employers: int


def paying_counts(session: Session, start: date, end: date) -> PayingCounts:
    """Employers and depositors who actually paid (实缴) from ``start`` to ``end``: distinct
    employers with a monthly remittance list (汇缴, not 补缴) posted in the period, and distinct
    depositors with a non-zero line on one; new employers (新开户单位) are those whose first
    posted list of any kind was posted in the period (the depositors' counterpart is
    ``MonthStats.new_depositors``: first contribution in the month)."""
    params = {"s": start, "e": end}
    employers, depositors = session.execute(
        text(
            "SELECT COUNT(DISTINCT r.employer_id), COUNT(DISTINCT CASE WHEN "
            "l.employer_fen + l.employee_fen <> 0 THEN l.depositor_id END) "
            "FROM deposit_remittance r LEFT JOIN deposit_remittance_line l "
            "ON l.remittance_id = r.id WHERE r.status = 'posted' AND r.kind = 'remittance' "
            "AND r.posted_on >= :s AND r.posted_on <= :e"
        ),
        params,
    ).one()
    new = session.execute(
        text(
            "SELECT COUNT(*) FROM (SELECT employer_id, MIN(posted_on) AS first "
            "FROM deposit_remittance WHERE status = 'posted' GROUP BY employer_id) f "
            "WHERE f.first >= :s AND f.first <= :e"
        ),
        params,
    ).scalar()
    return PayingCounts(int(employers or 0), int(depositors or 0), int(new or 0))
