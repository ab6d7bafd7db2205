"""Loans in the simulated city (贷款): new loans, the monthly debit, prepayments, overdue.

- New loans: the month's amount is the seed's year ÷ 12 at the run's scale (the first half of
  2020 issues none: the migrated books carry no contribution history, and the limit rule asks
  for six months of it, so July–December 2020 issue the year's amount). Borrowers are drawn among
  paying people without an HPF loan, better-paid first (repayment capacity binds the limit);
  each loan goes through the real use cases: :func:`hpf.loans.service.apply` (limit check; a
  request over the limit is asked again at the limit), the staff steps
  (:func:`hpf.loans.service.decide`), :func:`hpf.loans.service.disburse`.
- The bank's monthly debit: :func:`hpf.loans.debit_run.run_bank_debits`, except the loans whose
  debit fails this month (a small share, each failing for a geometric number of months).
- Prepayments: a small share of loans prepays part of the balance on the due date just paid
  (:func:`hpf.loans.repayment.prepay`, shorter term).
- Month end: the overdue batch (:func:`hpf.loans.batches.run_overdue`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hpf.auth.principal import Principal, system_principal
from hpf.dates import month_end
from hpf.errors import DomainError
from hpf.loans import service
from hpf.loans.batches import run_overdue
from hpf.loans.debit_run import run_bank_debits
from hpf.loans.models import Installment, Loan
from hpf.loans.repayment import prepay
from hpf.policy.loader import Policy
from hpf.sim import calibration as cal
from hpf.workflow.stats import BUSINESS_TZ


@dataclass
class LoanState:
    """Loans whose bank debit keeps failing, with the months left before they pay up."""

    failing: dict[int, int] = field(default_factory=dict)
    carry_fen: int = 0
    """Issued beyond the months' amounts so far (a loan is whole: the next month issues less)."""


@dataclass(frozen=True)
class Staff:
    applicant: Principal
    clerk: Principal
    reviewer: Principal
    approver: Principal


def issue_month(
    session: Session,
    *,
    rng: np.random.Generator,
    month: date,
    scale: float,
    policy: Policy,
    staff: Staff,
    state: LoanState,
) -> tuple[int, int]:
    """Apply, approve and disburse the month's new loans; returns (loans, fen disbursed)."""
    if month < date(2020, 7, 1):
        return 0, 0
    months = 6 if month.year == 2020 else 12
    budget = cal.SEED[month.year].loans_issued * scale * 100 / months - state.carry_fen
    pool = _borrowers(session, month)
    if not pool:
        return 0, 0
    order = rng.permutation(len(pool))
    issued = count = 0
    for k in order.tolist():
        if issued >= budget:
            break
        _depositor_id, ref, born = pool[k]
        day = month.replace(day=int(rng.integers(5, 26)))
        want = int(np.clip(rng.lognormal(np.log(cal.LOAN_AVERAGE), 0.35), 100_000, 600_000))
        age = day.year - born.year
        term = int(min(360, max(60, (58 - age) * 12)))
        loan = _one_loan(
            session, rng, ref, want * 100 // 100_000 * 100_000, term, day, policy, staff
        )
        if loan is not None:
            issued += loan.principal_fen
            count += 1
    state.carry_fen = int(issued - budget)
    return count, issued


def _one_loan(
    session: Session,
    rng: np.random.Generator,
    ref: str,
    amount_fen: int,
    term: int,
    day: date,
    policy: Policy,
    staff: Staff,
) -> Loan | None:
    at = datetime.combine(day, time(10), BUSINESS_TZ)
    channel = "online_hall" if rng.random() < cal.ONLINE_SHARE_LOANS else "counter"
    area = Decimal(int(rng.integers(70, 145)))
    for attempt in (1, 2):
        request = service.LoanRequest(
            amount_fen=amount_fen,
            term_months=term,
            method="annuity",
            house_contract_ref=f"SIMGF{day:%Y%m}{ref}{attempt}",
            price_fen=amount_fen * 10 // 6,
            area_m2=area,
            home_number=1,
            security_kind="mortgage",
            security_ref=f"鲁({day.year})临沂市不动产证明第{ref}{attempt}号",
        )
        outcome = service.apply(
            session,
            depositor_ref=ref,
            request=request,
            applicant=staff.applicant,
            channel=channel,
            idempotency_key=f"sim:loan:{day:%Y%m}:{ref}:{attempt}",
            on=day,
            policy=policy,
            now=at,
        )
        if outcome.allowed:
            break
        if attempt == 2 or outcome.limit_fen < 10_000_000:
            return None
        amount_fen = outcome.limit_fen // 100_000 * 100_000
    row = service.get(session, outcome.loan_id)
    for actor, action in (
        (staff.clerk, "accept"),
        (staff.reviewer, "review"),
        (staff.approver, "approve"),
    ):
        row = service.decide(session, outcome.loan_id, actor=actor, action=action, now=at)
        if row.status != "in_review":
            break
    if row.status != "approved":
        return None
    return service.disburse(
        session, outcome.loan_id, on=day, actor=staff.clerk, policy=policy, now=at
    )


def _borrowers(session: Session, month: date) -> list[tuple[int, str, date]]:
    """Paying people without an outstanding HPF loan, aged 25–50, the better-paid half."""
    rows = session.execute(
        text(
            "SELECT d.id, d.depositor_ref, d.birth_date, d.base_fen FROM deposit_depositor d "
            "WHERE d.status = '01' AND d.id > 2 AND NOT EXISTS (SELECT 1 FROM loan_party p "
            "JOIN loan l ON l.id = p.loan_id WHERE p.id_number = d.id_number "
            "AND l.status IN ('approved', 'active', 'in_review')) ORDER BY d.id"
        )
    ).all()
    out = []
    for depositor_id, ref, born, base in rows:
        b = born if isinstance(born, date) else date.fromisoformat(str(born))
        if 25 <= month.year - b.year <= 50:
            out.append((int(depositor_id), str(ref), b, int(base)))
    if not out:
        return []
    bases = sorted(r[3] for r in out)
    median = bases[len(bases) // 2]
    return [(d, r, b) for d, r, b, base in out if base >= median]


def debit_month(
    session: Session,
    *,
    rng: np.random.Generator,
    month: date,
    state: LoanState,
    policy: Policy,
) -> None:
    """The bank's debits of the month, with some failing; then the overdue batch."""
    active = [
        int(i)
        for i in session.scalars(select(Loan.id).where(Loan.status == "active").order_by(Loan.id))
    ]
    for loan_id in list(state.failing):
        state.failing[loan_id] -= 1
        if state.failing[loan_id] <= 0:
            del state.failing[loan_id]
    if active:
        new = rng.choice(
            np.array(active), int(rng.binomial(len(active), cal.DEBIT_FAILURE_MONTHLY)), False
        )
        for loan_id in sorted(new.tolist()):
            state.failing.setdefault(int(loan_id), int(rng.geometric(cal.CURE_MONTHLY)))
    end = month_end(month)
    run_bank_debits(session, start=month, end=end, failed=state.failing, policy=policy)
    _prepay(session, rng, month, active, state, policy)
    run_overdue(session, end, policy=policy)


def _prepay(
    session: Session,
    rng: np.random.Generator,
    month: date,
    active: list[int],
    state: LoanState,
    policy: Policy,
) -> None:
    if not active or month.month == 12:
        # None in December: the January repricing (hpf.loans.batches.run_repricing) re-derives
        # the schedule from the scheduled balance after the last installment due before
        # January 1, which a prepayment on that very due date does not lower (reported).
        return
    chosen = rng.choice(np.array(active), int(rng.binomial(len(active), cal.PREPAY_MONTHLY)), False)
    for loan_id in sorted(int(x) for x in chosen.tolist()):
        if loan_id in state.failing:
            continue
        loan = session.get(Loan, loan_id)
        if loan is None or loan.status != "active" or loan.paid_n < 1:
            continue
        last_due = session.scalar(
            select(Installment.due_date).where(
                Installment.loan_id == loan_id, Installment.n == loan.paid_n
            )
        )
        if last_due is None or last_due < month:
            continue
        share = float(rng.uniform(0.2, 0.5))
        amount = int(loan.balance_fen * share) // 100_000 * 100_000
        if amount < 1_000_000:
            continue
        try:
            with session.begin_nested():
                prepay(
                    session,
                    loan_id,
                    on=last_due,
                    amount_fen=amount,
                    option="shorter_term",
                    source="counter",
                    actor=_actor(),
                    idempotency_key=f"sim:{month:%Y%m}:{loan_id}",
                    now=datetime.combine(last_due, time(11), BUSINESS_TZ),
                )
        except DomainError:
            continue


def _actor() -> Principal:
    return system_principal("sim")
