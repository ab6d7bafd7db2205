"""Ledger verification (账本校验): proves the books from their postings.

Four independent passes, each set-based SQL except the hash chain, which streams journals in
order: (1) every journal has ≥2 postings that balance; (2) every running balance equals the
sum of its postings; (3) every control account equals the sum of its children, and takes no
postings itself; (4) the 积数 kept on the account rows equals its recomputation from the postings; (5) the
hash chain is intact and matches the chain head.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.ledger.accrual import NO_JISHU_KINDS, bearing_condition
from hpf.ledger.rules import GENESIS_HASH, journal_hash

STREAM_CHUNK = 50_000


@dataclass(frozen=True)
class Problem:
    """One failed check, naming the journal and/or account at fault."""

    check: str
    message: str
    journal_id: int | None = None
    account_code: str | None = None


@dataclass
class VerifyReport:
    """What verification saw and found."""

    journals: int = 0
    postings: int = 0
    accounts: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    #: the hash of the last journal (the chain head): equal books have equal head hashes
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_offending_journal(self) -> int | None:
        ids = [p.journal_id for p in self.problems if p.journal_id is not None]
        return min(ids) if ids else None


def verify_ledger(
    session: Session, on_progress: Callable[[int], None] | None = None
) -> VerifyReport:
    """Run every check and return the report (nothing is written)."""
    started = time.perf_counter()
    report = VerifyReport()
    report.journals = _count(session, "ledger_journal")
    report.postings = _count(session, "ledger_posting")
    report.accounts = _count(session, "ledger_account")
    report.problems.extend(_check_journals_balance(session))
    report.problems.extend(_check_running_balances(session))
    report.problems.extend(_check_control_accounts(session))
    report.problems.extend(_check_interest_accruals(session))
    report.problems.extend(_check_hash_chain(session, on_progress))
    head = session.execute(text("SELECT last_hash FROM ledger_chain_head")).scalar()
    report.head_hash = str(head or "")
    report.seconds = time.perf_counter() - started
    return report


def _count(session: Session, table: str) -> int:
    return int(session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


# The aggregates are materialized CTEs joined without ORDER BY/LIMIT pushed into the join, so that
# stale planner statistics after a bulk load cannot turn them into a nested loop (seen on
# PostgreSQL: 100 k accounts x 100 k groups).


def _check_journals_balance(session: Session) -> list[Problem]:
    rows = session.execute(
        text(
            "WITH sums AS MATERIALIZED (SELECT journal_id, COUNT(*) AS n, SUM(amount) AS total "
            "FROM ledger_posting GROUP BY journal_id), "
            "bad AS MATERIALIZED (SELECT j.id, COALESCE(s.n, 0) AS n, COALESCE(s.total, 0) AS total "
            "FROM ledger_journal j LEFT JOIN sums s ON s.journal_id = j.id "
            "WHERE s.n IS NULL OR s.n < 2 OR s.total <> 0) "
            "SELECT id, n, total FROM bad ORDER BY id LIMIT 10"
        )
    ).all()
    return [
        Problem(
            "balance",
            f"凭证 {r.id} 借贷不平（{r.n} 条分录，差额 {r.total} 分） journal {r.id} does not balance "
            f"({r.n} postings, off by {r.total} fen)",
            journal_id=int(r.id),
        )
        for r in rows
    ]


def _check_running_balances(session: Session) -> list[Problem]:
    rows = session.execute(
        text(
            "WITH sums AS MATERIALIZED (SELECT account_id, SUM(amount) AS total, "
            "MAX(journal_id) AS last_journal FROM ledger_posting GROUP BY account_id), "
            "bad AS MATERIALIZED (SELECT a.code, a.balance, COALESCE(s.total, 0) AS total, "
            "s.last_journal FROM ledger_account a LEFT JOIN sums s ON s.account_id = a.id "
            "WHERE a.is_control = :false AND a.balance <> COALESCE(s.total, 0)) "
            "SELECT code, balance, total, last_journal FROM bad ORDER BY code LIMIT 10"
        ),
        {"false": False},
    ).all()
    return [
        Problem(
            "running_balance",
            f"账户 {r.code} 余额 {r.balance} 分 ≠ 分录合计 {r.total} 分 account {r.code} balance "
            f"{r.balance} ≠ sum of postings {r.total} (last journal {r.last_journal})",
            account_code=r.code,
        )
        for r in rows
    ]


def _check_control_accounts(session: Session) -> list[Problem]:
    problems = [
        Problem(
            "control",
            f"统驭科目 {r.code} 余额 {r.balance} 分 ≠ 明细合计 {r.total} 分 control account {r.code} "
            f"balance {r.balance} ≠ sum of its subsidiaries {r.total}",
            account_code=r.code,
        )
        for r in session.execute(
            text(
                "SELECT c.code, c.balance, COALESCE(ch.total, 0) AS total FROM ledger_account c "
                "LEFT JOIN (SELECT parent_id, SUM(balance) AS total FROM ledger_account "
                "WHERE parent_id IS NOT NULL GROUP BY parent_id) ch ON ch.parent_id = c.id "
                "WHERE c.is_control = :true AND c.balance <> COALESCE(ch.total, 0) ORDER BY c.code"
            ),
            {"true": True},
        ).all()
    ]
    problems.extend(
        Problem(
            "control",
            f"凭证 {r.journal_id} 直接记入统驭科目 {r.code} journal {r.journal_id} posts to "
            f"control account {r.code}",
            journal_id=int(r.journal_id),
            account_code=r.code,
        )
        for r in session.execute(
            text(
                "SELECT p.journal_id, a.code FROM ledger_posting p JOIN ledger_account a "
                "ON a.id = p.account_id WHERE a.is_control = :true ORDER BY p.journal_id LIMIT 10"
            ),
            {"true": True},
        ).all()
    )
    return problems


def _accrual_sql(dialect: str) -> tuple[str, str]:
    """(interest year numbered by its June 30, days from value date to June 30 inclusive) of
    ``j.value_date`` as SQL expressions."""
    if dialect == "sqlite":
        year_start = "date(j.value_date, '-6 months', 'start of year', '+6 months')"
        year = "(CAST(strftime('%Y', j.value_date, '-6 months') AS INTEGER) + 1)"
        days = (
            f"CAST(julianday(date({year_start}, '+1 year', '-1 day')) "
            "- julianday(j.value_date) + 1 AS INTEGER)"
        )
    else:
        year_start = "CAST(date_trunc('year', j.value_date - interval '6 months') + interval '6 months' AS date)"
        year = "(CAST(EXTRACT(YEAR FROM j.value_date - interval '6 months') AS INTEGER) + 1)"
        days = f"(CAST({year_start} + interval '1 year' - interval '1 day' AS date) - j.value_date + 1)"
    return year, days


def _check_interest_accruals(session: Session) -> list[Problem]:
    """Each account's 积数 slots equal their recomputation from the postings (set-based): the
    latest year's and the year before's net and jishu, no postings in a later year, and no
    积数 at all on accounts that earn no interest."""
    year, days = _accrual_sql(session.get_bind().dialect.name)
    bearing = bearing_condition("COALESCE(a.subsidiary_kind, '')")
    no_jishu = ", ".join(f"'{k}'" for k in sorted(NO_JISHU_KINDS))
    rows = session.execute(
        text(
            "WITH derived AS MATERIALIZED ("
            f"SELECT p.account_id, {year} AS y, SUM(p.amount) AS net, "
            f"SUM(CASE WHEN j.kind IN ({no_jishu}) THEN 0 ELSE p.amount * {days} END) AS jishu "
            "FROM ledger_posting p JOIN ledger_journal j ON j.id = p.journal_id "
            f"JOIN ledger_account a ON a.id = p.account_id WHERE {bearing} "
            f"GROUP BY p.account_id, {year}), "
            "latest AS MATERIALIZED (SELECT account_id, MAX(y) AS y FROM derived "
            "WHERE net <> 0 OR jishu <> 0 GROUP BY account_id), "
            "bad AS MATERIALIZED (SELECT a.code, a.accrual_year, a.accrual_net, a.accrual_jishu, "
            "a.prior_net, a.prior_jishu, COALESCE(c.net, 0) AS net, COALESCE(c.jishu, 0) AS jishu, "
            "COALESCE(b.net, 0) AS b_net, COALESCE(b.jishu, 0) AS b_jishu, t.y AS latest "
            "FROM ledger_account a "
            "LEFT JOIN derived c ON c.account_id = a.id AND c.y = a.accrual_year "
            "LEFT JOIN derived b ON b.account_id = a.id AND b.y = a.accrual_year - 1 "
            "LEFT JOIN latest t ON t.account_id = a.id "
            f"WHERE ({bearing} AND (a.accrual_net <> COALESCE(c.net, 0) "
            "OR a.accrual_jishu <> COALESCE(c.jishu, 0) OR a.prior_net <> COALESCE(b.net, 0) "
            "OR a.prior_jishu <> COALESCE(b.jishu, 0) "
            "OR t.y > COALESCE(a.accrual_year, 0))) "
            f"OR (NOT ({bearing}) AND (a.accrual_year IS NOT NULL OR a.accrual_net <> 0 "
            "OR a.accrual_jishu <> 0 OR a.prior_net <> 0 OR a.prior_jishu <> 0))) "
            "SELECT * FROM bad ORDER BY code LIMIT 10"
        )
    ).all()
    return [
        Problem(
            "interest_accrual",
            f"账户 {r.code} 积数台账与分录不符 account {r.code} interest accrual differs from "
            f"its postings (year {r.accrual_year}: net {r.accrual_net}/{r.net}, jishu "
            f"{r.accrual_jishu}/{r.jishu}; year before: net {r.prior_net}/{r.b_net}, jishu "
            f"{r.prior_jishu}/{r.b_jishu}; latest year with postings {r.latest})",
            account_code=r.code,
        )
        for r in rows
    ]


def _check_hash_chain(session: Session, on_progress: Callable[[int], None] | None) -> list[Problem]:
    """Recompute every journal's hash in order from one ordered stream of journal × posting."""
    rows = session.connection().execute(
        text(
            "SELECT j.id, j.idempotency_key, j.kind, j.branch_id, j.posting_date, j.value_date, "
            "j.reverses_id, j.memo, j.prev_hash, j.hash, p.account_id, p.amount "
            "FROM ledger_journal j LEFT JOIN ledger_posting p ON p.journal_id = j.id "
            "ORDER BY j.id"
        ).execution_options(yield_per=STREAM_CHUNK)
    )
    prev_hash = GENESIS_HASH
    expected_id = 1
    current: Any = None
    legs: list[tuple[int, int]] = []
    for row in rows:
        if current is not None and row.id != current.id:
            problem = _check_one(current, legs, prev_hash, expected_id)
            if problem is not None:
                return [problem]
            prev_hash = current.hash
            expected_id += 1
            legs = []
            if on_progress is not None and expected_id % STREAM_CHUNK == 0:
                on_progress(expected_id - 1)
        current = row
        if row.account_id is not None:
            legs.append((int(row.account_id), int(row.amount)))
    if current is not None:
        problem = _check_one(current, legs, prev_hash, expected_id)
        if problem is not None:
            return [problem]
        prev_hash = current.hash
        expected_id += 1
    head = session.execute(text("SELECT last_seq, last_hash FROM ledger_chain_head")).first()
    if head is None or head.last_seq != expected_id - 1 or head.last_hash != prev_hash:
        return [
            Problem(
                "hash_chain",
                "链头与最后一张凭证不一致（凭证被删除或截断） chain head does not match the last "
                "journal (journals deleted or truncated)",
                journal_id=expected_id - 1 if expected_id > 1 else None,
            )
        ]
    return []


def _check_one(
    j: Any, legs: list[tuple[int, int]], prev_hash: str, expected_id: int
) -> Problem | None:
    if j.id != expected_id:
        return Problem(
            "hash_chain",
            f"凭证号不连续：缺少凭证 {expected_id} journal {expected_id} is missing from the chain",
            journal_id=expected_id,
        )
    digest = journal_hash(
        prev_hash,
        int(j.id),
        j.idempotency_key,
        j.kind,
        int(j.branch_id),
        _as_date(j.posting_date),
        _as_date(j.value_date),
        None if j.reverses_id is None else int(j.reverses_id),
        j.memo,
        legs,
    )
    if j.prev_hash != prev_hash or j.hash != digest:
        return Problem(
            "hash_chain",
            f"凭证 {j.id} 哈希链断裂（内容被篡改） journal {j.id} breaks the hash chain "
            "(its content was altered)",
            journal_id=int(j.id),
        )
    return None


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
