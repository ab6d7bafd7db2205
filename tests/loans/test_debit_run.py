"""The set-based bank-debit run and the loan migration (期初迁移), on both backends.

The run books what the bank-file path (:mod:`hpf.loans.collection`) books for the same
installments paid on the same days: the same amounts, penalty interest and loan position.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.ledger.models import Journal
from hpf.ledger.service import balance_of
from hpf.ledger.verify import verify_ledger
from hpf.loans import service
from hpf.loans.debit_run import run_bank_debits
from hpf.loans.migration import MigratedLoan, migrate_loans
from hpf.loans.models import Installment, Loan, LoanParty, Repayment
from hpf.loans.overdue import UnpaidInstallment, installment_penalty
from hpf.loans.position import new_loan
from hpf.loans.rules import RepaymentMethod
from loan_books import LoanBooks

FIRST_DUE = date(2024, 10, 20)
RATE = Decimal("2.85")


def test_debits_pay_due_installments_and_skip_failed_ones(lb: LoanBooks, session: Session) -> None:
    borrower, _ = lb.family(spouse=False)
    loan = lb.loan(borrower)
    policy = lb.books.policy
    schedule = new_loan(RepaymentMethod.ANNUITY, 30_000_000, RATE, 240, FIRST_DUE).schedule()
    # October: the first installment is debited on its due date
    done = run_bank_debits(session, start=date(2024, 10, 1), end=date(2024, 10, 31), policy=policy)
    assert (done.loans, done.installments, done.paid_fen) == (1, 1, schedule[0].payment)
    session.refresh(loan)
    assert loan.paid_n == 1 and loan.balance_fen == schedule[0].balance
    assert balance_of(session, service.loan_account(loan)) == loan.balance_fen
    journal = session.scalar(
        select(Journal).where(Journal.idempotency_key == f"loan:{loan.id}:bank:n1-1")
    )
    assert journal is not None and journal.posting_date == FIRST_DUE
    again = run_bank_debits(session, start=date(2024, 10, 1), end=date(2024, 10, 31), policy=policy)
    assert again.loans == 0  # nothing unpaid: a second run posts nothing
    # November: the debit fails; the installment stays unpaid
    failed = run_bank_debits(
        session, start=date(2024, 11, 1), end=date(2024, 11, 30), failed=[loan.id], policy=policy
    )
    assert (failed.loans, failed.failed) == (0, 1)
    # December: both are paid on December 20, November's with penalty interest for 30 days
    paid = run_bank_debits(session, start=date(2024, 12, 1), end=date(2024, 12, 31), policy=policy)
    penalty = installment_penalty(
        UnpaidInstallment(2, date(2024, 11, 20), schedule[1].principal, schedule[1].interest),
        RATE,
        date(2024, 12, 20),
        policy.on(date(2024, 12, 20)).overdue,
    )
    assert penalty > 0
    assert paid.installments == 2
    assert paid.paid_fen == schedule[1].payment + schedule[2].payment + penalty
    session.refresh(loan)
    assert loan.paid_n == 3 and loan.balance_fen == schedule[2].balance
    rows = session.scalars(
        select(Installment).where(Installment.loan_id == loan.id, Installment.n <= 3)
    ).all()
    assert [(r.status, r.days_overdue) for r in sorted(rows, key=lambda r: r.n)] == [
        ("paid", 0),
        ("paid", 30),
        ("paid", 0),
    ]
    assert (
        session.scalar(select(func.sum(Repayment.penalty_fen)).where(Repayment.loan_id == loan.id))
        == penalty
    )
    assert verify_ledger(session).ok


def test_migrated_loans_have_schedules_and_accounts(lb: LoanBooks, session: Session) -> None:
    person = lb.person(lb.employer())
    refs = migrate_loans(
        session,
        [
            MigratedLoan(
                depositor_id=person.id,
                depositor_ref=person.depositor_ref,
                id_number=person.id_number,
                name=person.name,
                branch_id=person.branch_id,
                disbursed_on=date(2015, 3, 20),
                balance_fen=20_000_000,
                remaining_months=120,
                annual_rate_pct=Decimal("3.25"),
                rate_effective=date(2015, 8, 26),
                first_due=date(2020, 1, 20),
            )
        ],
        migrated_on=date(2019, 12, 31),
    )
    assert len(refs) == 1
    loan = session.get(Loan, refs[0].loan_id)
    assert loan is not None and loan.status == "active" and loan.last_n == 120
    total = session.scalar(
        select(func.sum(Installment.principal_fen)).where(Installment.loan_id == loan.id)
    )
    assert total == 20_000_000
    assert balance_of(session, refs[0].account_code) == 0  # the opening journal brings it in
    party = session.scalar(select(LoanParty).where(LoanParty.loan_id == loan.id))
    assert party is not None and party.id_number == person.id_number
