"""约定提取还贷, the monthly run: every active standing order pays what its loan has due.

A standing order (recorded by :func:`hpf.withdrawals.service.create_standing_order`) lets a
depositor's balance repay their own or their spouse's HPF loan. On the run date each active order
whose loan has installments due and unpaid pays them from the depositor's balance through
:func:`hpf.loans.repayment.pay_from_balance` — under the depositor's row lock, refusing overdraft.
Each order is its own savepoint: an order whose balance does not cover what is due is reported
and changes nothing, the others still pay. The run is idempotent: paid installments are not due
any more, and each payment's ledger key names the installments it pays.

The orders are selected with one query; the payments are posted one journal per order (each one
needs the person's lock and balance check). Tens of thousands of orders a month fit this shape;
a set-based variant through ``ledger.bulk.post_staged`` is the path if that grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.auth.principal import Principal
from hpf.deposits.models import Depositor
from hpf.errors import DomainError
from hpf.loans.models import Installment, Loan
from hpf.loans.repayment import pay_from_balance
from hpf.policy.loader import Policy, get_policy
from hpf.withdrawals.models import StandingOrder


@dataclass
class StandingRun:
    """What one run did: orders that paid (with the amount), and those refused with the reason."""

    on: date
    paid: dict[int, int] = field(default_factory=dict)  # order id → fen paid
    refused: dict[int, str] = field(default_factory=dict)  # order id → reason (zh)

    @property
    def paid_fen(self) -> int:
        return sum(self.paid.values())


def run_standing_orders(
    session: Session, on: date, actor: Principal, *, policy: Policy | None = None
) -> StandingRun:
    """Pay every active order's loan installments due by ``on`` from the order holder's balance."""
    policy = policy or get_policy()
    due_loans = (
        select(Installment.loan_id)
        .where(Installment.due_date <= on, Installment.status != "paid")
        .distinct()
        .subquery()
    )
    orders = session.execute(
        select(StandingOrder.id, Loan.id, Depositor.depositor_ref)
        .join(Loan, Loan.loan_ref == StandingOrder.loan_ref)
        .join(Depositor, Depositor.id == StandingOrder.depositor_id)
        .join(due_loans, due_loans.c.loan_id == Loan.id)
        .where(StandingOrder.status == "active", StandingOrder.starts_on <= on)
        .order_by(StandingOrder.id)
    ).all()
    run = StandingRun(on)
    for order_id, loan_id, payer_ref in orders:
        try:
            with session.begin_nested():
                paid = pay_from_balance(
                    session, loan_id, on=on, actor=actor, payer_ref=payer_ref, policy=policy
                )
        except DomainError as exc:
            run.refused[order_id] = exc.message_zh
            continue
        run.paid[order_id] = sum(p.amount_fen for p in paid)
    return run
