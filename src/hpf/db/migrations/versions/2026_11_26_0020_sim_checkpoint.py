"""sim_checkpoint: the simulated city's state after each month, so a long run can resume

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sim_checkpoint",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("scale", sa.String(length=20), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_sim_checkpoint")),
    )


def downgrade() -> None:
    op.drop_table("sim_checkpoint")
