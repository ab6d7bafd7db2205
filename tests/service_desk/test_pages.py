"""The service pages of the staff console on both backends: a ticket from intake to callback, an
e-audit item from the run to its closure, incidents and security events, partner calls — each
by the role that may, with personal numbers masked on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from eaudit.conftest import AuditBooks
from hpf.auth.principal import system_principal
from hpf.db.engine import unit_of_work
from hpf.eaudit.models import SuspiciousItem
from hpf.identifiers import make_id_number
from hpf.ops import incidents, partner_rules, partners
from hpf.ops.models import Incident, SecurityEvent
from hpf.org.models import OrgUnit
from hpf.service_desk import service
from hpf.service_desk.models import Ticket
from hpf.workflow.stats import BUSINESS_TZ
from web.conftest import WebEnv, served_env

HTML = {"accept": "text/html"}
PHONE = "13855556789"


@pytest.fixture(scope="module")
def env(backend: str, databases: Any) -> Iterator[WebEnv]:
    with served_env(databases, backend) as made:
        yield made


def test_ticket_from_intake_to_callback(env: WebEnv) -> None:
    agent = env.client("service_agent")
    received = datetime.now(BUSINESS_TZ).replace(second=0, microsecond=0) - timedelta(minutes=5)
    assert agent.request("GET", "/console/service/tickets/new", headers=HTML).status_code == 200
    bad = agent.request(
        "POST",
        "/console/service/tickets",
        data={
            "channel": "12329",
            "category": "gossip",
            "topic": "x",
            "received_at": "2023-05-02T09:00",
        },
        headers=HTML,
    )
    assert bad.status_code == 400 and "gossip" in bad.text
    made = agent.request(
        "POST",
        "/console/service/tickets",
        data={
            "channel": "12329",
            "category": "complaint",
            "topic": "提取办理时限投诉",
            "received_at": received.strftime("%Y-%m-%dT%H:%M"),
            "caller_name": "王先生",
            "caller_phone": PHONE,
            "content": "身份证 371302198803140219 提取未到账",
        },
        headers=HTML,
    )
    assert made.status_code == 303
    url = made.headers["location"]
    number = url.rsplit("/", 1)[1]
    page = agent.request("GET", url, headers=HTML)
    due = (received + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    assert page.status_code == 200 and due in page.text  # complaint: 5 days
    assert PHONE not in page.text and "138****6789" in page.text
    assert "371302198803140219" not in page.text
    for action, data in (
        ("assign", {"assignee": "客服07"}),
        ("reply", {"text": "已催办，资金已到账"}),
        ("callback", {"reached": "yes", "rating": "basic"}),
    ):
        done = agent.request("POST", f"{url}/{action}", data=data, headers=HTML)
        assert done.status_code == 303, (action, done.text[:200])
    refused = agent.request("POST", f"{url}/reply", data={"text": "again"}, headers=HTML)
    assert refused.status_code == 303 and "hpf_flash" in refused.headers.get("set-cookie", "")
    with unit_of_work(env.url) as session:
        row = session.scalar(select(Ticket).where(Ticket.ticket_no == number))
        assert row is not None and (row.status, row.rating, row.assignee) == (
            "closed",
            "basic",
            "客服07",
        )
    month = f"{received:%Y-%m}"
    listing = agent.request(
        "GET", f"/console/service/tickets?status=closed&month={month}", headers=HTML
    )
    assert number in listing.text
    assert re.search(r'id="call-reply-rate">100\.00% \(1/1\)', listing.text)
    assert re.search(r'id="satisfaction">100\.00% \(1/1\)', listing.text)
    assert (
        number
        not in agent.request("GET", "/console/service/tickets?status=open", headers=HTML).text
    )


def test_eaudit_item_from_run_to_closure(env: WebEnv) -> None:
    good = make_id_number("371302", date(1990, 2, 3), 11, male=True)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    with unit_of_work(env.url) as session:
        branch = session.get(OrgUnit, env.branch_id)
        assert branch is not None
        AuditBooks(session, branch).person(id_number=wrong, opened=date(2023, 5, 8))
    auditor = env.client("auditor")
    ran = auditor.request("POST", "/console/service/eaudit/run", data={"month": "2023-05"})
    assert ran.status_code == 303
    listing = auditor.request("GET", "/console/service/eaudit?month=2023-05", headers=HTML)
    with unit_of_work(env.url) as session:
        item = session.scalar(
            select(SuspiciousItem).where(
                SuspiciousItem.month == date(2023, 5, 1),
                SuspiciousItem.rule_code == "id_check_digit",
            )
        )
        assert item is not None
        item_id = item.id
    assert f'data-item="{item_id}"' in listing.text
    page = auditor.request("GET", f"/console/service/eaudit/{item_id}", headers=HTML)
    assert page.status_code == 200 and wrong not in page.text and wrong[:4] + "*" in page.text
    base = f"/console/service/eaudit/{item_id}"
    assert auditor.request("POST", f"{base}/assign", data={"assignee": "稽核员"}).status_code == 303
    auditor.request("POST", f"{base}/respond", data={"text": "已更正号码", "rectified": "yes"})
    auditor.request("POST", f"{base}/close", data={"evidence": "更正凭证"})
    with unit_of_work(env.url) as session:
        closed = session.get(SuspiciousItem, item_id)
        assert closed is not None and (closed.status, closed.closed_by) == ("closed", "auditor")
    # reading is not managing: the leadership cannot, the agent cannot even read
    assert env.client("service_agent").request("GET", base, headers=HTML).status_code == 403


def test_incidents_and_security_events(env: WebEnv) -> None:
    admin = env.client("sysadmin")
    assert admin.request("GET", "/console/service/incidents", headers=HTML).status_code == 200
    logged = admin.request(
        "POST",
        "/console/service/incidents",
        data={"severity": "minor", "title": "网厅响应慢", "occurred_at": "2023-05-03T10:00"},
    )
    assert logged.status_code == 303
    with unit_of_work(env.url) as session:
        incident = session.scalar(select(Incident).where(Incident.title == "网厅响应慢"))
        assert incident is not None and incident.status == "open"
        incident_id = incident.id
    admin.request(
        "POST",
        f"/console/service/incidents/{incident_id}/resolve",
        data={"resolved_at": "2023-05-03T10:40", "cause": "带宽", "actions": "扩容"},
    )
    admin.request(
        "POST",
        "/console/service/security-events",
        data={"kind": "access_denied", "detail": "防火墙拦截", "at": "2023-05-04T01:00"},
    )
    page = admin.request("GET", "/console/service/incidents", headers=HTML)
    assert "网厅响应慢" in page.text and "带宽" in page.text
    with unit_of_work(env.url) as session:
        row = session.get(Incident, incident_id)
        assert row is not None and row.status == "resolved" and row.cause == "带宽"
        assert session.scalar(select(SecurityEvent).where(SecurityEvent.detail == "防火墙拦截"))


def test_partner_calls_page_masks_subjects(env: WebEnv) -> None:
    person = make_id_number("371302", date(1982, 8, 8), 5, male=True)
    with unit_of_work(env.url) as session:
        partners.register_partner(
            session, code="bdc-page", department="不动产登记中心", scopes="depositor_status"
        )
        _, token = partners.issue_token(session, "bdc-page")
    from fastapi.testclient import TestClient

    answered = TestClient(env.app).post(
        "/api/partner/v1/depositor-status",
        json={"id_number": person},
        headers={"authorization": f"Bearer {token}"},
    )
    assert answered.status_code == 200
    page = env.client("auditor").request(
        "GET", "/console/service/partner-calls?partner=bdc-page", headers=HTML
    )
    assert page.status_code == 200
    assert partner_rules.masked_subject("id_number", person) in page.text
    assert person not in page.text


def _queries(env: WebEnv, key: str, url: str) -> int:
    engine = env.app.state.session_factory.kw["bind"]
    client = env.client(key)  # signed in before counting
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.request("GET", url, headers=HTML).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_list_pages_query_counts_do_not_grow_with_rows(env: WebEnv) -> None:
    """NetBox-style baseline: the same number of queries for 1 row as for 25 (no N+1)."""
    pages = {
        "service_agent": "/console/service/tickets?month=2022-01",
        "auditor": "/console/service/eaudit?month=2022-01",
        "sysadmin": "/console/service/incidents",
    }

    def grow(n: int) -> None:
        with unit_of_work(env.url) as session:
            for k in range(n):
                service.add_ticket(
                    session,
                    service.TicketInput(
                        channel="web",
                        topic="留言",
                        category="consult",
                        received_at=datetime(2022, 1, 10, 9, k, tzinfo=BUSINESS_TZ),
                    ),
                    system_principal(),
                )
                incidents.log_incident(
                    session,
                    occurred_at=datetime(2022, 1, 10, 9, k, tzinfo=BUSINESS_TZ),
                    severity="minor",
                    title=f"事件{k}",
                )

    grow(1)
    before = {key: _queries(env, key, url) for key, url in pages.items()}
    grow(24)
    after = {key: _queries(env, key, url) for key, url in pages.items()}
    assert after == before
