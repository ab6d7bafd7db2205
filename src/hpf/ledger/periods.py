"""Accounting periods and their close (期末结账): a closed period takes no new postings.

domain.md §7. A period is a calendar month (``2023-06``) or a calendar year (``2023``). Closing
is a watermark: closing a period locks every posting date up to its last day, so the books
before it are final. A posting (or a reversal) whose **posting date** falls on or before the
watermark is refused with :class:`PeriodClosed`; corrections are posted, dated in the open
period, as new or reversing journals (a reversal keeps the original's value date, but its
posting date is today's). A replay of a journal already posted is still answered (idempotency
comes first): it writes nothing.

The business steps of a year-end close (carrying income and expenses to 增值收益 and
distributing it) belong to ``hpf.finance``; this module only records and enforces the lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, DateTime, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hpf.dates import month_end
from hpf.db.base import Base, Id
from hpf.errors import InvalidInput
from hpf.ledger.rules import LedgerError

_PERIOD_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?\s*$")


class PeriodClosed(LedgerError):
    """The posting date falls in a closed accounting period (会计期间已结账)."""

    code = "period_closed"


class ClosedPeriod(Base):
    """A closed accounting period (已结账期间): a month or a year, closed once, never reopened."""

    __tablename__ = "ledger_closed_period"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), unique=True)
    kind: Mapped[str] = mapped_column(String(5))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date, index=True)
    closed_by: Mapped[str] = mapped_column(String(100), default="")
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


@dataclass(frozen=True)
class Period:
    """A calendar month or year: its label (``2023-06`` / ``2023``), kind and first/last day."""

    label: str
    kind: str
    start: date
    end: date

    @property
    def year(self) -> int:
        return self.start.year


def parse_period(text: str) -> Period:
    """``2023`` → the year 2023; ``2023-06`` → June 2023; anything else is InvalidInput."""
    match = _PERIOD_RE.match(text or "")
    month = int(match.group(2)) if match and match.group(2) else None
    if (
        not match
        or not 1900 <= int(match.group(1)) <= 9999
        or (month is not None and not 1 <= month <= 12)
    ):
        raise InvalidInput(
            f"会计期间应写成 YYYY 或 YYYY-MM：{text!r}",
            f"an accounting period is YYYY or YYYY-MM: {text!r}",
        )
    year = int(match.group(1))
    if month is None:
        return Period(f"{year:04d}", "year", date(year, 1, 1), date(year, 12, 31))
    start = date(year, month, 1)
    return Period(f"{year:04d}-{month:02d}", "month", start, month_end(start))


def period_of(day: date, kind: str = "month") -> Period:
    """The month (or year) containing ``day``."""
    return parse_period(f"{day.year:04d}" if kind == "year" else f"{day:%Y-%m}")


def closed_through(session: Session) -> date | None:
    """The last day of the latest closed period (the watermark), or None if nothing is closed."""
    value = session.scalar(select(func.max(ClosedPeriod.end_date)))
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def is_closed(session: Session, period: str | Period | date) -> bool:
    """True when every day of ``period`` (a label, a Period or a single day) is locked."""
    if isinstance(period, date):
        end = period
    else:
        end = (parse_period(period) if isinstance(period, str) else period).end
    watermark = closed_through(session)
    return watermark is not None and end <= watermark


def require_open(session: Session, posting_date: date) -> None:
    """Refuse a posting dated in a closed period (PeriodClosed, naming the period)."""
    watermark = closed_through(session)
    if watermark is None or posting_date > watermark:
        return
    row = session.scalar(
        select(ClosedPeriod)
        .where(ClosedPeriod.start_date <= posting_date, ClosedPeriod.end_date >= posting_date)
        .order_by(ClosedPeriod.end_date.desc())
        .limit(1)
    )
    label = row.period if row is not None else period_of(posting_date).label
    opens = watermark.toordinal() + 1
    first_open = date.fromordinal(opens)
    raise PeriodClosed(
        f"会计期间 {label} 已结账，不能记入记账日期为 {posting_date} 的凭证；"
        f"更正请记入未结账期间（{first_open} 起）",
        f"accounting period {label} is closed: no posting dated {posting_date}; "
        f"post the correction in the open period (from {first_open})",
    )


def close_period(session: Session, period: str | Period, *, closed_by: str = "") -> ClosedPeriod:
    """Close ``period`` (期末结账): postings dated up to its last day are refused from now on.

    A period already closed (itself or by a later close) is refused; closing a year also
    closes its December. Nothing is committed here.
    """
    target = parse_period(period) if isinstance(period, str) else period
    existing = session.scalar(select(ClosedPeriod).where(ClosedPeriod.period == target.label))
    if existing is not None or is_closed(session, target):
        raise PeriodClosed(
            f"会计期间 {target.label} 已结账", f"accounting period {target.label} is already closed"
        )
    rows = []
    if target.kind == "year":
        december = parse_period(f"{target.year:04d}-12")
        if (
            session.scalar(select(ClosedPeriod).where(ClosedPeriod.period == december.label))
            is None
        ):
            rows.append(december)
    rows.append(target)
    closed = None
    for p in rows:
        closed = ClosedPeriod(
            period=p.label, kind=p.kind, start_date=p.start, end_date=p.end, closed_by=closed_by
        )
        session.add(closed)
    session.flush()
    assert closed is not None
    return closed


def closed_periods(session: Session) -> list[ClosedPeriod]:
    """Every closed period, latest first."""
    return list(
        session.scalars(
            select(ClosedPeriod).order_by(ClosedPeriod.end_date.desc(), ClosedPeriod.kind)
        )
    )
