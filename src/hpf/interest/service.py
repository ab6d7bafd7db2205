"""Annual interest settlement (年终结息) and closure interest (销户结息), domain.md §4.

Settlement is one set-based read of the 积数 kept on the account rows, vectorised interest in integer fen
(numpy), and one balanced journal per branch: debit 41101 住房公积金利息支出, credit every
depositor. It is idempotent: a second run recomputes the same journals and replays them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hpf.dates import days_inclusive, interest_year
from hpf.db.engine import is_sqlite
from hpf.errors import DomainError, InvalidInput
from hpf.interest.models import InterestSettlement
from hpf.interest.rules import interest_fen
from hpf.ledger import chart
from hpf.ledger.bulk import (
    LEGS_TABLE,
    StagedJournal,
    begin_staged_legs,
    post_staged,
    stage_legs,
)
from hpf.ledger.models import Account, Journal, Posting
from hpf.ledger.staging import stage
from hpf.org.models import OrgUnit
from hpf.policy.loader import Policy

SETTLEMENT_KIND = "interest_settlement"
CLOSURE_KIND = "closure_interest"


@dataclass(frozen=True)
class BranchSettlement:
    branch_id: int
    journal_id: int
    accounts: int
    total_fen: int
    replayed: bool


@dataclass(frozen=True)
class SettlementResult:
    year: int
    value_date: date
    branches: tuple[BranchSettlement, ...]

    @property
    def total_fen(self) -> int:
        return sum(b.total_fen for b in self.branches)

    @property
    def accounts(self) -> int:
        return sum(b.accounts for b in self.branches)


def year_bounds(year: int) -> tuple[date, date]:
    """The interest year ending on June 30 of ``year``."""
    if not 1990 <= year <= 2200:
        raise InvalidInput(f"结息年度无效：{year}", f"invalid interest year: {year}")
    return date(year - 1, 7, 1), date(year, 6, 30)


def _year_figures(year: int) -> tuple[str, str]:
    """SQL over ``ledger_account a``: (Σ net of interest year ``year`` and later, the year's
    jishu increments) from the row's two accrual slots (``hpf.ledger.accrual``). Valid when
    ``a.accrual_year`` is NULL or ≤ year + 1 (``_STALE`` selects the other accounts)."""
    y = int(year)
    net = (
        f"CASE WHEN a.accrual_year = {y} THEN a.accrual_net "
        f"WHEN a.accrual_year = {y + 1} THEN a.accrual_net + a.prior_net ELSE 0 END"
    )
    jishu = (
        f"CASE WHEN a.accrual_year = {y} THEN a.accrual_jishu "
        f"WHEN a.accrual_year = {y + 1} THEN a.prior_jishu ELSE 0 END"
    )
    return net, jishu


def _stale(year: int) -> str:
    """SQL: the account's slots have moved past ``year`` + 1 (postings two or more interest
    years later), so the year's figures come from its postings instead."""
    return f"a.accrual_year > {int(year) + 1}"


def compute_year_interest(
    session: Session, year: int, policy: Policy
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(account ids, branch ids, interest fen, codes) for every open depositor account, vectorised.

    jishu = opening × days + the year's increments, opening = balance − Σ net of this and later
    years (ledger sign, so a depositor's credit balance gives a negative jishu).
    """
    start, end = year_bounds(year)
    segments = policy.deposit_rate_segments(start, end)
    net, increments_sql = _year_figures(year)
    rows = session.execute(
        text(
            f"SELECT a.id, a.code, a.branch_id, a.balance, {net} AS later_net, "
            f"{increments_sql} AS year_jishu, CASE WHEN {_stale(year)} THEN 1 ELSE 0 END AS stale "
            "FROM ledger_account a "
            "WHERE a.subsidiary_kind = 'depositor' AND a.closed_on IS NULL ORDER BY a.id"
        )
    ).all()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, []
    ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
    branches = np.fromiter((r.branch_id for r in rows), dtype=np.int64, count=len(rows))
    balance = np.fromiter((r.balance for r in rows), dtype=np.int64, count=len(rows))
    later = np.fromiter((int(r.later_net) for r in rows), dtype=np.int64, count=len(rows))
    increments = np.fromiter((int(r.year_jishu) for r in rows), dtype=np.int64, count=len(rows))
    stale = np.fromiter((bool(r.stale) for r in rows), dtype=bool, count=len(rows))
    codes = [r.code for r in rows]
    rates = [(seg_from, rate) for seg_from, _, rate in segments]
    if len(segments) == 1:
        jishu = -((balance - later) * days_inclusive(start, end) + increments)
        interest = _vector_interest(jishu, segments[0][2])
        for k in np.flatnonzero(stale):
            interest[k] = _account_interest_from_postings(session, int(ids[k]), start, end, rates)
    else:  # a rate change inside the year: rare; exact per-account path from the postings
        interest = np.fromiter(
            (_account_interest_from_postings(session, int(i), start, end, rates) for i in ids),
            dtype=np.int64,
            count=len(ids),
        )
    return ids, branches, interest, codes


def settle_year(
    session: Session,
    year: int,
    policy: Policy,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> SettlementResult:
    """Post the interest of ``year`` (value date June 30) for every branch; idempotent.

    Set-based: with one rate for the whole year the interest of every account is computed in
    SQL straight into the staged ledger legs (no Python object per account); a rate change
    inside the year takes the exact per-account path of ``compute_year_interest``.
    """
    start, end = year_bounds(year)
    session.flush()
    branch_ids = [int(b) for b in session.scalars(select(OrgUnit.id).order_by(OrgUnit.id))]
    j_of = {b: j for j, b in enumerate(branch_ids)}
    begin_staged_legs(session)
    segments = policy.deposit_rate_segments(start, end)
    if len(segments) == 1:
        _stage_interest_sql(session, year, segments[0][2], branch_ids)
        _stage_stale_interest(session, year, segments[0][2], j_of)
    else:
        ids, branches, interest, codes = compute_year_interest(session, year, policy)
        if len(interest) and int(interest.min()) < 0:
            bad = codes[int(np.argmin(interest))]
            raise DomainError(
                f"账户 {bad} 积数为负（借方余额），请先核查",
                f"account {bad} has a negative jishu (debit balance)",
            )
        mask = interest > 0
        stage_legs(
            session,
            zip(
                [j_of[int(b)] for b in branches[mask]],
                ids[mask].tolist(),
                (-interest[mask]).tolist(),
                [0] * int(mask.sum()),
                strict=True,
            ),
        )
    conn = session.connection()
    per_branch = [
        (int(j), int(n), -int(total))
        for j, n, total in conn.exec_driver_sql(
            f"SELECT j, COUNT(*), SUM(amount) FROM {LEGS_TABLE} GROUP BY j ORDER BY j"
        )
    ]
    expense_id = session.scalar(
        select(Account.id).where(Account.code == chart.EXPENSE_DEPOSITOR_INTEREST)
    )
    if expense_id is None:
        raise DomainError("科目表未初始化", "chart of accounts missing: run hpf db upgrade")
    stage_legs(session, [(j, int(expense_id), total, 0) for j, _, total in per_branch])
    journals = {
        j: StagedJournal(
            f"interest-settlement:{year}:{branch_ids[j]}",
            SETTLEMENT_KIND,
            branch_ids[j],
            end,
            end,
            memo=f"{year}年度结息",
        )
        for j, _, _ in per_branch
    }
    outcome = post_staged(session, journals)
    posted_keys = set(
        session.scalars(
            select(InterestSettlement.journal_id).where(InterestSettlement.year == year)
        )
    )
    results = []
    for j, accounts, total in per_branch:
        journal_id = outcome.journal_ids[j]
        replayed = journal_id in posted_keys
        if not replayed:
            session.add(
                InterestSettlement(
                    year=year,
                    branch_id=branch_ids[j],
                    journal_id=journal_id,
                    accounts=accounts,
                    total_fen=total,
                    value_date=end,
                )
            )
        results.append(BranchSettlement(branch_ids[j], journal_id, accounts, total, replayed))
        if on_progress is not None:
            on_progress(len(results))
    session.flush()
    return SettlementResult(year, end, tuple(results))


def _stage_interest_sql(
    session: Session, year: int, rate_pct: Decimal, branch_ids: list[int]
) -> None:
    """Stage −interest of every open depositor account (one rate all year) as ledger legs.

    The same integer arithmetic as ``_vector_interest``: jishu = −((balance − later net) × days
    + the year's increments), both read from the account row; interest =
    round_half_up(jishu × num / den), jishu ≥ 0. An account with a negative jishu is refused,
    naming it. Accounts whose slots have moved past the year are left to
    ``_stage_stale_interest``.
    """
    start, end = year_bounds(year)
    num, den = rate_pct.as_integer_ratio()
    den = den * 100 * 360
    days = days_inclusive(start, end)
    conn = session.connection()
    stage(
        session,
        "hpf_stage_branch",
        "branch_id BIGINT PRIMARY KEY, j INTEGER",
        [(b, j) for j, b in enumerate(branch_ids)],
    )
    if not is_sqlite(session):
        conn.exec_driver_sql("ANALYZE hpf_stage_branch")
    net, increments = _year_figures(year)
    # Ledger sign: legs are credits (−interest); +1 marks a negative jishu (checked below).
    conn.execute(
        text(
            f"INSERT INTO {LEGS_TABLE} (j, account_id, amount, n) "
            "SELECT j, id, CASE WHEN jishu < 0 THEN 1 "
            "ELSE -((2 * jishu * :num + :den) / (2 * :den)) END, 0 FROM ("
            f"SELECT b.j, a.id, -((a.balance - ({net})) * :days + ({increments})) AS jishu "
            "FROM ledger_account a JOIN hpf_stage_branch b ON b.branch_id = a.branch_id "
            "WHERE a.subsidiary_kind = 'depositor' AND a.closed_on IS NULL "
            f"AND (a.accrual_year IS NULL OR a.accrual_year <= {int(year) + 1})) s "
            "WHERE jishu < 0 OR (2 * jishu * :num + :den) / (2 * :den) > 0"
        ),
        {"num": num, "den": den, "days": days},
    )
    bad = conn.exec_driver_sql(
        f"SELECT a.code FROM {LEGS_TABLE} l JOIN ledger_account a ON a.id = l.account_id "
        "WHERE l.amount > 0 LIMIT 1"
    ).scalar()
    if bad is not None:
        raise DomainError(
            f"账户 {bad} 积数为负（借方余额），请先核查",
            f"account {bad} has a negative jishu (debit balance)",
        )


def _stage_stale_interest(
    session: Session, year: int, rate_pct: Decimal, j_of: dict[int, int]
) -> None:
    """Stage the interest of the (rare) accounts whose accrual slots have moved two or more
    interest years past ``year`` — a settlement replayed years later — from their postings."""
    start, end = year_bounds(year)
    rows = session.execute(
        text(
            "SELECT a.id, a.code, a.branch_id FROM ledger_account a "
            "WHERE a.subsidiary_kind = 'depositor' AND a.closed_on IS NULL "
            f"AND {_stale(year)} ORDER BY a.id"
        )
    ).all()
    legs = []
    for account_id, code, branch_id in rows:
        interest = _account_interest_from_postings(
            session, int(account_id), start, end, [(start, rate_pct)]
        )
        if interest < 0:
            raise DomainError(
                f"账户 {code} 积数为负（借方余额），请先核查",
                f"account {code} has a negative jishu (debit balance)",
            )
        if interest > 0:
            legs.append((j_of[int(branch_id)], int(account_id), -interest, 0))
    if legs:
        stage_legs(session, legs)


def closure_interest(session: Session, code: str, event_date: date, policy: Policy) -> int:
    """Interest (fen) owed on closure or transfer-out at ``event_date``: from the start of the
    running interest year to the day before the event (domain.md §4)."""
    start, _end = interest_year(event_date)
    account_id = session.scalar(select(Account.id).where(Account.code == code))
    if account_id is None:
        raise InvalidInput(f"账户不存在：{code}", f"no such account: {code}")
    last_day = event_date - timedelta(days=1)
    if last_day < start:
        return 0
    rates = [
        (seg_from, rate) for seg_from, _, rate in policy.deposit_rate_segments(start, last_day)
    ]
    return _account_interest_from_postings(session, int(account_id), start, last_day, rates)


def _account_interest_from_postings(
    session: Session, account_id: int, start: date, end: date, rates: list[tuple[date, Decimal]]
) -> int:
    """Exact interest of one account over start..end from its postings (liability sign)."""
    rows = session.execute(
        select(Journal.value_date, Journal.kind, Posting.amount)
        .join(Journal, Journal.id == Posting.journal_id)
        .where(Posting.account_id == account_id)
    ).all()
    opening = -sum(r.amount for r in rows if r.value_date < start)
    txns = [
        (r.value_date, -r.amount)
        for r in rows
        if start <= r.value_date <= end and r.kind != SETTLEMENT_KIND
    ]
    return interest_fen(opening, txns, start, end, rates)


def _vector_interest(jishu: np.ndarray, rate_pct: Decimal) -> np.ndarray:
    """round_half_up(jishu × rate% / 360) in fen, exactly in int64 (jishu in fen·days, ≥ 0)."""
    num, den = rate_pct.as_integer_ratio()
    den = den * 100 * 360
    scaled = jishu * num
    return np.where(
        scaled >= 0, (2 * scaled + den) // (2 * den), -((-2 * scaled + den) // (2 * den))
    )


def settlements(session: Session, year: int) -> list[InterestSettlement]:
    return list(
        session.scalars(
            select(InterestSettlement)
            .where(InterestSettlement.year == year)
            .order_by(InterestSettlement.branch_id)
        )
    )


__all__ = [
    "CLOSURE_KIND",
    "SETTLEMENT_KIND",
    "SettlementResult",
    "closure_interest",
    "compute_year_interest",
    "settle_year",
    "settlements",
]
