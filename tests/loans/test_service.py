"""Loan use cases on both databases: apply with the limit, approve, disburse, the seam."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.models import AuditRecord
from hpf.deposits.depositors import balance_fen
from hpf.ledger import chart
from hpf.ledger.service import balance_of
from hpf.ledger.verify import verify_ledger
from hpf.loans import rules, service
from hpf.loans.models import Installment, LoanParty, RateChange
from hpf.withdrawals import service as withdrawals
from loan_books import DISBURSED, LoanBooks


def test_apply_approve_disburse_posts_and_stores_the_schedule(
    lb: LoanBooks, session: Session
) -> None:
    borrower, spouse = lb.family()
    assert spouse is not None
    bank_before = balance_of(session, chart.HPF_BANK_DEPOSITS)
    outcome = lb.apply(
        borrower,
        co_borrowers=(service.CoBorrower(spouse.id_number, spouse.name),),
        commercial_fen=20_000_000,
        commercial_bank="临沂银行",
    )
    assert outcome.allowed, outcome.text_zh
    assert outcome.limit_fen >= 30_000_000
    loan = lb.approve(outcome.loan_id)
    assert loan.status == "approved" and loan.contract_ref == f"JK2024{loan.id:010d}"
    loan = service.disburse(
        session, loan.id, on=DISBURSED, actor=lb.books.actor, policy=lb.books.policy
    )
    assert loan.status == "active" and loan.annual_rate_pct == Decimal("2.85")
    expected = rules.annuity_schedule(30_000_000, Decimal("2.85"), 240, date(2024, 10, 20))
    stored = service.installments(session, loan.id)
    assert [
        (r.n, r.due_date, r.principal_fen, r.interest_fen, r.balance_after_fen) for r in stored
    ] == [(e.n, e.due_date, e.principal, e.interest, e.balance) for e in expected]
    assert loan.level_fen == rules.annuity_payment(30_000_000, Decimal("2.85"), 240)
    assert balance_of(session, service.loan_account(loan)) == 30_000_000
    assert balance_of(session, chart.HPF_BANK_DEPOSITS) == bank_before - 30_000_000
    assert session.scalar(select(func.count()).select_from(RateChange)) >= 1
    parties = session.scalars(select(LoanParty.role).where(LoanParty.loan_id == loan.id)).all()
    assert sorted(parties) == ["borrower", "co_borrower"]
    # a replay of the disbursement writes nothing
    again = service.disburse(
        session, loan.id, on=DISBURSED, actor=lb.books.actor, policy=lb.books.policy
    )
    assert again.disburse_journal_id == loan.disburse_journal_id
    assert (
        session.scalar(
            select(func.count()).select_from(Installment).where(Installment.loan_id == loan.id)
        )
        == 240
    )
    assert verify_ledger(session).ok
    actions = set(
        session.scalars(select(AuditRecord.action).where(AuditRecord.object_type == "loan"))
    )
    assert {"loan.apply", "loan.approve", "loan.disburse"} <= actions


def test_refusals_carry_reasons(lb: LoanBooks, session: Session) -> None:
    borrower, _ = lb.family(spouse=False, months=3)
    short = lb.apply(borrower)
    assert not short.allowed
    assert [r.code for r in short.refusals] == ["contribution_history"]
    assert "不足 6 个月" in short.text_zh
    rich, _ = lb.family(spouse=False)
    over = lb.apply(rich, amount_fen=90_000_000)
    assert [r.code for r in over.refusals] == ["over_limit"]
    combo = lb.apply(rich, amount_fen=30_000_000, commercial_fen=60_000_000)
    assert [r.code for r in combo.refusals] == ["combination_over_ltv"]
    # replay of the same key returns the stored refusal
    again = lb.apply(rich, key="fixed-1", amount_fen=90_000_000)
    assert lb.apply(rich, key="fixed-1", amount_fen=90_000_000).loan_id == again.loan_id


def test_one_loan_at_a_time_and_the_withdrawals_seam(lb: LoanBooks, session: Session) -> None:
    borrower, spouse = lb.family()
    assert spouse is not None
    lb.loan(borrower, co_borrowers=(service.CoBorrower(spouse.id_number, spouse.name),))
    second = lb.apply(spouse)
    assert "hpf_loan_outstanding" in [r.code for r in second.refusals]
    # rent is refused while the spouse's family has an HPF loan; repayment allowed against it
    facts = withdrawals.loan_directory()(session, frozenset({spouse.id_number}))
    assert len(facts) == 1 and facts[0].kind == "hpf" and facts[0].outstanding_fen == 30_000_000
    assert borrower.id_number in facts[0].borrower_ids
    assert balance_fen(session, spouse) > 0
