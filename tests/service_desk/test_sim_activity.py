"""The simulated month of the service side (hpf.sim.service_activity), on both backends: its
tickets meet the satisfaction target and a 100 % reply rate, its e-audit run closes every item
on time, nothing major breaks, and the same seed gives the same rows on a fresh database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eaudit.conftest import AuditBooks
from factories import make_branch
from hpf.dates import month_end
from hpf.db.engine import unit_of_work
from hpf.eaudit import service as eaudit
from hpf.eaudit.models import SuspiciousItem
from hpf.identifiers import make_id_number
from hpf.ops import incidents
from hpf.org import service as org_service
from hpf.service_desk import stats
from hpf.service_desk.models import Ticket
from hpf.sim.service_activity import TICKETS_PER_YEAR, simulate_service_month

MAY = date(2023, 5, 1)
TARGET = Decimal("0.93")


def test_a_month_meets_the_targets(session: Session) -> None:
    books = AuditBooks(session, make_branch(session))
    good = make_id_number("371302", date(1990, 2, 3), 11, male=True)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    books.person(id_number=wrong, opened=date(2023, 5, 8))  # planted: id_check_digit finds it
    scale = 0.05
    simulate_service_month(
        session, month=MAY, scale=scale, rng=numpy.random.default_rng(7), satisfaction_target=TARGET
    )
    n = session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.ticket_no.like("%-202305-%"))
    )
    expected = TICKETS_PER_YEAR / 12 * scale
    assert abs(int(n or 0) - expected) < 5 * expected**0.5  # Poisson around the documented volume
    got = stats.indicators(session, MAY, month_end(MAY) + timedelta(days=12))
    assert got.tickets == n and got.calls > 0
    assert got.call_reply_rate == 1
    assert got.callbacks == n and 0.8 < got.callbacks_reached / got.callbacks < 0.96
    assert got.satisfaction_rate is not None
    assert abs(got.satisfaction_rate - TARGET) <= Decimal(1) / got.callbacks_reached
    found = session.scalars(select(SuspiciousItem).where(SuspiciousItem.month == MAY)).all()
    assert any(i.rule_code == "id_check_digit" for i in found)
    assert all(i.status == "closed" and i.closed_on <= i.due_on for i in found)
    indicator = eaudit.indicator(session, MAY, MAY, as_of=date(2023, 7, 31))
    assert (indicator.run_rate, indicator.on_time_rate) == (1, 1)
    assert incidents.stability(session, MAY, month_end(MAY)).major == 0


def test_tiny_scale_still_has_a_handful(session: Session) -> None:
    simulate_service_month(
        session,
        month=date(2023, 6, 1),
        scale=0.0001,
        rng=numpy.random.default_rng(1),
        satisfaction_target=Decimal("0.9"),
    )
    n = session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.ticket_no.like("%-202306-%"))
    )
    assert n is not None and n >= 5


def _rows(url: str) -> list[tuple[Any, ...]]:
    with unit_of_work(url) as session:
        org_service.seed_linyi(session)
        simulate_service_month(
            session,
            month=MAY,
            scale=0.01,
            rng=numpy.random.default_rng(2023),
            satisfaction_target=TARGET,
        )
    with unit_of_work(url) as session:
        columns = [c for c in Ticket.__table__.columns if c.name != "id"]
        return [tuple(r) for r in session.execute(select(*columns).order_by(Ticket.ticket_no))]


def test_same_seed_same_rows_on_fresh_databases(backend: str, databases: Any) -> None:
    first, second = _rows(databases.new_url(backend)), _rows(databases.new_url(backend))
    assert len(first) >= 5
    assert first == second
