"""Workflow statistics (业务统计): counts by status and channel, online handling rate (网办率).

domain.md §9: 网办率 = applications handled entirely online / all applications. "Handled" means
completed (办结) in the period; days are China Standard Time days. Set-based SQL only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from hpf.errors import InvalidInput
from hpf.workflow import rules
from hpf.workflow.models import Application

BUSINESS_TZ = timezone(timedelta(hours=8), "CST")
"""Business days (for statistics) are China Standard Time days."""


def online_rate(
    session: Session, start: date, end: date, branch_id: int | None = None
) -> tuple[int, int]:
    """(handled entirely online, all handled): applications completed (办结) from ``start`` to
    ``end`` inclusive (China Standard Time days). 网办率 = online / total.
    """
    lo, hi = day_bounds(start, end)
    stmt = select(
        func.count(),
        func.coalesce(func.sum(case((Application.fully_online, 1), else_=0)), 0),
    ).where(
        Application.status == rules.COMPLETED,
        Application.completed_at >= lo,
        Application.completed_at < hi,
    )
    if branch_id is not None:
        stmt = stmt.where(Application.branch_id == branch_id)
    total, online = session.execute(stmt).one()
    return int(online), int(total)


def counts(
    session: Session, start: date, end: date, branch_id: int | None = None
) -> dict[tuple[str, str], int]:
    """Applications submitted from ``start`` to ``end`` inclusive, by (status, channel)."""
    lo, hi = day_bounds(start, end)
    stmt = (
        select(Application.status, Application.channel, func.count())
        .where(and_(Application.created_at >= lo, Application.created_at < hi))
        .group_by(Application.status, Application.channel)
    )
    if branch_id is not None:
        stmt = stmt.where(Application.branch_id == branch_id)
    return {(status, ch): int(n) for status, ch, n in session.execute(stmt)}


def online_rate_by_month_and_type(
    session: Session, first_month: date, last_month: date, branch_id: int | None = None
) -> dict[tuple[date, str], tuple[int, int]]:
    """(month, business type) → (handled entirely online, all handled), for every month from
    ``first_month`` to ``last_month`` (China Standard Time). 网办率 = online / total (§9).

    One grouped query per month; months and types with nothing completed are absent.
    """
    first = first_month.replace(day=1)
    if last_month < first:
        raise InvalidInput("结束月份早于开始月份", "the last month is before the first")
    out: dict[tuple[date, str], tuple[int, int]] = {}
    month = first
    while month <= last_month:
        following = (month + timedelta(days=32)).replace(day=1)
        lo, hi = day_bounds(month, following - timedelta(days=1))
        stmt = (
            select(
                Application.business_type,
                func.count(),
                func.coalesce(func.sum(case((Application.fully_online, 1), else_=0)), 0),
            )
            .where(
                Application.status == rules.COMPLETED,
                Application.completed_at >= lo,
                Application.completed_at < hi,
            )
            .group_by(Application.business_type)
        )
        if branch_id is not None:
            stmt = stmt.where(Application.branch_id == branch_id)
        for btype, total, online in session.execute(stmt):
            out[(month, str(btype))] = (int(online), int(total))
        month = following
    return out


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC moments bounding China Standard Time days ``start``..``end`` (end exclusive)."""
    if end < start:
        raise InvalidInput("结束日期早于开始日期", "the end date is before the start date")
    lo = datetime.combine(start, time(), BUSINESS_TZ).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(), BUSINESS_TZ).astimezone(UTC)
    return lo, hi
