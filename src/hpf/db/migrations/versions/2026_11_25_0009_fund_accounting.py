"""fund accounting (财务核算): accounting periods and their close, value-added income distribution

Adds the closed-period table (the ledger refuses postings dated in a closed period), the
yearly value-added income distribution, fund placements (定期存款, 国家债券) and two chart
accounts: 10102 住房公积金定期存款 (fixed-term placements of 101) and 21902 应付管理费用 (the
management expenses distributed from value-added income, until paid over).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# (code, name, category, normal side, parent code)
ACCOUNTS = [
    ("10102", "住房公积金定期存款", "asset", "D", None),
    ("21902", "应付管理费用", "liability", "C", "219"),
]


def upgrade() -> None:
    op.create_table(
        "ledger_closed_period",
        sa.Column("id", ID, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("closed_by", sa.String(length=100), nullable=False),
        sa.Column(
            "closed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_closed_period")),
        sa.UniqueConstraint("period", name=op.f("uq_ledger_closed_period_period")),
    )
    op.create_index(op.f("ix_ledger_closed_period_end_date"), "ledger_closed_period", ["end_date"])
    op.create_table(
        "finance_distribution",
        sa.Column("id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("income_fen", sa.BigInteger(), nullable=False),
        sa.Column("expenses_fen", sa.BigInteger(), nullable=False),
        sa.Column("value_added_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserve_fen", sa.BigInteger(), nullable=False),
        sa.Column("management_fen", sa.BigInteger(), nullable=False),
        sa.Column("supplement_fen", sa.BigInteger(), nullable=False),
        sa.Column("management_budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("loan_balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserve_before_fen", sa.BigInteger(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("carry_journal_id", ID, nullable=True),
        sa.Column("journal_id", ID, nullable=True),
        sa.Column("close_journal_id", ID, nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["carry_journal_id"],
            ["ledger_journal.id"],
            name=op.f("fk_finance_distribution_carry_journal_id_ledger_journal"),
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journal.id"],
            name=op.f("fk_finance_distribution_journal_id_ledger_journal"),
        ),
        sa.ForeignKeyConstraint(
            ["close_journal_id"],
            ["ledger_journal.id"],
            name=op.f("fk_finance_distribution_close_journal_id_ledger_journal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_distribution")),
        sa.UniqueConstraint("year", name=op.f("uq_finance_distribution_year")),
    )
    op.create_table(
        "finance_placement",
        sa.Column("id", ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("counterparty", sa.String(length=60), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate_pct", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("matures_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("interest_fen", sa.BigInteger(), nullable=False),
        sa.Column("branch_id", ID, nullable=False),
        sa.Column("journal_id", ID, nullable=False),
        sa.Column("maturity_journal_id", ID, nullable=True),
        sa.Column("matured_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('fixed_deposit', 'national_debt')", name=op.f("ck_finance_placement_kind")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'matured')", name=op.f("ck_finance_placement_status")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_finance_placement_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journal.id"],
            name=op.f("fk_finance_placement_journal_id_ledger_journal"),
        ),
        sa.ForeignKeyConstraint(
            ["maturity_journal_id"],
            ["ledger_journal.id"],
            name=op.f("fk_finance_placement_maturity_journal_id_ledger_journal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_placement")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_finance_placement_idempotency_key")),
    )
    conn = op.get_bind()
    for code, name, category, side, parent in ACCOUNTS:
        parent_id = None
        if parent is not None:
            parent_id = conn.execute(
                sa.text("SELECT id FROM ledger_account WHERE code = :c"), {"c": parent}
            ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO ledger_account (code, name, chart_code, category, normal_side, "
                "parent_id, is_control, balance) VALUES (:code, :name, :code, :cat, :side, "
                ":parent, :ctl, 0)"
            ),
            {
                "code": code,
                "name": name,
                "cat": category,
                "side": side,
                "parent": parent_id,
                "ctl": False,
            },
        )


def downgrade() -> None:
    conn = op.get_bind()
    for code, *_ in ACCOUNTS:
        conn.execute(sa.text("DELETE FROM ledger_account WHERE code = :c"), {"c": code})
    op.drop_table("finance_placement")
    op.drop_table("finance_distribution")
    op.drop_index(op.f("ix_ledger_closed_period_end_date"), table_name="ledger_closed_period")
    op.drop_table("ledger_closed_period")
