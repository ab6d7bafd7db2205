"""贷款 tables: loans (贷款申请与借款合同), parties (借款人/共同借款人), installments (还款计划),
repayments (还款记录), rate history (利率变动), bank debit batches (代扣批次) and collection work
items (催收记录). domain.md §6.

Money is BIGINT fen; rates are NUMERIC(6,3) percentages. A loan moves through ``status``:
refused (额度/资格不符) | in_review → approved (合同签订, 待发放) → active (已发放) → settled (结清);
rejected / withdrawn end a review.

An installment is ``scheduled`` until paid (``paid``); the daily overdue batch marks scheduled
installments past their due date ``overdue`` and keeps their days overdue and penalty interest
(罚息) current. The remaining schedule (installments not yet paid) is replaced whenever a
prepayment or a repricing re-derives it; paid rows are never touched.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
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
)
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id, Money

LoanRate = Numeric(6, 3)
"""Annual loan rate in % (3 decimals: 3.025, 2.775)."""

STATUSES = ("refused", "in_review", "approved", "active", "settled", "rejected", "withdrawn")
OUTSTANDING_STATUSES = ("approved", "active")
"""Loans that count as an HPF loan outstanding (the withdrawals seam, the one-loan rule)."""
INSTALLMENT_STATUSES = ("scheduled", "overdue", "paid")
RISK_GRADES = ("01", "02", "03", "04", "05")


class Loan(Base):
    """One loan (个人住房公积金贷款): the application, its limit check, the contract and its state.

    ``balance_fen`` is the principal outstanding (贷款余额 DKYE), kept in step with the ledger's
    ``121-<loan_ref>``; ``paid_n`` the last installment paid with every earlier one paid;
    ``level_fen`` the payment (等额本息) or principal part (等额本金) of the current schedule.
    """

    __tablename__ = "loan"
    __table_args__ = (
        CheckConstraint("status IN ('" + "','".join(STATUSES) + "')", name="status"),
        CheckConstraint("method IN ('annuity','linear')", name="method"),
        CheckConstraint("security_kind IN ('mortgage','guarantee')", name="security_kind"),
        CheckConstraint("balance_fen >= 0", name="balance_not_negative"),
        Index("ix_loan_status_branch", "status", "branch_id"),
        Index("ix_loan_disbursed_month", "disbursed_month", "branch_id"),
        Index("ix_loan_house_contract_ref", "house_contract_ref"),
        Index("ix_loan_approved_at", "approved_at"),
        Index("ix_loan_disbursed_on", "disbursed_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    loan_ref: Mapped[str] = mapped_column(String(20), unique=True)
    """贷款账号 DKZH (``DK`` + 10 digits)."""
    contract_ref: Mapped[str | None] = mapped_column(String(30), unique=True)
    """借款合同编号 JKHTBH, set when the contract is signed (approval)."""
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    depositor_id: Mapped[int] = mapped_column(Id, ForeignKey("deposit_depositor.id"), index=True)
    depositor_ref: Mapped[str] = mapped_column(String(20))
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    applied_on: Mapped[date] = mapped_column(Date)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the home (购房)
    house_contract_ref: Mapped[str] = mapped_column(String(60))
    price_fen: Mapped[int] = mapped_column(Money)
    area_m2: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    home_number: Mapped[int] = mapped_column(Integer)
    """1 = first home, 2 = second (as declared and verified at the counter)."""
    commercial_fen: Mapped[int] = mapped_column(Money, default=0)
    """组合贷款: the commercial bank's part (0 for a pure HPF loan)."""
    commercial_bank: Mapped[str] = mapped_column(String(60), default="")
    existing_monthly_debt_fen: Mapped[int] = mapped_column(Money, default=0)
    # the request and the limit check
    requested_fen: Mapped[int] = mapped_column(Money)
    limit_fen: Mapped[int] = mapped_column(Money, default=0)
    binding_constraint: Mapped[str] = mapped_column(String(30), default="")
    decision_zh: Mapped[str] = mapped_column(Text, default="")
    decision_en: Mapped[str] = mapped_column(Text, default="")
    # the terms
    term_months: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10))
    second_home: Mapped[bool] = mapped_column(Boolean)
    annual_rate_pct: Mapped[Decimal] = mapped_column(LoanRate)
    """The rate in force (the contract rate until a repricing)."""
    rate_effective: Mapped[date | None] = mapped_column(Date)
    """Effective date of the policy entry the current rate comes from."""
    security_kind: Mapped[str] = mapped_column(String(10))
    """mortgage 抵押 | guarantee 保证."""
    security_ref: Mapped[str] = mapped_column(String(60))
    """抵押登记证明号, or the guarantor (保证人/担保公司) and contract."""
    payee_name: Mapped[str] = mapped_column(String(60), default="")
    """Where the loan is paid (the seller's or developer's account)."""
    payee_account: Mapped[str] = mapped_column(String(30), default="")
    # workflow, contract and disbursement
    application_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("workflow_application.id"), unique=True
    )
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    principal_fen: Mapped[int] = mapped_column(Money, default=0)
    """发放额 DKFFE (0 until disbursed)."""
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    disbursed_month: Mapped[date | None] = mapped_column(Date)
    disburse_journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))
    first_due: Mapped[date | None] = mapped_column(Date)
    last_n: Mapped[int] = mapped_column(Integer, default=0)
    paid_n: Mapped[int] = mapped_column(Integer, default=0)
    level_fen: Mapped[int] = mapped_column(Money, default=0)
    balance_fen: Mapped[int] = mapped_column(Money, default=0)
    settled_on: Mapped[date | None] = mapped_column(Date)
    # the overdue batch's view (as of ``overdue_as_of``)
    overdue_as_of: Mapped[date | None] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    overdue_principal_fen: Mapped[int] = mapped_column(Money, default=0)
    overdue_interest_fen: Mapped[int] = mapped_column(Money, default=0)
    penalty_fen: Mapped[int] = mapped_column(Money, default=0)
    risk_grade: Mapped[str] = mapped_column(String(2), default="01")


class LoanParty(Base):
    """借款人 and 共同借款人 (e.g. the spouse) of a loan; the borrower is a row too."""

    __tablename__ = "loan_party"
    __table_args__ = (
        UniqueConstraint("loan_id", "id_number"),
        CheckConstraint("role IN ('borrower','co_borrower')", name="role"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    loan_id: Mapped[int] = mapped_column(Id, ForeignKey("loan.id"))
    role: Mapped[str] = mapped_column(String(12))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(50))
    relation: Mapped[str] = mapped_column(String(20), default="")
    """spouse 配偶, … (empty for the borrower)."""
    depositor_id: Mapped[int | None] = mapped_column(Id, ForeignKey("deposit_depositor.id"))


class Installment(Base):
    """One installment of the schedule (还款计划): what is due, what was paid, overdue state."""

    __tablename__ = "loan_installment"
    __table_args__ = (
        UniqueConstraint("loan_id", "n"),
        CheckConstraint("status IN ('scheduled','overdue','paid')", name="status"),
        Index("ix_loan_installment_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    loan_id: Mapped[int] = mapped_column(Id, ForeignKey("loan.id"))
    n: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal_fen: Mapped[int] = mapped_column(Money)
    interest_fen: Mapped[int] = mapped_column(Money)
    balance_after_fen: Mapped[int] = mapped_column(Money)
    """Scheduled principal outstanding after this installment."""
    rate_pct: Mapped[Decimal] = mapped_column(LoanRate)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    paid_principal_fen: Mapped[int] = mapped_column(Money, default=0)
    paid_interest_fen: Mapped[int] = mapped_column(Money, default=0)
    paid_penalty_fen: Mapped[int] = mapped_column(Money, default=0)
    paid_on: Mapped[date | None] = mapped_column(Date)
    days_overdue: Mapped[int] = mapped_column(Integer, default=0)
    penalty_fen: Mapped[int] = mapped_column(Money, default=0)
    """罚息 reckoned to the last overdue run (or to the payment)."""


class Repayment(Base):
    """还款记录: one installment paid, or a prepayment, with its journal."""

    __tablename__ = "loan_repayment"
    __table_args__ = (
        CheckConstraint("kind IN ('installment','prepayment','full_prepayment')", name="kind"),
        CheckConstraint("source IN ('bank','hpf_balance','counter')", name="source"),
        Index("ix_loan_repayment_month", "month", "branch_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    loan_id: Mapped[int] = mapped_column(Id, ForeignKey("loan.id"), index=True)
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"))
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(12))
    installment_n: Mapped[int | None] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date)
    principal_fen: Mapped[int] = mapped_column(Money, default=0)
    interest_fen: Mapped[int] = mapped_column(Money, default=0)
    penalty_fen: Mapped[int] = mapped_column(Money, default=0)
    amount_fen: Mapped[int] = mapped_column(Money)
    option: Mapped[str] = mapped_column(String(16), default="")
    """shorter_term / lower_payment for a partial prepayment."""
    payer_depositor_id: Mapped[int | None] = mapped_column(Id, ForeignKey("deposit_depositor.id"))
    journal_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_journal.id"))


class RateChange(Base):
    """利率变动: the loan's rate from ``applies_from`` on (the first row is the contract rate)."""

    __tablename__ = "loan_rate_change"
    __table_args__ = (UniqueConstraint("loan_id", "applies_from"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    loan_id: Mapped[int] = mapped_column(Id, ForeignKey("loan.id"))
    applies_from: Mapped[date] = mapped_column(Date)
    rate_pct: Mapped[Decimal] = mapped_column(LoanRate)
    policy_effective: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(12))
    """contract 合同利率 | repricing 利率调整."""
    level_fen: Mapped[int] = mapped_column(Money)
    """The level of the schedule from then on."""


class DebitBatch(Base):
    """代扣批次: the installments sent to the bank for collection from borrowers' cards."""

    __tablename__ = "loan_debit_batch"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lines: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(Money, default=0)
    created_by: Mapped[str] = mapped_column(String(100), default="")


class DebitLine(Base):
    """One installment in a debit batch, and the bank's result once imported."""

    __tablename__ = "loan_debit_line"
    __table_args__ = (
        UniqueConstraint("batch_id", "line_no"),
        CheckConstraint("result IS NULL OR result IN ('paid','failed')", name="result"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(Id, ForeignKey("loan_debit_batch.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    installment_id: Mapped[int] = mapped_column(Id, ForeignKey("loan_installment.id"), index=True)
    loan_id: Mapped[int] = mapped_column(Id, ForeignKey("loan.id"))
    principal_fen: Mapped[int] = mapped_column(Money)
    interest_fen: Mapped[int] = mapped_column(Money)
    penalty_fen: Mapped[int] = mapped_column(Money)
    amount_fen: Mapped[int] = mapped_column(Money)
    payer_name: Mapped[str] = mapped_column(String(50))
    payer_card: Mapped[str] = mapped_column(String(25))
    result: Mapped[str | None] = mapped_column(String(6))
    result_message: Mapped[str] = mapped_column(String(200), default="")
    result_on: Mapped[date | None] = mapped_column(Date)


class Collection(Base):
    """催收记录: one overdue episode of a loan on the collection work list.

    The overdue batch opens one when a loan falls overdue, keeps its figures current while it
    stays overdue and resolves it when nothing is overdue any more. ``open_key`` (the loan id)
    is set while open, so a loan has at most one open item.
    """

    __tablename__ = "loan_collection"
    __table_args__ = (
        CheckConstraint("status IN ('open','resolved')", name="status"),
        Index("ix_loan_collection_status", "status", "branch_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    loan_id: Mapped[int] = mapped_column(Id, ForeignKey("loan.id"), index=True)
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"))
    open_key: Mapped[int | None] = mapped_column(Id, unique=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_on: Mapped[date] = mapped_column(Date)
    as_of: Mapped[date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[str] = mapped_column(String(10))
    overdue_principal_fen: Mapped[int] = mapped_column(Money)
    overdue_interest_fen: Mapped[int] = mapped_column(Money)
    penalty_fen: Mapped[int] = mapped_column(Money)
    contacts: Mapped[int] = mapped_column(Integer, default=0)
    last_action: Mapped[str] = mapped_column(String(200), default="")
    last_action_on: Mapped[date | None] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
