"""The overdue batch and the repricing batch on both databases, against hand computations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.loans import batches, dunning, repayment, service, stats
from hpf.loans.models import Collection, Installment, Loan, RateChange
from hpf.loans.overdue import (
    UnpaidInstallment,
    aging_bucket,
    format_overdue_ratio,
    installment_penalty,
)
from hpf.loans.repricing import repriced_schedule
from hpf.loans.rules import RepaymentMethod
from hpf.loans.service import LoanError
from loan_books import LoanBooks

# The book (one branch; both disbursed 2024-09-20, first due 2024-10-20, rate 2.85%):
#   A: 300,000.00 yuan, 等额本息, 240 months; installments (principal / interest, fen)
#      1: 92,886 / 71,250   2: 93,107 / 71,029   3: 93,328 / 70,808   payment 164,136
#      installment 1 paid on its due date; 2 and 3 never paid.
#   B: 200,000.00 yuan, 等额本金, 120 months; principal 166,667 a month; 1, 2, 3 paid on time.
# At the end of 2025-01-05:
#   balance  A = 30,000,000 − 92,886 = 29,907,114;  B = 20,000,000 − 3 × 166,667 = 19,499,999
#   total balance = 49,407,113 fen
#   overdue (unpaid principal due before the day) = A's 93,107 + 93,328 = 186,435 fen
#   逾期率 = 186,435 / 49,407,113 = 0.3773…% → "0.38%"
# At the end of 2024-12-01: A's installment 2 only (93,107); B has paid 1 and 2:
#   balance = 29,907,114 + (20,000,000 − 2 × 166,667) = 49,573,780.
DAY = date(2025, 1, 5)


def _book(lb: LoanBooks, session: Session) -> tuple[Loan, Loan]:
    a_borrower, _ = lb.family(spouse=False)
    b_borrower, _ = lb.family(spouse=False)
    a = lb.loan(a_borrower)
    b = lb.loan(b_borrower, amount_fen=20_000_000, term_months=120, method="linear")
    pay = lambda loan, day: repayment.pay_from_balance(  # noqa: E731
        session, loan.id, on=day, actor=lb.books.actor, policy=lb.books.policy
    )
    pay(a, date(2024, 10, 20))
    for day in (date(2024, 10, 20), date(2024, 11, 20), date(2024, 12, 20)):
        pay(b, day)
    return a, b


def test_overdue_batch_and_ratio_match_the_hand_computation(
    lb: LoanBooks, session: Session
) -> None:
    a, b = _book(lb, session)
    summary = batches.run_overdue(session, DAY, policy=lb.books.policy)
    assert (summary.loans_overdue, summary.overdue_principal_fen) == (1, 186_435)
    assert summary.collections_opened == 1
    rows = session.scalars(
        select(Installment).where(Installment.status == "overdue").order_by(Installment.n)
    ).all()
    assert [(r.loan_id, r.n, r.days_overdue) for r in rows] == [(a.id, 2, 46), (a.id, 3, 16)]
    entry = lb.books.policy.on(DAY).overdue
    for r in rows:
        unpaid = UnpaidInstallment(r.n, r.due_date, r.principal_fen, r.interest_fen)
        assert r.penalty_fen == installment_penalty(unpaid, Decimal("2.85"), DAY, entry)
    # 164,136 fen × 2.85% × 1.5 / 360 × 46 days = 896.6… fen → 897 fen (8.97 yuan)
    assert rows[0].penalty_fen == 897
    session.refresh(a)
    assert (a.days_past_due, a.overdue_principal_fen, a.risk_grade) == (46, 186_435, "02")
    assert a.penalty_fen == rows[0].penalty_fen + rows[1].penalty_fen
    item = session.scalar(select(Collection).where(Collection.loan_id == a.id))
    assert item is not None and item.status == "open"
    assert item.bucket == aging_bucket(46).value == "31-90"
    # 催收 contacts are kept on the item and in the audit trail
    with pytest.raises(InvalidInput):
        dunning.record_contact(session, item.id, method="pigeon", note="x", on=DAY, actor=lb.clerk)
    dunning.record_contact(
        session, item.id, method="phone", note="本人承诺月底前还清", on=DAY, actor=lb.clerk
    )
    dunning.record_contact(
        session, item.id, method="letter", note="寄送催收函", on=DAY, actor=lb.clerk
    )
    session.refresh(item)
    assert (item.contacts, item.last_action, item.last_action_on) == (2, "催收函：寄送催收函", DAY)
    history = dunning.contact_history(session, item.id)
    assert [(c.method, c.note, c.on) for c in history] == [
        ("phone", "本人承诺月底前还清", DAY),
        ("letter", "寄送催收函", DAY),
    ]
    # idempotent: a re-run of the day changes nothing
    again = batches.run_overdue(session, DAY, policy=lb.books.policy)
    assert again.collections_opened == 0 and again.penalty_fen == summary.penalty_fen

    total = stats.overdue_by_branch(session, DAY)[-1]
    assert (total.balance_fen, total.overdue_fen) == (49_407_113, 186_435)
    assert format_overdue_ratio(total.overdue_fen, total.balance_fen) == "0.38%"
    earlier = stats.overdue_by_branch(session, date(2024, 12, 1))[-1]
    assert (earlier.balance_fen, earlier.overdue_fen) == (49_573_780, 93_107)

    # paying the arrears clears the loan and resolves the collection item
    repayment.pay_from_balance(
        session, a.id, on=date(2025, 1, 6), actor=lb.books.actor, policy=lb.books.policy
    )
    after = batches.run_overdue(session, date(2025, 1, 6), policy=lb.books.policy)
    assert after.loans_overdue == 0 and after.collections_resolved == 1
    session.refresh(a)
    assert a.days_past_due == 0 and a.risk_grade == "01"
    with pytest.raises(LoanError, match="resolved"):
        dunning.record_contact(session, item.id, method="sms", note="x", on=DAY, actor=lb.clerk)
    assert stats.overdue_by_branch(session, date(2025, 1, 6))[-1].overdue_fen == 0
    # the past is unchanged by the payment
    assert stats.overdue_by_branch(session, DAY)[-1].overdue_fen == 186_435
    assert b.id != a.id


def test_repricing_on_january_first(lb: LoanBooks, session: Session) -> None:
    a_borrower, _ = lb.family(spouse=False)
    c_borrower, _ = lb.family(spouse=False)
    a = lb.loan(a_borrower)
    c = lb.loan(c_borrower, amount_fen=4_000_000, term_months=12)
    assert c.annual_rate_pct == Decimal("2.35")
    # nothing takes effect on 2025-06-01; the 2025-05-08 entry reprices on 2026-01-01
    assert batches.run_repricing(session, date(2025, 6, 1), policy=lb.books.policy).loans == 0
    summary = batches.run_repricing(session, date(2026, 1, 1), policy=lb.books.policy)
    assert summary.loans == 1 and summary.policy_effective == date(2025, 5, 8)
    session.refresh(a)
    session.refresh(c)
    assert a.annual_rate_pct == Decimal("2.60") and c.annual_rate_pct == Decimal("2.35")
    expected = repriced_schedule(
        RepaymentMethod.ANNUITY,
        30_000_000,
        240,
        date(2024, 10, 20),
        [(date(2024, 9, 20), Decimal("2.85")), (date(2026, 1, 1), Decimal("2.60"))],
    )
    stored = service.installments(session, a.id)
    assert [
        (r.n, r.due_date, r.principal_fen, r.interest_fen, r.balance_after_fen) for r in stored
    ] == [(e.n, e.due_date, e.principal, e.interest, e.balance) for e in expected]
    assert stored[15].rate_pct == Decimal("2.60") and stored[14].rate_pct == Decimal("2.85")
    assert a.level_fen == expected[15].payment
    history = session.scalars(
        select(RateChange.reason).where(RateChange.loan_id == a.id).order_by(RateChange.id)
    ).all()
    assert history == ["contract", "repricing"]
    # a second run finds nothing more to change
    assert batches.run_repricing(session, date(2026, 1, 1), policy=lb.books.policy).loans == 0


def test_repricing_starts_from_the_balance_after_a_prepayment_on_the_last_due_date(
    lb: LoanBooks, session: Session
) -> None:
    borrower, _ = lb.family(spouse=False)
    lb.fund(borrower, 20_000_000)
    loan = lb.loan(borrower)
    due = date(2024, 10, 20)
    while due <= date(2025, 12, 20):  # 15 installments, the last one on 2025-12-20
        repayment.pay_from_balance(
            session, loan.id, on=due, actor=lb.books.actor, policy=lb.books.policy
        )
        due = date(due.year + due.month // 12, due.month % 12 + 1, 20)
    repayment.prepay(
        session,
        loan.id,
        on=date(2025, 12, 20),
        amount_fen=5_000_000,
        option="lower_payment",
        source="counter",
        actor=lb.books.actor,
        idempotency_key="prepay-before-repricing",
    )
    session.refresh(loan)
    outstanding = loan.balance_fen
    summary = batches.run_repricing(session, date(2026, 1, 1), policy=lb.books.policy)
    assert summary.loans == 1
    rest = [r for r in service.installments(session, loan.id) if r.due_date >= date(2026, 1, 1)]
    assert sum(r.principal_fen for r in rest) == outstanding
    assert all(r.balance_after_fen >= 0 for r in rest) and rest[-1].balance_after_fen == 0
