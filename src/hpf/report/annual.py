"""The annual report (住房公积金年度报告), domain.md §8: the year's figures in the national
structure, reckoned from the books. Field definitions: docs/annual-report.md.

"Year" is the calendar year (January 1 – December 31): domain.md §8 reads balances "end of
year" and nothing there points to the interest year. Money is posted money by **posting
date**, the date accounting periods close on, so a closed year's report never changes.

Depositors' movements come from the depositors' accounts (201-…) by journal kind, a reversal
counting as the kind it reverses:
- contributions (缴存额): 汇缴 and 补缴 (``remittance``, ``back_payment``);
- interest credited: annual settlement and interest on closure;
- transfers in / out: ``transfer_in`` / ``transfer_out`` (异地转移接续);
- withdrawals (提取额): every other movement out of depositors' accounts (partial and closing
  withdrawals, loan repayments from the balance; a merge between two accounts nets to zero).
So ``balance_end = balance_start + contributions − withdrawals + interest_credited +
transfers_in − transfers_out`` holds by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.dates import month_end
from hpf.deposits import stats as deposit_stats
from hpf.finance import books
from hpf.finance.statements import distributed
from hpf.finance.value_added import distribution_of, planned, year_figures
from hpf.ledger import chart
from hpf.loans import stats as loan_stats
from hpf.money import format_yuan
from hpf.policy.loader import Policy
from hpf.report import breakdowns, sections
from hpf.report import indicators as ind
from hpf.withdrawals import stats as withdrawal_stats

CONTRIBUTION_KINDS = frozenset({"remittance", "back_payment"})
INTEREST_KINDS = frozenset({"interest_settlement", "closure_interest"})
TRANSFER_IN_KINDS = frozenset({"transfer_in"})
TRANSFER_OUT_KINDS = frozenset({"transfer_out"})
LOAN_KINDS = frozenset({"loan_repayment", "loan_prepayment"})
WITHDRAWAL_KINDS = frozenset({"partial_withdrawal", "closing_withdrawal"}) | LOAN_KINDS
"""Kinds counted as withdrawals (提取笔数): one per journal, less one per reversal."""


@dataclass
class DepositMovements:
    """Movements of depositors' accounts in a period (fen, positive = in the named direction)."""

    contributions: int = 0
    interest: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    withdrawals: int = 0
    withdrawal_count: int = 0
    loan_repayment_withdrawals: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def deposit_movements(session: Session, start: date, end: date) -> DepositMovements:
    """Group the depositors' postings of the period by effective journal kind."""
    rows = session.execute(
        text(
            "SELECT kind, SUM(amount), SUM(CASE WHEN reversal = 1 THEN -1 ELSE 1 END) FROM ("
            f"SELECT j.id, {books.EFFECTIVE_KIND} AS kind, "
            "CASE WHEN j.reverses_id IS NULL THEN 0 ELSE 1 END AS reversal, "
            f"-SUM(p.amount) AS amount FROM ledger_posting p {books.JOURNALS} "
            "JOIN ledger_account a ON a.id = p.account_id "
            "WHERE a.subsidiary_kind = 'depositor' AND j.posting_date >= :s "
            "AND j.posting_date <= :e GROUP BY j.id, "
            f"{books.EFFECTIVE_KIND}, j.reverses_id) t GROUP BY kind"
        ),
        {"s": start, "e": end},
    )
    out = DepositMovements()
    for kind, amount, count in rows:
        amount = int(amount or 0)  # credit-positive: into depositors' accounts
        out.by_kind[kind] = amount
        if kind in CONTRIBUTION_KINDS:
            out.contributions += amount
        elif kind in INTEREST_KINDS:
            out.interest += amount
        elif kind in TRANSFER_IN_KINDS:
            out.transfers_in += amount
        elif kind in TRANSFER_OUT_KINDS:
            out.transfers_out -= amount
        else:
            out.withdrawals -= amount
            if kind in WITHDRAWAL_KINDS:
                out.withdrawal_count += int(count or 0)
            if kind in LOAN_KINDS:
                out.loan_repayment_withdrawals -= amount
    return out


def _by_reason(
    session: Session, start: date, end: date, m: DepositMovements
) -> tuple[dict[str, int], int]:
    """Withdrawals by JGJ/T 320 reason code, summing to the total, and the housing part."""
    by_type = withdrawal_stats.ledger_amounts_by_type(session, start, end)
    reasons: dict[str, int] = {}
    housing = m.loan_repayment_withdrawals
    for (wtype, reason), fen in by_type.items():
        reasons[reason] = reasons.get(reason, 0) + fen
        if wtype in withdrawal_stats.HOUSING_TYPES:
            housing += fen
    if m.loan_repayment_withdrawals:
        reasons["06"] = reasons.get("06", 0) + m.loan_repayment_withdrawals
    rest = m.withdrawals - sum(reasons.values())
    if rest:
        reasons["99"] = reasons.get("99", 0) + rest
    return {k: v for k, v in sorted(reasons.items()) if v}, housing


def annual_report(session: Session, year: int, policy: Policy) -> dict[str, Any]:
    """The annual report of calendar ``year`` as JSON-ready data (see docs/annual-report.md)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    before = date(year - 1, 12, 31)
    y = format_yuan

    m = deposit_movements(session, start, end)
    last_year = deposit_movements(session, date(year - 1, 1, 1), before)
    # 缴存余额 (credit-positive) before the year and at each month end, in one pass
    days = [month_end(date(year, k, 1)) for k in range(1, 13)]
    deposits_at = {
        day: -fen
        for day, fen in books.balances_at(session, chart.DEPOSITORS_FUNDS, [before, *days]).items()
    }
    balance_start, balance_end = deposits_at[before], deposits_at[end]
    month_ends = [deposits_at[day] for day in days]
    counts = deposit_stats.paying_counts(session, start, end)
    new_depositors = sum(r.new_depositors for r in deposit_stats.monthly(session, start, end))
    by_reason, housing = _by_reason(session, start, end, m)

    issued_count, issued_fen = loan_stats.issued_in(session, start, end)
    loans_start = sum(loan_stats.loan_balances(session, before).values())
    loans_end = sum(loan_stats.loan_balances(session, end).values())
    repaid = loan_stats.principal_repaid_in(session, start, end)
    overdue = sum(loan_stats.overdue_amounts(session, end).values())

    figs = year_figures(session, year)
    posted = distribution_of(session, year) is not None
    if posted:
        parts = distributed(session, start, end)
    else:
        plan, _, _ = planned(session, year, policy, 0)
        parts = {
            "risk_reserve": plan.reserve_fen,
            "management_expenses": plan.management_fen,
            "public_housing_supplement": plan.supplement_fen,
        }
    reserve = -books.balance_at(session, chart.LOAN_RISK_RESERVE, end)

    return {
        "year": year,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "organisation": sections.organisation(session, policy),
        "deposits": {
            "contributions": y(m.contributions),
            "balance_start": y(balance_start),
            "balance_end": y(balance_end),
            "interest_credited": y(m.interest),
            "transfers_in": y(m.transfers_in),
            "transfers_out": y(m.transfers_out),
            "paying_employers": counts.employers,
            "paying_depositors": counts.depositors,
            "new_employers": counts.new_employers,
            "new_depositors": new_depositors,
            "growth": ind.text(ind.growth(m.contributions, last_year.contributions)),
        },
        "withdrawals": {
            "amount": y(m.withdrawals),
            "count": m.withdrawal_count,
            "ratio": ind.text(ind.withdrawal_ratio(m.withdrawals, m.contributions)),
            "housing_consumption": y(housing),
            "non_housing": y(m.withdrawals - housing),
            "by_reason": {code: y(fen) for code, fen in by_reason.items()},
        },
        "loans": {
            "issued_count": issued_count,
            "issued_amount": y(issued_fen),
            "balance_start": y(loans_start),
            "balance_end": y(loans_end),
            "principal_repaid": y(repaid),
            "loan_to_deposit_ratio": ind.text(ind.loan_to_deposit_ratio(loans_end, balance_end)),
        },
        "placements": sections.placements(session, end, balance_end),
        "finance": {
            "income": y(figs.income_fen),
            "expenses": y(figs.expenses_fen),
            "value_added_income": y(figs.value_added_fen),
            "value_added_yield": ind.text(ind.value_added_yield(figs.value_added_fen, month_ends)),
            "income_lines": {code: y(fen) for code, fen in sorted(figs.income.items())},
            "expense_lines": {code: y(fen) for code, fen in sorted(figs.expenses.items())},
            "distribution_posted": posted,
            "distribution": {k: y(v) for k, v in parts.items()},
        },
        "risk": {
            "overdue_amount": y(overdue),
            "overdue_ratio": ind.text(ind.overdue_ratio(overdue, loans_end)),
            "risk_reserve_balance": y(reserve),
            "reserve_adequacy": ind.text(ind.reserve_adequacy(reserve, loans_end)),
        },
        "benefit": {
            "housing_contribution_ratio": ind.text(
                ind.housing_contribution_ratio(issued_fen, housing, m.contributions)
            ),
            **breakdowns.depositor_breakdowns(session, start, end),
            **breakdowns.withdrawal_breakdowns(by_reason, housing, m.withdrawals),
            **breakdowns.loan_breakdowns(session, start, end, policy),
        },
        "other_matters": sections.other_matters(session, year, policy),
    }
