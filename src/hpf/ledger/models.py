"""Ledger tables (总账与明细账): accounts, journals (记账凭证), postings (分录), the hash-chain head.

Balances are stored debit-positive: an account's ``balance`` is Σ of its postings' signed amounts
(debit +, credit −). A control account (统驭账户) takes no postings itself; its balance is the sum
of its children's, kept in step by the posting service. Journals and postings are immutable:
database triggers refuse UPDATE and DELETE; corrections are reversal journals.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id, Money

CATEGORIES = ("asset", "liability", "reserve", "income", "expense")
SUBSIDIARY_KINDS = ("depositor", "employer", "loan")


class Account(Base):
    """A ledger account: a chart-of-accounts entry (会计科目) or a subsidiary account (明细账户)."""

    __tablename__ = "ledger_account"
    __table_args__ = (
        CheckConstraint("normal_side IN ('D', 'C')", name="normal_side"),
        CheckConstraint(
            "category IN ('asset', 'liability', 'reserve', 'income', 'expense')", name="category"
        ),
        Index("ix_ledger_account_subsidiary", "subsidiary_kind", "subsidiary_ref"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    chart_code: Mapped[str] = mapped_column(String(10), index=True)
    category: Mapped[str] = mapped_column(String(10))
    normal_side: Mapped[str] = mapped_column(String(1))
    parent_id: Mapped[int | None] = mapped_column(Id, ForeignKey("ledger_account.id"), index=True)
    is_control: Mapped[bool] = mapped_column(Boolean, default=False)
    subsidiary_kind: Mapped[str | None] = mapped_column(String(20))
    subsidiary_ref: Mapped[str | None] = mapped_column(String(40))
    branch_id: Mapped[int | None] = mapped_column(Id, ForeignKey("org_unit.id"))
    """None for center-wide chart accounts; subsidiary accounts belong to a branch."""
    balance: Mapped[int] = mapped_column(Money, default=0)
    opened_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    """Set when the account is closed (销户); a closed account takes no postings."""
    # 积数台账 of an interest-bearing account (``hpf.ledger.accrual``), kept by every posting in
    # the same UPDATE as the balance. The latest interest year (numbered by the year of its June
    # 30) with postings: the net amount value-dated in it and Σ amount × (days from the value
    # date to June 30, inclusive); the same two figures for the year before it. A settlement of
    # year Y is one pass: jishu = (balance − Σ net of Y and later) × days in Y + jishu of Y.
    # Debit-positive like balances.
    accrual_year: Mapped[int | None] = mapped_column(Integer)
    accrual_net: Mapped[int] = mapped_column(Money, default=0, server_default="0")
    accrual_jishu: Mapped[int] = mapped_column(Money, default=0, server_default="0")
    prior_net: Mapped[int] = mapped_column(Money, default=0, server_default="0")
    prior_jishu: Mapped[int] = mapped_column(Money, default=0, server_default="0")


class ChainHead(Base):
    """The single row holding the last journal number and hash; locked by every posting."""

    __tablename__ = "ledger_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class Journal(Base):
    """A journal (记账凭证): two or more postings that balance, booked to a branch.

    ``id`` is the gap-free chain sequence number assigned under the chain-head lock.
    """

    __tablename__ = "ledger_journal"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    memo: Mapped[str] = mapped_column(String(200), default="")
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    posting_date: Mapped[date] = mapped_column(Date, index=True)
    value_date: Mapped[date] = mapped_column(Date)
    reverses_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("ledger_journal.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Posting(Base):
    """One leg of a journal (分录): a signed amount in fen on one account (debit +, credit −)."""

    __tablename__ = "ledger_posting"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="nonzero"),
        Index("ix_ledger_posting_account_journal", "account_id", "journal_id"),
    )

    # References: foreign keys on SQLite; on PostgreSQL one set-based check per INSERT
    # statement instead of one look-up per row, and ledger accounts are never deleted
    # (migration 0016).
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    journal_id: Mapped[int] = mapped_column(Id, ForeignKey("ledger_journal.id"), index=True)
    account_id: Mapped[int] = mapped_column(Id, ForeignKey("ledger_account.id"))
    amount: Mapped[int] = mapped_column(Money)
