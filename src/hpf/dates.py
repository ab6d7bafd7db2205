"""Dates: month arithmetic with end-of-month clamping, the interest and contribution years.

The interest year (结息年度) and the contribution year (缴存年度) both run July 1 – June 30.
Business dates always come from the caller; nothing here reads the clock.
"""

from __future__ import annotations

import calendar
from datetime import date

from hpf.errors import InvalidInput


def month_end(d: date) -> date:
    """The last day of ``d``'s month."""
    return date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])


def add_months(d: date, months: int, day: int | None = None) -> date:
    """``d`` moved by ``months`` months, on ``day`` (default ``d.day``) clamped to the month's end.

    ``add_months(date(2023, 1, 31), 1)`` is 2023-02-28; passing ``day=31`` keeps later months on
    their last day instead of drifting (schedules pass the first due date's day).
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    if year < 1 or year > 9999:
        raise InvalidInput("日期超出范围", "date out of range")
    wanted = d.day if day is None else day
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(wanted, last))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start``'s month to ``end``'s month (end month minus start month)."""
    return (end.year - start.year) * 12 + (end.month - start.month)


def days_inclusive(start: date, end: date) -> int:
    """Number of days from ``start`` to ``end``, both included (0 when end < start)."""
    return max(0, (end - start).days + 1)


def interest_year(d: date) -> tuple[date, date]:
    """The interest year (July 1 – June 30) containing ``d``."""
    start_year = d.year if d.month >= 7 else d.year - 1
    return date(start_year, 7, 1), date(start_year + 1, 6, 30)


def contribution_year(d: date) -> tuple[date, date]:
    """The contribution year (July 1 – June 30) containing ``d``; the base resets on July 1."""
    return interest_year(d)


def parse_date(text: str) -> date:
    """Parse an ISO date ``YYYY-MM-DD`` (also ``YYYYMMDD``), refusing anything else."""
    raw = (text or "").strip()
    try:
        if len(raw) == 8 and raw.isdigit():
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"无效日期：{text!r}（应为 YYYY-MM-DD）", f"invalid date: {text!r} (want YYYY-MM-DD)"
        ) from None
