"""Repayment (还款): installments paid through the bank or from the HPF balance, prepayments.

- :func:`pay_from_balance` — 约定提取还贷: the installments due are paid from the HPF account of
  the borrower or a co-borrower, one journal debiting ``201-<个人账号>``; the depositor's row is
  locked first (``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` serializes writers), so the
  balance cannot be overdrawn by a concurrent withdrawal; not enough balance refuses the whole
  payment.
- :func:`prepay` — 提前还款 on the due date of the last paid installment, from the counter (bank
  101) or the HPF balance: partial with a shorter term or a lower payment, or in full
  (:mod:`hpf.loans.prepayment`); the remaining schedule is re-derived and stored.
- The bank's monthly debit file and its result: :mod:`hpf.loans.collection`.

An installment is paid in full (principal, interest and the penalty interest reckoned to the
payment day by :func:`hpf.loans.overdue.installment_penalty`); principal credits the loan's
``121-<贷款账号>``, interest and penalty interest 40103 委托贷款利息收入. A loan whose last
installment is paid is settled (结清) and its ledger account closed. Nothing here commits; every
change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.deposits.depositors import balance_fen, ledger_code
from hpf.deposits.models import Depositor
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft, Leg, credit, debit
from hpf.ledger.service import close_account, post
from hpf.loans import prepayment as prepayment_rules
from hpf.loans.models import Installment, Loan, LoanParty, Repayment
from hpf.loans.overdue import UnpaidInstallment, installment_penalty
from hpf.loans.position import LoanPosition
from hpf.loans.rules import parse_method
from hpf.loans.service import (
    LoanError,
    LoanRefused,
    loan_account,
    lock_depositor,
    lock_loan,
    store_schedule,
)
from hpf.money import format_yuan
from hpf.policy.loader import Policy, get_policy

REPAYMENT_KIND = "loan_repayment"
PREPAYMENT_KIND = "loan_prepayment"
INTEREST_INCOME = chart.INCOME_LOAN_INTEREST
PAYING_STATUSES = ("01", "02")
"""Accounts that may pay a loan: 正常 and 封存 (closed and court-frozen accounts may not)."""


@dataclass(frozen=True)
class Due:
    """One installment as it is to be paid on a day: unpaid principal, interest, penalty."""

    installment: Installment
    principal_fen: int
    interest_fen: int
    penalty_fen: int

    @property
    def amount_fen(self) -> int:
        return self.principal_fen + self.interest_fen + self.penalty_fen


def due_on(loan: Loan, rows: list[Installment], on: date, policy: Policy) -> list[Due]:
    """What each unpaid installment of ``rows`` costs when paid on ``on``."""
    entry = policy.on(on).overdue
    out = []
    for row in rows:
        unpaid = UnpaidInstallment(
            row.n,
            row.due_date,
            row.principal_fen - row.paid_principal_fen,
            row.interest_fen - row.paid_interest_fen,
        )
        penalty = installment_penalty(unpaid, row.rate_pct, on, entry)
        out.append(Due(row, unpaid.principal_fen, unpaid.interest_fen, penalty))
    return out


def unpaid_due(session: Session, loan_id: int, on: date) -> list[Installment]:
    """Unpaid installments due on or before ``on``, in order."""
    return list(
        session.scalars(
            select(Installment)
            .where(
                Installment.loan_id == loan_id,
                Installment.status != "paid",
                Installment.due_date <= on,
            )
            .order_by(Installment.n)
        )
    )


def repayment_legs(loan: Loan, dues: list[Due], payer_code: str) -> tuple[Leg, ...]:
    """Debit the payer; credit the loan (principal) and 40103 (interest and penalty)."""
    return legs_of(
        loan_account(loan),
        sum(d.principal_fen for d in dues),
        sum(d.interest_fen + d.penalty_fen for d in dues),
        payer_code,
    )


def legs_of(loan_code: str, principal: int, income: int, payer_code: str) -> tuple[Leg, ...]:
    """:func:`repayment_legs` from the sums: principal to the loan, interest and penalty 40103."""
    legs = [debit(payer_code, principal + income)]
    if principal:
        legs.append(credit(loan_code, principal))
    if income:
        legs.append(credit(INTEREST_INCOME, income))
    return tuple(legs)


def settle_installments(
    session: Session,
    loan: Loan,
    dues: list[Due],
    *,
    on: date,
    source: str,
    journal_id: int,
    key_prefix: str,
    payer_depositor_id: int | None = None,
) -> None:
    """Mark ``dues`` paid, record them, move the loan's balance and settle it when done."""
    for due in dues:
        row = due.installment
        row.paid_principal_fen += due.principal_fen
        row.paid_interest_fen += due.interest_fen
        row.paid_penalty_fen += due.penalty_fen
        row.penalty_fen = due.penalty_fen
        row.days_overdue = max(0, (on - row.due_date).days)
        row.status = "paid"
        row.paid_on = on
        loan.balance_fen -= due.principal_fen
        session.add(
            Repayment(
                idempotency_key=f"{key_prefix}:n{row.n}",
                loan_id=loan.id,
                branch_id=loan.branch_id,
                kind="installment",
                source=source,
                installment_n=row.n,
                paid_on=on,
                month=on.replace(day=1),
                principal_fen=due.principal_fen,
                interest_fen=due.interest_fen,
                penalty_fen=due.penalty_fen,
                amount_fen=due.amount_fen,
                payer_depositor_id=payer_depositor_id,
                journal_id=journal_id,
            )
        )
    session.flush()
    refresh_position(session, loan, on)


def refresh_position(session: Session, loan: Loan, on: date) -> None:
    """Recompute ``paid_n`` (every installment up to it paid); settle a loan fully repaid."""
    first_unpaid = session.scalar(
        select(Installment.n)
        .where(Installment.loan_id == loan.id, Installment.status != "paid")
        .order_by(Installment.n)
        .limit(1)
    )
    loan.paid_n = loan.last_n if first_unpaid is None else first_unpaid - 1
    if first_unpaid is None and loan.balance_fen == 0 and loan.status == "active":
        loan.status = "settled"
        loan.settled_on = on
        loan.days_past_due = 0
        loan.overdue_principal_fen = loan.overdue_interest_fen = loan.penalty_fen = 0
        session.flush()
        close_account(session, loan_account(loan), on)
    session.flush()


def pay_from_balance(
    session: Session,
    loan_id: int,
    *,
    on: date,
    actor: Principal,
    payer_ref: str | None = None,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> list[Repayment]:
    """约定提取还贷: pay every installment due by ``on`` from a borrower's HPF balance.

    ``payer_ref`` is the 个人账号 of the borrower (default) or of a co-borrower. Refuses, writing
    nothing, when the balance does not cover the whole amount due.
    """
    policy = policy or get_policy()
    loan = _active(session, loan_id)
    payer_id = _payer(session, loan, payer_ref)
    payer = lock_depositor(session, payer_id)
    if payer.status not in PAYING_STATUSES:
        raise LoanRefused(
            f"个人账户 {payer.depositor_ref} 状态为 {payer.status}，不能用于还贷",
            f"account {payer.depositor_ref} is {payer.status} and cannot repay a loan",
        )
    rows = unpaid_due(session, loan.id, on)
    if not rows:
        raise LoanError(
            f"贷款 {loan.loan_ref} 在 {on} 没有到期未还的期次",
            f"loan {loan.loan_ref} has nothing due on {on}",
        )
    dues = due_on(loan, rows, on, policy)
    total = sum(d.amount_fen for d in dues)
    available = balance_fen(session, payer)
    if available < total:
        raise LoanRefused(
            f"公积金余额 {format_yuan(available, grouping=True)} 元不足以偿还到期贷款 "
            f"{format_yuan(total, grouping=True)} 元",
            f"the balance {format_yuan(available)} does not cover {format_yuan(total)} due",
        )
    key = f"loan:{loan.id}:balance:n{rows[0].n}-{rows[-1].n}"
    journal_id = post(
        session,
        JournalDraft(
            REPAYMENT_KIND,
            loan.branch_id,
            on,
            on,
            repayment_legs(loan, dues, ledger_code(payer)),
            memo=f"约定提取还贷 {loan.loan_ref} 第{rows[0].n}-{rows[-1].n}期",
        ),
        idempotency_key=key,
    ).journal_id
    settle_installments(
        session,
        loan,
        dues,
        on=on,
        source="hpf_balance",
        journal_id=journal_id,
        key_prefix=key,
        payer_depositor_id=payer.id,
    )
    record(
        session,
        actor=actor,
        action="loan.repay_from_balance",
        object_type="loan",
        object_id=loan.id,
        detail={
            "loan": loan.loan_ref,
            "payer": payer.depositor_ref,
            "installments": [r.n for r in rows],
            "amount_fen": total,
            "journal": journal_id,
        },
        now=now,
    )
    return list(
        session.scalars(
            select(Repayment).where(Repayment.journal_id == journal_id).order_by(Repayment.id)
        )
    )


def position(loan: Loan) -> LoanPosition:
    """Where ``loan`` stands after its last paid installment (for the pure rules)."""
    assert loan.first_due is not None
    return LoanPosition(
        parse_method(loan.method),
        loan.annual_rate_pct,
        loan.first_due,
        loan.paid_n,
        loan.last_n,
        loan.balance_fen,
        loan.level_fen,
    )


def prepay(
    session: Session,
    loan_id: int,
    *,
    on: date,
    amount_fen: int | None,
    option: str,
    source: str,
    actor: Principal,
    idempotency_key: str,
    payer_ref: str | None = None,
    now: datetime | None = None,
) -> Repayment:
    """提前还款: ``amount_fen`` (None = the whole balance) on the due date of the last paid
    installment; ``source`` is ``counter`` (paid in at the bank) or ``hpf_balance``.

    A replay of the key returns the first repayment and writes nothing.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise LoanError("幂等键不能为空且不超过100个字符", "idempotency key must be 1-100 chars")
    replay = session.scalar(select(Repayment).where(Repayment.idempotency_key == f"prepay:{key}"))
    if replay is not None:
        return replay
    if source not in ("counter", "hpf_balance"):
        raise LoanError(
            f"还款来源应为 counter 柜面 或 hpf_balance 公积金余额：{source}",
            f"source must be counter or hpf_balance: {source}",
        )
    loan = _active(session, loan_id)
    if unpaid_due(session, loan.id, on):
        raise LoanRefused(
            f"贷款 {loan.loan_ref} 有到期未还的期次，须先还清才能提前还款",
            f"loan {loan.loan_ref} has installments due unpaid; pay them before prepaying",
        )
    before = position(loan)
    if before.last_paid_due != on:
        allowed = before.last_paid_due
        raise LoanRefused(
            f"提前还款须在最近已还期次的还款日（{allowed}）办理，而非 {on}"
            if allowed
            else "首期还款之前不能提前还款",
            f"a prepayment is made on the due date of the last paid installment ({allowed})",
        )
    result = (
        prepayment_rules.prepay_in_full(before)
        if amount_fen is None
        else prepayment_rules.prepay(before, amount_fen, option)
    )
    if source == "hpf_balance":
        payer = lock_depositor(session, _payer(session, loan, payer_ref))
        if payer.status not in PAYING_STATUSES:
            raise LoanRefused(
                f"个人账户 {payer.depositor_ref} 状态为 {payer.status}，不能用于还贷",
                f"account {payer.depositor_ref} is {payer.status} and cannot repay a loan",
            )
        available = balance_fen(session, payer)
        if available < result.amount_fen:
            raise LoanRefused(
                f"公积金余额 {format_yuan(available, grouping=True)} 元不足以提前还款 "
                f"{format_yuan(result.amount_fen, grouping=True)} 元",
                f"the balance {format_yuan(available)} does not cover {format_yuan(result.amount_fen)}",
            )
        payer_code, payer_id = ledger_code(payer), payer.id
    else:
        payer_code, payer_id = chart.HPF_BANK_DEPOSITS, None
    kind = "full_prepayment" if result.full else "prepayment"
    journal_id = post(
        session,
        JournalDraft(
            PREPAYMENT_KIND,
            loan.branch_id,
            on,
            on,
            (debit(payer_code, result.amount_fen), credit(loan_account(loan), result.amount_fen)),
            memo=f"{'全额' if result.full else '部分'}提前还款 {loan.loan_ref}",
        ),
        idempotency_key=f"loan:{loan.id}:prepay:{key}",
    ).journal_id
    session.execute(
        delete(Installment).where(Installment.loan_id == loan.id, Installment.n > before.paid_n)
    )
    store_schedule(session, loan.id, result.schedule(), loan.annual_rate_pct)
    after = result.after
    loan.balance_fen = after.balance_fen
    loan.last_n = after.last_n
    loan.level_fen = after.level_fen
    repayment = Repayment(
        idempotency_key=f"prepay:{key}",
        loan_id=loan.id,
        branch_id=loan.branch_id,
        kind=kind,
        source=source,
        paid_on=on,
        month=on.replace(day=1),
        principal_fen=result.amount_fen,
        amount_fen=result.amount_fen,
        option="" if result.full else result.option.value,
        payer_depositor_id=payer_id,
        journal_id=journal_id,
    )
    session.add(repayment)
    session.flush()
    refresh_position(session, loan, on)
    record(
        session,
        actor=actor,
        action=f"loan.{kind}",
        object_type="loan",
        object_id=loan.id,
        detail={
            "loan": loan.loan_ref,
            "amount_fen": result.amount_fen,
            "option": repayment.option,
            "balance_fen": loan.balance_fen,
            "last_n": loan.last_n,
            "level_fen": loan.level_fen,
            "journal": journal_id,
        },
        now=now,
    )
    return repayment


def _active(session: Session, loan_id: int) -> Loan:
    loan = lock_loan(session, loan_id)
    if loan.status != "active":
        raise LoanError(
            f"贷款 {loan.loan_ref} 状态为 {loan.status}，不能还款",
            f"loan {loan.loan_ref} is {loan.status}: no repayment",
        )
    return loan


def _payer(session: Session, loan: Loan, payer_ref: str | None) -> int:
    if payer_ref is None:
        return loan.depositor_id
    payer = session.scalar(select(Depositor).where(Depositor.depositor_ref == payer_ref.strip()))
    party = (
        None
        if payer is None
        else session.scalar(
            select(LoanParty.id).where(
                LoanParty.loan_id == loan.id, LoanParty.id_number == payer.id_number
            )
        )
    )
    if payer is None or party is None:
        raise LoanRefused(
            f"个人账户 {payer_ref} 不是贷款 {loan.loan_ref} 的借款人或共同借款人",
            f"account {payer_ref} is not a borrower of loan {loan.loan_ref}",
        )
    return payer.id
