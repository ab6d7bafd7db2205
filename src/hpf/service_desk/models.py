"""热线工单 tables: one row per ticket (hotline call or web message), from intake to callback.

domain.md §9. A ticket is received (受理) with a reply deadline (``due_at``), classified and
assigned, possibly escalated (督办/升级), replied to (答复/办结) and called back (回访), which
records whether the person was reached and their rating (满意/基本满意/不满意).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id


class Ticket(Base):
    """One service ticket (服务工单): a call to 12329/12345 or a web message (网站留言)."""

    __tablename__ = "service_ticket"
    __table_args__ = (
        CheckConstraint("channel IN ('12329','12345','web')", name="channel"),
        CheckConstraint(
            "status IN ('open','assigned','escalated','replied','closed')", name="status"
        ),
        CheckConstraint(
            "rating IS NULL OR rating IN ('satisfied','basic','unsatisfied')", name="rating"
        ),
        CheckConstraint("source IN ('agent','import')", name="source"),
        Index("ix_service_ticket_received", "received_at", "channel"),
        Index("ix_service_ticket_callback", "callback_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(40), unique=True)
    """The ticket number: the hotline platform's for imported tickets, ``GD…`` for entered ones."""
    source: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    caller_name: Mapped[str] = mapped_column(String(50), default="")
    caller_phone: Mapped[str] = mapped_column(String(20), default="")
    topic: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(12))
    """consult 咨询 | help 求助 | suggestion 建议 | complaint 投诉 | report 举报 | praise 表扬."""
    branch_id: Mapped[int | None] = mapped_column(Id, ForeignKey("org_unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """The reply deadline (答复时限)."""
    assignee: Mapped[str] = mapped_column(String(100), default="")
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_reason: Mapped[str] = mapped_column(String(200), default="")
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_by: Mapped[str] = mapped_column(String(100), default="")
    callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    callback_reached: Mapped[bool | None] = mapped_column(Boolean)
    """Whether the callback reached the person (回访成功); NULL before any callback."""
    rating: Mapped[str | None] = mapped_column(String(12))
    callback_note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
