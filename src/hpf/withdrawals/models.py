"""提取 tables: withdrawals (提取申请), purchase contracts used (购房合同), bank payment batches
(支付批次) with their lines, and standing monthly withdrawals for a loan (约定提取还贷).

Money is BIGINT fen. A withdrawal moves through ``status``:
refused (自动审核不通过) | in_review → approved (记账: 201 → 21999) → in_batch → paid (21999 → 101)
or failed (冲销, the balance restored); rejected / withdrawn end a review.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id, Money

STATUSES = (
    "refused",
    "in_review",
    "approved",
    "in_batch",
    "paid",
    "failed",
    "rejected",
    "withdrawn",
)
COUNTING_STATUSES = ("in_review", "approved", "in_batch", "paid")
"""Withdrawals that count for frequency limits, yearly caps and contract use."""


class Withdrawal(Base):
    """One withdrawal application (提取申请) of a depositor, with its decision and payment."""

    __tablename__ = "withdrawal"
    __table_args__ = (
        CheckConstraint("status IN ('" + "','".join(STATUSES) + "')", name="status"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        Index("ix_withdrawal_depositor_type", "depositor_id", "type", "status"),
        Index("ix_withdrawal_paid_month", "paid_month", "branch_id"),
        Index("ix_withdrawal_payee_card", "payee_card"),
        Index("ix_withdrawal_applied_on", "applied_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    depositor_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_depositor.id"))
    depositor_ref: Mapped[str] = mapped_column(String(20))
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str] = mapped_column(String(2))
    """JGJ/T 320 A.7 提取原因."""
    closes_account: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(20))
    fully_online: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(12), index=True)
    applied_on: Mapped[date] = mapped_column(Date)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_fen: Mapped[int | None] = mapped_column(Money)
    amount_fen: Mapped[int] = mapped_column(Money, default=0)
    """Approved amount; for a closing withdrawal the balance including closure interest."""
    interest_fen: Mapped[int] = mapped_column(Money, default=0)
    """Closure interest (销户结息) credited before a closing withdrawal."""
    contract_ref: Mapped[str | None] = mapped_column(String(60), index=True)
    loan_ref: Mapped[str | None] = mapped_column(String(40))
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    """The request as checked (JSON): dates, costs, documents, spouse, heir."""
    decision_zh: Mapped[str] = mapped_column(Text, default="")
    decision_en: Mapped[str] = mapped_column(Text, default="")
    payee_name: Mapped[str] = mapped_column(String(50))
    payee_card: Mapped[str] = mapped_column(String(25))
    application_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("workflow_application.id"), unique=True
    )
    journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    """Debit of the depositor, credit 21999 (on approval)."""
    interest_journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    paid_journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    batch_id: Mapped[int | None] = mapped_column(Id, ForeignKey("withdrawal_batch.id"), index=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_on: Mapped[date | None] = mapped_column(Date)
    paid_month: Mapped[date | None] = mapped_column(Date)
    """First day of the month of payment (statistics)."""
    processing_days: Mapped[int | None] = mapped_column(Integer)
    """Days from application to payment."""
    failure: Mapped[str] = mapped_column(String(200), default="")


class ContractUse(Base):
    """A purchase contract (购房合同) once used for a withdrawal: the price declared, a lock row.

    Every purchase withdrawal on the contract, by anyone, locks this row before it posts, so the
    sum withdrawn against the contract can never pass its price.
    """

    __tablename__ = "withdrawal_contract"

    contract_ref: Mapped[str] = mapped_column(String(60), primary_key=True)
    price_fen: Mapped[int] = mapped_column(Money)
    first_withdrawal_id: Mapped[int] = mapped_column(Id)


class PaymentBatch(Base):
    """支付批次: the withdrawals sent to the bank in one file."""

    __tablename__ = "withdrawal_batch"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lines: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(Money, default=0)
    created_by: Mapped[str] = mapped_column(String(100), default="")


class PaymentLine(Base):
    """One payment in a batch, and the bank's result for it once imported."""

    __tablename__ = "withdrawal_batch_line"
    __table_args__ = (
        UniqueConstraint("batch_id", "line_no"),
        CheckConstraint("result IS NULL OR result IN ('paid','failed')", name="result"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(Id, ForeignKey("withdrawal_batch.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    withdrawal_id: Mapped[int] = mapped_column(Id, ForeignKey("withdrawal.id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(Money)
    payee_name: Mapped[str] = mapped_column(String(50))
    payee_card: Mapped[str] = mapped_column(String(25))
    result: Mapped[str | None] = mapped_column(String(6))
    result_message: Mapped[str] = mapped_column(String(200), default="")
    result_on: Mapped[date | None] = mapped_column(Date)


class StandingOrder(Base):
    """约定提取还贷: a monthly withdrawal from the account towards a loan of the person or spouse."""

    __tablename__ = "withdrawal_standing_order"
    __table_args__ = (
        CheckConstraint("status IN ('active','cancelled')", name="status"),
        CheckConstraint("monthly_fen > 0", name="monthly_positive"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    depositor_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_depositor.id"), index=True)
    loan_ref: Mapped[str] = mapped_column(String(40))
    spouse_id: Mapped[str | None] = mapped_column(String(18))
    monthly_fen: Mapped[int] = mapped_column(Money)
    starts_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100), default="")
