"""Repayment on both databases: the bank debit file, 约定提取还贷, prepayments, to the fen."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.deposits.depositors import balance_fen
from hpf.errors import InvalidInput
from hpf.ledger.models import Account
from hpf.ledger.service import balance_of
from hpf.ledger.verify import verify_ledger
from hpf.loans import collection, repayment, service
from hpf.loans.models import Installment, Loan, Repayment
from hpf.loans.overdue import UnpaidInstallment, installment_penalty
from hpf.loans.position import advance, new_loan
from hpf.loans.prepayment import prepay, prepay_in_full
from hpf.loans.rules import RepaymentMethod
from loan_books import LoanBooks

FIRST_DUE = date(2024, 10, 20)
RATE = Decimal("2.85")


def _result(batch: collection.BatchFile, outcome: str, message: str = "") -> str:
    rows = list(csv.reader(io.StringIO(batch.csv_text)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*rows[0], "结果", "说明"])
    for row in rows[1:]:
        writer.writerow([*row, outcome, message])
    return out.getvalue()


def _rows(session: Session, loan: Loan) -> list[tuple[int, date, int, int, int]]:
    return [
        (r.n, r.due_date, r.principal_fen, r.interest_fen, r.balance_after_fen)
        for r in session.scalars(
            select(Installment)
            .where(Installment.loan_id == loan.id, Installment.status != "paid")
            .order_by(Installment.n)
        )
    ]


def _expected(schedule: list) -> list[tuple[int, date, int, int, int]]:
    return [(r.n, r.due_date, r.principal, r.interest, r.balance) for r in schedule]


def test_bank_debit_file_and_idempotent_result(lb: LoanBooks, session: Session) -> None:
    borrower, _ = lb.family(spouse=False)
    loan = lb.loan(borrower)
    actor = lb.books.actor
    with pytest.raises(service.LoanError):
        collection.export_batch(session, on=date(2024, 10, 19), actor=actor, policy=lb.books.policy)
    first = collection.export_batch(session, on=FIRST_DUE, actor=actor, policy=lb.books.policy)
    assert first.lines == 1 and first.total_fen == loan.level_fen
    text = _result(first, "成功")
    summary = collection.import_result(session, text, on=FIRST_DUE, actor=actor)
    assert (summary.paid, summary.failed, summary.paid_fen) == (1, 0, loan.level_fen)
    assert collection.import_result(session, text, on=FIRST_DUE, actor=actor).unchanged == 1
    session.refresh(loan)
    schedule = new_loan(RepaymentMethod.ANNUITY, 30_000_000, RATE, 240, FIRST_DUE).schedule()
    assert loan.paid_n == 1 and loan.balance_fen == schedule[0].balance
    assert balance_of(session, service.loan_account(loan)) == loan.balance_fen
    # a failed debit leaves the installment unpaid; the next file takes it again with penalty
    second = collection.export_batch(
        session, on=date(2024, 11, 20), actor=actor, policy=lb.books.policy
    )
    failed = collection.import_result(
        session, _result(second, "失败", "余额不足"), on=date(2024, 11, 21), actor=actor
    )
    assert failed.failed == 1
    with pytest.raises(InvalidInput):  # contradicts the earlier result: nothing imported
        collection.import_result(
            session, _result(second, "成功"), on=date(2024, 11, 21), actor=actor
        )
    inst2 = session.scalar(
        select(Installment).where(Installment.loan_id == loan.id, Installment.n == 2)
    )
    assert inst2 is not None and inst2.status == "scheduled"
    third = collection.export_batch(
        session, on=date(2024, 11, 25), actor=actor, policy=lb.books.policy
    )
    penalty = installment_penalty(
        UnpaidInstallment(2, date(2024, 11, 20), schedule[1].principal, schedule[1].interest),
        RATE,
        date(2024, 11, 25),
        lb.books.policy.on(date(2024, 11, 25)).overdue,
    )
    # (principal + interest) × 2.85% × 1.5 / 360 × 5 days, half-up
    assert penalty == round((schedule[1].payment * Decimal("2.85") * Decimal("1.5") * 5) / 36000)
    assert third.lines == 1 and third.total_fen == schedule[1].payment + penalty
    collection.import_result(session, _result(third, "成功"), on=date(2024, 11, 25), actor=actor)
    session.refresh(loan)
    assert loan.paid_n == 2 and loan.balance_fen == schedule[1].balance
    paid = session.scalar(
        select(func.sum(Repayment.penalty_fen)).where(Repayment.loan_id == loan.id)
    )
    assert paid == penalty
    assert verify_ledger(session).ok


def test_pay_from_balance_refuses_overdraft(lb: LoanBooks, session: Session) -> None:
    borrower, spouse = lb.family()
    assert spouse is not None
    loan = lb.loan(borrower, co_borrowers=(service.CoBorrower(spouse.id_number, spouse.name),))
    before = balance_fen(session, borrower)
    journals = session.scalar(select(func.count()).select_from(Repayment))
    with pytest.raises(service.LoanRefused, match="does not cover"):
        repayment.pay_from_balance(
            session, loan.id, on=date(2030, 1, 20), actor=lb.books.actor, policy=lb.books.policy
        )
    assert balance_fen(session, borrower) == before
    assert session.scalar(select(func.count()).select_from(Repayment)) == journals
    spouse_before = balance_fen(session, spouse)
    paid = repayment.pay_from_balance(
        session,
        loan.id,
        on=FIRST_DUE,
        actor=lb.books.actor,
        payer_ref=spouse.depositor_ref,
        policy=lb.books.policy,
    )
    assert [p.installment_n for p in paid] == [1]
    assert balance_fen(session, spouse) == spouse_before - loan.level_fen
    stranger, _ = lb.family(spouse=False)
    with pytest.raises(service.LoanRefused, match="not a borrower"):
        repayment.pay_from_balance(
            session,
            loan.id,
            on=date(2024, 11, 20),
            actor=lb.books.actor,
            payer_ref=stranger.depositor_ref,
            policy=lb.books.policy,
        )
    assert verify_ledger(session).ok


@pytest.mark.parametrize("option", ["shorter_term", "lower_payment"])
def test_partial_prepayment_re_derives_the_schedule(
    lb: LoanBooks, session: Session, option: str
) -> None:
    borrower, _ = lb.family(spouse=False)
    loan = lb.loan(borrower, method="linear" if option == "lower_payment" else "annuity")
    repayment.pay_from_balance(
        session, loan.id, on=FIRST_DUE, actor=lb.books.actor, policy=lb.books.policy
    )
    method = RepaymentMethod(loan.method)
    _, after_one = advance(new_loan(method, 30_000_000, RATE, 240, FIRST_DUE), 1)
    with pytest.raises(service.LoanRefused, match="due date of the last paid"):
        repayment.prepay(
            session,
            loan.id,
            on=date(2024, 10, 25),
            amount_fen=5_000_000,
            option=option,
            source="counter",
            actor=lb.books.actor,
            idempotency_key="p-wrong-day",
        )
    done = repayment.prepay(
        session,
        loan.id,
        on=FIRST_DUE,
        amount_fen=5_000_000,
        option=option,
        source="counter",
        actor=lb.books.actor,
        idempotency_key=f"p-{option}",
    )
    expected = prepay(after_one, 5_000_000, option)
    session.refresh(loan)
    assert done.kind == "prepayment" and done.amount_fen == 5_000_000
    assert _rows(session, loan) == _expected(expected.schedule())
    assert (loan.last_n, loan.level_fen, loan.balance_fen) == (
        expected.after.last_n,
        expected.after.level_fen,
        expected.after.balance_fen,
    )
    if option == "shorter_term":
        assert loan.last_n < 240
    else:
        assert loan.last_n == 240 and loan.level_fen < after_one.level_fen
    assert balance_of(session, service.loan_account(loan)) == loan.balance_fen
    again = repayment.prepay(
        session,
        loan.id,
        on=FIRST_DUE,
        amount_fen=5_000_000,
        option=option,
        source="counter",
        actor=lb.books.actor,
        idempotency_key=f"p-{option}",
    )
    assert again.id == done.id
    assert verify_ledger(session).ok


def test_full_prepayment_from_balance_settles(lb: LoanBooks, session: Session) -> None:
    borrower, _ = lb.family(spouse=False, extra_fen=40_000_000)
    loan = lb.loan(borrower)
    repayment.pay_from_balance(
        session, loan.id, on=FIRST_DUE, actor=lb.books.actor, policy=lb.books.policy
    )
    _, after_one = advance(new_loan(RepaymentMethod.ANNUITY, 30_000_000, RATE, 240, FIRST_DUE), 1)
    before = balance_fen(session, borrower)
    done = repayment.prepay(
        session,
        loan.id,
        on=FIRST_DUE,
        amount_fen=None,
        option="shorter_term",
        source="hpf_balance",
        actor=lb.books.actor,
        idempotency_key="full-1",
    )
    assert done.kind == "full_prepayment"
    assert done.amount_fen == prepay_in_full(after_one).amount_fen == after_one.balance_fen
    session.refresh(loan)
    assert loan.status == "settled" and loan.balance_fen == 0 and loan.settled_on == FIRST_DUE
    assert _rows(session, loan) == []
    assert balance_fen(session, borrower) == before - after_one.balance_fen
    account = session.scalar(select(Account).where(Account.code == service.loan_account(loan)))
    assert account is not None and account.closed_on == FIRST_DUE and account.balance == 0
    assert verify_ledger(session).ok
