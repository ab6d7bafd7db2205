"""Benchmark: one month's remittance for N depositors, and the annual settlement of N accounts.

Each hpf path is timed against a raw baseline measured in the same run on the same database:
- remittance: validated, journalled (one journal per employer-month), balances and 积数 updated;
  baseline: a bare COPY (PostgreSQL) / executemany (SQLite) of the same N posting rows;
- settlement: interest computed from 积数 and posted for every account (one journal per branch);
  baseline: a bare UPDATE of the same N account balances.

    python benchmarks/remittance_and_settlement.py --depositors 1000000 [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hpf.auth.principal import system_principal
from hpf.db.engine import make_engine
from hpf.db.migrate import upgrade
from hpf.deposits import remittance
from hpf.deposits.models import Employer
from hpf.interest.service import settle_year
from hpf.org.service import create_unit
from hpf.policy.loader import load_shipped_policy
from hpf.sim.bulk import CityShape, create_city

ACTOR = system_principal("bench")
POLICY = load_shipped_policy()


def setup(url: str, depositors: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        center = create_unit(s, code="B0", name="基准中心", kind="center")
        branches = [
            create_unit(
                s, code=f"B{i}", name=f"管理部{i}", kind="branch", parent_code=center.code
            ).id
            for i in range(1, 13)
        ]
        create_city(
            s,
            branches,
            CityShape(
                employers=max(1, depositors // 100),
                depositors=depositors,
                opened_on=date(2023, 1, 1),
            ),
            on_progress=lambda n: print(f"  created {n:,} depositors", flush=True),
        )
    engine.dispose()


def prepare_month(url: str, month: date, arrive: date) -> list[int]:
    """Draft and confirm every employer's list, and book the employers' funds (not timed)."""
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        ids = []
        for employer in s.scalars(select(Employer).order_by(Employer.id)):
            lst = remittance.draft(s, employer, month, POLICY, ACTOR)
            remittance.confirm(s, lst, ACTOR)
            remittance.receive_funds(
                s, employer, lst.total_fen, arrive, ACTOR, idempotency_key=f"funds:{lst.id}"
            )
            ids.append(lst.id)
    engine.dispose()
    return ids


def time_post(url: str, ids: list[int], on: date) -> tuple[float, int]:
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        started = time.perf_counter()
        outcomes = remittance.post_remittances(s, ids, on, ACTOR)
        lines = int(
            s.scalar(text("SELECT SUM(lines) FROM deposit_remittance WHERE status = 'posted'")) or 0
        )
        elapsed = time.perf_counter() - started
    engine.dispose()
    assert len(outcomes) == len(ids)
    return elapsed, lines


def raw_insert(url: str, rows: int) -> float:
    """Bare load of ``rows`` posting-shaped rows into a scratch table."""
    engine = make_engine(url)
    data = [(k // 100 + 1, k + 1, -(100 + k % 5000)) for k in range(rows)]
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_raw")
        conn.exec_driver_sql(
            "CREATE TABLE bench_raw (journal_id BIGINT, account_id BIGINT, amount BIGINT)"
        )
        raw = conn.connection.dbapi_connection
        assert raw is not None
        started = time.perf_counter()
        if engine.dialect.name == "sqlite":
            raw.cursor().executemany("INSERT INTO bench_raw VALUES (?, ?, ?)", data)
        else:
            with raw.cursor() as cur, cur.copy("COPY bench_raw FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in data:
                    copy.write_row(row)
        elapsed = time.perf_counter() - started
        conn.exec_driver_sql("DROP TABLE bench_raw")
    engine.dispose()
    return elapsed


def raw_update(url: str) -> float:
    """Bare UPDATE of every depositor account's balance by a computed amount."""
    engine = make_engine(url)
    with engine.connect() as conn:
        trans = conn.begin()
        started = time.perf_counter()
        conn.exec_driver_sql(
            "UPDATE ledger_account SET balance = balance - (balance / 1000) WHERE subsidiary_kind = 'depositor'"
        )
        elapsed = time.perf_counter() - started
        trans.rollback()
    engine.dispose()
    return elapsed


def time_settle(url: str) -> tuple[float, int]:
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        started = time.perf_counter()
        result = settle_year(s, 2023, POLICY)
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, result.accounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depositors", type=int, default=1_000_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='hpf-bench-')) / 'bench.db'}"
    print(f"setting up {args.depositors:,} depositors in {url}", flush=True)
    setup(url, args.depositors)
    for month, arrive in (
        (date(2023, 5, 1), date(2023, 5, 12)),
        (date(2023, 6, 1), date(2023, 6, 12)),
    ):
        ids = prepare_month(url, month, arrive)
        post_s, lines = time_post(url, ids, arrive)
        base_s = raw_insert(url, lines // (1 if month.month == 5 else 2))
        print(
            f"remittance {month:%Y-%m}: {post_s:.2f} s for {lines // (1 if month.month == 5 else 2):,} "
            f"lines; raw insert {base_s:.2f} s; ratio {post_s / base_s:.1f}x",
            flush=True,
        )
    settle_s, accounts = time_settle(url)
    upd_s = raw_update(url)
    print(
        f"settlement 2023: {settle_s:.2f} s for {accounts:,} accounts; raw update {upd_s:.2f} s; "
        f"ratio {settle_s / upd_s:.1f}x",
        flush=True,
    )


if __name__ == "__main__":
    main()
