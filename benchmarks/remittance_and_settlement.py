"""Benchmark: one month's remittance for N depositors, and the annual settlement of N accounts.

Each hpf path is timed against a raw baseline measured in the same run on the same database:
- remittance: validated, journalled (one journal per employer-month), balances and 积数 updated;
  baseline: a bare COPY (PostgreSQL) / executemany (SQLite) of the same posting rows (the rows
  hpf wrote, read back before timing) into ``ledger_posting``, the table they are posted to
  (rolled back); the same load into a plain scratch table without indexes or keys is reported
  beside it;
- settlement: interest computed from 积数 and posted for every account (one journal per branch);
  baseline: one bare UPDATE of the balances of the same accounts (rolled back).

Two months are posted: May is every depositor's first contribution (statistics mark 1 M new
contributors), June is the steady state. Baselines are the median of three runs.

    python benchmarks/remittance_and_settlement.py --depositors 1000000            # SQLite in /tmp
    python benchmarks/remittance_and_settlement.py --depositors 1000000 --pg       # fresh PG db
    python benchmarks/remittance_and_settlement.py --url postgresql://... --verify
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hpf.auth.principal import system_principal
from hpf.bench import baselines
from hpf.bench import setup as bench_setup
from hpf.db.engine import make_engine
from hpf.db.migrate import upgrade
from hpf.deposits import remittance
from hpf.deposits.models import Employer, Remittance
from hpf.interest.service import settle_year
from hpf.ledger.verify import verify_ledger
from hpf.org.service import create_unit
from hpf.policy.loader import load_shipped_policy
from hpf.sim.bulk import CityShape, create_city

ACTOR = system_principal("bench")
POLICY = load_shipped_policy()
PG_ADMIN_URL = os.environ.get("HPF_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MONTHS = ((date(2023, 5, 1), date(2023, 5, 12)), (date(2023, 6, 1), date(2023, 6, 12)))


@dataclass(frozen=True)
class Measure:
    name: str
    rows: int
    seconds: float
    baseline: float

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline if self.baseline else float("inf")

    def line(self) -> str:
        return (
            f"{self.name}: {self.seconds:.2f} s for {self.rows:,} rows; "
            f"baseline {self.baseline:.2f} s; ratio {self.ratio:.1f}x"
        )


def setup(url: str, depositors: int, quiet: bool = False) -> None:
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
            on_progress=None
            if quiet
            else (lambda n: print(f"  created {n:,} depositors", flush=True)),
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


def prepare_month_bulk(url: str, month: date, arrive: date) -> list[int]:
    """The lists ``prepare_month`` makes, written set-based (setup of large runs, not timed):
    ``hpf.bench.setup.prepare_month``, which drafts them with the simulator's
    ``draft_confirmed`` (the test suite checks both preparations give the same lists)."""
    engine = make_engine(url)
    try:
        return bench_setup.prepare_month(engine, month, arrive, POLICY)
    finally:
        engine.dispose()


def analyze(url: str) -> None:
    """PostgreSQL: refresh planner statistics after bulk setup (not timed) — what autovacuum
    does in production between drafting the lists and posting them; this test server runs with
    autovacuum off, and without statistics the planner sizes joins for a few hundred rows."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def time_post(url: str, ids: list[int], on: date) -> tuple[float, list[int]]:
    """Post the lists; returns the time and the journal ids written."""
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        started = time.perf_counter()
        outcomes = remittance.post_remittances(s, ids, on, ACTOR)
        elapsed = time.perf_counter() - started
    engine.dispose()
    assert len(outcomes) == len(ids) and not any(o.replayed for o in outcomes)
    return elapsed, [o.journal_id for o in outcomes]


def posting_rows(url: str, first: int, last: int) -> list[tuple[int, int, int]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT journal_id, account_id, amount FROM ledger_posting "
                "WHERE journal_id BETWEEN :a AND :b ORDER BY id"
            ),
            {"a": first, "b": last},
        ).all()
    engine.dispose()
    return [(int(j), int(a), int(m)) for j, a, m in rows]


def raw_update(url: str) -> tuple[float, int]:
    """One bare UPDATE of the balance of every open depositor account (rolled back)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        trans = conn.begin()
        started = time.perf_counter()
        result = conn.exec_driver_sql(
            "UPDATE ledger_account SET balance = balance - (balance / 1000) "
            "WHERE subsidiary_kind = 'depositor' AND closed_on IS NULL"
        )
        elapsed = time.perf_counter() - started
        trans.rollback()
    engine.dispose()
    return elapsed, int(result.rowcount)


def time_settle(url: str) -> tuple[float, int, list[int]]:
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        started = time.perf_counter()
        result = settle_year(s, 2023, POLICY)
        elapsed = time.perf_counter() - started
    engine.dispose()
    assert not any(b.replayed for b in result.branches)
    return elapsed, result.accounts, [b.journal_id for b in result.branches]


def median3(run: object) -> float:
    assert callable(run)
    return statistics.median(float(run()) for _ in range(3))


def check_invariants(url: str, month_ids: list[list[int]]) -> None:
    """Replays write nothing, and the ledger verifies (postings, balances, 积数, hash chain)."""
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        journals = s.scalar(text("SELECT COUNT(*) FROM ledger_journal"))
        for (_, arrive), ids in zip(MONTHS, month_ids, strict=True):
            again = remittance.post_remittances(s, ids, arrive, ACTOR)
            assert all(o.replayed for o in again)
        assert all(b.replayed for b in settle_year(s, 2023, POLICY).branches)
        assert s.scalar(text("SELECT COUNT(*) FROM ledger_journal")) == journals
        statuses = set(s.scalars(select(Remittance.status)))
        assert statuses == {"posted"}, statuses
        report = verify_ledger(s)
        assert report.ok, report.problems
    engine.dispose()


def run(
    url: str,
    depositors: int,
    verify: bool = False,
    quiet: bool = False,
    bulk_prepare: bool | None = None,
) -> list[Measure]:
    """Build the city, post two months and settle the year; ``bulk_prepare`` (default: above
    20,000 depositors) drafts the lists set-based instead of one ``draft`` call per employer."""
    if bulk_prepare is None:
        bulk_prepare = depositors > 20_000
    prepare = prepare_month_bulk if bulk_prepare else prepare_month
    say = (lambda _m: None) if quiet else (lambda m: print(m, flush=True))
    say(f"setting up {depositors:,} depositors in {make_url(url).render_as_string()}")
    started = time.perf_counter()
    setup(url, depositors, quiet=quiet)
    say(f"  setup {time.perf_counter() - started:.0f} s")
    measures = []
    month_ids = []
    for month, arrive in MONTHS:
        started = time.perf_counter()
        ids = prepare(url, month, arrive)
        analyze(url)
        month_ids.append(ids)
        say(
            f"  prepared {len(ids):,} lists for {month:%Y-%m} in {time.perf_counter() - started:.0f} s"
        )
        post_s, journal_ids = time_post(url, ids, arrive)
        data = posting_rows(url, min(journal_ids), max(journal_ids))
        engine = make_engine(url)
        base_s = median3(lambda d=data, e=engine: baselines.load_postings(e, d))
        scratch_s = median3(lambda d=data, e=engine: baselines.load_rows(e, d))
        engine.dispose()
        measures.append(Measure(f"remittance {month:%Y-%m}", len(data), post_s, base_s))
        say(measures[-1].line())
        say(
            f"  the same rows into a plain scratch table: {scratch_s:.2f} s "
            f"(hpf {post_s / scratch_s:.1f}x, ledger_posting load {base_s / scratch_s:.1f}x)"
        )
    analyze(url)
    settle_s, accounts, _ = time_settle(url)
    updates = []
    for _ in range(3):
        upd_s, updated = raw_update(url)
        updates.append(upd_s)
    assert updated == accounts, (updated, accounts)
    measures.append(Measure("settlement 2023", accounts, settle_s, statistics.median(updates)))
    say(measures[-1].line())
    if verify:
        started = time.perf_counter()
        check_invariants(url, month_ids)
        say(f"invariants and verify_ledger ok ({time.perf_counter() - started:.1f} s)")
    return measures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depositors", type=int, default=1_000_000)
    parser.add_argument("--url", default=None, help="an empty database (default: SQLite in /tmp)")
    parser.add_argument(
        "--pg", action="store_true", help=f"create and drop a database on {PG_ADMIN_URL}"
    )
    parser.add_argument("--verify", action="store_true", help="check replays and verify_ledger")
    args = parser.parse_args(argv)
    scratch = None
    if args.pg:
        scratch = f"hpf_bench_{os.getpid()}"
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{scratch}"')
        admin.dispose()
        url = make_url(PG_ADMIN_URL).set(database=scratch).render_as_string(hide_password=False)
    else:
        url = args.url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='hpf-bench-')) / 'bench.db'}"
    try:
        run(url, args.depositors, verify=args.verify)
    finally:
        if scratch is not None:
            admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
