"""积数 on the account row: ledger_account gets the accrual of its latest two interest years

The separate ``ledger_interest_accrual`` table (one row per account and interest year, 0004) is
replaced by five columns of ``ledger_account`` (``hpf.ledger.accrual``), so a posting updates
each account once — balance and 积数 together. Upgrade fills the columns from the table's
latest year and the year before it, then drops the table; downgrade recreates the table from
the postings (exactly what ``hpf ledger verify`` recomputed) and drops the columns.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY_COLUMNS = ("accrual_net", "accrual_jishu", "prior_net", "prior_jishu")


def _year_of_start(column: str) -> str:
    """SQL: the interest year (numbered by its June 30) of a July-1 ``year_start``."""
    if op.get_bind().dialect.name == "sqlite":
        return f"(CAST(strftime('%Y', {column}) AS INTEGER) + 1)"
    return f"(CAST(EXTRACT(YEAR FROM {column}) AS INTEGER) + 1)"


def upgrade() -> None:
    op.add_column("ledger_account", sa.Column("accrual_year", sa.Integer(), nullable=True))
    for name in MONEY_COLUMNS:
        op.add_column(
            "ledger_account",
            sa.Column(name, sa.BigInteger(), server_default="0", nullable=False),
        )
    year = _year_of_start("i.year_start")
    op.execute(
        f"UPDATE ledger_account SET accrual_year = (SELECT MAX({year}) "
        "FROM ledger_interest_accrual i WHERE i.account_id = ledger_account.id) "
        "WHERE id IN (SELECT account_id FROM ledger_interest_accrual)"
    )
    for column, source, offset in (
        ("accrual_net", "net", 0),
        ("accrual_jishu", "jishu", 0),
        ("prior_net", "net", 1),
        ("prior_jishu", "jishu", 1),
    ):
        op.execute(
            f"UPDATE ledger_account SET {column} = COALESCE((SELECT i.{source} "
            "FROM ledger_interest_accrual i WHERE i.account_id = ledger_account.id "
            f"AND {year} = ledger_account.accrual_year - {offset}), 0) "
            "WHERE accrual_year IS NOT NULL"
        )
    op.drop_table("ledger_interest_accrual")


def downgrade() -> None:
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
    if op.get_bind().dialect.name == "sqlite":
        year_start = "date(j.value_date, '-6 months', 'start of year', '+6 months')"
        days = (
            f"CAST(julianday(date({year_start}, '+1 year', '-1 day')) "
            "- julianday(j.value_date) + 1 AS INTEGER)"
        )
    else:
        op.execute("ALTER TABLE ledger_interest_accrual SET (fillfactor = 50)")  # as 0010
        year_start = (
            "CAST(date_trunc('year', j.value_date - interval '6 months') "
            "+ interval '6 months' AS date)"
        )
        days = (
            f"(CAST({year_start} + interval '1 year' - interval '1 day' AS date) "
            "- j.value_date + 1)"
        )
    # every year of every depositor account, recomputed from the postings (as verify did)
    op.execute(
        "INSERT INTO ledger_interest_accrual (account_id, year_start, net, jishu) "
        f"SELECT p.account_id, {year_start}, SUM(p.amount), "
        f"SUM(CASE WHEN j.kind = 'interest_settlement' THEN 0 ELSE p.amount * {days} END) "
        "FROM ledger_posting p JOIN ledger_journal j ON j.id = p.journal_id "
        "JOIN ledger_account a ON a.id = p.account_id WHERE a.subsidiary_kind = 'depositor' "
        f"GROUP BY p.account_id, {year_start}"
    )
    # Native DROP COLUMN (SQLite >= 3.35), as 0004: a batch copy of ledger_account would have
    # to drop the table that postings reference, which SQLite's enforced foreign keys refuse.
    for name in ("accrual_year", *MONEY_COLUMNS):
        op.execute(f"ALTER TABLE ledger_account DROP COLUMN {name}")
