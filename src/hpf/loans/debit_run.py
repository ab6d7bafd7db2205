"""代扣还款 at scale: the bank's debit of every installment due in a period, booked set-based.

:mod:`hpf.loans.collection` exports the installments due to the bank and books its result file
line by line (one journal per installment, under the loan's lock). A center with a hundred
thousand loans books a month's successful debits at once: :func:`run_bank_debits` applies the
same rules — every unpaid installment due by the end of the period is paid in full, with the
penalty interest of :func:`hpf.loans.overdue.installment_penalty` reckoned to the day paid;
principal credits ``121-<贷款账号>``, interest and penalty 40103, the bank 101 is debited
(:func:`hpf.loans.repayment.repayment_legs`) — for every loan except those whose debit failed
(``failed``: their installments stay unpaid and fall overdue in the overdue batch).

A loan pays on the due date of its latest installment in the period (the day the bank debits
it), or on the period's last day when only older, overdue installments are unpaid. One journal
per loan through :func:`hpf.ledger.bulk.post_many`, key ``loan:<id>:bank:n<first>-<last>``
(idempotent: a second run finds nothing unpaid and posts nothing); installments, repayment
records and loan positions are written in batches; a loan fully repaid is settled (结清) and
its ledger account closed. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.models import Journal
from hpf.ledger.rules import JournalDraft
from hpf.ledger.service import close_account
from hpf.loans.models import Installment, Loan, Repayment
from hpf.loans.overdue import UnpaidInstallment, installment_penalty
from hpf.loans.repayment import REPAYMENT_KIND, Due, repayment_legs
from hpf.loans.service import loan_account
from hpf.policy.loader import Policy, get_policy


@dataclass(frozen=True)
class DebitRunSummary:
    """What a run booked: loans and installments paid, fen paid, loans settled, loans skipped."""

    loans: int
    installments: int
    paid_fen: int
    settled: int
    failed: int


@dataclass
class _LoanDue:
    loan: Loan
    rows: list[tuple[Installment, int, int]]  # installment, unpaid principal, unpaid interest


def run_bank_debits(
    session: Session,
    *,
    start: date,
    end: date,
    failed: Iterable[int] = (),
    policy: Policy | None = None,
) -> DebitRunSummary:
    """Book the successful debits of installments due by ``end`` (see the module doc)."""
    policy = policy or get_policy()
    skip = set(failed)
    due = _unpaid_due(session, end)
    items: list[tuple[str, JournalDraft]] = []
    plans: list[tuple[_LoanDue, date, list[Due]]] = []
    for loan_due in due:
        if loan_due.loan.id in skip:
            continue
        latest = max(i.due_date for i, _, _ in loan_due.rows)
        paid_on = latest if latest >= start else end
        entry = policy.on(paid_on).overdue
        dues = [
            Due(
                inst,
                principal,
                interest,
                installment_penalty(
                    UnpaidInstallment(inst.n, inst.due_date, principal, interest),
                    Decimal(inst.rate_pct),
                    paid_on,
                    entry,
                ),
            )
            for inst, principal, interest in loan_due.rows
        ]
        loan = loan_due.loan
        first, last = dues[0].installment.n, dues[-1].installment.n
        items.append(
            (
                f"loan:{loan.id}:bank:n{first}-{last}",
                JournalDraft(
                    REPAYMENT_KIND,
                    loan.branch_id,
                    paid_on,
                    paid_on,
                    repayment_legs(loan, dues, chart.HPF_BANK_DEPOSITS),
                    memo=f"贷款扣款 {loan.loan_ref} 第{first}-{last}期",
                ),
            )
        )
        plans.append((loan_due, paid_on, dues))
    if not items:
        return DebitRunSummary(0, 0, 0, 0, len(skip))
    result = post_many(session, items)
    journal_ids = _journal_ids(session, [key for key, _ in items], result.first_id, result.replayed)
    settled = _settle(session, plans, journal_ids)
    paid = sum(d.amount_fen for _, _, dues in plans for d in dues)
    count = sum(len(dues) for _, _, dues in plans)
    return DebitRunSummary(len(plans), count, paid, settled, len(skip))


def _unpaid_due(session: Session, end: date) -> list[_LoanDue]:
    rows = session.execute(
        select(Installment, Loan)
        .join(Loan, Loan.id == Installment.loan_id)
        .where(Loan.status == "active", Installment.status != "paid", Installment.due_date <= end)
        .order_by(Installment.loan_id, Installment.n)
    ).all()
    out: list[_LoanDue] = []
    for inst, loan in rows:
        if not out or out[-1].loan.id != loan.id:
            out.append(_LoanDue(loan, []))
        out[-1].rows.append(
            (
                inst,
                inst.principal_fen - inst.paid_principal_fen,
                inst.interest_fen - inst.paid_interest_fen,
            )
        )
    return out


def _journal_ids(
    session: Session, keys: list[str], first_id: int | None, replayed: int
) -> list[int]:
    if replayed == 0 and first_id is not None:
        return [first_id + k for k in range(len(keys))]
    found: dict[str, int] = {}
    for s in range(0, len(keys), 900):
        chunk = keys[s : s + 900]
        for key, jid in session.execute(
            select(Journal.idempotency_key, Journal.id).where(Journal.idempotency_key.in_(chunk))
        ):
            found[key] = int(jid)
    return [found[k] for k in keys]


def _settle(
    session: Session,
    plans: list[tuple[_LoanDue, date, list[Due]]],
    journal_ids: list[int],
) -> int:
    inst_updates: list[dict[str, Any]] = []
    repayments: list[dict[str, Any]] = []
    loan_updates: list[dict[str, Any]] = []
    to_close: list[tuple[Loan, date]] = []
    for (loan_due, paid_on, dues), journal_id in zip(plans, journal_ids, strict=True):
        loan = loan_due.loan
        key = f"loan:{loan.id}:bank:n{dues[0].installment.n}-{dues[-1].installment.n}"
        for d in dues:
            row = d.installment
            inst_updates.append(
                {
                    "id": row.id,
                    "paid_principal_fen": row.paid_principal_fen + d.principal_fen,
                    "paid_interest_fen": row.paid_interest_fen + d.interest_fen,
                    "paid_penalty_fen": row.paid_penalty_fen + d.penalty_fen,
                    "penalty_fen": d.penalty_fen,
                    "days_overdue": max(0, (paid_on - row.due_date).days),
                    "status": "paid",
                    "paid_on": paid_on,
                }
            )
            repayments.append(
                {
                    "idempotency_key": f"{key}:n{row.n}",
                    "loan_id": loan.id,
                    "branch_id": loan.branch_id,
                    "kind": "installment",
                    "source": "bank",
                    "installment_n": row.n,
                    "paid_on": paid_on,
                    "month": paid_on.replace(day=1),
                    "principal_fen": d.principal_fen,
                    "interest_fen": d.interest_fen,
                    "penalty_fen": d.penalty_fen,
                    "amount_fen": d.amount_fen,
                    "payer_depositor_id": None,
                    "journal_id": journal_id,
                }
            )
        balance = loan.balance_fen - sum(d.principal_fen for d in dues)
        paid_n = dues[-1].installment.n
        values: dict[str, Any] = {"id": loan.id, "balance_fen": balance, "paid_n": paid_n}
        if paid_n == loan.last_n and balance == 0:
            values.update(
                status="settled",
                settled_on=paid_on,
                days_past_due=0,
                overdue_principal_fen=0,
                overdue_interest_fen=0,
                penalty_fen=0,
            )
            to_close.append((loan, paid_on))
        loan_updates.append(values)
    for s in range(0, len(inst_updates), 20_000):
        session.execute(update(Installment), inst_updates[s : s + 20_000])
    for s in range(0, len(repayments), 20_000):
        session.execute(insert(Repayment), repayments[s : s + 20_000])
    for s in range(0, len(loan_updates), 20_000):
        session.execute(update(Loan), loan_updates[s : s + 20_000])
    for loan, on in to_close:
        close_account(session, loan_account(loan), on)
    session.flush()
    return len(to_close)
