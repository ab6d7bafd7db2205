"""``hpf bench --json`` keeps its contract (docs/benchmarks.md), on SQLite and PostgreSQL.

The suite runs end to end at a tiny size (500 depositors in 5 employers, 50 loans, 60 requests
per API measurement) through the real CLI in a subprocess, so stdout must be JSON alone. Every
case is present, its numbers are positive, ``ratio`` is ``seconds / baseline_seconds``, and
``rows`` is what the setup implies. Timings are never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from hpf.bench.results import CASES, REQUIRED, Result, Sizes

DEPOSITORS = 500
SIZES = Sizes.tiny(DEPOSITORS)
E, L = SIZES.employers, SIZES.loans


@pytest.fixture(scope="module")
def results(backend: str, databases: Any) -> dict[str, dict[str, Any]]:
    url = databases.new_url(backend)
    done = subprocess.run(
        [sys.executable, "-m", "hpf", "bench", "--rows", str(DEPOSITORS), "--json", "--url", url],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert set(out) == {"results"}
    return {r["name"]: r for r in out["results"]}


def test_every_case_is_reported_with_consistent_numbers(results: dict[str, Any]) -> None:
    assert set(REQUIRED) <= set(results)
    assert list(results) == list(CASES)
    for name, r in results.items():
        assert {"name", "rows", "seconds", "baseline_seconds", "ratio"} <= set(r), name
        assert isinstance(r["rows"], int) and r["rows"] > 0, name
        assert r["seconds"] > 0 and r["baseline_seconds"] > 0, name
        assert r["ratio"] == pytest.approx(r["seconds"] / r["baseline_seconds"], abs=1e-4), name
        assert r["rows_per_second"] == pytest.approx(r["rows"] / r["seconds"], rel=1e-3), name


def test_rows_are_what_the_setup_implies(results: dict[str, Any]) -> None:
    # June: one journal per employer, debiting its suspense account and crediting each person
    assert results["remittance_post"]["rows"] == DEPOSITORS + E
    assert results["remittance_post"]["journals"] == E
    assert results["interest_settle"]["rows"] == DEPOSITORS
    # every tenth loan has installments 3-5 unpaid on 2025-06-01
    assert results["overdue_scan"]["rows"] == L
    assert results["overdue_scan"]["overdue_installments"] == 3 * (L // 10)
    assert results["overdue_scan"]["loans_overdue"] == L // 10
    # every loan takes the 2025-05-08 rate on 2026-01-01, over its 6 installments left
    assert results["loan_reprice"]["rows"] == L
    assert results["loan_reprice"]["installments"] == 6 * L
    # two months' remittances and funds (2 legs per employer each), and the settlement
    verify = results["ledger_verify"]
    assert verify["ok"] is True
    assert 3 * DEPOSITORS + 6 * E < verify["rows"] <= 3 * DEPOSITORS + 6 * E + 12
    # the depositors' postings of 2023: two contributions and the interest each
    assert results["annual_report"]["rows"] == 3 * DEPOSITORS
    assert results["goal_report"]["rows"] == 3 * DEPOSITORS
    assert results["goal_report"]["indicators"] > 0


def test_api_cases_answer_every_request(results: dict[str, Any]) -> None:
    for name in ("api_read", "api_write"):
        r = results[name]
        assert r["rows"] == SIZES.requests, r
        assert r["failed"] == 0 and r["baseline_failed"] == 0, r
        assert r["requests_per_second"] > 0 and r["p99_ms"] > 0, r
        assert r["baseline_requests_per_second"] > 0 and r["baseline_p99_ms"] > 0, r


def test_ratio_is_computed_from_the_rounded_times() -> None:
    r = Result("x", 10, 0.1234567, 0.0000004, "b").as_json()
    assert r["seconds"] == 0.123457 and r["baseline_seconds"] == 0.000001
    assert r["ratio"] == round(0.123457 / 0.000001, 4)


def test_sizes_scale_from_one_million_depositors() -> None:
    full = Sizes.for_scale(1.0)
    assert (full.depositors, full.employers, full.loans) == (1_000_000, 10_000, 100_000)
    assert Sizes.for_scale(0.1).depositors == 100_000
    quick = Sizes.quick()
    assert quick.depositors <= 20_000
