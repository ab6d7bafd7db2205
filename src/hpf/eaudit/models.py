"""电子稽核 tables: one row per monthly run of a rule, one per suspicious item (疑点) it found.

domain.md §9 (建办金函〔2019〕297号). ``eaudit_item`` is unique per (month, rule, object), so
running a month again adds only what is new. An item moves open → assigned → explained (情况说明)
or rectified (整改) → closed (with evidence), each before ``due_on`` to count as on time.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
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

from hpf.db.base import Base, Id

ITEM_STATUSES = ("open", "assigned", "explained", "rectified", "closed")


class AuditRun(Base):
    """One run of one rule over one month (稽核运行)."""

    __tablename__ = "eaudit_run"
    __table_args__ = (UniqueConstraint("month", "rule_code"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    """The month audited (its first day)."""
    rule_code: Mapped[str] = mapped_column(String(40))
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ran_on: Mapped[date] = mapped_column(Date)
    """The business date of the (last) run."""
    found: Mapped[int] = mapped_column(Integer, default=0)
    """Items the last run found (new or already recorded)."""
    runs: Mapped[int] = mapped_column(Integer, default=1)


class SuspiciousItem(Base):
    """疑点: one finding of a rule, with its evidence and how it was dealt with."""

    __tablename__ = "eaudit_item"
    __table_args__ = (
        UniqueConstraint("month", "rule_code", "object_ref"),
        CheckConstraint("status IN ('" + "','".join(ITEM_STATUSES) + "')", name="status"),
        Index("ix_eaudit_item_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    rule_code: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(30))
    object_ref: Mapped[str] = mapped_column(String(80))
    """What the item is about: a depositor, withdrawal, loan, employer… (its business number)."""
    branch_id: Mapped[int | None] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    summary: Mapped[str] = mapped_column(String(300))
    evidence: Mapped[str] = mapped_column(Text)
    """The facts that triggered the rule, JSON text."""
    status: Mapped[str] = mapped_column(String(10), default="open")
    found_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    assignee: Mapped[str] = mapped_column(String(100), default="")
    assigned_on: Mapped[date | None] = mapped_column(Date)
    response: Mapped[str] = mapped_column(Text, default="")
    """The explanation (情况说明) or the rectification done (整改情况)."""
    responded_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_evidence: Mapped[str] = mapped_column(Text, default="")
    closed_by: Mapped[str] = mapped_column(String(100), default="")
