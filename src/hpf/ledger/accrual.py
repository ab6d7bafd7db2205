"""积数 accrual kept in step with postings (domain.md §4, incremental jishu).

Every posting to an interest-bearing account (a depositor's 201 subsidiary) adds its amount to
the ``net`` of the interest year of its value date and amount × (days from the value date to
June 30, inclusive) to that year's ``jishu``. Interest settlement journals add to ``net`` only:
"the interest posting is value-dated June 30 but is not part of that day's jishu".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.dates import days_inclusive, interest_year
from hpf.ledger.staging import stage

INTEREST_BEARING_KINDS = frozenset({"depositor"})
"""Subsidiary kinds whose balances earn deposit interest."""

NO_JISHU_KINDS = frozenset({"interest_settlement"})
"""Journal kinds that change the balance but not the year's jishu."""

AccrualKey = tuple[int, date]
"""(account id, interest year start)."""

_UPSERT = text(
    "INSERT INTO ledger_interest_accrual (account_id, year_start, net, jishu) "
    "VALUES (:account_id, :year_start, :net, :jishu) "
    "ON CONFLICT (account_id, year_start) DO UPDATE SET "
    "net = ledger_interest_accrual.net + excluded.net, "
    "jishu = ledger_interest_accrual.jishu + excluded.jishu"
)


def add_accruals(
    acc: dict[AccrualKey, list[int]],
    postings: Iterable[tuple[int, int]],
    value_date: date,
    journal_kind: str,
) -> None:
    """Fold (account id, amount) postings of one journal into ``acc`` ({key: [net, jishu]})."""
    start, end = interest_year(value_date)
    days = 0 if journal_kind in NO_JISHU_KINDS else days_inclusive(value_date, end)
    for account_id, amount in postings:
        entry = acc[(account_id, start)]
        entry[0] += amount
        entry[1] += amount * days


def new_accumulator() -> dict[AccrualKey, list[int]]:
    return defaultdict(lambda: [0, 0])


def write_accruals(session: Session, acc: Mapping[AccrualKey, list[int]]) -> None:
    """Upsert the accumulated deltas (in key order, so concurrent writers cannot deadlock)."""
    rows = [
        {"account_id": a, "year_start": y, "net": v[0], "jishu": v[1]}
        for (a, y), v in sorted(acc.items())
        if v[0] or v[1]
    ]
    if not rows:
        return
    if len(rows) < 1000:
        session.execute(_UPSERT, rows)
        return
    stage(
        session,
        "hpf_stage_accrual",
        "account_id BIGINT, year_start DATE, net BIGINT, jishu BIGINT",
        ((r["account_id"], r["year_start"], r["net"], r["jishu"]) for r in rows),
    )
    # "WHERE true" keeps SQLite's parser from reading ON CONFLICT as a join constraint.
    session.execute(
        text(
            "INSERT INTO ledger_interest_accrual (account_id, year_start, net, jishu) "
            "SELECT account_id, year_start, net, jishu FROM hpf_stage_accrual WHERE true "
            "ORDER BY account_id, year_start "
            "ON CONFLICT (account_id, year_start) DO UPDATE SET "
            "net = ledger_interest_accrual.net + excluded.net, "
            "jishu = ledger_interest_accrual.jishu + excluded.jishu"
        )
    )
