"""Careers in the simulated city (职工的职业生涯): joining, leaving, changing jobs, wage rises.

Each month, drawn from the seeded generator over rows read in id order (so two runs with the
same seed make the same choices):
- joiners: new people open accounts with an employer (chosen in proportion to its size) and
  contribute from the next month (条例 art. 17), so they count as new depositors (新开户职工)
  in the month of their first contribution;
- leavers: people leave their employer and their account is frozen (封存);
- job changers: frozen accounts join a new employer (启封), contributing again.
Retirement, death and emigration close accounts through their withdrawals (:mod:`hpf.sim.flows`).

Every July the bases are reset (基数调整): scaled so that the next twelve months' contributions
follow the seed's series, within the policy's cap and floor.

The rows are written set-based, like :func:`hpf.sim.bulk.create_city` (the one-at-a-time
opening use cases validate and audit each person; the simulation writes valid data only).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from hpf.db.sequences import sync_id_sequence
from hpf.deposits.models import Depositor, Employer
from hpf.ledger.service import open_subsidiaries
from hpf.sim import calibration as cal
from hpf.sim.bulk import id_number_for

BASE_FLOOR = 190_000
BASE_CAP = 2_368_100
PROTECTED = 2
"""The first two people are the demo depositors: their careers stay put."""


def join(session: Session, rng: np.random.Generator, count: int, on: date) -> int:
    """Open ``count`` new accounts with employers weighted by their headcount."""
    if count <= 0:
        return 0
    sizes = session.execute(
        select(Employer.id, Employer.branch_id, func.count(Depositor.id))
        .join(Depositor, Depositor.employer_id == Employer.id, isouter=True)
        .group_by(Employer.id, Employer.branch_id)
        .order_by(Employer.id)
    ).all()
    weights = np.array([n + 1 for _, _, n in sizes], dtype=np.float64)
    pick = rng.choice(len(sizes), count, p=weights / weights.sum())
    mean_base = float(
        session.scalar(select(func.avg(Depositor.base_fen)).where(Depositor.status == "01"))
        or 450_000
    )
    bases = np.clip(
        rng.lognormal(np.log(mean_base * 0.8), 0.4, count).astype(np.int64), BASE_FLOOR, BASE_CAP
    )
    first = int(session.scalar(select(func.max(Depositor.id))) or 0) + 1
    rows: list[dict[str, Any]] = []
    for k in range(count):
        n = first + k
        employer_id, branch_id, _ = sizes[int(pick[k])]
        born = date(1965 + n % 40, 1 + n % 12, 1 + n % 28)
        rows.append(
            {
                "id": n,
                "depositor_ref": f"{n:012d}",
                "id_number": id_number_for(n, born),
                "name": f"职工{n}",
                "birth_date": born,
                "sex": "M" if n % 2 else "F",
                "phone": "",
                "bank_card": f"6222{n:015d}",
                "status": "01",
                "employer_id": employer_id,
                "branch_id": branch_id,
                "base_fen": int(bases[k]),
                "opened_on": on,
            }
        )
    session.execute(insert(Depositor), rows)
    open_subsidiaries(
        session, "depositor", [(r["depositor_ref"], r["name"], r["branch_id"], on) for r in rows]
    )
    sync_id_sequence(session, "deposit_depositor")
    return count


def leave(session: Session, rng: np.random.Generator, share: float, on: date) -> int:
    """Freeze (封存) a ``share`` of the paying accounts: people who left their employer."""
    ids = _ids(session, "01")
    count = int(rng.binomial(len(ids), share)) if ids.size else 0
    if count == 0:
        return 0
    chosen = sorted(rng.choice(ids, count, replace=False).tolist())
    session.execute(
        update(Depositor),
        [{"id": d, "status": "02", "employer_id": None, "frozen_on": on} for d in chosen],
    )
    return count


def change_jobs(session: Session, rng: np.random.Generator, share: float, on: date) -> int:
    """Unfreeze (启封) a ``share`` of the frozen accounts with a new employer."""
    ids = _ids(session, "02")
    count = int(rng.binomial(len(ids), share)) if ids.size else 0
    if count == 0:
        return 0
    chosen = sorted(rng.choice(ids, count, replace=False).tolist())
    employers = session.execute(select(Employer.id, Employer.branch_id).order_by(Employer.id)).all()
    pick = rng.integers(0, len(employers), count)
    session.execute(
        update(Depositor),
        [
            {
                "id": d,
                "status": "01",
                "employer_id": employers[int(k)][0],
                "branch_id": employers[int(k)][1],
                "frozen_on": None,
            }
            for d, k in zip(chosen, pick, strict=True)
        ],
    )
    return count


def rebase(session: Session, monthly_target_fen: int) -> float:
    """基数调整: scale every paying person's base so that a month's contributions (both shares)
    come to ``monthly_target_fen``; returns the factor applied."""
    current = session.execute(
        text(
            "SELECT SUM(d.base_fen * (e.employer_rate_pct + e.employee_rate_pct)) / 100 "
            "FROM deposit_depositor d JOIN deposit_employer e ON e.id = d.employer_id "
            "WHERE d.status = '01'"
        )
    ).scalar()
    if not current:
        return 1.0
    factor = monthly_target_fen / float(current)
    session.execute(
        text(
            "UPDATE deposit_depositor SET base_fen = "
            "CASE WHEN CAST(base_fen * :f AS BIGINT) < :lo THEN :lo "
            "WHEN CAST(base_fen * :f AS BIGINT) > :hi THEN :hi "
            "ELSE CAST(base_fen * :f AS BIGINT) END WHERE status = '01'"
        ),
        {"f": factor, "lo": BASE_FLOOR, "hi": BASE_CAP},
    )
    return factor


def monthly_contribution_target(year: int, month: int, scale: float) -> int:
    """A month's contributions (fen) at ``scale``: the contribution year from July Y runs at the
    mean of the seed's calendar years Y and Y + 1 (extrapolated at both ends of the series)."""
    series = {y: cal.SEED[y].contributions for y in cal.YEARS}
    series[2019] = round(series[2020] ** 2 / series[2021])
    series[2024] = round(series[2023] ** 2 / series[2022])
    start = year if month >= 7 else year - 1
    return round((series[start] + series[start + 1]) / 24 * scale * 100)


def _ids(session: Session, status: str) -> np.ndarray:
    rows = session.scalars(
        select(Depositor.id)
        .where(Depositor.status == status, Depositor.id > PROTECTED)
        .order_by(Depositor.id)
    ).all()
    return np.array(rows, dtype=np.int64)
