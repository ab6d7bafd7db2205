"""约定提取还贷 monthly run: orders pay what is due from the balance, refuse overdraft, replay."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.deposits.depositors import balance_fen
from hpf.ledger.models import Journal
from hpf.ledger.verify import verify_ledger
from hpf.loans.models import Installment
from hpf.loans.standing import run_standing_orders
from hpf.withdrawals.service import create_standing_order
from loan_books import LoanBooks

FIRST_DUE = date(2024, 10, 20)


def test_monthly_run_pays_due_installments_and_refuses_overdraft(
    lb: LoanBooks, session: Session
) -> None:
    rich, _ = lb.family(spouse=False, extra_fen=20_000_000)  # 200,000 yuan topped up
    rich_loan = lb.loan(rich)  # 300,000 yuan over 20 years
    poor, _ = lb.family(spouse=False, extra_fen=1_000_000)  # 10,000 yuan topped up
    poor_loan = lb.loan(poor, amount_fen=10_000_000)  # 100,000 yuan over 20 years
    actor = lb.books.actor
    orders = {}
    for person, its_loan in ((rich, rich_loan), (poor, poor_loan)):
        order = create_standing_order(
            session,
            depositor_ref=person.depositor_ref,
            loan_ref=its_loan.loan_ref,
            monthly_fen=its_loan.level_fen,
            starts_on=FIRST_DUE,
            actor=actor,
            policy=lb.books.policy,
        )
        orders[person.id] = order.id

    # the first due date: both balances cover one installment
    first = run_standing_orders(session, FIRST_DUE, actor, policy=lb.books.policy)
    assert first.paid == {
        orders[rich.id]: rich_loan.level_fen,
        orders[poor.id]: poor_loan.level_fen,
    }
    assert first.refused == {}

    # five years later 63 installments are due: the rich balance covers them, the poor one not
    later = date(2029, 12, 20)
    rich_before, poor_before = balance_fen(session, rich), balance_fen(session, poor)
    run = run_standing_orders(session, later, actor, policy=lb.books.policy)
    assert set(run.paid) == {orders[rich.id]}
    assert rich_before - balance_fen(session, rich) == run.paid_fen > 60 * rich_loan.level_fen
    assert set(run.refused) == {orders[poor.id]}
    assert run.refused[orders[poor.id]].startswith("公积金余额")
    assert balance_fen(session, poor) == poor_before
    unpaid = session.scalar(
        select(func.count())
        .select_from(Installment)
        .where(
            Installment.loan_id == rich_loan.id,
            Installment.due_date <= later,
            Installment.status != "paid",
        )
    )
    assert unpaid == 0

    # a second run on the same day posts nothing
    journals = session.scalar(select(func.count()).select_from(Journal))
    again = run_standing_orders(session, later, actor, policy=lb.books.policy)
    assert again.paid == {}
    assert session.scalar(select(func.count()).select_from(Journal)) == journals
    assert verify_ledger(session).ok
