"""The month-end remittance and annual settlement benchmark, bounded: a few hundred depositors.

Runs ``benchmarks/remittance_and_settlement.py`` end to end on each backend and checks what it
must keep true at any size (row counts, replays write nothing, ``verify_ledger`` passes); never
timings, which belong to ``make bench``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from sqlalchemy import text

from hpf.db.engine import make_engine

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "remittance_and_settlement.py"
DEPOSITORS = 300


def _load() -> ModuleType:
    name = "hpf_bench_remittance_and_settlement"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_benchmark_keeps_the_books_at_small_scale(fresh_db_url: str) -> None:
    bench = _load()
    measures = bench.run(fresh_db_url, DEPOSITORS, verify=True, quiet=True)
    employers = DEPOSITORS // 100
    assert [m.name for m in measures] == [
        "remittance 2023-05",
        "remittance 2023-06",
        "settlement 2023",
    ]
    # one credit per depositor and one suspense debit per employer-month; one leg per account
    assert [m.rows for m in measures] == [DEPOSITORS + employers] * 2 + [DEPOSITORS]
    engine = make_engine(fresh_db_url)
    with engine.connect() as conn:
        kinds = dict(
            conn.execute(text("SELECT kind, COUNT(*) FROM ledger_journal GROUP BY kind")).all()
        )
        accrued = conn.execute(
            text("SELECT COUNT(*) FROM ledger_account WHERE accrual_year IS NOT NULL")
        ).scalar_one()
    engine.dispose()
    assert kinds["remittance"] == 2 * employers
    assert kinds["interest_settlement"] >= 1
    assert accrued == DEPOSITORS


def test_bulk_preparation_makes_the_lists_draft_makes(fresh_db_url: str) -> None:
    bench = _load()
    bench.setup(fresh_db_url, DEPOSITORS, quiet=True)
    may = bench.prepare_month(fresh_db_url, *bench.MONTHS[0])
    june = bench.prepare_month_bulk(fresh_db_url, *bench.MONTHS[1])
    engine = make_engine(fresh_db_url)
    with engine.connect() as conn:

        def lines(ids: list[int]) -> list[tuple[int, ...]]:
            return [
                tuple(row)
                for row in conn.execute(
                    text(
                        "SELECT r.employer_id, r.status, r.lines, r.total_fen, l.depositor_id, "
                        "l.base_fen, l.employer_fen, l.employee_fen FROM deposit_remittance r "
                        "JOIN deposit_remittance_line l ON l.remittance_id = r.id "
                        f"WHERE r.id IN ({', '.join(map(str, ids))}) "
                        "ORDER BY r.employer_id, l.depositor_id"
                    )
                )
            ]

        assert lines(may) == lines(june) and len(lines(may)) == DEPOSITORS
        funded = conn.execute(text("SELECT kind, COUNT(*) FROM ledger_journal GROUP BY kind")).all()
    engine.dispose()
    assert dict(funded) == {"funds_received": 2 * len(may)}
