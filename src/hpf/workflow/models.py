"""Workflow tables (业务流程): applications (申请件) and the steps taken on them (办理环节).

``workflow_application.in_progress_key`` is ``"{business_type}:{applicant_user_id}:{subject_ref}"``
(without the subject when the application names none) while the application is in progress and
NULL once it is finished, so the UNIQUE constraint on it lets the database itself enforce one
application of a type in progress per applicant and subject (domain.md §9): a person applying for
themselves has one at a time, a counter clerk applying for many people is not held to one.
``awaiting`` is the step the application waits for (denormalised from ``route`` and ``status``
so that inboxes are one indexed query).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id, Money


class Application(Base):
    """One application (申请件) of a business type by one applicant, and where it stands."""

    __tablename__ = "workflow_application"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted', 'accepted', 'reviewed', 'approved', 'completed', "
            "'returned', 'rejected', 'withdrawn')",
            name="status",
        ),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        Index("ix_workflow_application_awaiting_branch", "awaiting", "branch_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    business_type: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(12))
    awaiting: Mapped[str | None] = mapped_column(String(12))
    """accept / review / approve, ``applicant`` when returned, NULL when finished."""
    route: Mapped[str] = mapped_column(String(40))
    """The staff steps fixed at submission, comma-separated (e.g. ``accept,review``)."""
    applicant_user_id: Mapped[int] = mapped_column(Id, ForeignKey("user_account.id"), index=True)
    applicant_kind: Mapped[str] = mapped_column(String(20))
    subject_ref: Mapped[str | None] = mapped_column(String(40), index=True)
    """The depositor or employer account (个人账号/单位账号) the application concerns."""
    branch_id: Mapped[int] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    fully_online: Mapped[bool] = mapped_column(Boolean)
    """Received online and no step done at a counter (全程网办)."""
    amount_fen: Mapped[int] = mapped_column(Money, default=0)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    """The business data of the application, JSON text."""
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    """When it was completed (办结); NULL otherwise."""
    in_progress_key: Mapped[str | None] = mapped_column(String(80), unique=True)


class ApplicationStep(Base):
    """One action on an application (办理记录): which step, what was done, by whom, when."""

    __tablename__ = "workflow_step"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workflow_application.id"), index=True
    )
    step: Mapped[str] = mapped_column(String(12))
    """submit / accept / review / approve: the step the actor is bound to."""
    action: Mapped[str] = mapped_column(String(12))
    """submit / resubmit / withdraw / accept / review / approve / return / reject."""
    actor_user_id: Mapped[int] = mapped_column(Id, ForeignKey("user_account.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    at_counter: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(String(500), default="")
