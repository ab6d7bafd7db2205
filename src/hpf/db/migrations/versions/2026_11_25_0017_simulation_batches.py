"""Indexes for the simulator's batch paths and the e-audit month at city scale.

The e-audit checks join a month's withdrawals to every depositor's bank card, to every other
withdrawal's payee card and to loans by house contract; without these indexes each of those joins
scans the whole table once per withdrawal, so a month costs (withdrawals × depositors). The
others pick the month's rows (applied, posted, opened, approved, disbursed) without a full scan.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_deposit_depositor_bank_card", "deposit_depositor", ["bank_card"]),
    ("ix_deposit_depositor_opened_on", "deposit_depositor", ["opened_on"]),
    ("ix_deposit_remittance_posted_on", "deposit_remittance", ["posted_on"]),
    ("ix_withdrawal_payee_card", "withdrawal", ["payee_card"]),
    ("ix_withdrawal_applied_on", "withdrawal", ["applied_on"]),
    ("ix_loan_house_contract_ref", "loan", ["house_contract_ref"]),
    ("ix_loan_approved_at", "loan", ["approved_at"]),
    ("ix_loan_disbursed_on", "loan", ["disbursed_on"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
