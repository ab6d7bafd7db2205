"""No overdraft under concurrency: 20 withdrawals approved at once against one balance.

Real threads, each with its own connection and transaction (``unit_of_work``). The approval
locks the depositor row (SELECT … FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite), so at
most balance // amount of them can succeed; the rest are refused and write nothing.
"""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import select

from hpf.db.engine import unit_of_work
from hpf.deposits.depositors import balance_fen
from hpf.deposits.models import Depositor
from hpf.ledger.verify import verify_ledger
from hpf.withdrawals import payments, service
from hpf.withdrawals.models import Withdrawal
from withdrawal_books import APPLIED, at, make_withdrawal_books

BALANCE = 10_000_000  # 100,000.00 yuan
AMOUNT = 3_000_000  # 30,000.00 yuan: three fit, the fourth would overdraw
THREADS = 20


def test_twenty_parallel_approvals_never_overdraw(fresh_db_url: str) -> None:
    with unit_of_work(fresh_db_url) as session:
        wb = make_withdrawal_books(session)
        person = wb.person(BALANCE)
        ref = person.depositor_ref
        ids = []
        for n in range(THREADS):
            outcome = wb.apply(
                person,
                "purchase",
                event_date=date(2024, 6, 1),
                cost_fen=90_000_000,
                contract_ref=f"RACE-{n}",
                amount_fen=AMOUNT,
            )
            assert outcome.decision.allowed, outcome.decision.text_en
            service.decide(session, outcome.withdrawal_id, actor=wb.clerk, action="accept")
            ids.append(outcome.withdrawal_id)
        reviewer, clerk = wb.reviewer, wb.clerk

    barrier = threading.Barrier(THREADS)
    approved: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []

    def review(withdrawal_id: int) -> None:
        barrier.wait()
        try:
            with unit_of_work(fresh_db_url) as session:
                service.decide(
                    session, withdrawal_id, actor=reviewer, action="review", now=at(APPLIED, 11)
                )
            approved.append(withdrawal_id)
        except service.WithdrawalRefused:
            refused.append(withdrawal_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=review, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(approved) == BALANCE // AMOUNT
    assert len(refused) == THREADS - len(approved)

    with unit_of_work(fresh_db_url) as session:
        batch = payments.export_batch(session, on=date(2024, 9, 12), actor=clerk)
        lines = batch.csv_text.strip().split("\n")
        result = "\n".join([lines[0] + ",结果,说明", *(line + ",成功," for line in lines[1:])])
        payments.import_result(session, result, on=date(2024, 9, 12), actor=clerk)
    with unit_of_work(fresh_db_url) as session:
        paid = session.scalars(select(Withdrawal.amount_fen).where(Withdrawal.status == "paid"))
        total = sum(paid)
        assert total == AMOUNT * len(approved) <= BALANCE
        depositor = session.scalar(select(Depositor).where(Depositor.depositor_ref == ref))
        assert depositor is not None
        assert balance_fen(session, depositor) == BALANCE - total
        statuses = set(session.scalars(select(Withdrawal.status).where(Withdrawal.id.in_(refused))))
        assert statuses == {"in_review"}  # refused approvals left nothing behind
        report = verify_ledger(session)
        assert report.ok, report.problems
