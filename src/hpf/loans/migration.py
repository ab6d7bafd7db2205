"""期初数据迁移 (loans): the loan book a center brings from its previous system.

A center that starts hpf already holds loans disbursed years ago. :func:`migrate_loans` writes
each one as it stands on the migration day — the principal outstanding, the contract rate, the
remaining installments of an annuity from the next due date — with its borrower, its contract
rate row, its schedule and its ledger account ``121-<贷款账号>`` (opened with a zero balance).
The balances themselves enter the books with the opening journal of the whole fund
(:func:`hpf.sim.opening.post_opening`), debit ``121-<贷款账号>``, so the loan rows and the ledger
agree from the first day. Set-based: rows are inserted in batches, schedules computed by the
pure rules (:func:`hpf.loans.rules.repayment_schedule`). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hpf.db.sequences import sync_id_sequence
from hpf.ledger import chart
from hpf.ledger.service import open_subsidiaries
from hpf.loans import rules
from hpf.loans.models import Installment, Loan, LoanParty, RateChange
from hpf.loans.service import loan_ref, schedule_rows

BATCH = 20_000


@dataclass(frozen=True)
class MigratedLoan:
    """A loan as the previous system shows it on the migration day."""

    depositor_id: int
    depositor_ref: str
    id_number: str
    name: str
    branch_id: int
    disbursed_on: date
    balance_fen: int
    """Principal outstanding (贷款余额) on the migration day."""
    remaining_months: int
    annual_rate_pct: Decimal
    rate_effective: date
    first_due: date
    """The next installment's due date after the migration day."""


@dataclass(frozen=True)
class MigratedLoanRef:
    loan_id: int
    account_code: str
    branch_id: int
    balance_fen: int


def migrate_loans(
    session: Session, loans: Sequence[MigratedLoan], *, migrated_on: date
) -> list[MigratedLoanRef]:
    """Insert ``loans`` (active, as of ``migrated_on``) with schedules and ledger accounts."""
    first_id = int(session.scalar(select(func.max(Loan.id))) or 0) + 1
    at = datetime(migrated_on.year, migrated_on.month, migrated_on.day, tzinfo=UTC)
    out: list[MigratedLoanRef] = []
    for start in range(0, len(loans), BATCH):
        chunk = loans[start : start + BATCH]
        loan_rows: list[dict[str, Any]] = []
        parties: list[dict[str, Any]] = []
        rates: list[dict[str, Any]] = []
        installment_rows: list[dict[str, Any]] = []
        accounts: list[tuple[str, str, int, date]] = []
        for k, m in enumerate(chunk):
            loan_id = first_id + start + k
            ref = loan_ref(loan_id)
            schedule = rules.repayment_schedule(
                "annuity", m.balance_fen, m.annual_rate_pct, m.remaining_months, m.first_due
            )
            level = rules.annuity_payment(m.balance_fen, m.annual_rate_pct, m.remaining_months)
            loan_rows.append(
                {
                    "id": loan_id,
                    "loan_ref": ref,
                    "contract_ref": f"QC{loan_id:010d}",
                    "idempotency_key": f"migration:loan:{loan_id}",
                    "depositor_id": m.depositor_id,
                    "depositor_ref": m.depositor_ref,
                    "branch_id": m.branch_id,
                    "status": "active",
                    "channel": "counter",
                    "applied_on": m.disbursed_on,
                    "applied_at": at,
                    "house_contract_ref": f"QC-HT-{loan_id:010d}",
                    "price_fen": m.balance_fen * 2,
                    "area_m2": Decimal("95"),
                    "home_number": 1,
                    "requested_fen": m.balance_fen,
                    "limit_fen": m.balance_fen,
                    "decision_zh": "期初迁移贷款",
                    "decision_en": "migrated loan",
                    "term_months": m.remaining_months,
                    "method": "annuity",
                    "second_home": False,
                    "annual_rate_pct": m.annual_rate_pct,
                    "rate_effective": m.rate_effective,
                    "security_kind": "mortgage",
                    "security_ref": f"期初迁移抵押 {loan_id}",
                    "principal_fen": m.balance_fen,
                    "disbursed_on": m.disbursed_on,
                    "disbursed_month": m.disbursed_on.replace(day=1),
                    "first_due": m.first_due,
                    "last_n": m.remaining_months,
                    "paid_n": 0,
                    "level_fen": level,
                    "balance_fen": m.balance_fen,
                }
            )
            parties.append(
                {
                    "loan_id": loan_id,
                    "role": "borrower",
                    "id_number": m.id_number,
                    "name": m.name,
                    "relation": "",
                    "depositor_id": m.depositor_id,
                }
            )
            rates.append(
                {
                    "loan_id": loan_id,
                    "applies_from": m.disbursed_on,
                    "rate_pct": m.annual_rate_pct,
                    "policy_effective": m.rate_effective,
                    "reason": "contract",
                    "level_fen": level,
                }
            )
            installment_rows.extend(schedule_rows(loan_id, schedule, m.annual_rate_pct))
            accounts.append((ref, f"{m.name}公积金贷款（期初）", m.branch_id, migrated_on))
        session.execute(insert(Loan), loan_rows)
        session.execute(insert(LoanParty), parties)
        session.execute(insert(RateChange), rates)
        for s in range(0, len(installment_rows), 50_000):
            session.execute(insert(Installment), installment_rows[s : s + 50_000])
        open_subsidiaries(session, "loan", accounts)
        for row in loan_rows:
            out.append(
                MigratedLoanRef(
                    int(row["id"]),
                    chart.subsidiary_code(chart.ENTRUSTED_LOANS, str(row["loan_ref"])),
                    int(row["branch_id"]),
                    int(row["balance_fen"]),
                )
            )
    sync_id_sequence(session, "loan", "loan_party", "loan_rate_change")
    return out
