"""Ticket reply deadlines come from the policy file: a changed value changes the deadline and
so whether a reply counts as on time (both backends)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from hpf.auth.audit import utc
from hpf.auth.principal import system_principal
from hpf.policy import loader
from hpf.policy.loader import load_shipped_policy, parse_policy
from hpf.service_desk import service, stats
from hpf.service_desk.service import TicketInput
from hpf.workflow.stats import BUSINESS_TZ

AGENT = system_principal("agent")
SHIPPED = (Path(loader.__file__).parent / "linyi.toml").read_text("utf-8")


def test_reply_days_from_the_policy(session: Session) -> None:
    received = datetime(2023, 5, 2, 9, 0, tzinfo=BUSINESS_TZ)
    slower = parse_policy(SHIPPED.replace("\nconsult = 1\n", "\nconsult = 2\n"))
    assert slower.service_on(received.date()).ticket_reply_days.consult == 2
    rows = [
        service.add_ticket(
            session,
            TicketInput(
                channel="12329",
                topic="提取咨询",
                category="consult",
                received_at=received,
                ticket_no=f"POL-{n}",
            ),
            AGENT,
            policy=p,
        )
        for n, p in enumerate((load_shipped_policy(), slower))
    ]
    assert [utc(r.due_at).astimezone(BUSINESS_TZ).day for r in rows] == [3, 4]
    later = datetime(2023, 5, 3, 15, 0, tzinfo=BUSINESS_TZ)  # after 1 day, within 2
    for r in rows:
        service.reply(session, r.ticket_no, "已答复", AGENT, later)
    figures = stats.indicators(session, received.date(), received.date())
    assert (figures.calls, figures.calls_replied_on_time) == (2, 1)
