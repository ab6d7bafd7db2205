"""Raw baselines (裸数据库基线): the least the database must do for each case, through the raw
driver, with no hpf code, checks or bookkeeping. Measured in the same run as the case, on the
same database; each returns seconds (writes are rolled back unless noted).

- postings: the same posting rows loaded into ``ledger_posting`` itself, the table they are
  posted to (its key, indexes and reference checks; rolled back) — ``COPY`` on PostgreSQL,
  ``executemany`` on SQLite, the fastest bulk path of each. ``load_rows`` loads them into a
  plain scratch table without indexes or keys instead: reported beside it, as the lower figure
  no ledger table can reach;
- UPDATE: one bare ``UPDATE`` of the same rows the case updates (rolled back);
- verify scan: one ``GROUP BY`` of all postings by journal plus one ordered scan of journal ×
  posting, fetched (what any verification must read);
- year scan: one grouped scan of the depositors' postings of the year by journal kind, fetched
  (what any annual figure of contributions, interest and withdrawals must read).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine


def median_of(runs: int, measure: Callable[[], float]) -> float:
    """The median of ``runs`` measurements (at least one)."""
    return statistics.median(measure() for _ in range(max(1, runs)))


def posting_rows(engine: Engine, journal_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """The (journal, account, amount) rows of the journals between the least and greatest id."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT journal_id, account_id, amount FROM ledger_posting "
                "WHERE journal_id BETWEEN :a AND :b ORDER BY id"
            ),
            {"a": min(journal_ids), "b": max(journal_ids)},
        ).all()
    return [(int(j), int(a), int(m)) for j, a, m in rows]


def load_rows(engine: Engine, data: Sequence[tuple[int, int, int]]) -> float:
    """Bare load of ``data`` into a plain scratch table (dropped after)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_raw")
        conn.exec_driver_sql(
            "CREATE TABLE bench_raw (journal_id BIGINT, account_id BIGINT, amount BIGINT)"
        )
        raw: Any = conn.connection.dbapi_connection
        started = time.perf_counter()
        if engine.dialect.name == "sqlite":
            raw.cursor().executemany("INSERT INTO bench_raw VALUES (?, ?, ?)", data)
        else:
            with raw.cursor() as cur, cur.copy("COPY bench_raw FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
        elapsed = time.perf_counter() - started
        conn.exec_driver_sql("DROP TABLE bench_raw")
    return elapsed


def load_postings(engine: Engine, data: Sequence[tuple[int, int, int]]) -> float:
    """Bare load of ``data`` into ``ledger_posting`` (rolled back; PostgreSQL then vacuums the
    table so the dead rows do not burden what is timed next)."""
    with engine.connect() as conn:
        trans = conn.begin()
        raw: Any = conn.connection.dbapi_connection
        columns = "ledger_posting (journal_id, account_id, amount)"
        started = time.perf_counter()
        if engine.dialect.name == "sqlite":
            raw.cursor().executemany(f"INSERT INTO {columns} VALUES (?, ?, ?)", data)
        else:
            with raw.cursor() as cur, cur.copy(f"COPY {columns} FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
        elapsed = time.perf_counter() - started
        trans.rollback()
    if engine.dialect.name != "sqlite":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ledger_posting")
    return elapsed


def bare_update(engine: Engine, sql: str, params: dict[str, Any] | None = None) -> float:
    """One bare statement, timed, then rolled back."""
    with engine.connect() as conn:
        trans = conn.begin()
        started = time.perf_counter()
        conn.execute(text(sql), params or {})
        elapsed = time.perf_counter() - started
        trans.rollback()
    return elapsed


SETTLE_UPDATE = (
    "UPDATE ledger_account SET balance = balance - (balance / 1000) "
    "WHERE subsidiary_kind = 'depositor' AND closed_on IS NULL"
)
OVERDUE_UPDATE = (
    "UPDATE loan_installment SET status = 'overdue' WHERE status = 'scheduled' AND due_date < :on"
)
REPRICE_UPDATE = (
    "UPDATE loan SET annual_rate_pct = 2.10 WHERE status = 'active' "
    "AND disbursed_on < '2025-05-08' AND term_months > 12 AND annual_rate_pct <> 2.10"
)


def verify_scan(engine: Engine) -> float:
    """GROUP BY of all postings by journal plus the ordered journal × posting scan, fetched."""
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(
            text("SELECT journal_id, SUM(amount) FROM ledger_posting GROUP BY journal_id")
        ).all()
        for _ in conn.exec_driver_sql(
            "SELECT j.id, j.hash, p.account_id, p.amount FROM ledger_journal j "
            "JOIN ledger_posting p ON p.journal_id = j.id ORDER BY j.id"
        ):
            pass
        elapsed = time.perf_counter() - started
    return elapsed


def year_scan(engine: Engine, year: int) -> float:
    """The depositors' postings of calendar ``year`` summed by journal kind, fetched."""
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(
            text(
                "SELECT j.kind, SUM(p.amount), COUNT(DISTINCT j.id) FROM ledger_posting p "
                "JOIN ledger_journal j ON j.id = p.journal_id "
                "JOIN ledger_account a ON a.id = p.account_id "
                "WHERE a.subsidiary_kind = 'depositor' AND j.posting_date >= :s "
                "AND j.posting_date <= :e GROUP BY j.kind"
            ),
            {"s": date(year, 1, 1), "e": date(year, 12, 31)},
        ).all()
        elapsed = time.perf_counter() - started
    return elapsed


def count(engine: Engine, sql: str, params: dict[str, Any] | None = None) -> int:
    """A single integer from ``sql``."""
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params or {}).scalar() or 0)
