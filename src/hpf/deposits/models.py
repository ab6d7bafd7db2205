"""归集 tables: employers (缴存单位), depositors (缴存职工), employment spells, monthly remittance
lists (汇缴清册) and their lines, reminder notices (催缴通知) and monthly statistics.

Money is BIGINT fen; rates are NUMERIC(5,2) percent. Months are stored as their first day.
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
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id, Money

Rate = Numeric(5, 2)


class Employer(Base):
    """缴存单位 with its 单位账号 (DWZH) and contribution rates (DWJCBL / GRJCBL)."""

    __tablename__ = "deposit_employer"
    __table_args__ = (CheckConstraint("status IN ('01','02','03','04','05')", name="status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    employer_ref: Mapped[str] = mapped_column(String(20), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(2), default="02")
    employer_rate_pct: Mapped[Decimal] = mapped_column(Rate)
    employee_rate_pct: Mapped[Decimal] = mapped_column(Rate)
    pay_day: Mapped[int] = mapped_column(Integer, default=10)
    """Day of month wages are paid; remittance is due within the policy's deadline after it."""
    first_month: Mapped[date] = mapped_column(Date)
    """The first contribution month (一链办理: opening sets it)."""
    deferred_until: Mapped[date | None] = mapped_column(Date)
    """缓缴: months up to and including this one are not in arrears."""
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    employer_type: Mapped[str] = mapped_column(String(30), default="other", server_default="other")
    """单位性质: one of ``rules.EMPLOYER_TYPES`` (the annual report's categories, domain.md §8)."""


class Depositor(Base):
    """缴存职工 and his or her 个人账户 (GRZH), with the current base and status (GRZHZT)."""

    __tablename__ = "deposit_depositor"
    __table_args__ = (
        CheckConstraint("status IN ('01','02','03','04','05','06')", name="status"),
        Index("ix_deposit_depositor_employer_status", "employer_id", "status"),
        Index("ix_deposit_depositor_bank_card", "bank_card"),
        Index("ix_deposit_depositor_opened_on", "opened_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    depositor_ref: Mapped[str] = mapped_column(String(20), unique=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    phone: Mapped[str] = mapped_column(String(20), default="")
    bank_card: Mapped[str] = mapped_column(String(25), default="")
    status: Mapped[str] = mapped_column(String(2), default="01")
    employer_id: Mapped[int | None] = mapped_column(Id, ForeignKey("deposit_employer.id"))
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    base_fen: Mapped[int] = mapped_column(Money, default=0)
    opened_on: Mapped[date] = mapped_column(Date)
    frozen_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    first_contribution_month: Mapped[date | None] = mapped_column(Date)
    merged_into_id: Mapped[int | None] = mapped_column(Id, ForeignKey("deposit_depositor.id"))


class EmploymentSpell(Base):
    """One period of a depositor with one employer (joined → left)."""

    __tablename__ = "deposit_employment"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    depositor_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_depositor.id"), index=True)
    employer_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_employer.id"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class Remittance(Base):
    """汇缴清册 (or 补缴 list) of one employer for one month: drafted → confirmed → posted."""

    __tablename__ = "deposit_remittance"
    __table_args__ = (
        CheckConstraint("kind IN ('remittance','back_payment')", name="kind"),
        CheckConstraint("status IN ('draft','confirmed','posted','cancelled')", name="status"),
        Index("ix_deposit_remittance_month", "month", "status"),
        Index("ix_deposit_remittance_posted_on", "posted_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    employer_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_employer.id"), index=True)
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"))
    month: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20), default="remittance")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    source: Mapped[str] = mapped_column(String(20), default="drafted")
    lines: Mapped[int] = mapped_column(Integer, default=0)
    employer_total_fen: Mapped[int] = mapped_column(Money, default=0)
    employee_total_fen: Mapped[int] = mapped_column(Money, default=0)
    total_fen: Mapped[int] = mapped_column(Money, default=0)
    journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    open_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    """``<employer>:<month>`` while a regular list is not cancelled: one per employer-month."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    posted_on: Mapped[date | None] = mapped_column(Date)


class RemittanceLine(Base):
    """One depositor's line on a remittance list."""

    __tablename__ = "deposit_remittance_line"
    __table_args__ = (UniqueConstraint("remittance_id", "depositor_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_remittance.id"), index=True)
    depositor_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_depositor.id"), index=True)
    base_fen: Mapped[int] = mapped_column(Money)
    employer_fen: Mapped[int] = mapped_column(Money)
    employee_fen: Mapped[int] = mapped_column(Money)


class ReminderNotice(Base):
    """催缴通知: a generated notice to an employer in arrears, kept as history."""

    __tablename__ = "deposit_reminder"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    employer_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_employer.id"), index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    months: Mapped[str] = mapped_column(String(500))
    amount_fen: Mapped[int] = mapped_column(Money)
    document: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(50), default="")


class MonthlyDepositStats(Base):
    """Monthly summary by branch, maintained when remittances post (reports read this)."""

    __tablename__ = "deposit_monthly_stats"

    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    amount_fen: Mapped[int] = mapped_column(Money, default=0)
    paying_employers: Mapped[int] = mapped_column(BigInteger, default=0)
    paying_depositors: Mapped[int] = mapped_column(BigInteger, default=0)
    new_depositors: Mapped[int] = mapped_column(BigInteger, default=0)
