"""Performance-goal tables (绩效目标表): the imported table, its indicators, manual actuals.

Only the cells as written are stored; kinds and normalized values are re-read from them by
:mod:`hpf.goals.values`, so the stored table always matches the file it came from.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from hpf.db.base import Base, Id


class GoalTableRecord(Base):
    """绩效目标表: one organisation's goals for one year."""

    __tablename__ = "goal_table"
    __table_args__ = (UniqueConstraint("year", "organisation"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    organisation: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    source_name: Mapped[str] = mapped_column(String(255), default="")
    imported_by: Mapped[str] = mapped_column(String(100), default="")
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class GoalIndicator(Base):
    """绩效指标: one row of the table, its cells as written; ``binding`` set by hand overrides
    the binding recognised from the name (``manual`` = actual values are entered by hand)."""

    __tablename__ = "goal_indicator"
    __table_args__ = (UniqueConstraint("table_id", "seq"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    table_id: Mapped[int] = mapped_column(Id, ForeignKey("goal_table.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    line: Mapped[int] = mapped_column(Integer)
    duty_no: Mapped[str] = mapped_column(String(20))
    duty: Mapped[str] = mapped_column(Text)
    duty_detail: Mapped[str] = mapped_column(Text)
    objective: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    explanation: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    planned: Mapped[str] = mapped_column(Text)
    standard: Mapped[str] = mapped_column(Text)
    standard_source: Mapped[str] = mapped_column(Text)
    avg_3y: Mapped[str] = mapped_column(Text)
    last_year: Mapped[str] = mapped_column(Text)
    history_source: Mapped[str] = mapped_column(Text)
    activities: Mapped[str] = mapped_column(Text)
    binding: Mapped[str | None] = mapped_column(String(40))


class GoalActual(Base):
    """实际完成值 entered by hand, with its evidence (佐证材料), for an indicator without a
    data source; the latest one as of a day counts."""

    __tablename__ = "goal_actual"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        Id, ForeignKey("goal_indicator.id", ondelete="CASCADE"), index=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    value_text: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100), default="")
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
