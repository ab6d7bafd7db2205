"""The monthly remittance of the simulated city (汇缴), through the real batch path.

Employers' lists are drafted set-based — every paying person with both shares rounded by
:func:`hpf.deposits.rules.shares_of_base`, as :func:`hpf.deposits.remittance.draft` rounds them
(the set-based drafting of ``benchmarks/remittance_and_settlement.py``) — and confirmed; the
employers' money arrives (``funds_received``, the journals :func:`remittance.receive_funds`
posts) and :func:`hpf.deposits.remittance.post_remittances` posts the lists: one journal per
list, balances, 积数 and the monthly statistics (new depositors included).

Arrears (欠缴): a few employers pay a month late; their list of that month is drafted and
posted with the next month's (a back payment of the month owed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from hpf.auth.principal import Principal
from hpf.db.sequences import sync_id_sequence
from hpf.deposits import remittance
from hpf.deposits.employers import employer_limits
from hpf.deposits.models import Depositor, Employer, Remittance, RemittanceLine
from hpf.deposits.rules import shares_of_base
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.policy.loader import Policy


def draft_confirmed(
    session: Session, policy: Policy, month: date, employer_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Draft and confirm the lists of ``month`` for ``employer_ids``; returns the list rows."""
    chosen = set(employer_ids)
    wanted = sorted(chosen)
    few = len(wanted) <= 900  # e.g. the late employers: read only theirs
    stmt = select(Employer).order_by(Employer.id)
    if few:
        stmt = stmt.where(Employer.id.in_(wanted))
    employers = {e.id: e for e in session.scalars(stmt) if e.id in chosen}
    rounding: dict[int, Any] = {}
    for e in employers.values():
        if e.branch_id not in rounding:
            rounding[e.branch_id] = employer_limits(session, policy, e, month).rounding
    paying = select(Depositor.id, Depositor.employer_id, Depositor.base_fen).where(
        Depositor.status == "01",
        Depositor.employer_id.is_not(None),
        Depositor.opened_on < month,
    )
    if few:
        paying = paying.where(Depositor.employer_id.in_(wanted))
    rows = session.execute(paying.order_by(Depositor.employer_id, Depositor.id)).all()
    people = np.array([tuple(r) for r in rows], dtype=np.int64).reshape(-1, 3)
    first_id = int(session.scalar(select(func.max(Remittance.id))) or 0) + 1
    order = sorted(employers)
    starts = np.searchsorted(people[:, 1], order, side="left")
    ends = np.searchsorted(people[:, 1], order, side="right")
    lists: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for employer_id, lo, hi in zip(order, starts, ends, strict=True):
        if lo == hi:
            continue
        e = employers[employer_id]
        bases = people[lo:hi, 2]
        ours = shares_of_base(bases, e.employer_rate_pct, rounding[e.branch_id])
        theirs = shares_of_base(bases, e.employee_rate_pct, rounding[e.branch_id])
        rid = first_id + len(lists)
        lists.append(
            {
                "id": rid,
                "employer_id": e.id,
                "branch_id": e.branch_id,
                "month": month,
                "kind": "remittance",
                "status": "confirmed",
                "source": "drafted",
                "open_key": f"{e.id}:{month.isoformat()}",
                "lines": int(hi - lo),
                "employer_total_fen": int(ours.sum()),
                "employee_total_fen": int(theirs.sum()),
                "total_fen": int(ours.sum() + theirs.sum()),
            }
        )
        lines.extend(
            {
                "remittance_id": rid,
                "depositor_id": int(d),
                "base_fen": int(b),
                "employer_fen": int(x),
                "employee_fen": int(y),
            }
            for d, b, x, y in zip(people[lo:hi, 0], bases, ours, theirs, strict=True)
        )
    if lists:
        # Core executemany: the ORM's bulk path costs more per line than the database does
        session.execute(_table(Remittance).insert(), lists)
        for start in range(0, len(lines), 50_000):
            session.execute(_table(RemittanceLine).insert(), lines[start : start + 50_000])
        sync_id_sequence(session, "deposit_remittance")
    return lists


def fund_and_post(
    session: Session, lists: Sequence[dict[str, Any]], paid_on: date, actor: Principal
) -> int:
    """The employers' money arrives and the lists are posted; returns the fen posted."""
    if not lists:
        return 0
    employers = {e.id: e for e in session.scalars(select(Employer).order_by(Employer.id))}
    post_many(
        session,
        [
            (
                f"funds:{r['id']}",
                JournalDraft(
                    "funds_received",
                    int(r["branch_id"]),
                    paid_on,
                    paid_on,
                    (
                        debit(chart.HPF_BANK_DEPOSITS, int(r["total_fen"])),
                        credit(
                            remittance.suspense_code(employers[int(r["employer_id"])]),
                            int(r["total_fen"]),
                        ),
                    ),
                    memo="单位汇缴到账",
                ),
            )
            for r in lists
        ],
    )
    remittance.post_remittances(session, [int(r["id"]) for r in lists], paid_on, actor)
    return sum(int(r["total_fen"]) for r in lists)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table
