"""A ticket outside the viewer's branch is not disclosed: its page and its actions answer 404,
exactly like a ticket that does not exist (not 400), on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from hpf.auth.principal import system_principal
from hpf.db.engine import unit_of_work
from hpf.org.models import OrgUnit
from hpf.service_desk import service
from hpf.service_desk.models import Ticket
from hpf.service_desk.service import TicketInput
from hpf.workflow.stats import BUSINESS_TZ
from web.conftest import WebEnv, served_env

HTML = {"accept": "text/html"}
ACTIONS = {
    "assign": {"assignee": "客服07"},
    "reply": {"text": "已答复"},
    "escalate": {"reason": "超时"},
    "callback": {"reached": "yes", "rating": "basic"},
}


@pytest.fixture(scope="module")
def env(backend: str, databases: Any) -> Iterator[WebEnv]:
    with served_env(databases, backend) as made:
        yield made


def _ticket(env: WebEnv, *, other_branch: bool) -> str:
    with unit_of_work(env.url) as session:
        branch = session.scalar(
            select(OrgUnit)
            .where(OrgUnit.kind == "branch", OrgUnit.id != env.branch_id)
            .order_by(OrgUnit.code)
        )
        assert branch is not None
        row = service.add_ticket(
            session,
            TicketInput(
                channel="12329",
                topic="提取咨询",
                category="咨询",
                received_at=datetime(2023, 5, 2, 9, 0, tzinfo=BUSINESS_TZ),
                branch_code=branch.code if other_branch else None,
            ),
            system_principal("agent"),
        )
        return row.ticket_no


def test_a_ticket_of_another_branch_answers_404_like_a_missing_one(env: WebEnv) -> None:
    agent = env.client("service_agent")  # a branch-A agent, not whole-center
    hidden = _ticket(env, other_branch=True)
    visible = _ticket(env, other_branch=False)
    assert (
        agent.request("GET", f"/console/service/tickets/{visible}", headers=HTML).status_code == 200
    )
    for number in (hidden, "GD20230502999999"):
        page = agent.request("GET", f"/console/service/tickets/{number}", headers=HTML)
        assert page.status_code == 404, (number, page.text[:200])
        problem = agent.request("GET", f"/console/service/tickets/{number}")
        assert problem.status_code == 404
        assert problem.json()["code"] == "ticket_not_found"
        for action, data in ACTIONS.items():
            done = agent.request("POST", f"/console/service/tickets/{number}/{action}", data=data)
            assert done.status_code == 404, (number, action, done.text[:200])
    with unit_of_work(env.url) as session:
        row = session.scalar(select(Ticket).where(Ticket.ticket_no == hidden))
        assert row is not None and (row.status, row.assignee, row.reply) == ("open", "", "")
