"""Fund accounting tables (财务核算): value-added income distributions and fund placements.

The closed-period table lives with the ledger (``hpf.ledger.periods``, which enforces it) and
is imported here so that registering this module registers it too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id, Money
from hpf.ledger.periods import ClosedPeriod

__all__ = ["ClosedPeriod", "Distribution", "Placement"]


class Distribution(Base):
    """增值收益分配: one year's value-added income and how it was distributed (domain.md §7).

    ``carry_journal_id`` carries the year's income and expenses to 311 增值收益;
    ``journal_id`` credits 301 / 21902 / 21402 from 321 增值收益分配; ``close_journal_id``
    closes 321 into 311.
    """

    __tablename__ = "finance_distribution"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    income_fen: Mapped[int] = mapped_column(Money)
    expenses_fen: Mapped[int] = mapped_column(Money)
    value_added_fen: Mapped[int] = mapped_column(Money)
    reserve_fen: Mapped[int] = mapped_column(Money)
    management_fen: Mapped[int] = mapped_column(Money)
    supplement_fen: Mapped[int] = mapped_column(Money)
    management_budget_fen: Mapped[int] = mapped_column(Money)
    loan_balance_fen: Mapped[int] = mapped_column(Money)
    reserve_before_fen: Mapped[int] = mapped_column(Money)
    posted_on: Mapped[date] = mapped_column(Date)
    carry_journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    close_journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Placement(Base):
    """资金运用: a fixed-term bank deposit (定期存款) or a national-debt holding (国家债券)."""

    __tablename__ = "finance_placement"
    __table_args__ = (
        CheckConstraint("kind IN ('fixed_deposit', 'national_debt')", name="kind"),
        CheckConstraint("status IN ('open', 'matured')", name="status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(15))
    counterparty: Mapped[str] = mapped_column(String(60))
    principal_fen: Mapped[int] = mapped_column(Money)
    annual_rate_pct: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    placed_on: Mapped[date] = mapped_column(Date)
    matures_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    interest_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"))
    journal_id: Mapped[int] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    maturity_journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    matured_on: Mapped[date | None] = mapped_column(Date)
