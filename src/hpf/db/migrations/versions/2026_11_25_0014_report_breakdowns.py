"""annual-report breakdown attributes: the employer type (单位性质) of every employer

The annual report (domain.md §8) breaks depositors down by employer type in the eight
categories of the national annual report (国家机关和事业单位 … 其他). Employers opened before
this revision did not record one: they get ``other`` (其他) until a clerk sets it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deposit_employer") as batch:
        batch.add_column(
            sa.Column("employer_type", sa.String(length=30), server_default="other", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("deposit_employer") as batch:
        batch.drop_column("employer_type")
