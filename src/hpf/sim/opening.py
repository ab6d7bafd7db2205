"""The simulated city on its first day, and 期初数据迁移: the fund's opening position.

A fund that starts hpf in 2020 is decades old: people have balances, the loan book is large, the
loan-risk reserve has been built. :func:`build_city` creates the organisation, employers of
realistic sizes and their people (:func:`hpf.sim.bulk.create_city`), the people between
employers (封存), and the loans of the previous system (:func:`hpf.loans.migration.migrate_loans`);
:func:`post_opening` then brings every balance into the books as one balanced opening journal
(``opening_balance``) per branch, posted 2019-12-31 through :func:`hpf.ledger.bulk.post_staged`:
credit ``201-<个人账号>`` with each person's balance, debit ``121-<贷款账号>`` with each loan's
balance, the bank 101 with the difference; the center's journal credits the reserve 301.

Deposits are value-dated July 1, 2019 (the start of the interest year 2020): the balances were
there all year, so the June 2020 settlement pays a full year's interest on them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from hpf.auth.demo import DEMO_DEPOSITORS
from hpf.deposits.models import Depositor
from hpf.identifiers import parse_id_number
from hpf.ledger import chart
from hpf.ledger.bulk import StagedJournal, begin_staged_legs, post_staged, stage_legs
from hpf.ledger.models import Account
from hpf.loans.migration import MigratedLoan, migrate_loans
from hpf.org import service as org_service
from hpf.sim import calibration as cal
from hpf.sim.bulk import CityShape, create_city

OPENED_ON = date(2019, 1, 1)
MIGRATED_ON = date(2019, 12, 31)
VALUE_DATE = date(2019, 7, 1)
OPENING_KIND = "opening_balance"
LOAN_RATE = Decimal("3.25")
LOAN_RATE_EFFECTIVE = date(2015, 8, 26)


@dataclass(frozen=True)
class City:
    center_id: int
    branch_ids: list[int]
    employer_ids: list[int]
    depositors: int
    loans: int


def build_city(session: Session, *, scale: float, seed: int) -> City:
    """Organisation, employers, depositors (some frozen), migrated loans; balances not yet."""
    rng = np.random.default_rng([seed, 1])
    org_service.seed_linyi(session)
    units = org_service.list_units(session)
    center_id = next(u.id for u in units if u.kind == "center")
    branch_ids = sorted(u.id for u in units if u.kind == "branch")
    people = max(60, round(cal.DEPOSITORS * scale))
    employer_ids, _ = create_city(
        session,
        branch_ids,
        CityShape(
            employers=max(3, people // cal.DEPOSITORS_PER_EMPLOYER),
            depositors=people,
            opened_on=OPENED_ON,
            seed=seed,
            size_sigma=1.2,
        ),
    )
    ids = [int(i) for i in session.scalars(select(Depositor.id).order_by(Depositor.id))]
    _demo_people(session, ids[:2])
    session.execute(update(Depositor).values(first_contribution_month=date(2019, 12, 1)))
    frozen = rng.choice(np.array(ids[2:]), round(len(ids) * cal.FROZEN_SHARE), replace=False)
    days = rng.integers(0, 540, len(frozen))
    session.execute(
        update(Depositor),
        [
            {
                "id": int(d),
                "status": "02",
                "employer_id": None,
                "frozen_on": date.fromordinal(MIGRATED_ON.toordinal() - int(k)),
            }
            for d, k in zip(sorted(frozen.tolist()), days, strict=True)
        ],
    )
    loans = _migrate_loans(session, rng, scale, ids)
    return City(center_id, branch_ids, employer_ids, len(ids), loans)


def _demo_people(session: Session, ids: list[int]) -> None:
    """The first two people are the demo depositors (their ID numbers sign in)."""
    for depositor_id, (id_number, name, _ref) in zip(ids, DEMO_DEPOSITORS, strict=True):
        person = parse_id_number(id_number)
        session.execute(
            update(Depositor)
            .where(Depositor.id == depositor_id)
            .values(id_number=person.value, name=name, birth_date=person.birth_date, sex=person.sex)
        )


def _migrate_loans(session: Session, rng: np.random.Generator, scale: float, ids: list[int]) -> int:
    count = max(3, round(cal.OPENING_LOANS * scale / cal.OPENING_LOAN_AVERAGE))
    rows = session.execute(
        select(
            Depositor.id,
            Depositor.depositor_ref,
            Depositor.id_number,
            Depositor.name,
            Depositor.branch_id,
        )
        .where(Depositor.status == "01", Depositor.id > ids[1])
        .order_by(Depositor.id)
    ).all()
    chosen = sorted(rng.choice(len(rows), min(count, len(rows)), replace=False).tolist())
    balances = rng.lognormal(0.0, 0.5, len(chosen))
    balances = balances / balances.sum() * cal.OPENING_LOANS * scale * 100
    remaining = rng.integers(36, 241, len(chosen))
    years_ago = rng.integers(1, 15, len(chosen))
    loans = [
        MigratedLoan(
            depositor_id=int(rows[k].id),
            depositor_ref=rows[k].depositor_ref,
            id_number=rows[k].id_number,
            name=rows[k].name,
            branch_id=int(rows[k].branch_id),
            disbursed_on=date(2019 - int(years_ago[n]), 1 + n % 12, 20),
            balance_fen=max(1_000_000, int(balances[n]) // 100 * 100),
            remaining_months=int(remaining[n]),
            annual_rate_pct=LOAN_RATE,
            rate_effective=LOAN_RATE_EFFECTIVE,
            first_due=date(2020, 1, 20),
        )
        for n, k in enumerate(chosen)
    ]
    migrate_loans(session, loans, migrated_on=MIGRATED_ON)
    return len(loans)


def post_opening(session: Session, city: City, *, scale: float, seed: int) -> int:
    """The opening journals (see the module doc); returns the deposits brought in (fen)."""
    rng = np.random.default_rng([seed, 2])
    rows = session.execute(
        select(Account.id, Account.branch_id, Depositor.base_fen, Depositor.birth_date)
        .join(Depositor, Account.subsidiary_ref == Depositor.depositor_ref)
        .where(Account.subsidiary_kind == "depositor")
        .order_by(Depositor.id)
    ).all()
    account = np.array([r[0] for r in rows], dtype=np.int64)
    branch = np.array([r[1] for r in rows], dtype=np.int64)
    base = np.array([r[2] for r in rows], dtype=np.float64)
    age = np.array([2019 - r[3].year for r in rows], dtype=np.float64)
    # a balance grows with the years contributed and the wage: base × (age − 20), noisy
    weight = base * np.clip(age - 20.0, 1.0, 40.0) * rng.lognormal(0.0, 0.6, len(rows))
    total = round(cal.OPENING_DEPOSITS * scale * 100)
    balance = np.floor(weight / weight.sum() * total).astype(np.int64)
    balance[0] += total - int(balance.sum())
    loans = [
        (int(a), int(b or city.center_id), str(ref))
        for a, b, ref in session.execute(
            select(Account.id, Account.branch_id, Account.subsidiary_ref)
            .where(Account.subsidiary_kind == "loan")
            .order_by(Account.id)
        )
    ]
    loan_fen: dict[str, int] = dict(
        session.execute(text("SELECT loan_ref, balance_fen FROM loan ORDER BY id")).all()
    )
    bank = _code_id(session, chart.HPF_BANK_DEPOSITS)
    reserve = _code_id(session, chart.LOAN_RISK_RESERVE)
    by_branch: dict[int, int] = defaultdict(int)
    begin_staged_legs(session)
    j_of = {b: k for k, b in enumerate(sorted(set(branch.tolist()) | {r[1] for r in loans}))}
    legs: list[tuple[int, int, int, int]] = []
    for n, (a, b, fen) in enumerate(
        zip(account.tolist(), branch.tolist(), balance.tolist(), strict=True)
    ):
        if fen > 0:
            legs.append((j_of[b], a, -fen, n))
            by_branch[b] -= fen
    for n, (a, b, ref) in enumerate(loans):
        fen = int(loan_fen[ref])
        legs.append((j_of[b], a, fen, len(rows) + n))
        by_branch[b] += fen
    center_j = len(j_of)
    reserve_fen = round(cal.OPENING_RESERVE * scale * 100)
    seq = len(rows) + len(loans)
    for b, net in sorted(by_branch.items()):
        if net:
            legs.append((j_of[b], bank, -net, seq))
            seq += 1
    legs.append((center_j, bank, reserve_fen, seq))
    legs.append((center_j, reserve, -reserve_fen, seq + 1))
    stage_legs(session, legs)
    journals = {
        j: StagedJournal(
            f"opening:{b}:{MIGRATED_ON.isoformat()}",
            OPENING_KIND,
            b,
            MIGRATED_ON,
            VALUE_DATE,
            memo="期初数据迁移：个人账户余额与贷款余额",
        )
        for b, j in j_of.items()
    }
    journals[center_j] = StagedJournal(
        f"opening:{city.center_id}:{MIGRATED_ON.isoformat()}",
        OPENING_KIND,
        city.center_id,
        MIGRATED_ON,
        VALUE_DATE,
        memo="期初数据迁移：贷款风险准备金",
    )
    post_staged(session, journals)
    return total


def _code_id(session: Session, code: str) -> int:
    found = session.scalar(select(Account.id).where(Account.code == code))
    assert found is not None, code
    return int(found)
