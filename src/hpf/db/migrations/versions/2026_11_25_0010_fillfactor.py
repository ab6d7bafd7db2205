"""fillfactor (PostgreSQL) for the tables month-end rewrites row by row, so updates stay HOT

Month-end posting updates the running balance of every depositor account and its 积数 row in
one transaction. A HOT update (new tuple version on the same page, no index entries) needs free
room on the page for one new version of every row updated there; within one transaction the old
versions cannot be pruned, so a table whose every row is updated at once needs fillfactor ≤ 50.
Measured at 100,000 accounts: fillfactor 70 made 45 % of the balance updates HOT, 50 made all of
them HOT (and the next month's too, the committed old versions being pruned in between), and the
balance update 5–8× faster. ``deposit_depositor`` is updated once per depositor (first
contribution) and on edits, not every month: 70 is room enough for that.

On an existing database the setting applies to pages written from now on; ``VACUUM FULL`` of
these tables (outside a migration, it takes an exclusive lock) applies it at once. Nothing to do
on SQLite (no such setting; it updates in place).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTOR = {
    "ledger_account": 50,
    "ledger_interest_accrual": 50,
    "deposit_depositor": 70,
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, fillfactor in FILLFACTOR.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in FILLFACTOR:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
