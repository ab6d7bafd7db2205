"""Loans in the simulated city (贷款): new loans, the monthly debit, prepayments, overdue.

- New loans: the month's amount is the seed's year ÷ 12 at the run's scale (the first half of
  2020 issues none: the migrated books carry no contribution history, and the limit rule asks
  for six months of it, so July–December 2020 issue the year's amount). Borrowers are drawn among
  paying people without an HPF loan, better-paid first (repayment capacity binds the limit);
  the month's applications go through :func:`hpf.loans.issue_batch.issue` — the rules and
  records of :func:`hpf.loans.service.apply` (limit check; a request over the limit is asked
  again at the limit), the staff steps (:func:`hpf.loans.service.decide`: 受理, 复核, 审批) and
  :func:`hpf.loans.service.disburse`, as one set-based batch.
- The bank's monthly debit: :func:`hpf.loans.debit_run.run_bank_debits`, except the loans whose
  debit fails this month (a small share, each failing for a geometric number of months).
- Prepayments: a small share of loans prepays part of the balance on the due date just paid
  (:func:`hpf.loans.prepay_batch.prepay_many`, the rules of :func:`hpf.loans.repayment.prepay`,
  shorter term).
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
from hpf.loans.batches import run_overdue
from hpf.loans.debit_run import run_bank_debits
from hpf.loans.issue_batch import IssueItem, assess_many, issue
from hpf.loans.models import Installment, Loan
from hpf.loans.prepay_batch import PrepayItem, prepay_many
from hpf.loans.service import LoanRequest
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
    """Apply, approve and disburse the month's new loans; returns (loans, fen disbursed).

    Candidates are drawn in a random order and checked set-based
    (:func:`hpf.loans.issue_batch.assess_many`); a request over the limit is asked again at the
    limit (a second application, the first kept as refused). The requests up to the month's
    amount then go through :func:`hpf.loans.issue_batch.issue` as one batch.
    """
    if month < date(2020, 7, 1):
        return 0, 0
    months = 6 if month.year == 2020 else 12
    budget = cal.SEED[month.year].loans_issued * scale * 100 / months - state.carry_fen
    pool = _borrowers(session, month)
    if not pool:
        return 0, 0
    order = rng.permutation(len(pool)).tolist()
    chosen: list[IssueItem] = []
    planned = 0
    pos = 0
    while planned < budget and pos < len(order):
        size = int((budget - planned) / (cal.LOAN_AVERAGE * 100) * 1.5) + 8
        chunk = [_candidate(rng, pool[k], month) for k in order[pos : pos + size]]
        pos += size
        first = assess_many(session, [c[0] for c in chunk], policy=policy)
        again = {
            n: _at_limit(chunk[n], a.limit_fen)
            for n, a in enumerate(first)
            if not a.allowed and a.limit_fen >= 10_000_000
        }
        second = dict(
            zip(
                again,
                assess_many(session, list(again.values()), policy=policy) if again else [],
                strict=True,
            )
        )
        for n, (item, _) in enumerate(chunk):
            if planned >= budget:
                break
            chosen.append(item)
            if first[n].allowed:
                planned += item.request.amount_fen
            elif n in again:
                chosen.append(again[n])
                if second[n].allowed:
                    planned += again[n].request.amount_fen
    if not chosen:
        state.carry_fen = int(-budget)
        return 0, 0
    out = issue(
        session,
        chosen,
        applicant=staff.applicant,
        deciders={"accept": staff.clerk, "review": staff.reviewer, "approve": staff.approver},
        policy=policy,
    )
    state.carry_fen = int(out.disbursed_fen - budget)
    return out.issued, out.disbursed_fen


def _candidate(
    rng: np.random.Generator, person: tuple[int, str, date], month: date
) -> tuple[IssueItem, tuple[str, int, int, date]]:
    """A borrower's first request (the amount wanted, a term to age 58, a day of the month)."""
    _depositor_id, ref, born = person
    day = month.replace(day=int(rng.integers(5, 26)))
    want = int(np.clip(rng.lognormal(np.log(cal.LOAN_AVERAGE), 0.35), 100_000, 600_000))
    term = int(min(360, max(60, (58 - (day.year - born.year)) * 12)))
    channel = "online_hall" if rng.random() < cal.ONLINE_SHARE_LOANS else "counter"
    area = int(rng.integers(70, 145))
    amount = want * 100 // 100_000 * 100_000
    return _item(ref, amount, term, day, channel, area, 1), (channel, area, term, day)


def _at_limit(candidate: tuple[IssueItem, tuple[str, int, int, date]], limit_fen: int) -> IssueItem:
    item, (channel, area, term, day) = candidate
    return _item(item.depositor_ref, limit_fen // 100_000 * 100_000, term, day, channel, area, 2)


def _item(
    ref: str, amount_fen: int, term: int, day: date, channel: str, area: int, attempt: int
) -> IssueItem:
    request = LoanRequest(
        amount_fen=amount_fen,
        term_months=term,
        method="annuity",
        house_contract_ref=f"SIMGF{day:%Y%m}{ref}{attempt}",
        price_fen=amount_fen * 10 // 6,
        area_m2=Decimal(area),
        home_number=1,
        security_kind="mortgage",
        security_ref=f"鲁({day.year})临沂市不动产证明第{ref}{attempt}号",
    )
    return IssueItem(
        key=f"sim:loan:{day:%Y%m}:{ref}:{attempt}",
        depositor_ref=ref,
        request=request,
        channel=channel,
        on=day,
        at=datetime.combine(day, time(10), BUSINESS_TZ),
    )


def _borrowers(session: Session, month: date) -> list[tuple[int, str, date]]:
    """Paying people without an outstanding HPF loan, aged 25–50, the better-paid half."""
    # aged 25–50 in the month's year: born in the years year − 50 … year − 25 (in SQL)
    rows = session.execute(
        text(
            "SELECT d.id, d.depositor_ref, d.birth_date, d.base_fen FROM deposit_depositor d "
            "WHERE d.status = '01' AND d.id > 2 AND d.birth_date >= :born_from "
            "AND d.birth_date <= :born_to AND NOT EXISTS (SELECT 1 FROM loan_party p "
            "JOIN loan l ON l.id = p.loan_id WHERE p.id_number = d.id_number "
            "AND l.status IN ('approved', 'active', 'in_review')) ORDER BY d.id"
        ),
        {"born_from": date(month.year - 50, 1, 1), "born_to": date(month.year - 25, 12, 31)},
    ).all()
    if not rows:
        return []
    bases = np.fromiter((int(r[3]) for r in rows), dtype=np.int64, count=len(rows))
    median = int(np.sort(bases)[len(bases) // 2])
    return [
        (int(d), str(ref), born if isinstance(born, date) else date.fromisoformat(str(born)))
        for (d, ref, born, _), base in zip(rows, bases.tolist(), strict=True)
        if base >= median
    ]


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
    """A share of the loans prepays 20–50 % of the balance on the due date just paid
    (:func:`hpf.loans.prepay_batch.prepay_many`, shorter term); the loans are read set-based."""
    if not active:
        return
    chosen = rng.choice(np.array(active), int(rng.binomial(len(active), cal.PREPAY_MONTHLY)), False)
    ids = sorted(int(x) for x in chosen.tolist() if int(x) not in state.failing)
    facts = _prepay_facts(session, ids)
    items: list[PrepayItem] = []
    for loan_id in ids:
        fact = facts.get(loan_id)
        if fact is None:
            continue
        balance, last_due = fact
        if last_due < month:
            continue
        permille = int(rng.integers(200, 501))
        amount = balance * permille // 1000 // 100_000 * 100_000
        if amount < 1_000_000:
            continue
        items.append(
            PrepayItem(f"sim:{month:%Y%m}:{loan_id}", loan_id, last_due, amount, "shorter_term")
        )
    if items:
        prepay_many(
            session,
            items,
            actor=_actor(),
            now=datetime.combine(max(i.on for i in items), time(11), BUSINESS_TZ),
        )


def _prepay_facts(session: Session, ids: list[int]) -> dict[int, tuple[int, date]]:
    """Active loans with an installment paid: (balance, due date of the last one paid)."""
    out: dict[int, tuple[int, date]] = {}
    for s in range(0, len(ids), 900):
        for loan_id, balance, due in session.execute(
            select(Loan.id, Loan.balance_fen, Installment.due_date)
            .join(
                Installment,
                (Installment.loan_id == Loan.id) & (Installment.n == Loan.paid_n),
            )
            .where(Loan.id.in_(ids[s : s + 900]), Loan.status == "active", Loan.paid_n >= 1)
        ):
            day = due if isinstance(due, date) else date.fromisoformat(str(due))
            out[int(loan_id)] = (int(balance), day)
    return out


def _actor() -> Principal:
    return system_principal("sim")
