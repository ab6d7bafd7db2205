"""partner-department API (合作部门接口): clients, their tokens, every call

The service-desk deadlines and e-audit thresholds moved to the policy file (``[[service]]``);
they need no table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ops_partner",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("status IN ('active','suspended')", name=op.f("ck_ops_partner_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_partner")),
        sa.UniqueConstraint("code", name=op.f("uq_ops_partner_code")),
    )
    op.create_table(
        "ops_partner_token",
        sa.Column("id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["ops_partner.id"],
            name=op.f("fk_ops_partner_token_partner_id_ops_partner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_partner_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ops_partner_token_token_hash")),
    )
    op.create_index(
        op.f("ix_ops_partner_token_partner_id"), "ops_partner_token", ["partner_id"], unique=False
    )
    op.create_table(
        "ops_partner_call",
        sa.Column("id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("token_id", ID, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("route", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "result IN ('found','not_found','invalid','denied','rate_limited')",
            name=op.f("ck_ops_partner_call_result"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["ops_partner.id"],
            name=op.f("fk_ops_partner_call_partner_id_ops_partner"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["ops_partner_token.id"],
            name=op.f("fk_ops_partner_call_token_id_ops_partner_token"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_partner_call")),
    )
    op.create_index("ix_ops_partner_call_partner_at", "ops_partner_call", ["partner_id", "at"])
    op.create_index("ix_ops_partner_call_at", "ops_partner_call", ["at"])


def downgrade() -> None:
    op.drop_index("ix_ops_partner_call_at", table_name="ops_partner_call")
    op.drop_index("ix_ops_partner_call_partner_at", table_name="ops_partner_call")
    op.drop_table("ops_partner_call")
    op.drop_index(op.f("ix_ops_partner_token_partner_id"), table_name="ops_partner_token")
    op.drop_table("ops_partner_token")
    op.drop_table("ops_partner")
