"""performance goals (绩效目标): goal tables, their indicators, manual actual values

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.text("(CURRENT_TIMESTAMP)")
TEXTS = (
    "duty",
    "duty_detail",
    "objective",
    "explanation",
    "target",
    "planned",
    "standard",
    "standard_source",
    "avg_3y",
    "last_year",
    "history_source",
    "activities",
)


def upgrade() -> None:
    op.create_table(
        "goal_table",
        sa.Column("id", ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_table")),
        sa.UniqueConstraint("year", "organisation", name=op.f("uq_goal_table_year_organisation")),
    )
    op.create_table(
        "goal_indicator",
        sa.Column("id", ID, nullable=False),
        sa.Column("table_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("duty_no", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False) for name in TEXTS),
        sa.Column("binding", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["goal_table.id"],
            name=op.f("fk_goal_indicator_table_id_goal_table"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_indicator")),
        sa.UniqueConstraint("table_id", "seq", name=op.f("uq_goal_indicator_table_id_seq")),
    )
    op.create_table(
        "goal_actual",
        sa.Column("id", ID, nullable=False),
        sa.Column("indicator_id", ID, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("value_text", sa.String(length=200), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["goal_indicator.id"],
            name=op.f("fk_goal_actual_indicator_id_goal_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_actual")),
    )
    op.create_index(op.f("ix_goal_actual_indicator_id"), "goal_actual", ["indicator_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_goal_actual_indicator_id"), table_name="goal_actual")
    op.drop_table("goal_actual")
    op.drop_table("goal_indicator")
    op.drop_table("goal_table")
