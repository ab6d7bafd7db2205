"""The book a benchmark run works on, written set-based and never timed.

A city (12 branches, employers and depositors from :func:`hpf.sim.bulk.create_city`, opened
2023-01-01), each month's confirmed remittance lists with the employers' funds booked (what
``remittance.draft`` + ``confirm`` + ``receive_funds`` make, one statement per table), a loan
book over the first depositors (the shape of ``benchmarks/loans_overdue_and_repricing.py``),
the shipped goal table, and the API callers with their tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from hpf.auth import service as auth_service
from hpf.auth.principal import system_principal
from hpf.deposits import remittance
from hpf.deposits.models import Depositor, Employer
from hpf.goals import service as goals_service
from hpf.goals.commands import sample_bytes
from hpf.goals.parse import parse_file
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.loans.rules import annuity_payment, annuity_schedule
from hpf.org.service import create_unit
from hpf.policy.loader import Policy
from hpf.sim.bulk import CityShape, create_city
from hpf.sim.remittances import draft_confirmed

ACTOR = system_principal("bench")
OPENED = date(2023, 1, 1)
LOAN_RATE = Decimal("2.35")
LOAN_TERM = 18
LOAN_FIRST_DUE = date(2025, 1, 20)
BENCH_PASSWORD = "Bench2023!x"
_BATCH = 50_000


def create_book(engine: Engine, depositors: int, employers: int) -> None:
    """Org units (a center and 12 branches), the city, and the scratch tables of baselines."""
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
            CityShape(employers=employers, depositors=depositors, opened_on=OPENED),
        )
        s.execute(text("CREATE TABLE bench_raw_write (k VARCHAR(60), amount BIGINT)"))


def prepare_month(engine: Engine, month: date, arrive: date, policy: Policy) -> list[int]:
    """Every employer's confirmed list for ``month`` and its funds booked on ``arrive``.

    The lists are the simulator's (``hpf.sim.remittances.draft_confirmed``, shares rounded by
    the same ``shares_of_base`` as ``remittance.draft``); the funds are
    the journals ``remittance.receive_funds`` posts, written with one ``post_many``.
    """
    with Session(engine) as s, s.begin():
        employers = {e.id: e for e in s.scalars(select(Employer).order_by(Employer.id))}
        lists = draft_confirmed(s, policy, month, list(employers))
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
    return [int(r["id"]) for r in lists]


def add_loans(engine: Engine, loans: int) -> int:
    """``loans`` loans (等额本息, 18 months at 2.35%, disbursed 2024-12-20) to the first
    depositors: 90% current on 2025-06-01, 10% with every installment from 2025-03-20 unpaid.
    Written directly (the use cases are tested elsewhere); returns the number written."""
    templates = [30_000_000 + 1_000_000 * k for k in range(10)]
    schedules = {p: annuity_schedule(p, LOAN_RATE, LOAN_TERM, LOAN_FIRST_DUE) for p in templates}
    with Session(engine) as s, s.begin():
        people = s.execute(
            select(Depositor.id, Depositor.depositor_ref, Depositor.branch_id)
            .order_by(Depositor.id)
            .limit(loans)
        ).all()
        loan_rows: list[dict[str, Any]] = []
        inst_rows: list[dict[str, Any]] = []
        for i, (depositor_id, ref, branch_id) in enumerate(people, start=1):
            principal = templates[i % 10]
            schedule = schedules[principal]
            paid_n = 2 if i % 10 == 0 else 5  # installments 1..5 fall due before 2025-06-01
            loan_rows.append(
                {
                    "id": i,
                    "ref": f"DK{i:010d}",
                    "contract": f"JK{i:010d}",
                    "key": f"bench-loan-{i}",
                    "depositor_id": depositor_id,
                    "depositor_ref": ref,
                    "branch_id": branch_id,
                    "principal": principal,
                    "balance": schedule[paid_n - 1].balance,
                    "paid_n": paid_n,
                    "level": annuity_payment(principal, LOAN_RATE, LOAN_TERM),
                }
            )
            for r in schedule:
                paid = r.n <= paid_n
                inst_rows.append(
                    {
                        "loan_id": i,
                        "n": r.n,
                        "due": r.due_date,
                        "principal": r.principal,
                        "interest": r.interest,
                        "balance": r.balance,
                        "rate": str(LOAN_RATE),
                        "status": "paid" if paid else "scheduled",
                        "paid_principal": r.principal if paid else 0,
                        "paid_interest": r.interest if paid else 0,
                        "paid_on": r.due_date if paid else None,
                    }
                )
        insert_loan = text(
            "INSERT INTO loan (id, loan_ref, contract_ref, idempotency_key, depositor_id, "
            "depositor_ref, branch_id, status, channel, applied_on, applied_at, "
            "house_contract_ref, price_fen, area_m2, home_number, commercial_fen, "
            "commercial_bank, existing_monthly_debt_fen, requested_fen, limit_fen, "
            "binding_constraint, decision_zh, decision_en, term_months, method, second_home, "
            "annual_rate_pct, security_kind, security_ref, payee_name, payee_account, "
            "principal_fen, disbursed_on, disbursed_month, first_due, last_n, paid_n, level_fen, "
            "balance_fen, days_past_due, overdue_principal_fen, overdue_interest_fen, "
            "penalty_fen, risk_grade) VALUES (:id, :ref, :contract, :key, :depositor_id, "
            ":depositor_ref, :branch_id, 'active', 'counter', '2024-12-01', "
            "'2024-12-01 10:00:00+08', 'H', 100000000, 90, 1, 0, '', 0, :principal, 0, '', '', "
            "'', 18, 'annuity', FALSE, 2.35, 'mortgage', 'M', '', '', :principal, '2024-12-20', "
            "'2024-12-01', '2025-01-20', 18, :paid_n, :level, :balance, 0, 0, 0, 0, '01')"
        )
        insert_installment = text(
            "INSERT INTO loan_installment (loan_id, n, due_date, principal_fen, interest_fen, "
            "balance_after_fen, rate_pct, status, paid_principal_fen, paid_interest_fen, "
            "paid_penalty_fen, paid_on, days_overdue, penalty_fen) VALUES (:loan_id, :n, :due, "
            ":principal, :interest, :balance, :rate, :status, :paid_principal, :paid_interest, "
            "0, :paid_on, 0, 0)"
        )
        for start in range(0, len(loan_rows), _BATCH):
            s.execute(insert_loan, loan_rows[start : start + _BATCH])
        for start in range(0, len(inst_rows), _BATCH):
            s.execute(insert_installment, inst_rows[start : start + _BATCH])
    return len(loan_rows)


def import_goal_table(engine: Engine) -> int:
    """The shipped 2023 goal table (临沂); returns its number of indicators."""
    with Session(engine) as s, s.begin():
        stored = goals_service.import_table(
            s, parse_file(sample_bytes(), "linyi_2023.txt"), source_name="bench", actor="bench"
        )
        return stored.indicators


@dataclass(frozen=True)
class ApiCallers:
    """Tokens of the API benchmark: a depositor reading its statement, finance posting funds.

    Each user holds several tokens, one per connection of the load: hpf records a token's
    last use in the request's transaction, so requests sharing one token queue on its row.
    """

    depositor_tokens: tuple[str, ...]
    finance_tokens: tuple[str, ...]
    employer_refs: tuple[str, ...]
    account_ids: tuple[int, ...]


def api_callers(engine: Engine, employers: int, tokens: int) -> ApiCallers:
    """A depositor user (the first depositor) and a whole-center finance user, with ``tokens``
    API tokens each."""
    with Session(engine) as s, s.begin():
        person = s.execute(
            select(Depositor.depositor_ref, Depositor.id_number, Depositor.branch_id)
            .order_by(Depositor.id)
            .limit(1)
        ).one()
        depositor_id = auth_service.create_user(
            s,
            kind="depositor",
            login_name=person.id_number,
            password=BENCH_PASSWORD,
            display_name="基准职工",
            depositor_ref=person.depositor_ref,
            branch_id=person.branch_id,
        )
        finance_id = auth_service.create_user(
            s,
            kind="staff",
            login_name="bench_finance",
            password=BENCH_PASSWORD,
            display_name="基准财务",
            roles=["finance"],
            whole_center=True,
        )
        issued = {
            role: tuple(
                auth_service.issue_api_token(s, uid, name=f"bench-{k}", scopes=frozenset({role}))
                for k in range(max(1, tokens))
            )
            for uid, role in ((depositor_id, "depositor"), (finance_id, "finance"))
        }
        refs = tuple(
            s.scalars(select(Employer.employer_ref).order_by(Employer.id).limit(employers))
        )
        accounts = tuple(
            int(i)
            for i in s.scalars(
                text(
                    "SELECT id FROM ledger_account WHERE subsidiary_kind = 'depositor' "
                    "ORDER BY id LIMIT 1000"
                )
            )
        )
    return ApiCallers(issued["depositor"], issued["finance"], refs, accounts)
