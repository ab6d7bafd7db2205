"""Benchmark: the daily overdue batch over N loans, and the January-1 repricing of N loans.

Each hpf path is timed against a raw baseline in the same run on the same database:
- overdue (2025-06-01): every installment past due marked, its days and penalty interest
  computed in SQL, each loan's arrears and risk grade, the collection work list;
  baseline: one bare UPDATE marking the same installments overdue (rolled back);
- repricing (2026-01-01): every loan selected by SQL, its remaining schedule recomputed by the
  pure rules and written back (DELETE + INSERT … SELECT of staged rows), rate history;
  baseline: one bare UPDATE of the same loans' rate (rolled back).

Setup writes the book directly (not through the use cases, which are tested elsewhere): N loans
of 18 monthly installments (等额本息 at 2.35%, disbursed 2024-12-20), 90% of them current on
2025-06-01 and 10% with every installment from 2025-03-20 unpaid.

    python benchmarks/loans_overdue_and_repricing.py --loans 100000          # SQLite in /tmp
    python benchmarks/loans_overdue_and_repricing.py --loans 100000 --url postgresql://...
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.db.engine import make_engine
from hpf.db.migrate import upgrade
from hpf.loans.batches import run_overdue, run_repricing
from hpf.loans.rules import annuity_payment, annuity_schedule
from hpf.policy.loader import load_shipped_policy

RATE = Decimal("2.35")
FIRST_DUE = date(2025, 1, 20)
TERM = 18


def _setup(session: Session, loans: int) -> None:
    conn = session.connection()
    conn.execute(
        text(
            "INSERT INTO org_unit (code, name, kind, area_class, active) "
            "VALUES ('B0001', '基准管理部', 'branch', 'city', TRUE)"
        )
    )
    branch = conn.execute(text("SELECT id FROM org_unit WHERE code = 'B0001'")).scalar_one()
    conn.exec_driver_sql(
        "INSERT INTO deposit_depositor (depositor_ref, id_number, name, birth_date, sex, phone, "
        "bank_card, status, branch_id, base_fen, opened_on) VALUES "
        "(%s, %s, %s, '1980-01-01', 'M', '', '6222000000000000', '01', %s, 0, '2020-01-01')"
        if conn.dialect.name != "sqlite"
        else "INSERT INTO deposit_depositor (depositor_ref, id_number, name, birth_date, sex, "
        "phone, bank_card, status, branch_id, base_fen, opened_on) VALUES "
        "(?, ?, ?, '1980-01-01', 'M', '', '6222000000000000', '01', ?, 0, '2020-01-01')",
        [(f"{i:012d}", f"B{i:017d}", f"借款人{i}", branch) for i in range(1, loans + 1)],
    )
    templates = [30_000_000 + 1_000_000 * k for k in range(10)]
    schedules = {p: annuity_schedule(p, RATE, TERM, FIRST_DUE) for p in templates}
    ph = "?" if conn.dialect.name == "sqlite" else "%s"
    loan_rows = []
    inst_rows = []
    for i in range(1, loans + 1):
        principal = templates[i % 10]
        schedule = schedules[principal]
        late = i % 10 == 0
        paid_n = 2 if late else 5  # installments 1..5 are due before 2025-06-01
        balance = schedule[paid_n - 1].balance
        loan_rows.append(
            (
                i,
                f"DK{i:010d}",
                f"JK{i:010d}",
                f"k{i}",
                i,
                f"{i:012d}",
                branch,
                principal,
                balance,
                paid_n,
                annuity_payment(principal, RATE, TERM),
            )
        )
        for r in schedule:
            paid = r.n <= paid_n
            inst_rows.append(
                (
                    i,
                    r.n,
                    r.due_date.isoformat(),
                    r.principal,
                    r.interest,
                    r.balance,
                    str(RATE),
                    "paid" if paid else "scheduled",
                    r.principal if paid else 0,
                    r.interest if paid else 0,
                    r.due_date.isoformat() if paid else None,
                )
            )
    conn.exec_driver_sql(
        "INSERT INTO loan (id, loan_ref, contract_ref, idempotency_key, depositor_id, "
        "depositor_ref, branch_id, status, channel, applied_on, applied_at, house_contract_ref, "
        "price_fen, area_m2, home_number, commercial_fen, commercial_bank, "
        "existing_monthly_debt_fen, requested_fen, limit_fen, binding_constraint, decision_zh, "
        "decision_en, term_months, method, second_home, annual_rate_pct, security_kind, "
        "security_ref, payee_name, payee_account, principal_fen, disbursed_on, "
        "disbursed_month, first_due, last_n, paid_n, level_fen, balance_fen, days_past_due, "
        "overdue_principal_fen, overdue_interest_fen, penalty_fen, risk_grade) VALUES "
        f"({ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}, 'active', 'counter', '2024-12-01', "
        "'2024-12-01 10:00:00+08', 'H', 100000000, 90, 1, 0, '', 0, 0, 0, '', '', '', 18, "
        "'annuity', FALSE, 2.35, 'mortgage', 'M', '', '', 0, '2024-12-20', '2024-12-01', "
        f"'2025-01-20', 18, 0, 0, 0, 0, 0, 0, 0, '01')",
        [r[:7] for r in loan_rows],
    )
    conn.exec_driver_sql(
        f"UPDATE loan SET principal_fen = {ph}, balance_fen = {ph}, paid_n = {ph}, "
        f"level_fen = {ph}, requested_fen = {ph} WHERE id = {ph}",
        [(r[7], r[8], r[9], r[10], r[7], r[0]) for r in loan_rows],
    )
    conn.exec_driver_sql(
        "INSERT INTO loan_installment (loan_id, n, due_date, principal_fen, interest_fen, "
        "balance_after_fen, rate_pct, status, paid_principal_fen, paid_interest_fen, "
        "paid_penalty_fen, paid_on, days_overdue, penalty_fen) VALUES "
        f"({ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}, 0, {ph}, 0, 0)",
        inst_rows,
    )


def _timed(session: Session, sql: str, params: dict[str, object]) -> float:
    start = time.perf_counter()
    session.execute(text(sql), params)
    elapsed = time.perf_counter() - start
    session.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--url", help="database URL (default: a new SQLite file in /tmp)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench_loans.db'}"
    upgrade(url)
    engine = make_engine(url)
    policy = load_shipped_policy()
    with Session(engine) as session:
        start = time.perf_counter()
        _setup(session, args.loans)
        session.commit()
        print(f"setup: {args.loans:,} loans in {time.perf_counter() - start:.1f} s")
        on = date(2025, 6, 1)
        base = _timed(
            session,
            "UPDATE loan_installment SET status = 'overdue' "
            "WHERE status = 'scheduled' AND due_date < :on",
            {"on": on},
        )
        start = time.perf_counter()
        summary = run_overdue(session, on, policy=policy)
        session.commit()
        took = time.perf_counter() - start
        print(
            f"overdue batch: {took:.2f} s for {args.loans:,} loans "
            f"({args.loans / took:,.0f} loans/s; {summary.overdue_installments:,} installments "
            f"overdue on {summary.loans_overdue:,} loans); baseline bare UPDATE {base:.2f} s; "
            f"ratio {took / base:.1f}×"
        )
        day = date(2026, 1, 1)
        base = _timed(
            session,
            "UPDATE loan SET annual_rate_pct = 2.10 WHERE status = 'active' "
            "AND disbursed_on < '2025-05-08' AND term_months > 12 AND annual_rate_pct <> 2.10",
            {},
        )
        start = time.perf_counter()
        repriced = run_repricing(session, day, policy=policy)
        session.commit()
        took = time.perf_counter() - start
        print(
            f"repricing: {took:.2f} s for {repriced.loans:,} loans "
            f"({repriced.loans / took:,.0f} loans/s; {repriced.installments:,} installments "
            f"recomputed); baseline bare UPDATE {base:.2f} s; ratio {took / base:.1f}×"
        )
    engine.dispose()


if __name__ == "__main__":
    main()
