"""interest accrual (积数台账) kept in step with postings; account closure date; settlement records

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("ledger_account") as batch:
        batch.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
    op.create_table(
        "ledger_interest_accrual",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("year_start", sa.Date(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("jishu", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_account.id"],
            name=op.f("fk_ledger_interest_accrual_account_id_ledger_account"),
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "year_start", name=op.f("pk_ledger_interest_accrual")
        ),
    )
    op.create_table(
        "interest_settlement",
        sa.Column("id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("journal_id", ID, nullable=False),
        sa.Column("accounts", sa.BigInteger(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column(
            "settled_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_interest_settlement_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journal.id"],
            name=op.f("fk_interest_settlement_journal_id_ledger_journal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest_settlement")),
        sa.UniqueConstraint(
            "year", "branch_id", name=op.f("uq_interest_settlement_year_branch_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("interest_settlement")
    op.drop_table("ledger_interest_accrual")
    # Native DROP COLUMN (SQLite >= 3.35): a batch copy of ledger_account would have to drop
    # the table that postings reference, which SQLite's enforced foreign keys refuse.
    op.execute("ALTER TABLE ledger_account DROP COLUMN closed_on")
