"""Withdrawal pages and API (提取), and the employer's 降比/缓缴 forms, on both backends.

Seeds employer X of branch A (the test users' branch) with four depositors holding a balance and a
bank card, each with a depositor user, an employer agent for X and a second clerk. Then: a refused
online application lists every reason with what to do (Chinese, and English after the switch); an
accepted one appears in "my applications", walks accept → review through the console, is exported
in a payment batch, paid by the bank's result file (imported twice: the second changes nothing)
and the ledger verifies; a depositor never sees another's withdrawal (page and API → 404); a role
without the permission gets 403; a form without the CSRF token is refused; the API applies once
per idempotency key; a 降比 application from the employer portal lands in the console inbox.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from deposit_books import Books
from hpf.auth import service as auth_service
from hpf.auth.principal import system_principal
from hpf.db.engine import unit_of_work
from hpf.deposits.depositors import DepositorInput, open_depositor, transfer_in
from hpf.identifiers import make_id_number
from hpf.ledger.verify import verify_ledger
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from hpf.withdrawals.models import Withdrawal
from web.conftest import PASSWORD, SignedIn, sign_in

HTML = {"accept": "text/html"}
KEY_RE = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
RENT_DOCS = ["身份证", "无房证明", "房屋租赁合同", "本人银行卡"]
TODAY = date.today()
SPAN = f"from={TODAY - timedelta(days=1)}&to={TODAY + timedelta(days=1)}"


@dataclass
class Seeded:
    employer_ref: str
    people: dict[str, tuple[str, str]]  # key -> (depositor ref, id number)
    clients: dict[str, SignedIn]


@pytest.fixture(scope="module")
def seeded(web: Any) -> Seeded:
    policy, actor = load_shipped_policy(), system_principal("test")
    with unit_of_work(web.url) as session:
        home = session.scalar(select(OrgUnit).where(OrgUnit.id == web.branch_id))
        assert home is not None
        books = Books(session, policy, actor, home.code)
        x = books.employer("12", opened=date(2023, 7, 1))
        people: dict[str, tuple[str, str]] = {}
        for i, key in enumerate(("personA", "personB", "personC", "personD")):
            person = open_depositor(
                session,
                DepositorInput(
                    id_number=make_id_number("371302", date(1986, 4, 3 + i), 300 + i, male=True),
                    name=f"提取{key}",
                    employer_ref=x.employer_ref,
                    base_fen=500_000,
                    joined_on=date(2023, 7, 1),
                    bank_card=f"622202020011223{i:04d}",
                ),
                policy,
                actor,
            )
            transfer_in(
                session,
                person,
                2_000_000,
                TODAY - timedelta(days=30),
                "济南",
                actor,
                idempotency_key=f"fund:{person.depositor_ref}",
            )
            people[key] = (person.depositor_ref, person.id_number)
            auth_service.create_user(
                session,
                kind="depositor",
                login_name=person.id_number,
                password=PASSWORD,
                display_name=key,
                depositor_ref=person.depositor_ref,
            )
        auth_service.create_user(
            session,
            kind="employer",
            login_name=x.employer_ref,
            password=PASSWORD,
            display_name="agentX",
            employer_ref=x.employer_ref,
        )
        auth_service.create_user(
            session,
            kind="staff",
            login_name="clerk2",
            password=PASSWORD,
            display_name="窗口二",
            roles=["clerk"],
            branch_id=web.branch_id,
        )
        employer_ref = x.employer_ref
    clients = {key: sign_in(web.app, "depositor", idn) for key, (_r, idn) in people.items()}
    clients["agentX"] = sign_in(web.app, "employer", employer_ref)
    clients["clerk2"] = sign_in(web.app, "staff", "clerk2")
    return Seeded(employer_ref, people, clients)


def form_key(page: str) -> str:
    match = KEY_RE.search(page)
    assert match, "the form lacks its idempotency key"
    return match[1]


def withdrawal(web: Any, withdrawal_id: int) -> Withdrawal:
    with unit_of_work(web.url) as session:
        row = session.get(Withdrawal, withdrawal_id)
        assert row is not None
        session.expunge(row)
        return row


def apply_online(client: SignedIn, data: dict[str, Any]) -> Any:
    page = client.request("GET", f"/me/withdrawals/new?type={data['type']}", headers=HTML)
    assert page.status_code == 200, page.text[:300]
    return client.request(
        "POST", "/me/withdrawals", data={"idempotency_key": form_key(page.text), **data}
    )


def withdrawal_id_of(response: Any, prefix: str) -> int:
    assert response.status_code == 303, response.text[:500]
    location = response.headers["location"]
    assert location.startswith(prefix), location
    return int(location.rsplit("/", 1)[1])


# --- the depositor's self-service -------------------------------------------------------------


def test_refused_application_lists_every_reason(web: Any, seeded: Seeded) -> None:
    b = seeded.clients["personB"]
    page = b.request("GET", "/me/withdrawals/new?type=rent", headers=HTML)
    assert page.status_code == 200
    assert 'id="required-documents"' in page.text
    assert all(doc in page.text for doc in RENT_DOCS)
    response = apply_online(
        b,
        {"type": "rent", "documents": ["身份证"], "owns_home": "1", "rent_months": "0"},
    )
    wid = withdrawal_id_of(response, "/me/withdrawals/")
    result = b.request("GET", f"/me/withdrawals/{wid}", headers=HTML)
    assert result.status_code == 200
    assert 'id="refusal"' in result.text
    codes = re.findall(r'<li class="mb-2" data-code="([a-z_]+)"', result.text)
    assert codes == ["documents_missing", "owns_home", "rent_months"]
    assert "缺少申请材料：无房证明、房屋租赁合同、本人银行卡" in result.text
    assert "本人名下有自有住房" in result.text and "怎么办" in result.text
    assert withdrawal(web, wid).status == "refused"
    # English after the switch
    english = sign_in(web.app, "depositor", seeded.people["personB"][1])
    english.http.get("/lang/en?next=/me")
    page_en = english.request("GET", f"/me/withdrawals/{wid}", headers=HTML)
    assert "Your application was not accepted" in page_en.text
    assert "documents missing: 无房证明" in page_en.text and "What to do:" in page_en.text
    # the API lists the same reasons; no workflow application was made
    api = b.request("GET", f"/api/v1/me/withdrawals/{wid}").json()
    assert [r["code"] for r in api["reasons"]] == codes
    assert api["application_id"] is None and api["status"] == "refused"
    assert all(r["advice"] and r["advice_en"] for r in api["reasons"])


def test_accepted_application_is_approved_paid_and_the_books_verify(
    web: Any, seeded: Seeded
) -> None:
    a = seeded.clients["personA"]
    response = apply_online(
        a,
        {
            "type": "rent",
            "documents": RENT_DOCS,
            "rent_months": "6",
            "cost": "6000",
            "amount": "3000",
        },
    )
    wid = withdrawal_id_of(response, "/me/withdrawals/")
    page = a.request("GET", f"/me/withdrawals/{wid}", headers=HTML)
    assert 'id="accepted"' in page.text and 'data-status="in_review"' in page.text
    row = withdrawal(web, wid)
    assert row.status == "in_review" and row.amount_fen == 300_000 and row.channel == "online_hall"
    mine = a.request("GET", "/me/applications", headers=HTML)
    assert "提取" in mine.text and 'data-status="submitted"' in mine.text

    clerk, reviewer = web.client("clerk"), web.client("reviewer")
    queue = clerk.request("GET", "/console/withdrawals", headers=HTML)
    assert queue.status_code == 200 and f'data-withdrawal="{wid}"' in queue.text
    assert "提*" in queue.text  # the person masked
    detail = clerk.request("GET", f"/console/withdrawals/{wid}", headers=HTML)
    assert detail.status_code == 200
    assert 'id="rule-check"' in detail.text and "本人银行卡" in detail.text
    assert 'id="action-accept"' in detail.text
    step = clerk.request("POST", f"/console/withdrawals/{wid}/act", data={"action": "accept"})
    assert step.status_code == 303
    assert (
        f'data-withdrawal="{wid}"'
        not in clerk.request("GET", "/console/withdrawals", headers=HTML).text
    )
    assert (
        f'data-withdrawal="{wid}"'
        in reviewer.request("GET", "/console/withdrawals", headers=HTML).text
    )
    # the generic application action goes through the withdrawal service as well
    step = reviewer.request(
        "POST", f"/console/applications/{row.application_id}/act", data={"action": "review"}
    )
    assert step.status_code == 303
    assert withdrawal(web, wid).status == "approved"

    finance = web.client("finance")
    payments = finance.request("GET", "/console/withdrawals/payments", headers=HTML)
    assert payments.status_code == 200 and 'id="export-submit"' in payments.text
    key = form_key(payments.text)
    export = finance.request(
        "POST", "/console/withdrawals/payments/export", data={"idempotency_key": key}
    )
    assert export.status_code == 200, export.text[:300]
    assert export.headers["content-type"].startswith("text/csv")
    again = finance.request(
        "POST", "/console/withdrawals/payments/export", data={"idempotency_key": key}
    )
    assert again.content == export.content  # a replay answers the same batch
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    ours = [r for r in rows if r["业务编号"] == f"TQ{wid:010d}"]
    assert len(ours) == 1 and ours[0]["金额"] == "3000.00"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*rows[0].keys(), "结果", "说明"])
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "结果": "成功", "说明": ""})
    files = {"file": ("result.csv", out.getvalue().encode("utf-8"), "text/csv")}
    imported = finance.request("POST", "/console/withdrawals/payments/results", files=files)
    assert imported.status_code == 200, imported.text[:500]
    assert f'id="paid-count" data-count="{len(rows)}"' in imported.text
    assert 'id="failed-count" data-count="0"' in imported.text
    twice = finance.request("POST", "/console/withdrawals/payments/results", files=files)
    assert 'id="paid-count" data-count="0"' in twice.text  # idempotent
    paid = withdrawal(web, wid)
    assert paid.status == "paid" and paid.paid_on is not None
    with unit_of_work(web.url) as session:
        assert verify_ledger(session).ok
    page = a.request("GET", f"/me/withdrawals/{wid}", headers=HTML)
    assert 'data-status="paid"' in page.text

    stats = web.client("approver").request(
        "GET", f"/console/withdrawals/stats?{SPAN}&by=type", headers=HTML
    )
    assert stats.status_code == 200 and "租房" in stats.text
    data = finance.request("GET", f"/api/v1/stats/withdrawals?{SPAN}&by=type&by=channel").json()
    assert any(r["type"] == "rent" and r["channel"] == "online_hall" for r in data)


def test_a_depositor_never_sees_another_persons_withdrawal(web: Any, seeded: Seeded) -> None:
    a, b = seeded.clients["personA"], seeded.clients["personB"]
    own = [w["id"] for w in a.request("GET", "/api/v1/me/withdrawals").json()]
    assert own
    for wid in own:
        page = b.request("GET", f"/me/withdrawals/{wid}", headers=HTML)
        assert page.status_code == 404
        api = b.request("GET", f"/api/v1/me/withdrawals/{wid}")
        assert api.status_code == 404 and api.json()["code"] == "withdrawal_not_found"
    listed = [w["id"] for w in b.request("GET", "/api/v1/me/withdrawals").json()]
    assert not set(own) & set(listed)
    page = b.request("GET", "/me/withdrawals", headers=HTML)
    assert all(f'href="/me/withdrawals/{wid}"' not in page.text for wid in own)
    # no staff page for a depositor, whatever the id
    assert b.request("GET", f"/console/withdrawals/{own[0]}", headers=HTML).status_code == 403
    assert b.request("GET", f"/api/v1/withdrawals/{own[0]}").status_code == 403


def test_a_role_without_the_permission_is_refused(web: Any, seeded: Seeded) -> None:
    a = seeded.clients["personA"]
    assert a.request("GET", "/console/withdrawals/payments", headers=HTML).status_code == 403
    assert (
        a.request(
            "POST", "/console/withdrawals/payments/export", data={"idempotency_key": "k" * 32}
        ).status_code
        == 403
    )
    assert web.client("clerk").request("GET", "/console/withdrawals/payments").status_code == 403
    assert web.client("finance").request("GET", "/console/withdrawals/new").status_code == 403
    assert web.client("reviewer").request("GET", "/console/withdrawals/new").status_code == 403
    assert web.client("clerk").request("GET", "/api/v1/withdrawal-batches").status_code == 403
    assert seeded.clients["agentX"].request("GET", "/me/withdrawals").status_code == 403
    denied = web.client("auditor").request(
        "POST", "/api/v1/withdrawal-batches", headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"


def test_a_form_without_the_csrf_token_is_refused(web: Any, seeded: Seeded) -> None:
    c = seeded.clients["personC"]
    page = c.request("GET", "/me/withdrawals/new?type=rent", headers=HTML)
    response = c.http.post(
        "/me/withdrawals",
        data={"idempotency_key": form_key(page.text), "type": "rent", "documents": RENT_DOCS},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 403
    with unit_of_work(web.url) as session:
        ref = seeded.people["personC"][0]
        assert not session.scalars(select(Withdrawal).where(Withdrawal.depositor_ref == ref)).all()


def test_the_api_applies_once_per_key(web: Any, seeded: Seeded) -> None:
    c = seeded.clients["personC"]
    types = c.request("GET", "/api/v1/withdrawal-types").json()
    rent = next(t for t in types if t["code"] == "rent")
    assert rent["documents"] == RENT_DOCS and "rent_months" in rent["fields"]
    body = {
        "type": "rent",
        "documents": RENT_DOCS,
        "rent_months": 3,
        "cost_fen": 450_000,
        "amount_fen": 200_000,
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = c.request("POST", "/api/v1/me/withdrawals", json=body, headers=key)
    assert first.status_code == 201, first.text
    data = first.json()
    assert data["status"] == "in_review" and not data["replayed"] and data["application_id"]
    replay = c.request("POST", "/api/v1/me/withdrawals", json=body, headers=key)
    assert replay.json()["replayed"] and replay.json()["id"] == data["id"]
    other = c.request(
        "POST", "/api/v1/me/withdrawals", json={**body, "amount_fen": 100_000}, headers=key
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    missing = c.request("POST", "/api/v1/me/withdrawals", json=body)
    assert missing.status_code == 422
    refused = c.request(
        "POST",
        "/api/v1/me/withdrawals",
        json={"type": "retirement", "documents": []},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert refused.status_code == 201 and refused.json()["status"] == "refused"
    assert {r["code"] for r in refused.json()["reasons"]} >= {
        "documents_missing",
        "event_date_missing",
    }
    staff = web.client("approver").request("GET", f"/api/v1/withdrawals/{data['id']}").json()
    assert staff["person_name"].endswith("*") and staff["application_status"] == "submitted"
    listed = web.client("clerk").request("GET", "/api/v1/withdrawals?status=in_review").json()
    assert data["id"] in [i["id"] for i in listed["items"]]


def test_counter_application_on_behalf_of_a_person(web: Any, seeded: Seeded) -> None:
    clerk2 = seeded.clients["clerk2"]
    ref = seeded.people["personD"][0]
    page = clerk2.request(
        "GET", f"/console/withdrawals/new?depositor_ref={ref}&type=rent", headers=HTML
    )
    assert page.status_code == 200 and 'id="withdrawal-form"' in page.text
    assert 'id="balance"' in page.text
    response = clerk2.request(
        "POST",
        "/console/withdrawals",
        data={
            "idempotency_key": form_key(page.text),
            "depositor_ref": ref,
            "type": "rent",
            "documents": RENT_DOCS,
            "rent_months": "2",
            "cost": "2000",
        },
    )
    wid = withdrawal_id_of(response, "/console/withdrawals/")
    row = withdrawal(web, wid)
    assert row.channel == "counter" and row.status == "in_review" and not row.fully_online
    # the person sees it; the clerk who took it in cannot accept it, the other clerk can
    assert seeded.clients["personD"].request("GET", f"/me/withdrawals/{wid}").status_code == 200
    own = clerk2.request("GET", f"/console/withdrawals/{wid}", headers=HTML)
    assert 'id="action-accept"' not in own.text
    assert (
        f'data-withdrawal="{wid}"'
        in web.client("clerk").request("GET", "/console/withdrawals", headers=HTML).text
    )
    bad = clerk2.request(
        "POST",
        "/console/withdrawals",
        data={
            "idempotency_key": uuid.uuid4().hex,
            "depositor_ref": "000000999999",
            "type": "rent",
        },
        headers=HTML,
    )
    assert bad.status_code == 422 and "is-invalid" in bad.text


# --- the employer's 降比 and 缓缴 ----------------------------------------------------------------


def test_rate_change_from_the_employer_portal_lands_in_the_console_inbox(
    web: Any, seeded: Seeded
) -> None:
    agent = seeded.clients["agentX"]
    page = agent.request("GET", "/employer/applications", headers=HTML)
    assert page.status_code == 200 and 'id="rate-change-form"' in page.text
    keys = KEY_RE.findall(page.text)
    month = f"{TODAY:%Y-%m}"
    response = agent.request(
        "POST",
        "/employer/applications/rate-change",
        data={
            "idempotency_key": keys[0],
            "employer_rate_pct": "8",
            "employee_rate_pct": "8",
            "effective_month": month,
            "months": "12",
            "reason": "经营困难",
            "consent": "职代会决议2026-01号",
        },
    )
    assert response.status_code == 303, response.text[:500]
    listed = agent.request("GET", "/employer/applications", headers=HTML)
    assert "降低缴存比例" in listed.text
    clerk = web.client("clerk")
    apps = clerk.request("GET", "/api/v1/applications?business_type=employer_rate_change").json()
    mine = [i for i in apps["items"] if i["subject_ref"] == seeded.employer_ref]
    assert len(mine) == 1 and mine[0]["channel"] == "online_hall"
    inbox = clerk.request("GET", "/console", headers=HTML)
    assert f'href="/console/applications/{mine[0]["id"]}"' in inbox.text
    # 缓缴 is refused while earlier months are unpaid: the form says why, nothing is submitted
    refused = agent.request(
        "POST",
        "/employer/applications/deferral",
        data={
            "idempotency_key": keys[1],
            "from_month": month,
            "months": "6",
            "reason": "经营困难",
            "consent": "职代会决议2026-02号",
        },
        headers=HTML,
    )
    assert refused.status_code == 422 and 'id="form-error"' in refused.text
    assert not clerk.request("GET", "/api/v1/applications?business_type=employer_deferral").json()[
        "items"
    ]
