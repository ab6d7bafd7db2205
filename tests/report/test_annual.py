"""The annual report from books built through the real services, three years running: the
identities of domain.md §8 hold every year; the year-end close leaves verifiable books."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.deposits.models import Remittance
from hpf.finance import closing, statements, transactions
from hpf.finance.value_added import distribute
from hpf.ledger.models import Journal
from hpf.ledger.periods import PeriodClosed
from hpf.ledger.service import reverse
from hpf.ledger.verify import verify_ledger
from hpf.loans import repayment
from hpf.report.annual import annual_report
from hpf.withdrawals import payments
from loan_books import make_loan_books
from withdrawal_books import make_withdrawal_books

YEARS = (2023, 2024, 2025)


def D(text: str | None) -> Decimal:
    assert text is not None
    return Decimal(text)


def _paid(batch: payments.BatchFile) -> str:
    lines = batch.csv_text.strip().split("\n")
    return "\n".join([lines[0] + ",结果,说明", *(line + ",成功," for line in lines[1:])]) + "\n"


def _books(session: Session) -> dict[str, Any]:
    lb = make_loan_books(session)
    steady = lb.employer()
    lb.person(steady)
    lb.person(steady, base_fen=650_000)
    lb.contribute(steady, date(2023, 7, 1), 12)  # 2023-07 … 2024-06, posted on the 15th
    borrower, _ = lb.family(spouse=False)
    loan = lb.loan(borrower)  # 300,000 yuan on 2024-09-20, first due 2024-10-20
    repayment.pay_from_balance(
        session, loan.id, on=date(2024, 10, 20), actor=lb.books.actor, policy=lb.books.policy
    )
    wb = make_withdrawal_books(session)
    tenant = wb.person(1_000_000)
    rent = wb.apply(tenant, "rent", rent_months=3, cost_fen=600_000)
    wb.approve(rent.withdrawal_id)
    retiree = wb.person(2_000_000)
    retired = wb.apply(retiree, "retirement", event_date=date(2024, 9, 1))
    wb.approve(retired.withdrawal_id)
    batch = payments.export_batch(session, on=date(2024, 9, 12), actor=wb.clerk)
    payments.import_result(session, _paid(batch), on=date(2024, 9, 12), actor=wb.clerk)
    transactions.record(
        session, "deposit_interest", 5_000_000, date(2024, 12, 21), idempotency_key="ar-int"
    )
    fee = transactions.record(
        session, "loan_agency_fee", 12_345, date(2024, 12, 25), idempotency_key="ar-fee"
    )
    return {"lb": lb, "loan": loan, "fee_journal": fee}


@pytest.fixture
def books(session: Session) -> dict[str, Any]:
    return _books(session)


def _identities(session: Session, year: int, policy: Any) -> dict[str, Any]:
    r = annual_report(session, year, policy)
    d, w, ln, f, risk = r["deposits"], r["withdrawals"], r["loans"], r["finance"], r["risk"]
    assert D(d["balance_end"]) == (
        D(d["balance_start"])
        + D(d["contributions"])
        - D(w["amount"])
        + D(d["interest_credited"])
        + D(d["transfers_in"])
        - D(d["transfers_out"])
    )
    assert D(ln["balance_end"]) == D(ln["balance_start"]) + D(ln["issued_amount"]) - D(
        ln["principal_repaid"]
    )
    vai = D(f["value_added_income"])
    assert vai == D(f["income"]) - D(f["expenses"])
    assert vai == sum(D(v) for v in f["distribution"].values())
    assert sum(D(v) for v in w["by_reason"].values()) == D(w["amount"])
    if D(ln["balance_end"]):
        expected = Decimal(risk["overdue_amount"]) / Decimal(ln["balance_end"])
        assert abs(D(risk["overdue_ratio"]) - expected) <= Decimal("0.0000005")
    if D(d["contributions"]):
        expected = D(w["amount"]) / D(d["contributions"])
        assert abs(D(w["ratio"]) - expected) <= Decimal("0.0000005")
    b = r["benefit"]
    for key in ("paying_depositors_by_employer_type", "new_depositors_by_employer_type"):
        total = d["paying_depositors" if key.startswith("paying") else "new_depositors"]
        assert sum(cell["count"] for cell in b[key].values()) == total
    for key in ("loans_by_home", "loans_by_floor_area", "loans_by_income", "loans_by_age"):
        assert sum(cell["count"] for cell in b[key].values()) == ln["issued_count"]
        assert sum(D(cell["amount"]) for cell in b[key].values()) == D(ln["issued_amount"])
    assert sum(D(c["amount"]) for c in b["withdrawals_by_purpose"].values()) == D(w["amount"])
    tb = statements.trial_balance(session, str(year))
    assert tb["balanced"]
    assert statements.balance_sheet(session, date(year, 12, 31))["balanced"]
    return r


def test_identities_hold_every_year_and_after_the_close(
    session: Session, books: dict[str, Any]
) -> None:
    policy = books["lb"].books.policy
    for year in YEARS:
        _identities(session, year, policy)
    distribute(session, 2024, policy, management_budget_fen=1_000_000)
    closing.close(session, "2024")
    assert verify_ledger(session).ok
    reports = {year: _identities(session, year, policy) for year in YEARS}
    r24 = reports[2024]
    r24_end = date(2024, 12, 31)
    assert r24["finance"]["distribution_posted"] is True
    # each year starts where the last one ended
    for year in YEARS[1:]:
        assert (
            reports[year]["deposits"]["balance_start"]
            == reports[year - 1]["deposits"]["balance_end"]
        )
        assert reports[year]["loans"]["balance_start"] == reports[year - 1]["loans"]["balance_end"]
    with pytest.raises(PeriodClosed, match="2024"):
        transactions.record(
            session, "other_income", 100, date(2024, 12, 31), idempotency_key="ar-late"
        )
    # a correction of the closed year goes to the open one: the closed year's report stays
    closed = annual_report(session, 2024, policy)
    with pytest.raises(PeriodClosed, match="2024"):
        reverse(session, books["fee_journal"], idempotency_key="ar-fix", posting_date=r24_end)
    reverse(session, books["fee_journal"], idempotency_key="ar-fix", posting_date=date(2025, 1, 5))
    assert annual_report(session, 2024, policy) == closed
    r25 = _identities(session, 2025, policy)
    assert r25["finance"]["expense_lines"]["41103"] == "-123.45"
    assert verify_ledger(session).ok


def test_figures_to_the_fen(session: Session, books: dict[str, Any]) -> None:
    policy = books["lb"].books.policy
    loan = books["loan"]
    r = annual_report(session, 2024, policy)
    posted_2024 = session.scalar(
        select(func.sum(Remittance.total_fen)).where(
            Remittance.posted_on >= date(2024, 1, 1), Remittance.posted_on <= date(2024, 12, 31)
        )
    )
    assert D(r["deposits"]["contributions"]) * 100 == posted_2024
    # transfers in: the borrower's 50,000 and the two withdrawal people's balances
    assert D(r["deposits"]["transfers_in"]) == Decimal("80000.00")
    assert r["loans"]["issued_count"] == 1
    assert D(r["loans"]["issued_amount"]) * 100 == loan.principal_fen
    w = r["withdrawals"]
    assert w["count"] == 3  # rent, retirement, one installment from the balance
    assert set(w["by_reason"]) == {"03", "06", "07"}
    assert D(w["by_reason"]["07"]) == Decimal("4500.00")
    assert D(w["housing_consumption"]) == D(w["by_reason"]["07"]) + D(w["by_reason"]["06"])
    assert D(r["finance"]["income"]) > 50_000
    assert r["finance"]["distribution_posted"] is False
    r23 = annual_report(session, 2023, policy)
    assert r23["deposits"]["balance_start"] == "0.00"
    assert r23["deposits"]["paying_employers"] == 1
    assert r23["deposits"]["paying_depositors"] == 2
    assert r23["deposits"]["new_depositors"] == 2
    assert r23["deposits"]["new_employers"] == 1
    assert r["deposits"]["new_employers"] == 1  # the borrower's employer, from 2024-01
    r25 = annual_report(session, 2025, policy)
    assert D(r25["risk"]["overdue_amount"]) > 0  # nothing paid after the first installment
    assert r25["withdrawals"]["ratio"] is None  # no contributions in 2025


def test_identities_hold_on_the_demo_books(session: Session) -> None:
    """The demo data (``hpf demo seed``) satisfies every identity, before and after the close."""
    from factories import make_branch
    from hpf.auth.principal import system_principal
    from hpf.policy.loader import load_shipped_policy
    from hpf.sim.demo import seed_demo_books

    policy = load_shipped_policy()
    seed_demo_books(session, make_branch(session), policy, system_principal("test"))
    first, last = session.execute(
        select(func.min(Journal.posting_date), func.max(Journal.posting_date))
    ).one()
    years = range(date.fromisoformat(str(first)).year, date.fromisoformat(str(last)).year + 1)
    assert 2023 in years
    reports = {year: _identities(session, year, policy) for year in years}
    for year in years[1:]:
        assert (
            reports[year]["deposits"]["balance_start"]
            == reports[year - 1]["deposits"]["balance_end"]
        )
    assert D(reports[2023]["deposits"]["interest_credited"]) > 0
    distribute(session, 2023, policy)
    closing.close(session, "2023")
    assert verify_ledger(session).ok
    _identities(session, 2023, policy)
