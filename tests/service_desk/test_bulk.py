"""Platform tickets recorded in bulk (both backends): the same checks as the use cases, one
INSERT, one audit record, the deadline from the policy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.audit import utc
from hpf.auth.models import AuditRecord
from hpf.auth.principal import system_principal
from hpf.errors import InvalidInput
from hpf.policy.loader import load_shipped_policy
from hpf.service_desk.bulk import PlatformTicket, record_platform_tickets
from hpf.service_desk.models import Ticket
from hpf.workflow.stats import BUSINESS_TZ

T = datetime(2023, 5, 2, 9, 0, tzinfo=BUSINESS_TZ)
POLICY = load_shipped_policy()


def ticket(no: str, **kw: object) -> PlatformTicket:
    base: dict[str, object] = {
        "ticket_no": no,
        "channel": "12329",
        "category": "help",
        "topic": "求助",
        "received_at": T,
    }
    return PlatformTicket(**{**base, **kw})  # type: ignore[arg-type]


def record(session: Session, *tickets: PlatformTicket) -> int:
    return record_platform_tickets(
        session, tickets, system_principal("bulk"), policy=POLICY, batch="b1", now=T
    )


def test_statuses_deadlines_and_one_audit_record(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(AuditRecord))
    n = record(
        session,
        ticket("B-1"),
        ticket("B-2", assignee="客服01", assigned_at=T),
        ticket("B-3", replied_at=T + timedelta(hours=2), reply="已答复"),
        ticket(
            "B-4",
            replied_at=T + timedelta(hours=2),
            callback_at=T + timedelta(days=1),
            callback_reached=True,
            rating="basic",
        ),
        ticket(
            "B-5",
            replied_at=T + timedelta(hours=2),
            callback_at=T + timedelta(days=1),
            callback_reached=False,
        ),
    )
    assert n == 5
    rows = {
        t.ticket_no: t for t in session.scalars(select(Ticket).where(Ticket.ticket_no.like("B-%")))
    }
    assert [rows[f"B-{k}"].status for k in range(1, 6)] == [
        "open",
        "assigned",
        "replied",
        "closed",
        "replied",
    ]
    assert utc(rows["B-1"].due_at) == T + timedelta(days=3)  # 求助: 3 days (shipped policy)
    assert session.scalar(select(func.count()).select_from(AuditRecord)) == (before or 0) + 1


@pytest.mark.parametrize(
    "bad",
    [
        ticket("X-1", channel="fax"),
        ticket("X-2", category="gossip"),
        ticket("X-3", replied_at=T - timedelta(minutes=1)),
        ticket("X-4", callback_at=T, callback_reached=True, rating="satisfied"),
        ticket("X-5", replied_at=T, callback_at=T, callback_reached=True),
        ticket("X-6", replied_at=T, callback_at=T, callback_reached=False, rating="basic"),
        ticket("X-7", rating="basic"),
    ],
)
def test_bad_tickets_reject_the_batch(session: Session, bad: PlatformTicket) -> None:
    with pytest.raises(InvalidInput):
        record(session, ticket("OK-1"), bad)
    assert session.scalar(select(Ticket.id).where(Ticket.ticket_no == "OK-1")) is None


def test_duplicate_numbers_are_refused(session: Session) -> None:
    with pytest.raises(InvalidInput):
        record(session, ticket("D-1"), ticket("D-1"))
    record(session, ticket("D-2"))
    with pytest.raises(InvalidInput):
        record(session, ticket("D-2"))
