"""The simulated city, month by month (模拟城市): ``hpf sim run`` and ``hpf demo``.

:func:`simulate` builds the city (:mod:`hpf.sim.opening`), brings in the opening position, then
runs January 2020 … December 2023 through the real batch paths, in a center's order of work:

- January 1: loans repriced (:func:`hpf.loans.batches.run_repricing`); the fund's placement rate
  for the year set (:func:`placement_rate`);
- July 1: the yearly base adjustment (:func:`hpf.sim.population.rebase`);
- the 12th: employers' money and lists (:mod:`hpf.sim.remittances`), a few a month late;
- the 15th: the month's withdrawals (:mod:`hpf.sim.withdrawals_flow`);
- the 5th–25th: new loans (:mod:`hpf.sim.loans_flow`);
- the 20th of each quarter's last month: bank interest (住房公积金存款利息);
- June 30: the annual interest settlement (:func:`hpf.interest.service.settle_year`);
- month end: the bank's loan debits, prepayments, the overdue batch; careers (joiners, leavers,
  job changers); the hotline, e-audit and operations of the month
  (``hpf.sim.service_activity.simulate_service_month``, when that module is installed);
- December 31: value-added income carried and distributed (:func:`value_added.distribute`).

Each month is one transaction. Deterministic: every draw comes from one seeded numpy generator
(child streams per purpose), every query reads in id order, and nothing that reaches the ledger
reads the clock; two runs with the same scale and seed give the same ledger head hash.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hpf.auth.demo import DEMO_PASSWORD
from hpf.auth.users import create_user, find_user_id, principal_of
from hpf.dates import add_months
from hpf.deposits.models import Depositor, Employer
from hpf.errors import InvalidInput
from hpf.finance import books, value_added
from hpf.finance.transactions import record
from hpf.interest.service import settle_year
from hpf.ledger import chart
from hpf.ledger.service import balance_of
from hpf.loans.batches import run_repricing
from hpf.policy.loader import Policy
from hpf.sim import calibration as cal
from hpf.sim import loans_flow, population, remittances, withdrawals_flow
from hpf.sim.loans_flow import LoanState, Staff
from hpf.sim.models import SimCheckpoint
from hpf.sim.opening import build_city, post_opening
from hpf.workflow.stats import BUSINESS_TZ

FIRST_MONTH = date(2020, 1, 1)
LAST_MONTH = date(2023, 12, 1)
SIM_STAFF = {
    "sim_window": ("模拟受理窗口", ("clerk",)),
    "sim_clerk": ("模拟经办", ("clerk",)),
    "sim_reviewer": ("模拟复核", ("reviewer",)),
    "sim_approver": ("模拟审批", ("approver",)),
}


@dataclass
class SimState:
    scale: float
    seed: int
    rng: np.random.Generator
    policy: Policy
    staff: Staff
    loans: LoanState = field(default_factory=LoanState)
    late: list[int] = field(default_factory=list)
    placement_rate: Decimal = Decimal("0.02")
    first_month: date = FIRST_MONTH


UnitOfWork = Callable[[], Any]
"""A context manager factory yielding a session and committing on exit (``unit_of_work``)."""


def simulate(
    unit_of_work: UnitOfWork,
    *,
    scale: float,
    seed: int,
    policy: Policy,
    on_month: Callable[[date], None] | None = None,
    months: tuple[date, date] = (FIRST_MONTH, LAST_MONTH),
    resume: bool = False,
) -> None:
    """Build the city (opening position at 2019-12-31) and run ``months`` (first and last,
    inclusive; January 2020 … December 2023 unless a test asks for fewer) one transaction a
    month, each with its checkpoint (:class:`hpf.sim.models.SimCheckpoint`); ``on_month`` is
    called after each month commits. ``resume``: go on from the last checkpoint of a run with
    the same scale and seed in this database instead of building a new city."""
    if not 0 < scale <= 2:
        raise InvalidInput("规模应在 0 到 2 之间", "scale must be in (0, 2]")
    with unit_of_work() as session:
        if not session.scalar(select(func.count()).select_from(Depositor)):
            city = build_city(session, scale=scale, seed=seed)
            post_opening(session, city, scale=scale, seed=seed)
            staff = _staff(session, city.branch_ids[0])
            state = SimState(scale, seed, np.random.default_rng([seed, 3]), policy, staff)
            state.first_month = month = months[0]
        elif resume:
            state, done = _resumed(session, scale, seed, policy)
            month = add_months(done, 1)
        else:
            raise InvalidInput(
                "数据库中已有职工数据：模拟城市须在空库上运行（继续中断的模拟用 --resume）",
                "the database already holds depositors: the simulated city needs an empty one "
                "(--resume goes on with an interrupted run)",
            )
    while month <= months[1]:
        with unit_of_work() as session:
            simulate_month(session, state, month)
            session.add(
                SimCheckpoint(month=month, scale=repr(scale), seed=seed, state=_state_json(state))
            )
        if on_month is not None:
            on_month(month)
        month = add_months(month, 1)


def _state_json(state: SimState) -> str:
    """What the next month needs of this one, beyond the database (see :mod:`hpf.sim.models`)."""
    return json.dumps(
        {
            "rng": state.rng.bit_generator.state,
            "late": state.late,
            "failing": sorted(state.loans.failing.items()),
            "carry_fen": state.loans.carry_fen,
            "placement_rate": str(state.placement_rate),
            "first_month": state.first_month.isoformat(),
        },
        sort_keys=True,
    )


def _resumed(session: Session, scale: float, seed: int, policy: Policy) -> tuple[SimState, date]:
    """The state after the last month checkpointed, and that month."""
    last = session.scalars(
        select(SimCheckpoint).order_by(SimCheckpoint.month.desc()).limit(1)
    ).one_or_none()
    if last is None:
        raise InvalidInput(
            "数据库中没有模拟进度，无法继续", "no simulation checkpoint in this database to resume"
        )
    if float(last.scale) != scale or last.seed != seed:
        raise InvalidInput(
            f"数据库中的模拟规模 {last.scale}、种子 {last.seed} 与本次参数不符",
            f"the database holds a run at scale {last.scale} seed {last.seed}, not {scale}/{seed}",
        )
    saved = json.loads(last.state)
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = saved["rng"]
    branch_id = int(session.scalar(select(func.min(Employer.branch_id))) or 0)
    state = SimState(scale, seed, rng, policy, _staff(session, branch_id))
    state.late = [int(x) for x in saved["late"]]
    state.loans.failing = {int(k): int(v) for k, v in saved["failing"]}
    state.loans.carry_fen = int(saved["carry_fen"])
    state.placement_rate = Decimal(saved["placement_rate"])
    state.first_month = date.fromisoformat(saved["first_month"])
    return state, last.month


def simulate_month(session: Session, state: SimState, month: date) -> None:
    """One month of the city (see the module doc for the order of work)."""
    rng, policy, scale = state.rng, state.policy, state.scale
    if month.month == 1:
        run_repricing(session, month, policy=policy)
        state.placement_rate = placement_rate(session, month.year, scale)
    if month.month == 7 or month == state.first_month:
        target = population.monthly_contribution_target(month.year, month.month, scale)
        population.rebase(session, target)
    _remit(session, state, month)
    withdrawals_flow.run_month(
        session,
        rng=rng,
        month=month,
        scale=scale,
        policy=policy,
        applicant=state.staff.applicant,
        staff=state.staff.clerk,
    )
    loans_flow.issue_month(
        session,
        rng=rng,
        month=month,
        scale=scale,
        policy=policy,
        staff=state.staff,
        state=state.loans,
    )
    if month.month % 3 == 0:
        _bank_interest(session, month.replace(day=20), state.placement_rate)
    if month.month == 6:
        settle_year(session, month.year, policy)
    loans_flow.debit_month(session, rng=rng, month=month, state=state.loans, policy=policy)
    _careers(session, rng, month, scale)
    _service_month(session, month, state)
    if month.month == 12:
        _distribute(session, month.year, policy)


def _remit(session: Session, state: SimState, month: date) -> None:
    employers = [int(i) for i in session.scalars(select(Employer.id).order_by(Employer.id))]
    late = sorted(
        state.rng.choice(
            np.array(employers), round(len(employers) * cal.ARREARS_SHARE), replace=False
        ).tolist()
    )
    on_time = sorted(set(employers) - set(late))
    paid_on = month.replace(day=12)
    lists = remittances.draft_confirmed(session, state.policy, month, on_time)
    if state.late:
        lists += remittances.draft_confirmed(
            session, state.policy, add_months(month, -1), state.late
        )
    remittances.fund_and_post(session, lists, paid_on, state.staff.clerk)
    state.late = [int(x) for x in late]


def _careers(session: Session, rng: np.random.Generator, month: date, scale: float) -> None:
    day = month.replace(day=25)
    population.leave(session, rng, cal.LEAVE_RATE_MONTHLY, day)
    population.change_jobs(session, rng, cal.REJOIN_RATE_MONTHLY, day)
    joiners = cal.SEED[month.year].new_depositors * scale / 12
    population.join(session, rng, int(rng.poisson(joiners)), day)


def placement_rate(session: Session, year: int, scale: float) -> Decimal:
    """The year's rate on the fund's bank money: what makes income − expenses equal the seed's
    value-added income, projected from the books on January 1 (see docs/simulation.md)."""
    deposits = -balance_of(session, chart.DEPOSITORS_FUNDS)
    bank = balance_of(session, chart.HPF_BANK_DEPOSITS)
    loan_interest = int(
        session.execute(
            text(
                "SELECT COALESCE(SUM(i.interest_fen), 0) FROM loan_installment i "
                "JOIN loan l ON l.id = i.loan_id WHERE l.status = 'active' "
                "AND i.due_date >= :s AND i.due_date <= :e"
            ),
            {"s": date(year, 1, 1), "e": date(year, 12, 31)},
        ).scalar()
        or 0
    )
    seed = cal.SEED[year]
    new_loans = seed.loans_issued * scale * 100 * 0.031 * 0.45
    depositor_interest = deposits * 0.015
    target = seed.value_added_distributed * scale * 100
    needed = target + depositor_interest - loan_interest - new_loans
    rate = needed / max(bank, 1)
    return Decimal(str(round(min(0.04, max(0.003, rate)), 5)))


def _bank_interest(session: Session, on: date, rate: Decimal) -> None:
    fen = int(balance_of(session, chart.HPF_BANK_DEPOSITS) * rate / 4)
    if fen > 0:
        record(
            session,
            "deposit_interest",
            fen,
            on,
            idempotency_key=f"sim:bank-interest:{on:%Y%m%d}",
            memo="住房公积金存款利息收入（活期、协定与定期存款）",
        )


def _distribute(session: Session, year: int, policy: Policy) -> None:
    figures = value_added.year_figures(session, year)
    budget = (
        int(figures.value_added_fen * cal.MANAGEMENT_SHARE) if figures.value_added_fen > 0 else 0
    )
    value_added.distribute(
        session,
        year,
        policy,
        management_budget_fen=budget,
        actor="sim",
        branch_id=books.center_id(session),
    )


def _service_month(session: Session, month: date, state: SimState) -> None:
    """Hotline tickets, e-audit and incidents of the month (another module; optional)."""
    try:
        module = importlib.import_module("hpf.sim.service_activity")
    except ModuleNotFoundError:
        return
    module.simulate_service_month(
        session,
        month=month,
        scale=state.scale,
        rng=state.rng,
        satisfaction_target=cal.SEED[month.year].satisfaction,
    )


def _staff(session: Session, branch_id: int) -> Staff:
    """Whole-center staff the simulation acts as (created once)."""
    made = {}
    for login, (name, roles) in SIM_STAFF.items():
        user_id = find_user_id(session, "staff", login)
        if user_id is None:
            user_id = create_user(
                session,
                kind="staff",
                login_name=login,
                password=DEMO_PASSWORD,
                display_name=name,
                roles=roles,
                branch_id=branch_id,
                whole_center=True,
                now=datetime.combine(date(2019, 12, 31), time(9), BUSINESS_TZ),
            )
        made[login] = principal_of(session, user_id)
    return Staff(
        applicant=made["sim_window"],
        clerk=made["sim_clerk"],
        reviewer=made["sim_reviewer"],
        approver=made["sim_approver"],
    )


def month_count(months: tuple[date, date]) -> int:
    first, last = months
    return (last.year - first.year) * 12 + last.month - first.month + 1
