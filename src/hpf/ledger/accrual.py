"""积数 accrual kept in step with postings (domain.md §4, incremental jishu), on the account row.

Every posting to an interest-bearing account (a depositor's 201 subsidiary) adds its amount to
the ``net`` of the interest year of its value date and amount × (days from the value date to
June 30, inclusive) to that year's ``jishu``. Interest settlement journals add to ``net`` only:
"the interest posting is value-dated June 30 but is not part of that day's jishu".

The figures live on the ``ledger_account`` row, so a posting updates each account once (balance
and 积数 in the same UPDATE). Two interest years are kept: ``accrual_year`` (the latest interest
year, numbered by the calendar year it ends in, as ``settle_year``) with ``accrual_net`` and
``accrual_jishu``, and the year before it in ``prior_net`` and ``prior_jishu``. That is what a
settlement of either year needs: the year's jishu and the net of it and later years. A posting
value-dated in a later year rolls the slots forward; one in an older year only moves the balance
(settling such a year again is answered from the postings, ``interest.service``).
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

AccrualKey = tuple[int, int]
"""(account id, interest year: the calendar year in which it ends on June 30)."""

ACCRUAL_COLUMNS = ("accrual_year", "accrual_net", "accrual_jishu", "prior_net", "prior_jishu")


def accrual_year_of(value_date: date) -> int:
    """The interest year of ``value_date``, numbered by the year of its June 30."""
    return interest_year(value_date)[1].year


def slot_assignments(year: int, net: str, jishu: str, guard: str | None = None) -> str:
    """SET clause folding (``net``, ``jishu``) of interest year ``year`` into the row's slots.

    ``net``/``jishu`` are SQL expressions; ``guard`` (SQL) limits the change to rows where it
    holds (others keep their values). Every expression reads the row's old values.
    """
    y = int(year)
    cur, prev, later = f"accrual_year = {y}", f"accrual_year = {y - 1}", f"accrual_year = {y + 1}"
    newer = f"accrual_year > {y}"
    exprs = {
        # the year before the latest: kept, rolled from the latest, added to, or emptied
        "prior_net": f"CASE WHEN {cur} OR accrual_year > {y + 1} THEN prior_net "
        f"WHEN {prev} THEN accrual_net WHEN {later} THEN prior_net + {net} ELSE 0 END",
        "prior_jishu": f"CASE WHEN {cur} OR accrual_year > {y + 1} THEN prior_jishu "
        f"WHEN {prev} THEN accrual_jishu WHEN {later} THEN prior_jishu + {jishu} ELSE 0 END",
        "accrual_net": f"CASE WHEN {cur} THEN accrual_net + {net} "
        f"WHEN {newer} THEN accrual_net ELSE {net} END",
        "accrual_jishu": f"CASE WHEN {cur} THEN accrual_jishu + {jishu} "
        f"WHEN {newer} THEN accrual_jishu ELSE {jishu} END",
        "accrual_year": f"CASE WHEN accrual_year >= {y} THEN accrual_year ELSE {y} END",
    }
    if guard is None:
        return ", ".join(f"{col} = {expr}" for col, expr in exprs.items())
    return ", ".join(
        f"{col} = CASE WHEN {guard} THEN {expr} ELSE {col} END" for col, expr in exprs.items()
    )


def bearing_condition(column: str = "ledger_account.subsidiary_kind") -> str:
    """SQL: the account (its ``subsidiary_kind`` column) accrues 积数."""
    return f"{column} IN ({', '.join(repr(k) for k in sorted(INTEREST_BEARING_KINDS))})"


def add_accruals(
    acc: dict[AccrualKey, list[int]],
    postings: Iterable[tuple[int, int]],
    value_date: date,
    journal_kind: str,
) -> None:
    """Fold (account id, amount) postings of one journal into ``acc`` ({key: [net, jishu]})."""
    _start, end = interest_year(value_date)
    days = 0 if journal_kind in NO_JISHU_KINDS else days_inclusive(value_date, end)
    for account_id, amount in postings:
        entry = acc[(account_id, end.year)]
        entry[0] += amount
        entry[1] += amount * days


def new_accumulator() -> dict[AccrualKey, list[int]]:
    return defaultdict(lambda: [0, 0])


def write_accruals(session: Session, acc: Mapping[AccrualKey, list[int]]) -> None:
    """Fold the accumulated deltas into the accounts' rows: one UPDATE per interest year (in
    year order, then account order, so concurrent writers cannot deadlock)."""
    by_year: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for (account_id, year), (net, jishu) in sorted(acc.items(), key=lambda kv: (kv[0][1], kv[0])):
        if net or jishu:
            by_year[year].append((account_id, net, jishu))
    for year in sorted(by_year):
        rows = by_year[year]
        if len(rows) < 1000:
            session.execute(
                text(
                    f"UPDATE ledger_account SET {slot_assignments(year, ':net', ':jishu')} "
                    "WHERE id = :id"
                ),
                [{"id": a, "net": n, "jishu": j} for a, n, j in rows],
            )
            continue
        stage(session, "hpf_stage_accrual", "account_id BIGINT, net BIGINT, jishu BIGINT", rows)
        session.execute(
            text(
                "UPDATE ledger_account SET "
                f"{slot_assignments(year, 'd.net', 'd.jishu')} FROM hpf_stage_accrual d "
                "WHERE ledger_account.id = d.account_id"
            )
        )
