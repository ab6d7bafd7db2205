"""Benchmark: one month's remittance for N depositors, and the annual settlement of N accounts.

Each hpf path is timed against a raw baseline measured in the same run on the same database:
- remittance: validated, journalled (one journal per employer-month), balances and 积数 updated;
  baseline: a bare COPY (PostgreSQL) / executemany (SQLite) of the same posting rows (the rows
  hpf wrote, read back before timing) into a plain table without indexes;
- settlement: interest computed from 积数 and posted for every account (one journal per branch);
  baseline: one bare UPDATE of the balances of the same accounts (rolled back).

Two months are posted: May is every depositor's first contribution (statistics mark 1 M new
contributors), June is the steady state. Baselines are the median of three runs.

    python benchmarks/remittance_and_settlement.py --depositors 1000000            # SQLite in /tmp
    python benchmarks/remittance_and_settlement.py --depositors 1000000 --pg       # fresh PG db
    python benchmarks/remittance_and_settlement.py --url postgresql://... --verify
    python benchmarks/remittance_and_settlement.py --depositors 100000 --floor     # + floor
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

import numpy as np
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hpf.auth.principal import system_principal
from hpf.db.engine import make_engine
from hpf.db.migrate import upgrade
from hpf.deposits import remittance
from hpf.deposits.employers import employer_limits
from hpf.deposits.models import Depositor, Employer, Remittance, RemittanceLine
from hpf.deposits.rules import shares_of_base
from hpf.interest.service import settle_year
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.rules import JournalDraft, credit, debit
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
    """The lists ``prepare_month`` makes, written set-based (setup of large runs, not timed).

    Every employer's list holds its active depositors with both shares rounded by the same
    ``shares_of_base`` as ``remittance.draft``; lists are confirmed and the employers' funds
    booked with one ``post_many`` (the journals ``receive_funds`` would post). The test suite
    checks both preparations give the same lists.
    """
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        employers = {e.id: e for e in s.scalars(select(Employer).order_by(Employer.id))}
        rounding = {}
        for e in employers.values():
            if e.branch_id not in rounding:
                rounding[e.branch_id] = employer_limits(s, POLICY, e, month).rounding
        rows = s.execute(
            select(Depositor.id, Depositor.employer_id, Depositor.base_fen)
            .where(Depositor.status == "01", Depositor.employer_id.is_not(None))
            .order_by(Depositor.employer_id, Depositor.id)
        ).all()
        people = np.array([tuple(r) for r in rows], dtype=np.int64).reshape(-1, 3)
        first_id = int(s.scalar(select(func.max(Remittance.id))) or 0) + 1
        starts = np.searchsorted(people[:, 1], sorted(employers), side="left")
        ends = np.searchsorted(people[:, 1], sorted(employers), side="right")
        lists, lines, ids = [], [], []
        for employer_id, lo, hi in zip(sorted(employers), starts, ends, strict=True):
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
            ids.append(rid)
        s.execute(insert(Remittance), lists)
        for start in range(0, len(lines), 50_000):
            s.execute(insert(RemittanceLine), lines[start : start + 50_000])
        post_many(
            s,
            [
                (
                    f"funds:{r['id']}",
                    JournalDraft(
                        "funds_received",
                        int(r["branch_id"]),
                        arrive,
                        arrive,
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
    engine.dispose()
    return ids


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


def raw_insert(url: str, data: Sequence[tuple[int, int, int]]) -> float:
    """Bare load of ``data`` into a plain scratch table: COPY (PostgreSQL) / executemany."""
    engine = make_engine(url)
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


def floor_insert(url: str, data: Sequence[tuple[int, int, int]]) -> float:
    """Not the baseline, a floor: the same load into a scratch table shaped like
    ``ledger_posting`` (key, check, foreign keys to the journals and accounts, its two
    indexes, filled with the postings already there) — what writing the posting rows alone
    costs, before any validation, journal, balance or 积数 work."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_floor")
        ident = (
            "INTEGER PRIMARY KEY"
            if engine.dialect.name == "sqlite"
            else "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        )
        conn.exec_driver_sql(
            f"CREATE TABLE bench_floor (id {ident}, "
            "journal_id BIGINT NOT NULL REFERENCES ledger_journal (id), "
            "account_id BIGINT NOT NULL REFERENCES ledger_account (id), "
            "amount BIGINT NOT NULL CHECK (amount <> 0))"
        )
        first = min(j for j, _, _ in data)
        conn.exec_driver_sql(
            "INSERT INTO bench_floor (journal_id, account_id, amount) "
            f"SELECT journal_id, account_id, amount FROM ledger_posting WHERE journal_id < {first} "
            "ORDER BY id"
        )
        conn.exec_driver_sql("CREATE INDEX bench_floor_aj ON bench_floor (account_id, journal_id)")
        conn.exec_driver_sql("CREATE INDEX bench_floor_j ON bench_floor (journal_id)")
        if engine.dialect.name != "sqlite":
            conn.exec_driver_sql("ANALYZE bench_floor")
        raw = conn.connection.dbapi_connection
        assert raw is not None
        sql = "bench_floor (journal_id, account_id, amount)"
        started = time.perf_counter()
        if engine.dialect.name == "sqlite":
            raw.cursor().executemany(f"INSERT INTO {sql} VALUES (?, ?, ?)", data)
        else:
            with raw.cursor() as cur, cur.copy(f"COPY {sql} FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in data:
                    copy.write_row(row)
        elapsed = time.perf_counter() - started
        conn.exec_driver_sql("DROP TABLE bench_floor")
    engine.dispose()
    return elapsed


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
    floor: bool = False,
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
        base_s = median3(lambda data=data: raw_insert(url, data))
        measures.append(Measure(f"remittance {month:%Y-%m}", len(data), post_s, base_s))
        say(measures[-1].line())
        if floor:
            floor_s = floor_insert(url, data)
            say(
                f"  floor (same rows into a ledger_posting-shaped table): {floor_s:.2f} s, "
                f"{floor_s / base_s:.1f}x the baseline"
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
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time the same rows into a table shaped like ledger_posting (not the baseline)",
    )
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
        run(url, args.depositors, verify=args.verify, floor=args.floor)
    finally:
        if scratch is not None:
            admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
