"""Bulk creation of employers and depositors for the simulated city and the benchmarks.

Set-based: rows are generated in Python and inserted in batches, with their ledger subsidiary
accounts, bypassing the one-at-a-time opening use cases (which audit and validate each row).
Everything generated is valid: credit codes and ID numbers carry correct check characters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hpf.db.sequences import sync_id_sequence
from hpf.deposits.models import Depositor, Employer
from hpf.identifiers import make_id_number, make_uscc
from hpf.ledger.service import open_subsidiaries

BATCH = 50_000


@dataclass(frozen=True)
class CityShape:
    employers: int
    depositors: int
    opened_on: date = date(2020, 1, 1)
    seed: int = 2023
    size_sigma: float = 0.0
    """0: people spread evenly over employers; > 0: employer sizes lognormal with this sigma
    (a few large employers, many small ones, as in a real city)."""


def create_city(
    session: Session,
    branch_ids: Sequence[int],
    shape: CityShape,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[int], int]:
    """Create employers and depositors spread over ``branch_ids``; returns (employer ids, depositors)."""
    rng = np.random.default_rng(shape.seed)
    first_id = (
        int(session.scalar(select(Employer.id).order_by(Employer.id.desc()).limit(1)) or 0) + 1
    )
    rates = [Decimal(r) for r in ("5", "8", "10", "12")]
    employer_rows: list[dict[str, Any]] = []
    for k in range(shape.employers):
        n = first_id + k
        branch = branch_ids[k % len(branch_ids)]
        rate = rates[int(rng.integers(0, len(rates)))]
        employer_rows.append(
            {
                "id": n,
                "employer_ref": f"S{n:011d}",
                "uscc": make_uscc(f"9137130{n:010d}"),
                "name": f"模拟单位{n}",
                "branch_id": branch,
                "status": "01",
                "employer_rate_pct": rate,
                "employee_rate_pct": rate,
                "pay_day": 10,
                "first_month": shape.opened_on.replace(day=1),
                "contact_name": "",
                "contact_phone": "",
                "opened_on": shape.opened_on,
            }
        )
    session.execute(insert(Employer), employer_rows)
    open_subsidiaries(
        session,
        "employer",
        [
            (r["employer_ref"], f"{r['name']} 暂收款", r["branch_id"], shape.opened_on)
            for r in employer_rows
        ],
    )
    first_person = (
        int(session.scalar(select(Depositor.id).order_by(Depositor.id.desc()).limit(1)) or 0) + 1
    )
    bases = np.clip(
        rng.lognormal(np.log(450_000), 0.45, shape.depositors).astype(np.int64), 190_000, 2_368_100
    )
    if shape.size_sigma > 0:
        weights = rng.lognormal(0.0, shape.size_sigma, shape.employers)
        employer_of = rng.choice(shape.employers, shape.depositors, p=weights / weights.sum())
    else:
        employer_of = rng.integers(0, shape.employers, shape.depositors)
    done = 0
    while done < shape.depositors:
        rows: list[dict[str, Any]] = []
        for k in range(done, min(done + BATCH, shape.depositors)):
            n = first_person + k
            employer = employer_rows[int(employer_of[k])]
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
                    "employer_id": employer["id"],
                    "branch_id": employer["branch_id"],
                    "base_fen": int(bases[k]),
                    "opened_on": shape.opened_on,
                }
            )
        session.execute(insert(Depositor), rows)
        open_subsidiaries(
            session,
            "depositor",
            [(r["depositor_ref"], r["name"], r["branch_id"], shape.opened_on) for r in rows],
        )
        done += len(rows)
        if on_progress is not None:
            on_progress(done)
    sync_id_sequence(session, "deposit_employer", "deposit_depositor")
    return [r["id"] for r in employer_rows], shape.depositors


def id_number_for(n: int, born: date) -> str:
    """A valid ID number unique for n < 2,000,000: (region, birth date, sequence) determine n."""
    region = f"{371302 + (n // 1000) % 97:06d}"
    return make_id_number(region, born, n % 1000, male=n % 2 == 1)
