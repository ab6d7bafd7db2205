"""Withdrawal use cases on both databases: apply → check → workflow → post → pay batch → result."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.models import AuditRecord
from hpf.deposits.depositors import balance_fen, ledger_code
from hpf.deposits.models import MonthlyDepositStats
from hpf.errors import InvalidInput
from hpf.ledger import chart
from hpf.ledger.models import Account
from hpf.ledger.service import balance_of
from hpf.ledger.verify import verify_ledger
from hpf.loans.directory import hpf_loan_directory
from hpf.withdrawals import payments, service
from hpf.withdrawals.rules import LoanFact
from hpf.withdrawals.stats import withdrawal_ratios, withdrawal_stats
from hpf.workflow import service as workflow
from withdrawal_books import APPLIED, WithdrawalBooks

PAID_ON = date(2024, 9, 12)


def _audits(session: Session, action: str) -> int:
    return int(session.scalar(select(func.count()).where(AuditRecord.action == action)) or 0)


def _result_file(batch: payments.BatchFile, failed: dict[int, str] | None = None) -> str:
    """The bank's answer to ``batch``: every line paid except the line numbers in ``failed``."""
    failed = failed or {}
    lines = batch.csv_text.strip().split("\n")
    out = [lines[0] + ",结果,说明"]
    for number, line in enumerate(lines[1:], start=1):
        out.append(line + (f",失败,{failed[number]}" if number in failed else ",成功,"))
    return "\n".join(out) + "\n"


def test_refusal_is_kept_with_its_reason_and_goes_no_further(
    wb: WithdrawalBooks, session: Session
) -> None:
    person = wb.person(1_000_000)
    outcome = wb.apply(person, "rent", rent_months=3, cost_fen=600_000, owns_home=True)
    assert not outcome.decision.allowed and outcome.application_id is None
    row = service.get(session, outcome.withdrawal_id)
    assert row.status == "refused" and row.amount_fen == 0
    assert "自有住房" in row.decision_zh and "owns a home" in row.decision_en
    assert _audits(session, "withdrawal.refused") == 1
    assert balance_fen(session, person) == 1_000_000


def test_apply_review_approve_post_and_pay(wb: WithdrawalBooks, session: Session) -> None:
    person = wb.person(1_000_000)
    outcome = wb.apply(person, "rent", rent_months=3, cost_fen=600_000, channel="online_hall")
    assert outcome.decision.allowed and outcome.decision.amount_fen == 450_000
    assert outcome.application_id is not None
    app = workflow.get(session, outcome.application_id)
    assert (app.business_type, app.amount_fen, app.route) == (
        "withdrawal",
        450_000,
        ("accept", "review"),
    )
    assert balance_fen(session, person) == 1_000_000  # nothing moves before approval
    row = wb.approve(outcome.withdrawal_id)
    assert row.status == "approved" and row.journal_id is not None and row.fully_online
    assert balance_fen(session, person) == 550_000
    assert balance_of(session, service.PAYABLE) == -450_000
    bank_before = balance_of(session, chart.HPF_BANK_DEPOSITS)
    batch = payments.export_batch(session, on=PAID_ON, actor=wb.clerk)
    assert batch.lines == 1 and batch.total_fen == 450_000
    header, line = batch.csv_text.strip().split("\n")
    assert header == "批次号,序号,业务编号,收款人,银行卡号,金额"
    assert line.endswith(",6222020200112233445,4500.00")
    summary = payments.import_result(session, _result_file(batch), on=PAID_ON, actor=wb.clerk)
    assert (summary.paid, summary.failed, summary.unchanged) == (1, 0, 0)
    row = service.get(session, outcome.withdrawal_id)
    assert row.status == "paid" and row.processing_days == 2
    assert balance_of(session, service.PAYABLE) == 0
    assert balance_of(session, chart.HPF_BANK_DEPOSITS) == bank_before - 450_000
    assert _audits(session, "withdrawal.paid") == 1
    stats = withdrawal_stats(session, start=date(2024, 9, 1), end=date(2024, 9, 30))
    assert len(stats) == 1
    assert stats[0].keys == {
        "type": "rent",
        "branch": person.branch_id,
        "month": date(2024, 9, 1),
        "channel": "online_hall",
    }
    assert (stats[0].count, stats[0].amount_fen, stats[0].online_share) == (1, 450_000, 1)
    assert stats[0].average_days == 2
    # 提取率 against the month's contributions (a summary row as the remittance posting writes it)
    session.add(
        MonthlyDepositStats(branch_id=person.branch_id, month=date(2024, 9, 1), amount_fen=900_000)
    )
    session.flush()
    (ratios,) = withdrawal_ratios(session, start=date(2024, 9, 1), end=date(2024, 9, 30))
    assert (ratios.withdrawals_fen, ratios.housing_fen, ratios.contributions_fen) == (
        450_000,
        450_000,
        900_000,
    )
    assert (ratios.ratio, ratios.housing_share) == (Decimal("0.5"), Decimal("1"))
    assert verify_ledger(session).ok


def test_apply_is_idempotent(wb: WithdrawalBooks, session: Session) -> None:
    person = wb.person(1_000_000)
    applicant = wb.applicant()
    first = wb.apply(person, "rent", key="same", applicant=applicant, rent_months=1, cost_fen=1)
    again = wb.apply(person, "rent", key="same", applicant=applicant, rent_months=1, cost_fen=1)
    assert again == first
    assert _audits(session, "withdrawal.apply") == 1


def test_large_amount_needs_an_approver_and_reject_ends_it(
    wb: WithdrawalBooks, session: Session
) -> None:
    person = wb.person(20_000_000)
    big = wb.apply(
        person, "purchase", event_date=date(2024, 6, 1), cost_fen=90_000_000, contract_ref="ht-big"
    )
    assert big.decision.amount_fen == 20_000_000
    row = service.decide(session, big.withdrawal_id, actor=wb.clerk, action="accept")
    row = service.decide(session, big.withdrawal_id, actor=wb.reviewer, action="review")
    assert row.status == "in_review"
    row = service.decide(session, big.withdrawal_id, actor=wb.approver, action="approve")
    assert row.status == "approved" and balance_fen(session, person) == 0
    other = wb.person(1_000_000)
    small = wb.apply(other, "rent", rent_months=1, cost_fen=100_000)
    row = service.decide(
        session, small.withdrawal_id, actor=wb.clerk, action="reject", comment="材料不实"
    )
    assert row.status == "rejected" and "材料不实" in row.decision_zh
    with pytest.raises(service.WithdrawalError):
        service.decide(session, small.withdrawal_id, actor=wb.reviewer, action="review")


def test_approval_checks_the_balance_again(wb: WithdrawalBooks, session: Session) -> None:
    person = wb.person(1_000_000)
    first = wb.apply(person, "serious_illness", event_date=date(2024, 5, 1), cost_fen=700_000)
    second = wb.apply(
        person,
        "purchase",
        event_date=date(2024, 5, 1),
        cost_fen=50_000_000,
        contract_ref="H2",
        amount_fen=600_000,
    )
    assert first.decision.allowed and second.decision.allowed  # each fits alone
    wb.approve(first.withdrawal_id)
    service.decide(session, second.withdrawal_id, actor=wb.clerk, action="accept")
    with pytest.raises(service.WithdrawalRefused) as info:
        service.decide(session, second.withdrawal_id, actor=wb.reviewer, action="review")
    assert "超过可提取上限 3,000.00 元" in info.value.message_zh
    assert balance_fen(session, person) == 300_000


def test_same_contract_never_beyond_its_price_across_people(
    wb: WithdrawalBooks, session: Session
) -> None:
    husband, wife = wb.person(60_000_000), wb.person(60_000_000)
    contract = {
        "event_date": date(2024, 6, 1),
        "cost_fen": 80_000_000,
        "contract_ref": "LY-2024-001",
    }
    first = wb.apply(husband, "purchase", amount_fen=60_000_000, **contract)
    wb.approve(first.withdrawal_id)
    too_much = wb.apply(wife, "purchase", amount_fen=20_000_001, **contract)
    assert [r.code for r in too_much.decision.refusals] == ["amount_over_limit"]
    assert "同一合同已提取 600,000.00 元" in too_much.decision.text_zh
    rest = wb.apply(
        wife,
        "purchase",
        contract_ref=" ly-2024-001 ",
        event_date=date(2024, 6, 1),
        cost_fen=80_000_000,
    )
    assert rest.decision.amount_fen == 20_000_000
    cheaper = wb.apply(wife, "purchase", **{**contract, "cost_fen": 70_000_000})
    assert [r.code for r in cheaper.decision.refusals] == ["contract_price_mismatch"]


def test_loans_seam_rent_and_repayment(wb: WithdrawalBooks, session: Session) -> None:
    person, spouse = wb.person(1_000_000), wb.person(0)
    hpf_loan = LoanFact("GJJ-1", "hpf", frozenset({spouse.id_number}), 30_000_000)
    previous = service.use_loan_directory(
        lambda _s, ids: (hpf_loan,) if spouse.id_number in ids else ()
    )
    try:
        rent = wb.apply(person, "rent", rent_months=1, cost_fen=100_000, spouse_id=spouse.id_number)
        assert [r.code for r in rent.decision.refusals] == ["hpf_loan_outstanding"]
        repay = wb.apply(person, "loan_repayment", loan_ref="GJJ-1", spouse_id=spouse.id_number)
        assert repay.decision.allowed and repay.decision.amount_fen == 1_000_000
    finally:
        service.use_loan_directory(previous)
    assert service.loan_directory() is hpf_loan_directory
    other = wb.person(1_000_000)
    declared = wb.apply(
        other,
        "loan_repayment",
        loan_ref="BANK-7",
        loan_borrower_id="371302198001010000",
        loan_outstanding_fen=500_000,
    )
    assert [r.code for r in declared.decision.refusals] == ["loan_not_own"]
    own = wb.apply(
        other,
        "loan_repayment",
        loan_ref="BANK-7",
        loan_borrower_id=other.id_number,
        loan_outstanding_fen=500_000,
    )
    assert own.decision.amount_fen == 500_000


def test_batch_with_failed_rows_imported_twice(wb: WithdrawalBooks, session: Session) -> None:
    people = [wb.person(1_000_000 + i) for i in range(4)]
    before = {p.id: balance_fen(session, p) for p in people}
    ids = []
    for person in people:
        outcome = wb.apply(person, "serious_illness", event_date=date(2024, 5, 1), cost_fen=400_000)
        wb.approve(outcome.withdrawal_id)
        ids.append(outcome.withdrawal_id)
    bank = balance_of(session, chart.HPF_BANK_DEPOSITS)
    batch = payments.export_batch(session, on=PAID_ON, actor=wb.clerk)
    with pytest.raises(service.WithdrawalError, match="no approved withdrawals"):
        payments.export_batch(session, on=PAID_ON, actor=wb.clerk)
    text = _result_file(batch, failed={2: "户名不符", 4: "卡号已销户"})
    first = payments.import_result(session, text, on=PAID_ON, actor=wb.clerk)
    second = payments.import_result(session, text, on=PAID_ON, actor=wb.clerk)
    assert (first.paid, first.failed, first.unchanged, first.paid_fen) == (2, 2, 0, 800_000)
    assert (second.paid, second.failed, second.unchanged) == (0, 0, 4)
    for number, person in enumerate(people, start=1):
        row = service.get(session, ids[number - 1])
        if number in (2, 4):
            assert row.status == "failed" and row.failure in ("户名不符", "卡号已销户")
            assert balance_fen(session, person) == before[person.id]
        else:
            assert row.status == "paid"
            assert balance_fen(session, person) == before[person.id] - 400_000
    assert balance_of(session, chart.HPF_BANK_DEPOSITS) == bank - 800_000
    assert balance_of(session, service.PAYABLE) == 0
    assert _audits(session, "withdrawal.paid") == 2 and _audits(session, "withdrawal.failed") == 2
    # a failed row frees the yearly count: the person may apply again
    again = wb.apply(people[1], "serious_illness", event_date=date(2024, 5, 1), cost_fen=400_000)
    assert again.decision.allowed
    # a file that contradicts what was imported is refused whole
    flipped = _result_file(batch, failed={1: "改口"})
    with pytest.raises(InvalidInput, match="contradicts"):
        payments.import_result(session, flipped, on=PAID_ON, actor=wb.clerk)
    with pytest.raises(InvalidInput, match="lacks columns"):
        payments.import_result(session, "批次号,序号\n1,1\n", on=PAID_ON, actor=wb.clerk)
    assert verify_ledger(session).ok


@pytest.mark.parametrize("bank_result", ["paid", "failed"])
def test_retirement_closes_with_closure_interest(
    wb: WithdrawalBooks, session: Session, bank_result: str
) -> None:
    person = wb.person(1_000_000)
    before = balance_fen(session, person)
    outcome = wb.apply(person, "retirement", event_date=date(2024, 9, 1))
    assert outcome.decision.closes_account and outcome.decision.amount_fen == 1_000_000
    row = wb.approve(outcome.withdrawal_id)
    # 1,000,000 fen from 2024-07-01 to 2024-09-09 (71 days) at 1.5% / 360
    assert row.interest_fen == 2_958
    assert row.amount_fen == 1_002_958 and balance_fen(session, person) == 0
    batch = payments.export_batch(session, on=PAID_ON, actor=wb.clerk)
    failed = {1: "卡号错误"} if bank_result == "failed" else None
    payments.import_result(session, _result_file(batch, failed), on=PAID_ON, actor=wb.clerk)
    session.refresh(person)
    account = session.scalar(select(Account).where(Account.code == ledger_code(person)))
    assert account is not None
    if bank_result == "paid":
        assert person.status == "05" and person.closed_on == PAID_ON
        assert account.closed_on == PAID_ON
    else:
        assert person.status == "01" and account.closed_on is None
        assert balance_fen(session, person) == before
    assert verify_ledger(session).ok


def test_unemployment_after_six_months_frozen(wb: WithdrawalBooks, session: Session) -> None:
    from hpf.deposits.depositors import freeze

    person = wb.person(1_000_000)
    freeze(session, person, date(2024, 3, 11), wb.books.actor)
    early = wb.apply(person, "unemployment")
    assert "2024-09-11 起可申请" in early.decision.text_zh
    later = wb.apply(person, "unemployment", on=date(2024, 9, 11))
    assert later.decision.allowed and later.decision.amount_fen == 1_000_000


def test_no_bank_card_is_bad_input(wb: WithdrawalBooks) -> None:
    person = wb.person(1_000_000, card="")
    with pytest.raises(InvalidInput, match="bank card"):
        wb.apply(person, "rent", rent_months=1, cost_fen=100_000)
    with pytest.raises(InvalidInput, match="unknown withdrawal type"):
        wb.apply(wb.person(0), "holiday")


def test_check_writes_nothing(wb: WithdrawalBooks, session: Session) -> None:
    person = wb.person(1_000_000)
    decision = service.check(
        session,
        depositor_ref=person.depositor_ref,
        application=service.Application(type="rent", rent_months=2, cost_fen=500_000),
        on=APPLIED,
        policy=wb.books.policy,
    )
    assert [r.code for r in decision.refusals] == ["documents_missing"]
    assert "缺少申请材料：身份证、无房证明、房屋租赁合同、本人银行卡" in decision.text_zh
    assert _audits(session, "withdrawal.apply") == _audits(session, "withdrawal.refused") == 0


def test_standing_order_is_recorded_for_own_loan_only(
    wb: WithdrawalBooks, session: Session
) -> None:
    person = wb.person(1_000_000)
    order = service.create_standing_order(
        session,
        depositor_ref=person.depositor_ref,
        loan_ref="BANK-9",
        loan_borrower_id=person.id_number,
        loan_outstanding_fen=30_000_000,
        monthly_fen=250_000,
        starts_on=date(2024, 10, 1),
        actor=wb.clerk,
    )
    assert order.status == "active" and order.monthly_fen == 250_000
    assert _audits(session, "withdrawal.standing_order") == 1
    with pytest.raises(service.WithdrawalRefused) as info:
        service.create_standing_order(
            session,
            depositor_ref=person.depositor_ref,
            loan_ref="BANK-10",
            monthly_fen=250_000,
            starts_on=date(2024, 10, 1),
            actor=wb.clerk,
        )
    assert "不是本人或配偶的住房贷款" in info.value.message_zh
