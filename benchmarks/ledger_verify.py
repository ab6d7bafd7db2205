"""Benchmark: ``hpf ledger verify`` over N postings, against a raw-database baseline.

The baseline is what any verification must at least do: one GROUP BY over all postings and
one ordered scan of journal × posting, fetched by the raw driver with no checks or hashing.
Prints the time of each and the ratio verify / baseline.

    python benchmarks/ledger_verify.py --postings 1000000 [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import text

from hpf.db.engine import make_engine
from hpf.db.migrate import upgrade
from hpf.ledger.bulk import post_many
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import open_subsidiaries
from hpf.ledger.verify import verify_ledger
from hpf.org.service import create_unit

BATCH = 100_000


def build(url: str, postings: int, accounts: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        center = create_unit(session, code="B0", name="基准中心", kind="center")
        branch = create_unit(
            session, code="B1", name="基准管理部", kind="branch", parent_code=center.code
        )
        open_subsidiaries(
            session,
            "depositor",
            [(f"P{i:09d}", f"职工{i}", branch.id, date(2023, 1, 1)) for i in range(accounts)],
        )
        branch_id = branch.id
    journals = postings // 2
    done = 0
    started = time.perf_counter()
    while done < journals:
        n = min(BATCH, journals - done)
        items = []
        for k in range(done, done + n):
            fen = 100 + (k * 7919) % 500_000
            acct = f"201-P{k % accounts:09d}"
            day = date(2023, 7, 1 + k % 28)
            items.append(
                (
                    f"bench-{k}",
                    JournalDraft(
                        "remittance", branch_id, day, day, (debit("101", fen), credit(acct, fen))
                    ),
                )
            )
        with Session(engine) as session, session.begin():
            post_many(session, items)
        done += n
        print(f"  loaded {done * 2:,} postings ({time.perf_counter() - started:.1f} s)", flush=True)
    engine.dispose()


def raw_baseline(url: str) -> float:
    engine = make_engine(url)
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(
            text("SELECT journal_id, SUM(amount) FROM ledger_posting GROUP BY journal_id")
        ).all()
        cursor = conn.exec_driver_sql(
            "SELECT j.id, j.hash, p.account_id, p.amount FROM ledger_journal j "
            "JOIN ledger_posting p ON p.journal_id = j.id ORDER BY j.id"
        )
        for _ in cursor:
            pass
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def timed_verify(url: str) -> tuple[float, bool]:
    engine = make_engine(url)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        report = verify_ledger(session)
        session.rollback()
    engine.dispose()
    return report.seconds, report.ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--url", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="hpf-bench-")
    url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
    print(f"building {args.postings:,} postings in {url}")
    build(url, args.postings, args.accounts)
    raw_baseline(url)  # warm the cache
    base = statistics.median(raw_baseline(url) for _ in range(args.runs))
    results = [timed_verify(url) for _ in range(args.runs)]
    assert all(ok for _, ok in results), "verification failed on a clean ledger"
    verify = statistics.median(s for s, _ in results)
    print(f"raw baseline (GROUP BY + ordered scan): {base:.2f} s")
    print(f"hpf ledger verify: {verify:.2f} s  ({args.postings / verify:,.0f} postings/s)")
    print(f"ratio verify / baseline: {verify / base:.1f}x")


if __name__ == "__main__":
    main()
