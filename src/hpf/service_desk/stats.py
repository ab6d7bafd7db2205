"""Hotline indicators (热线考核指标): call reply rate and satisfaction, per period and channel.

domain.md §9, set-based SQL. Periods are China Standard Time days, both ends included.
- 来电答复率: calls (12329/12345 tickets) received in the period; answered on time = replied no
  later than the deadline. Calls still unanswered count in the denominator only.
- 满意率: callbacks made in the period that reached the person (回访成功); numerator those rated
  满意 or 基本满意. Callbacks that did not reach the person are reported but count nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from hpf.service_desk import rules
from hpf.service_desk.models import Ticket
from hpf.workflow.stats import day_bounds


@dataclass(frozen=True)
class TicketIndicators:
    start: date
    end: date
    tickets: int
    calls: int
    calls_replied: int
    calls_replied_on_time: int
    callbacks: int
    callbacks_reached: int
    satisfied: int
    basic: int
    unsatisfied: int

    @property
    def call_reply_rate(self) -> Decimal | None:
        return rules.call_reply_rate(self.calls_replied_on_time, self.calls)

    @property
    def satisfaction_rate(self) -> Decimal | None:
        return rules.satisfaction_rate(self.satisfied, self.basic, self.callbacks_reached)


def _n(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def indicators(
    session: Session, start: date, end: date, branch_id: int | None = None
) -> TicketIndicators:
    """The hotline indicators of ``start``..``end`` (China Standard Time days)."""
    lo, hi = day_bounds(start, end)
    is_call = Ticket.channel.in_(rules.CALL_CHANNELS)
    received = select(
        func.count(),
        _n(is_call),
        _n(and_(is_call, Ticket.replied_at.is_not(None))),
        _n(and_(is_call, Ticket.replied_at.is_not(None), Ticket.replied_at <= Ticket.due_at)),
    ).where(Ticket.received_at >= lo, Ticket.received_at < hi)
    called = select(
        func.count(),
        _n(Ticket.callback_reached.is_(True)),
        _n(and_(Ticket.callback_reached.is_(True), Ticket.rating == "satisfied")),
        _n(and_(Ticket.callback_reached.is_(True), Ticket.rating == "basic")),
        _n(and_(Ticket.callback_reached.is_(True), Ticket.rating == "unsatisfied")),
    ).where(Ticket.callback_at >= lo, Ticket.callback_at < hi)
    if branch_id is not None:
        received = received.where(Ticket.branch_id == branch_id)
        called = called.where(Ticket.branch_id == branch_id)
    tickets, calls, replied, on_time = session.execute(received).one()
    callbacks, reached, satisfied, basic, unsatisfied = session.execute(called).one()
    return TicketIndicators(
        start,
        end,
        int(tickets),
        int(calls),
        int(replied),
        int(on_time),
        int(callbacks),
        int(reached),
        int(satisfied),
        int(basic),
        int(unsatisfied),
    )


def by_channel(session: Session, start: date, end: date) -> dict[str, tuple[int, int]]:
    """channel → (tickets received, replied on time) in the period."""
    lo, hi = day_bounds(start, end)
    rows = session.execute(
        select(
            Ticket.channel,
            func.count(),
            _n(and_(Ticket.replied_at.is_not(None), Ticket.replied_at <= Ticket.due_at)),
        )
        .where(Ticket.received_at >= lo, Ticket.received_at < hi)
        .group_by(Ticket.channel)
    )
    return {ch: (int(n), int(ok)) for ch, n, ok in rows}
