"""The demo books: a small employer with a year and a half of contributions, through the real use cases.

``hpf demo seed`` (and ``make demo``) call :func:`seed_demo_books`, then tie the demo portal users
to what it opened. Everything goes through the same services a clerk uses — opening, drafting,
confirming, funds received, posting, annual settlement — so the demo shows real journals. It is
idempotent: a second run finds the demo employer and changes nothing.

:func:`seed_demo_goals` imports the shipped goal table (临沂 2023, ``hpf goals import sample``)
when no goal table is stored, so the leadership cockpit has indicators to show.

The larger simulated city (thousands of employers, calibrated to the seed) lives in
:mod:`hpf.sim.bulk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.auth.demo import DEMO_DEPOSITORS
from hpf.auth.principal import Principal
from hpf.dates import add_months
from hpf.deposits.depositors import DepositorInput, open_depositor
from hpf.deposits.employers import EmployerInput, open_employer
from hpf.deposits.models import Depositor, Employer
from hpf.deposits.remittance import confirm, draft, post_remittances, receive_funds
from hpf.finance.transactions import record
from hpf.goals import service as goals_service
from hpf.goals.models import GoalTableRecord
from hpf.goals.parse import parse_file
from hpf.identifiers import make_id_number, make_uscc
from hpf.interest.service import settle_year
from hpf.ledger import chart
from hpf.ledger.service import balance_of
from hpf.org.models import OrgUnit
from hpf.policy.loader import Policy

DEMO_USCC = make_uscc("91371302MA9DEM001")
DEMO_EMPLOYER_NAME = "临沂演示有限公司"
OPENED_ON = date(2022, 7, 1)
FIRST_MONTH = date(2022, 7, 1)
POSTED_MONTHS = 17  # 2022-07 … 2023-11; the 2023-12 list is left as a draft for the portal
RATE = Decimal("12")
# Monthly bases in fen: the two demo people first, then colleagues
BASES = (
    650_000, 480_000, 1_200_000, 820_000, 395_000, 560_000,
    730_000, 410_000, 990_000, 600_000, 455_000, 1_050_000,
)  # fmt: skip
COLLEAGUES = (
    "王海涛", "刘芳", "陈志强", "杨静", "赵磊", "孙丽",
    "周斌", "吴敏", "徐刚", "朱婷",
)  # fmt: skip


@dataclass(frozen=True)
class DemoBooks:
    employer_ref: str
    branch_id: int
    depositor_refs: dict[str, str]  # ID number → 个人账号
    created: bool


def seed_demo_books(
    session: Session, branch: OrgUnit, policy: Policy, actor: Principal
) -> DemoBooks:
    """Open the demo employer and its people and post their contributions; idempotent."""
    existing = session.scalar(select(Employer).where(Employer.uscc == DEMO_USCC))
    if existing is not None:
        return DemoBooks(
            existing.employer_ref, existing.branch_id, _refs(session, existing), created=False
        )
    employer = open_employer(
        session,
        EmployerInput(
            uscc=DEMO_USCC,
            name=DEMO_EMPLOYER_NAME,
            branch_code=branch.code,
            employer_rate_pct=RATE,
            employee_rate_pct=RATE,
            opened_on=OPENED_ON,
            first_month=FIRST_MONTH,
            pay_day=10,
            contact_name="演示单位经办人",
            contact_phone="13800000000",
        ),
        policy,
        actor,
    )
    people = [(id_number, name) for id_number, name, _ref in DEMO_DEPOSITORS]
    for n, name in enumerate(COLLEAGUES):
        birth = date(1975 + n * 2, 1 + n, 5 + n)
        people.append((make_id_number("371302", birth, 100 + n, male=n % 2 == 0), name))
    for n, ((id_number, name), base) in enumerate(zip(people, BASES, strict=True)):
        open_depositor(
            session,
            DepositorInput(
                id_number=id_number,
                name=name,
                employer_ref=employer.employer_ref,
                base_fen=base,
                joined_on=OPENED_ON,
                phone=f"1390539{n:04d}",
                bank_card=f"62220202001122{n:05d}",  # payroll cards for withdrawals (demo)
            ),
            policy,
            actor,
        )
    for k in range(POSTED_MONTHS):
        month = add_months(FIRST_MONTH, k)
        paid_on = month.replace(day=10)
        remittance = draft(session, employer, month, policy, actor)
        confirm(session, remittance, actor)
        receive_funds(
            session,
            employer,
            remittance.total_fen,
            paid_on,
            actor,
            idempotency_key=f"demo:funds:{employer.employer_ref}:{month:%Y%m}",
        )
        post_remittances(session, [remittance.id], paid_on, actor)
        if month.month % 3 == 0:  # banks settle interest on the 20th of a quarter's last month
            _book_bank_interest(session, month.replace(day=20))
        if month == date(2023, 6, 1):
            settle_year(session, 2023, policy)
    draft(session, employer, add_months(FIRST_MONTH, POSTED_MONTHS), policy, actor)
    return DemoBooks(employer.employer_ref, employer.branch_id, _refs(session, employer), True)


def _book_bank_interest(session: Session, on: date) -> None:
    """The fund's idle money earns about 2% a year (a mix of 定期 placements and 活期), booked
    quarterly as deposit interest income on the bank balance, so that the demo's value-added
    income is what a center's is: income from its funds minus the interest paid to depositors."""
    interest = balance_of(session, chart.HPF_BANK_DEPOSITS) * 2 // 400
    if interest > 0:
        record(
            session,
            "deposit_interest",
            interest,
            on,
            idempotency_key=f"demo:bank-interest:{on:%Y%m%d}",
            memo="演示：公积金存款利息收入",
        )


def _refs(session: Session, employer: Employer) -> dict[str, str]:
    rows = session.execute(
        select(Depositor.id_number, Depositor.depositor_ref).where(
            Depositor.employer_id == employer.id
        )
    ).all()
    return {id_number: ref for id_number, ref in rows}


GOAL_SAMPLE = "linyi_2023.txt"


def seed_demo_goals(session: Session) -> int | None:
    """Import the shipped goal table (临沂 2023) through the goals service when none is stored;
    the year imported, or None when a table was already there."""
    if session.scalar(select(GoalTableRecord.id).limit(1)) is not None:
        return None
    data = resources.files("hpf.goals").joinpath("samples", GOAL_SAMPLE).read_bytes()
    table = parse_file(data, GOAL_SAMPLE)
    goals_service.import_table(session, table, source_name=GOAL_SAMPLE, actor="demo")
    return table.year
