"""The month's withdrawals in the simulated city (提取), every type in its share.

The month's amount is the seed's year ÷ 12 at the run's scale, split by type in the shares of
:data:`hpf.sim.calibration.WITHDRAWAL_MIX`. For each type, people who can plausibly ask (a loan
to repay, a frozen account for six months, the age to retire, …; no withdrawal of the type in
its interval) are drawn in a seeded order until the type's amount is asked for; each asks for
the typical amount (lognormal around it) within the balance, or the whole balance for the types
that close the account. The requests then go through the real rules and books as one batch
(:func:`hpf.withdrawals.batch.approve_and_pay`): refusals stay refusals. Channels: online with
the year's online share (网办率), else the counter.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hpf.auth.principal import Principal
from hpf.dates import add_months
from hpf.policy.loader import Policy
from hpf.sim import calibration as cal
from hpf.withdrawals.batch import BatchItem, BatchOutcome, approve_and_pay
from hpf.withdrawals.models import Withdrawal
from hpf.withdrawals.service import Application
from hpf.workflow.stats import BUSINESS_TZ

ONLINE_CHANNELS = ("online_hall", "mobile_app", "wechat")
CLOSING = frozenset({"retirement", "death", "incapacity", "emigration"})


def run_month(
    session: Session,
    *,
    rng: np.random.Generator,
    month: date,
    scale: float,
    policy: Policy,
    applicant: Principal,
    staff: Principal,
) -> BatchOutcome:
    """Draw, check, post and pay the month's withdrawals (on the 15th)."""
    on = month.replace(day=15)
    seed = cal.SEED[month.year]
    budget = seed.withdrawals * scale * 100 / 12 * cal.WITHDRAWALS_ASKED_PER_PAID
    people = _people(session)
    if not people["id"].size:
        return BatchOutcome()
    used: set[int] = set()
    recent = _recent(session, on)
    loans = _loans(session)
    rules = policy.on(on).withdrawal.types
    online = float(seed.online_rate) + 0.03
    items: list[BatchItem] = []
    for wtype, (share, typical) in cal.WITHDRAWAL_MIX.items():
        target = budget * share
        pool = _pool(wtype, people, on, loans, recent.get(wtype, set()))
        if not pool.size:
            continue
        order = rng.permutation(pool)
        asked = 0.0
        for idx in order.tolist():
            if asked >= target:
                break
            pid = int(people["id"][idx])
            if pid in used:
                continue
            balance = int(people["balance"][idx])
            amount: int | None = None
            if wtype in CLOSING or wtype == "unemployment":
                size = balance
            else:
                want = int(typical * 100 * rng.lognormal(0.0, 0.5))
                amount = size = max(100_00, min(balance, want) // 100 * 100)
            # the last request of a type is made with the probability of the amount still
            # wanted, so a rare type costs its share on average even in a small city
            if asked + size > target and rng.random() >= (target - asked) / size:
                break
            asked += size
            used.add(pid)
            documents = tuple(getattr(rules, wtype).documents)
            channel = (
                "counter"
                if wtype == "death" or rng.random() >= online
                else ONLINE_CHANNELS[int(rng.integers(0, len(ONLINE_CHANNELS)))]
            )
            items.append(
                BatchItem(
                    key=f"sim:w:{month:%Y%m}:{wtype}:{pid}",
                    depositor_ref=str(people["ref"][idx]),
                    application=_application(wtype, amount, documents, on, pid, loans, people, idx),
                    channel=channel,
                    applied_on=on - _days(rng),
                )
            )
    return approve_and_pay(
        session,
        items,
        on=on,
        at=datetime.combine(on, time(15), BUSINESS_TZ),
        applicant=applicant,
        staff=staff,
        policy=policy,
    )


def _days(rng: np.random.Generator) -> timedelta:
    return timedelta(days=int(rng.integers(0, 4)))


def _application(
    wtype: str,
    amount: int | None,
    documents: tuple[str, ...],
    on: date,
    pid: int,
    loans: dict[int, tuple[str, int]],
    people: dict[str, np.ndarray],
    idx: int,
) -> Application:
    event = add_months(on, -1)
    if wtype == "purchase":
        assert amount is not None
        return Application(
            type=wtype,
            documents=documents,
            amount_fen=amount,
            event_date=event,
            cost_fen=max(amount * 5, 50_000_000),
            contract_ref=f"SIMHT{on:%Y%m}{pid:09d}",
        )
    if wtype == "loan_repayment":
        if pid in loans:
            ref, outstanding = loans[pid]
            return Application(
                type=wtype,
                documents=documents,
                amount_fen=min(amount or 0, outstanding) or None,
                loan_ref=ref,
            )
        return Application(
            type=wtype,
            documents=documents,
            amount_fen=amount,
            loan_ref=f"SD{pid:010d}",
            loan_borrower_id=str(people["id_number"][idx]),
            loan_outstanding_fen=50_000_000,
        )
    if wtype == "rent":
        return Application(
            type=wtype,
            documents=documents,
            amount_fen=amount,
            cost_fen=1_800_000,
            rent_months=12,
        )
    if wtype == "death":
        return Application(
            type=wtype,
            documents=documents,
            event_date=event,
            heir_id=f"HEIR{pid:014d}",
            heir_name="继承人",
            heir_card=f"6228{pid:015d}",
        )
    if wtype in CLOSING:
        return Application(type=wtype, documents=documents, event_date=event)
    if wtype == "unemployment":
        return Application(type=wtype, documents=documents)
    if wtype == "subsistence":
        return Application(type=wtype, documents=documents, amount_fen=amount, event_date=event)
    assert amount is not None
    return Application(
        type=wtype, documents=documents, amount_fen=amount, event_date=event, cost_fen=amount
    )


def _people(session: Session) -> dict[str, np.ndarray]:
    rows = session.execute(
        text(
            "SELECT d.id, d.depositor_ref, d.id_number, d.status, d.frozen_on, d.birth_date, "
            "-a.balance FROM deposit_depositor d JOIN ledger_account a "
            "ON a.subsidiary_kind = 'depositor' AND a.subsidiary_ref = d.depositor_ref "
            "WHERE d.status IN ('01', '02') AND a.balance < -100000 ORDER BY d.id"
        )
    ).all()
    return {
        "id": np.array([r[0] for r in rows], dtype=np.int64),
        "ref": np.array([r[1] for r in rows], dtype=object),
        "id_number": np.array([r[2] for r in rows], dtype=object),
        "status": np.array([r[3] for r in rows], dtype=object),
        "frozen_on": np.array([_d(r[4]) for r in rows], dtype=object),
        # the frozen date as a day number (never frozen: after every date), for vector tests
        "frozen_ord": np.array(
            [_d(r[4]).toordinal() if r[4] is not None else date.max.toordinal() for r in rows],
            dtype=np.int64,
        ),
        "born": np.array([_d(r[5]).year for r in rows], dtype=np.int64),
        "balance": np.array([r[6] for r in rows], dtype=np.int64),
    }


def _d(value: object) -> date:
    if value is None or isinstance(value, date):
        return value  # type: ignore[return-value]
    return date.fromisoformat(str(value))


def _recent(session: Session, on: date) -> dict[str, set[int]]:
    """Per type, the people with a counting withdrawal of it in the last twelve months."""
    since = add_months(on, -12)
    out: dict[str, set[int]] = {}
    for wtype, depositor_id in session.execute(
        select(Withdrawal.type, Withdrawal.depositor_id).where(
            Withdrawal.applied_on > since, Withdrawal.status == "paid"
        )
    ):
        out.setdefault(wtype, set()).add(int(depositor_id))
    return out


def _loans(session: Session) -> dict[int, tuple[str, int]]:
    """Borrower depositor id → (loan, principal outstanding) of the active HPF loans."""
    rows = session.execute(
        text(
            "SELECT depositor_id, loan_ref, balance_fen FROM loan "
            "WHERE status = 'active' ORDER BY id"
        )
    ).all()
    return {int(d): (str(ref), int(bal)) for d, ref, bal in rows}


def _pool(
    wtype: str,
    people: dict[str, np.ndarray],
    on: date,
    loans: dict[int, tuple[str, int]],
    recent: set[int],
) -> np.ndarray:
    ids = people["id"]
    status = people["status"]
    age = on.year - people["born"]
    fresh = ~np.isin(ids, np.fromiter(recent, dtype=np.int64, count=len(recent)))
    borrower = np.isin(ids, np.fromiter(loans, dtype=np.int64, count=len(loans)))
    active = status == "01"
    frozen = status == "02"
    if wtype == "loan_repayment":
        mask = fresh & (age < 52)
    elif wtype == "rent":
        mask = fresh & active & ~borrower & (age < 40)
    elif wtype == "retirement":
        mask = age >= 52
    elif wtype == "unemployment":
        ready = add_months(on, -7)
        mask = fresh & frozen & (people["frozen_ord"] <= ready.toordinal())
    elif wtype == "incapacity":
        mask = frozen & (age >= 40)
    elif wtype in ("death", "emigration"):
        mask = age >= 30
    elif wtype == "purchase":
        mask = active & ~borrower & (age < 50)
    else:
        mask = fresh
    if wtype == "loan_repayment":
        # HPF borrowers first, then people with a commercial loan (the rest of the pool)
        first = np.flatnonzero(mask & borrower)
        rest = np.flatnonzero(mask & ~borrower & active)
        return np.concatenate([first, rest[: max(1, len(rest) // 4)]])
    return np.flatnonzero(mask)
