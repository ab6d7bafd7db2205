"""Interest settlement records (结息记录): one row per interest year and branch."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id, Money


class InterestSettlement(Base):
    """年终结息: the journal that settled one branch's depositors for one interest year."""

    __tablename__ = "interest_settlement"
    __table_args__ = (UniqueConstraint("year", "branch_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    """The calendar year in which the interest year ends (2023: 2022-07-01 .. 2023-06-30)."""
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"))
    journal_id: Mapped[int] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    accounts: Mapped[int] = mapped_column(BigInteger)
    total_fen: Mapped[int] = mapped_column(Money)
    value_date: Mapped[date] = mapped_column(Date)
    settled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
