"""Loan pages and API (贷款), and the public loan limit trial, on both backends.

Seeds employer X of branch A (the test users' branch) with four people contributing for fifteen
months up to last month: L borrowed three months ago (installment 1 paid from the balance), C
applies at the counter, O applies online, Q never borrows. Then: the public loan limit page and
API agree with ``hpf calc loan-limit --json``; a counter application walks accept → review →
approve through the console and is disbursed by finance (a replayed form changes nothing); the
borrower sees the schedule and its printable page; a prepayment trial writes nothing; finance
prepays and collects through the bank file; the overdue list and statistics show the loans; a
depositor never sees another's loan (page and API → 404); a role without the permission gets 403.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from deposit_books import Books
from hpf.auth import service as auth_service
from hpf.auth.principal import system_principal
from hpf.calc.commands import app as calc_app
from hpf.dates import add_months
from hpf.db.engine import unit_of_work
from hpf.ledger.models import Journal
from hpf.ledger.verify import verify_ledger
from hpf.loans import batches, repayment, service
from hpf.loans.models import Installment, Loan, Repayment
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from hpf.web.loans import today
from loan_books import LoanBooks
from user_factories import make_user
from web.conftest import PASSWORD, SignedIn, sign_in

HTML = {"accept": "text/html"}
KEY_RE = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
TODAY = today()
LIMIT_ARGS = {
    "balance": "50000",
    "contribution_months": "24",
    "price": "1000000",
    "area": "89.5",
    "age": "35",
    "sex": "male",
    "monthly_contribution": "2400",
    "employer_rate": "12",
    "employee_rate": "12",
    "date": "2025-03-01",
}


@dataclass
class Seeded:
    people: dict[str, tuple[str, str]]  # key -> (depositor ref, id number)
    clients: dict[str, SignedIn]
    loan_id: int  # L's loan, disbursed three months ago


def form_key(page: str) -> str:
    match = KEY_RE.search(page)
    assert match, "the form lacks its idempotency key"
    return match[1]


def loan_row(web: Any, loan_id: int) -> Loan:
    with unit_of_work(web.url) as session:
        row = session.get(Loan, loan_id)
        assert row is not None
        session.expunge(row)
        return row


def counts(web: Any, loan_id: int) -> tuple[int, int, int, int]:
    with unit_of_work(web.url) as session:
        return (
            int(session.scalar(select(func.count()).select_from(Installment)) or 0),
            int(session.scalar(select(func.count()).select_from(Repayment)) or 0),
            int(session.scalar(select(func.count()).select_from(Journal)) or 0),
            int(session.scalar(select(Loan.balance_fen).where(Loan.id == loan_id)) or 0),
        )


@pytest.fixture(scope="module")
def seeded(web: Any) -> Seeded:
    policy, actor = load_shipped_policy(), system_principal("test")
    borrowed = add_months(TODAY, -3)
    with unit_of_work(web.url) as session:
        home = session.scalar(select(OrgUnit).where(OrgUnit.id == web.branch_id))
        assert home is not None
        lb = LoanBooks(
            session,
            Books(session, policy, actor, home.code),
            clerk=make_user(session, roles=("clerk",), whole_center=True),
            reviewer=make_user(session, roles=("reviewer",), whole_center=True),
            approver=make_user(session, roles=("approver",), whole_center=True),
        )
        x = lb.employer()
        people = {key: lb.person(x) for key in ("L", "C", "O", "Q")}
        lb.contribute(x, add_months(TODAY.replace(day=1), -15), 15)
        for person in people.values():
            lb.fund(person, 5_000_000, on=add_months(TODAY, -14))
        outcome = lb.apply(people["L"], on=borrowed)
        assert outcome.allowed, outcome.text_zh
        lb.approve(outcome.loan_id, borrowed)
        loan = service.disburse(session, outcome.loan_id, on=borrowed, actor=actor, policy=policy)
        assert loan.first_due is not None
        repayment.pay_from_balance(session, loan.id, on=loan.first_due, actor=actor, policy=policy)
        for key, person in people.items():
            auth_service.create_user(
                session,
                kind="depositor",
                login_name=person.id_number,
                password=PASSWORD,
                display_name=f"贷款{key}",
                depositor_ref=person.depositor_ref,
            )
        auth_service.create_user(
            session,
            kind="staff",
            login_name="loanclerk2",
            password=PASSWORD,
            display_name="窗口二",
            roles=["clerk"],
            branch_id=web.branch_id,
        )
        refs = {k: (p.depositor_ref, p.id_number) for k, p in people.items()}
        loan_id = loan.id
    with unit_of_work(web.url) as session:
        batches.run_overdue(session, TODAY, policy=policy)
    clients = {key: sign_in(web.app, "depositor", idn) for key, (_r, idn) in refs.items()}
    clients["clerk2"] = sign_in(web.app, "staff", "loanclerk2")
    return Seeded(refs, clients, loan_id)


# --- public calculator ------------------------------------------------------------------------


def test_public_loan_limit_page_and_api_agree_with_the_cli(web: Any) -> None:
    options: list[str] = []
    for name, value in LIMIT_ARGS.items():
        options += [f"--{name.replace('_', '-')}", value]
    cli = CliRunner().invoke(calc_app, ["loan-limit", *options, "--json"])
    assert cli.exit_code == 0, cli.output
    expected = json.loads(cli.stdout)
    anon = TestClient(web.app)
    body = {
        **LIMIT_ARGS,
        "contribution_months": 24,
        "age": 35,
    }
    posted = anon.post("/api/v1/calc/loan-limit", json=body)
    assert posted.status_code == 200, posted.text
    assert posted.json() == expected
    got = anon.get("/api/v1/calc/loan-limit", params=LIMIT_ARGS)
    assert got.json() == expected
    page = anon.get("/calc/loan-limit", params=LIMIT_ARGS, headers={"hx-request": "true"})
    assert page.status_code == 200
    assert f'<strong id="limit">{expected["limit"]}</strong>' in page.text
    assert f'data-constraint="{expected["binding_constraint"]}"' in page.text
    for code, item in expected["constraints"].items():
        assert f'<tr data-constraint="{code}"' in page.text
        assert item["zh"] in page.text
    assert "<html" not in page.text  # the htmx fragment only
    full = anon.get("/calc/loan-limit", params=LIMIT_ARGS)
    assert 'id="limit-form"' in full.text and 'id="limit-result"' in full.text
    assert 'href="/calc/loan-limit"' in anon.get("/").text
    assert 'href="/calc/loan-limit"' in anon.get("/calc/loan").text  # the calculators nav
    bad = anon.post("/api/v1/calc/loan-limit", json={**body, "sex": "x"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert 'id="calc-error"' in anon.get("/calc/loan-limit", params={**LIMIT_ARGS, "age": "x"}).text
    refused = anon.post("/api/v1/calc/loan-limit", json={**body, "contribution_months": 2}).json()
    assert refused["eligible"] is False and refused["refusals"][0]["code"] == "contribution_history"


# --- counter application through the console --------------------------------------------------


def test_counter_application_is_approved_and_disbursed(web: Any, seeded: Seeded) -> None:
    ref = seeded.people["C"][0]
    clerk2 = seeded.clients["clerk2"]
    page = clerk2.request("GET", f"/console/loans/new?depositor_ref={ref}", headers=HTML)
    assert page.status_code == 200 and 'id="account-facts"' in page.text
    data = {
        "idempotency_key": form_key(page.text),
        "depositor_ref": ref,
        "amount": "200000",
        "term_months": "240",
        "method": "annuity",
        "house_contract_ref": "LY-WEB-0001",
        "price": "800000",
        "area": "88",
        "home_number": "1",
        "security_kind": "mortgage",
        "security_ref": "鲁(2026)临沂市不动产证明第1号",
    }
    response = clerk2.request("POST", "/console/loans", data=data)
    assert response.status_code == 303, response.text[:500]
    loan_id = int(response.headers["location"].rsplit("/", 1)[1])
    again = clerk2.request("POST", "/console/loans", data=data)
    assert again.headers["location"] == response.headers["location"]  # replay: the same loan
    row = loan_row(web, loan_id)
    assert row.status == "in_review" and row.channel == "counter"
    assert row.application_id is not None

    clerk, reviewer, approver = web.client("clerk"), web.client("reviewer"), web.client("approver")
    queue = clerk.request("GET", "/console/loans", headers=HTML)
    assert f'data-loan="{loan_id}"' in queue.text.split('id="loans"')[0]
    assert "借*" in queue.text and not re.search(r"借款人\d{4}", queue.text)  # masked
    detail = clerk.request("GET", f"/console/loans/{loan_id}", headers=HTML)
    assert 'id="action-accept"' in detail.text and 'id="parties"' in detail.text
    assert (
        clerk.request(
            "POST", f"/console/loans/{loan_id}/act", data={"action": "accept"}
        ).status_code
        == 303
    )
    # the generic application action goes through the loan service as well
    step = reviewer.request(
        "POST", f"/console/applications/{row.application_id}/act", data={"action": "review"}
    )
    assert step.status_code == 303
    assert (
        approver.request(
            "POST", f"/console/loans/{loan_id}/act", data={"action": "approve"}
        ).status_code
        == 303
    )
    row = loan_row(web, loan_id)
    assert row.status == "approved" and row.contract_ref

    finance = web.client("finance")
    page = finance.request("GET", f"/console/loans/{loan_id}", headers=HTML)
    assert 'id="disburse-submit"' in page.text
    key = form_key(page.text)
    assert (
        clerk.request(
            "POST", f"/console/loans/{loan_id}/disburse", data={"idempotency_key": key}
        ).status_code
        == 403
    )
    done = finance.request(
        "POST", f"/console/loans/{loan_id}/disburse", data={"idempotency_key": key}
    )
    assert done.status_code == 303
    row = loan_row(web, loan_id)
    assert row.status == "active" and row.balance_fen == 20_000_000 and row.last_n == 240
    before = counts(web, loan_id)
    finance.request("POST", f"/console/loans/{loan_id}/disburse", data={"idempotency_key": key})
    assert counts(web, loan_id) == before

    borrower = seeded.clients["C"]
    mine = borrower.request("GET", f"/me/loans/{loan_id}", headers=HTML)
    assert mine.status_code == 200 and 'data-n="240"' not in mine.text  # paged
    assert 'data-n="1" data-status="scheduled"' in mine.text
    assert borrower.request("GET", f"/me/loans/{loan_id}?page=10", headers=HTML).text.count(
        'data-n="240"'
    )
    with unit_of_work(web.url) as session:
        assert verify_ledger(session).ok


def test_counter_application_through_the_api(web: Any, seeded: Seeded) -> None:
    clerk2 = seeded.clients["clerk2"]
    body = {
        "depositor_ref": seeded.people["Q"][0],
        "amount_fen": 99_000_000_00,
        "term_months": 240,
        "house_contract_ref": "LY-API-1",
        "price_fen": 100_000_000,
        "area_m2": "90",
        "security_ref": "鲁不动产第2号",
    }
    headers = {"Idempotency-Key": "api-loan-0001"}
    first = clerk2.request("POST", "/api/v1/loans", json=body, headers=headers)
    assert first.status_code == 201, first.text
    data = first.json()
    assert data["status"] == "refused" and "可贷额度" in data["decision"]
    assert data["replayed"] is False
    replay = clerk2.request("POST", "/api/v1/loans", json=body, headers=headers)
    assert replay.json()["replayed"] is True and replay.json()["id"] == data["id"]
    conflict = clerk2.request(
        "POST", "/api/v1/loans", json={**body, "term_months": 120}, headers=headers
    )
    assert conflict.status_code == 409
    missing = clerk2.request("POST", "/api/v1/loans", json=body)
    assert missing.status_code == 422


# --- the borrower -----------------------------------------------------------------------------


def test_borrower_sees_the_schedule_and_a_trial_writes_nothing(web: Any, seeded: Seeded) -> None:
    client, loan_id = seeded.clients["L"], seeded.loan_id
    mine = client.request("GET", "/me/loans", headers=HTML)
    assert mine.status_code == 200 and 'id="next-installment"' in mine.text
    page = client.request("GET", f"/me/loans/{loan_id}", headers=HTML)
    assert 'data-n="1" data-status="paid"' in page.text
    assert 'id="prepay-link"' in page.text
    printable = client.request("GET", f"/me/loans/{loan_id}/schedule/print", headers=HTML)
    assert printable.status_code == 200 and "@media print" in printable.text
    assert "hpf-sidebar" not in printable.text and printable.text.count("<tr>") >= 241
    before = counts(web, loan_id)
    shorter = client.request(
        "GET", f"/me/loans/{loan_id}/prepayment?amount=100000&option=shorter_term", headers=HTML
    )
    assert shorter.status_code == 200 and 'id="trial"' in shorter.text
    assert 'id="trial-only"' in shorter.text and 'id="prepay-form"' not in shorter.text
    api = client.request(
        "GET",
        f"/api/v1/me/loans/{loan_id}/prepayment-trial?option=shorter_term&amount_fen=10000000",
    ).json()
    assert api["installments_after"] < api["installments_before"]
    assert api["level_after_fen"] == api["level_before_fen"]
    lower = client.request(
        "GET",
        f"/api/v1/me/loans/{loan_id}/prepayment-trial?option=lower_payment&amount_fen=10000000",
    ).json()
    assert lower["installments_after"] == lower["installments_before"]
    assert lower["level_after_fen"] < lower["level_before_fen"]
    full = client.request("GET", f"/api/v1/me/loans/{loan_id}/prepayment-trial?option=full").json()
    assert full["full"] is True and full["schedule"] == []
    assert counts(web, loan_id) == before
    schedule = client.request("GET", f"/api/v1/me/loans/{loan_id}/schedule?size=5").json()
    assert schedule["total"] == 240 and schedule["items"][0]["status"] == "paid"


def test_online_application_with_the_limit_trial(web: Any, seeded: Seeded) -> None:
    client = seeded.clients["O"]
    page = client.request("GET", "/me/loans/new?price=900000&area=95&home_number=1", headers=HTML)
    assert page.status_code == 200
    assert 'id="account-facts"' in page.text and 'id="limit-result"' in page.text
    assert 'id="binding"' in page.text
    data = {
        "idempotency_key": form_key(page.text),
        "amount": "2000000",
        "term_months": "240",
        "method": "annuity",
        "house_contract_ref": "LY-NET-1",
        "price": "900000",
        "area": "95",
        "home_number": "1",
        "security_kind": "mortgage",
        "security_ref": "鲁不动产第3号",
    }
    response = client.request("POST", "/me/loans", data=data)
    assert response.status_code == 303
    loan_id = int(response.headers["location"].rsplit("/", 1)[1])
    row = loan_row(web, loan_id)
    assert row.status == "refused" and row.channel == "online_hall"
    shown = client.request("GET", f"/me/loans/{loan_id}", headers=HTML)
    assert 'id="decision"' in shown.text and "超过可贷额度" in shown.text
    bad = client.request(
        "POST", "/me/loans", data={**data, "idempotency_key": "k" * 32, "area": "x"}
    )
    assert bad.status_code == 422 and 'id="area-error"' in bad.text


# --- finance: prepayment, the bank debit file; work lists -------------------------------------


def test_finance_prepays_and_collects(web: Any, seeded: Seeded) -> None:
    finance, loan_id = web.client("finance"), seeded.loan_id
    overdue = web.client("clerk").request("GET", "/console/loans/overdue", headers=HTML)
    assert overdue.status_code == 200 and f'data-loan="{loan_id}"' in overdue.text
    trial = finance.request(
        "GET",
        f"/console/loans/{loan_id}/prepayment?amount=50000&option=lower_payment",
        headers=HTML,
    )
    assert trial.status_code == 200 and 'id="prepay-form"' in trial.text
    before = loan_row(web, loan_id)
    done = finance.request(
        "POST",
        f"/console/loans/{loan_id}/prepayment",
        data={
            "idempotency_key": form_key(trial.text),
            "amount": "50000",
            "option": "lower_payment",
            "source": "counter",
        },
    )
    assert done.status_code == 303, done.text[:500]
    after = loan_row(web, loan_id)
    assert after.balance_fen == before.balance_fen - 5_000_000
    assert after.level_fen < before.level_fen

    page = finance.request("GET", "/console/loans/collection", headers=HTML)
    assert 'id="export-submit"' in page.text
    key = form_key(page.text)
    export = finance.request(
        "POST", "/console/loans/collection/export", data={"idempotency_key": key}
    )
    assert export.status_code == 200, export.text[:300]
    again = finance.request(
        "POST", "/console/loans/collection/export", data={"idempotency_key": key}
    )
    assert again.content == export.content
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert any(r["贷款账号"] == after.loan_ref for r in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*rows[0].keys(), "结果", "说明"])
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "结果": "成功", "说明": ""})
    files = {"file": ("result.csv", out.getvalue().encode("utf-8"), "text/csv")}
    imported = finance.request("POST", "/console/loans/collection/results", files=files)
    assert imported.status_code == 200 and f'data-count="{len(rows)}"' in imported.text
    twice = finance.request("POST", "/console/loans/collection/results", files=files)
    assert 'id="paid-count" data-count="0"' in twice.text
    assert loan_row(web, loan_id).paid_n >= 2
    with unit_of_work(web.url) as session:
        assert verify_ledger(session).ok
    span = f"from={add_months(TODAY, -4)}&to={TODAY}"
    stats = web.client("approver").request("GET", f"/console/loans/stats?{span}", headers=HTML)
    assert stats.status_code == 200 and '<td class="num">1</td>' in stats.text
    api = web.client("approver").request("GET", f"/api/v1/stats/loans?{span}").json()
    assert sum(r["issued"] for r in api) >= 1


# --- who may see what -------------------------------------------------------------------------


def test_a_depositor_never_sees_another_persons_loan(web: Any, seeded: Seeded) -> None:
    other, loan_id = seeded.clients["Q"], seeded.loan_id
    for path in (
        f"/me/loans/{loan_id}",
        f"/me/loans/{loan_id}/prepayment?amount=1000",
        f"/me/loans/{loan_id}/schedule/print",
    ):
        assert other.request("GET", path, headers=HTML).status_code == 404, path
    for path in (
        f"/api/v1/me/loans/{loan_id}",
        f"/api/v1/me/loans/{loan_id}/schedule",
        f"/api/v1/me/loans/{loan_id}/prepayment-trial?option=full",
    ):
        response = other.request("GET", path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "loan_not_found"
    assert loan_id not in [r["id"] for r in other.request("GET", "/api/v1/me/loans").json()]
    assert web.client("depositorA").request("GET", f"/api/v1/me/loans/{loan_id}").status_code == 404


def test_wrong_role_is_refused(web: Any, seeded: Seeded) -> None:
    borrower, loan_id = seeded.clients["L"], seeded.loan_id
    assert borrower.request("GET", "/console/loans", headers=HTML).status_code == 403
    assert borrower.request("GET", f"/api/v1/loans/{loan_id}").status_code == 403
    assert (
        web.client("finance").request("GET", "/console/loans/new", headers=HTML).status_code == 403
    )
    assert (
        web.client("clerk").request("GET", "/console/loans/collection", headers=HTML).status_code
        == 403
    )
    assert web.client("employer1").request("GET", "/me/loans", headers=HTML).status_code == 403
    assert web.client("sysadmin").request("GET", f"/api/v1/loans/{loan_id}").status_code == 403
    # staff of the branch see it, the borrower masked without person.unmask
    agent = web.client("service_agent").request("GET", f"/api/v1/loans/{loan_id}").json()
    assert agent["loan_ref"] and "*" in agent["person_name"]
    no_csrf = borrower.http.post(
        "/me/loans", data={"idempotency_key": "x" * 32}, follow_redirects=False
    )
    assert no_csrf.status_code == 403


def test_the_console_loan_page_lists_everything(web: Any, seeded: Seeded) -> None:
    page = web.client("reviewer").request("GET", f"/console/loans/{seeded.loan_id}", headers=HTML)
    assert page.status_code == 200
    for part in ("loan-summary", "parties", "schedule", "repayments", "collections", "history"):
        assert f'id="{part}"' in page.text, part
    assert 'data-action="loan.disburse"' in page.text
    printable = web.client("reviewer").request(
        "GET", f"/console/loans/{seeded.loan_id}/schedule/print", headers=HTML
    )
    assert printable.status_code == 200 and "@media print" in printable.text
