"""Counter prepayments as one batch against :func:`hpf.loans.repayment.prepay`, on both
backends: the same items give the same loans, schedules, repayments, journals and accounts, and
the same refusals."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.db.sequences import sync_id_sequence
from hpf.errors import DomainError
from hpf.ledger.models import Account, Journal, Posting
from hpf.ledger.verify import verify_ledger
from hpf.loans.debit_run import run_bank_debits
from hpf.loans.models import Installment, Loan, Repayment
from hpf.loans.prepay_batch import PrepayItem, prepay_many
from hpf.loans.repayment import prepay
from loan_books import LoanBooks, at

PAID = date(2024, 10, 20)  # the first installment's due date (loans disbursed 2024-09-20)


def _rows(session: Session, model: Any, *where: Any, order: list[Any], drop: set[str]) -> list:
    t = model.__table__
    return [
        {k: v for k, v in row.items() if k not in drop}
        for row in session.execute(select(t).where(*where).order_by(*order)).mappings()
    ]


def _snapshot(session: Session, ids: list[int], first_journal: int) -> dict[str, Any]:
    return {
        "loans": _rows(session, Loan, Loan.id.in_(ids), order=[Loan.id], drop=set()),
        "schedules": _rows(
            session,
            Installment,
            Installment.loan_id.in_(ids),
            order=[Installment.loan_id, Installment.n],
            drop={"id"},
        ),
        "repayments": _rows(
            session,
            Repayment,
            Repayment.loan_id.in_(ids),
            order=[Repayment.idempotency_key],
            drop={"id"},
        ),
        "journals": _rows(
            session, Journal, Journal.id >= first_journal, order=[Journal.id], drop={"created_at"}
        ),
        "postings": [
            tuple(r)
            for r in session.execute(
                select(Posting.journal_id, Account.code, Posting.amount)
                .join(Account, Account.id == Posting.account_id)
                .where(Posting.journal_id >= first_journal)
                .order_by(Posting.journal_id, Account.code)
            )
        ],
        "accounts": _rows(
            session,
            Account,
            Account.subsidiary_kind == "loan",
            order=[Account.code],
            drop={"accrual_year", "accrual_net", "accrual_jishu", "prior_net", "prior_jishu"},
        ),
    }


def test_batch_prepays_what_prepay_does(lb: LoanBooks, session: Session) -> None:
    loans = [lb.loan(lb.family(spouse=False)[0]) for _ in range(4)]
    policy = lb.books.policy
    run_bank_debits(session, start=date(2024, 10, 1), end=date(2024, 10, 31), policy=policy)
    for loan in loans:
        session.refresh(loan)
    ids = [loan.id for loan in loans]
    items = [
        PrepayItem("p1", ids[0], PAID, 5_000_000, "shorter_term"),
        PrepayItem("p2", ids[1], PAID, 3_000_000, "lower_payment"),
        PrepayItem("p3", ids[2], date(2024, 10, 21), 3_000_000, "shorter_term"),  # not a due date
        PrepayItem("p4", ids[3], PAID, loans[3].balance_fen, "shorter_term"),  # in full
    ]
    session.flush()
    first_journal = int(session.scalar(select(func.max(Journal.id))) or 0) + 1

    savepoint = session.begin_nested()
    refused = 0
    for item in items:
        try:
            with session.begin_nested():
                prepay(
                    session,
                    item.loan_id,
                    on=item.on,
                    amount_fen=item.amount_fen,
                    option=item.option,
                    source="counter",
                    actor=lb.books.actor,
                    idempotency_key=item.key,
                    now=at(item.on, 11),
                )
        except DomainError:
            refused += 1
    session.flush()
    single = _snapshot(session, ids, first_journal)
    savepoint.rollback()
    session.expire_all()
    sync_id_sequence(session, "loan_installment", "loan_repayment", "ledger_posting")

    out = prepay_many(session, items, actor=lb.books.actor, now=at(PAID, 11))
    session.flush()
    batch = _snapshot(session, ids, first_journal)
    assert (out.paid, out.refused, refused) == (3, 1, 1)
    assert out.refusals == {"not_a_due_date": 1}
    assert [r["status"] for r in batch["loans"]] == ["active", "active", "active", "settled"]
    for part in single:
        assert batch[part] == single[part], part
    assert verify_ledger(session).ok
    again = prepay_many(session, items, actor=lb.books.actor, now=at(PAID, 11))
    assert (again.replayed, again.paid) == (3, 0)
