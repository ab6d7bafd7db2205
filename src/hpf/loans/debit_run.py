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

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.chart import subsidiary_code
from hpf.ledger.models import Journal
from hpf.ledger.rules import JournalDraft
from hpf.ledger.service import close_account
from hpf.loans.models import Installment, Loan, Repayment
from hpf.loans.overdue import UnpaidInstallment, installment_penalty
from hpf.loans.repayment import REPAYMENT_KIND, legs_of
from hpf.policy.loader import Policy, get_policy
from hpf.policy.schema import OverdueEntry


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
    """A loan (id, 贷款账号, branch, balance, last n) and its unpaid installments due:
    (id, n, due date, rate, unpaid principal, unpaid interest, paid principal, paid interest,
    paid penalty)."""

    loan_id: int
    loan_ref: str
    branch_id: int
    balance_fen: int
    last_n: int
    rows: list[tuple[int, int, date, Decimal, int, int, int, int, int]]


@dataclass(frozen=True)
class _Paid:
    """One installment as the run pays it."""

    row: tuple[int, int, date, Decimal, int, int, int, int, int]
    principal_fen: int
    interest_fen: int
    penalty_fen: int

    @property
    def amount_fen(self) -> int:
        return self.principal_fen + self.interest_fen + self.penalty_fen


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
    session.flush()  # the run reads and writes the tables, not the session's objects
    due = _unpaid_due(session, end)
    items: list[tuple[str, JournalDraft]] = []
    plans: list[tuple[_LoanDue, date, list[_Paid]]] = []
    entries: dict[date, OverdueEntry] = {}
    for loan_due in due:
        if loan_due.loan_id in skip:
            continue
        latest = max(r[2] for r in loan_due.rows)
        paid_on = latest if latest >= start else end
        entry = entries.get(paid_on)
        if entry is None:
            entry = entries[paid_on] = policy.on(paid_on).overdue
        dues = [
            _Paid(
                r,
                r[4],
                r[5],
                installment_penalty(
                    UnpaidInstallment(r[1], r[2], r[4], r[5]), r[3], paid_on, entry
                ),
            )
            for r in loan_due.rows
        ]
        first, last = dues[0].row[1], dues[-1].row[1]
        items.append(
            (
                f"loan:{loan_due.loan_id}:bank:n{first}-{last}",
                JournalDraft(
                    REPAYMENT_KIND,
                    loan_due.branch_id,
                    paid_on,
                    paid_on,
                    legs_of(
                        subsidiary_code(chart.ENTRUSTED_LOANS, loan_due.loan_ref),
                        sum(d.principal_fen for d in dues),
                        sum(d.interest_fen + d.penalty_fen for d in dues),
                        chart.HPF_BANK_DEPOSITS,
                    ),
                    memo=f"贷款扣款 {loan_due.loan_ref} 第{first}-{last}期",
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
    """Installments unpaid and due by ``end`` of active loans, by loan (plain rows, no ORM
    objects: a month of a city's loan book)."""
    i, loan = _table(Installment).c, _table(Loan).c
    rows = session.execute(
        select(
            loan.id,
            loan.loan_ref,
            loan.branch_id,
            loan.balance_fen,
            loan.last_n,
            i.id,
            i.n,
            i.due_date,
            i.rate_pct,
            i.principal_fen,
            i.interest_fen,
            i.paid_principal_fen,
            i.paid_interest_fen,
            i.paid_penalty_fen,
        )
        .select_from(_table(Installment).join(_table(Loan), loan.id == i.loan_id))
        .where(loan.status == "active", i.status != "paid", i.due_date <= end)
        .order_by(i.loan_id, i.n)
    ).all()
    out: list[_LoanDue] = []
    for lid, ref, branch, balance, last_n, iid, n, due_on, rate, p, it, pp, pi, ppen in rows:
        if not out or out[-1].loan_id != lid:
            out.append(_LoanDue(int(lid), str(ref), int(branch), int(balance), int(last_n), []))
        out[-1].rows.append(
            (
                int(iid),
                int(n),
                due_on,
                Decimal(rate),
                int(p) - int(pp),
                int(it) - int(pi),
                int(pp),
                int(pi),
                int(ppen),
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
    plans: list[tuple[_LoanDue, date, list[_Paid]]],
    journal_ids: list[int],
) -> int:
    inst_updates: list[dict[str, Any]] = []
    repayments: list[dict[str, Any]] = []
    loan_updates: list[dict[str, Any]] = []
    settled: list[dict[str, Any]] = []
    to_close: list[tuple[str, date]] = []
    for (loan_due, paid_on, dues), journal_id in zip(plans, journal_ids, strict=True):
        key = f"loan:{loan_due.loan_id}:bank:n{dues[0].row[1]}-{dues[-1].row[1]}"
        for d in dues:
            iid, n, due_date, _rate, _p, _i, paid_p, paid_i, paid_pen = d.row
            inst_updates.append(
                {
                    "_id": iid,
                    "paid_principal_fen": paid_p + d.principal_fen,
                    "paid_interest_fen": paid_i + d.interest_fen,
                    "paid_penalty_fen": paid_pen + d.penalty_fen,
                    "penalty_fen": d.penalty_fen,
                    "days_overdue": max(0, (paid_on - due_date).days),
                    "status": "paid",
                    "paid_on": paid_on,
                }
            )
            repayments.append(
                {
                    "idempotency_key": f"{key}:n{n}",
                    "loan_id": loan_due.loan_id,
                    "branch_id": loan_due.branch_id,
                    "kind": "installment",
                    "source": "bank",
                    "installment_n": n,
                    "paid_on": paid_on,
                    "month": paid_on.replace(day=1),
                    "principal_fen": d.principal_fen,
                    "interest_fen": d.interest_fen,
                    "penalty_fen": d.penalty_fen,
                    "amount_fen": d.amount_fen,
                    "option": "",
                    "payer_depositor_id": None,
                    "journal_id": journal_id,
                }
            )
        balance = loan_due.balance_fen - sum(d.principal_fen for d in dues)
        paid_n = dues[-1].row[1]
        if paid_n == loan_due.last_n and balance == 0:
            settled.append(
                {
                    "_id": loan_due.loan_id,
                    "balance_fen": balance,
                    "paid_n": paid_n,
                    "status": "settled",
                    "settled_on": paid_on,
                    "days_past_due": 0,
                    "overdue_principal_fen": 0,
                    "overdue_interest_fen": 0,
                    "penalty_fen": 0,
                }
            )
            to_close.append((subsidiary_code(chart.ENTRUSTED_LOANS, loan_due.loan_ref), paid_on))
        else:
            loan_updates.append({"_id": loan_due.loan_id, "balance_fen": balance, "paid_n": paid_n})
    inst, loan = _table(Installment), _table(Loan)
    _update_many(session, inst, inst_updates)
    for s in range(0, len(repayments), 20_000):
        session.execute(_table(Repayment).insert(), repayments[s : s + 20_000])
    _update_many(session, loan, loan_updates)
    _update_many(session, loan, settled)
    for code, on in to_close:
        close_account(session, code, on)
    # the ORM objects of these rows (if any were loaded) no longer match the table
    session.expire_all()
    return len(to_close)


def _update_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """UPDATE ``table`` SET (the rows' other keys) WHERE id = ``_id``, executemany."""
    if not rows:
        return
    columns = [k for k in rows[0] if k != "_id"]
    stmt = (
        table.update()
        .where(table.c.id == bindparam("_id"))
        .values({c: bindparam(c) for c in columns})
    )
    for s in range(0, len(rows), 20_000):
        session.execute(stmt, rows[s : s + 20_000])


def _table(model: Any) -> Table:
    """The Core table of a mapped class (Core executemany: no ORM bookkeeping per row)."""
    table: Table = model.__table__
    return table
