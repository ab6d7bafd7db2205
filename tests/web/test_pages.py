"""Pages, sign-in, sessions, CSRF, problem+json errors and the public calculators over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hpf.auth.audit import verify_trail
from hpf.auth.models import AuditRecord, WebSession
from hpf.db.engine import unit_of_work

HTML = {"accept": "text/html"}


def _signin_form(client: TestClient, kind: str = "staff") -> str:
    page = client.get(f"/signin?kind={kind}")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match[1]


def test_calculator_api_matches_the_cli(web: Any) -> None:
    client = TestClient(web.app)
    argv = ["--principal", "1000000", "--rate", "3.1", "--months", "360", "--first-due"]
    cli = subprocess.run(
        [sys.executable, "-m", "hpf", "calc", "loan", *argv, "2023-02-20", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    params = {"principal": "1000000", "rate": "3.1", "months": 360, "first_due": "2023-02-20"}
    assert client.get("/api/v1/calc/loan", params=params).json() == json.loads(cli.stdout)
    assert client.post("/api/v1/calc/loan", json=params).json() == json.loads(cli.stdout)
    interest = {"from": "2022-07-01", "to": "2023-06-30", "opening": "10000"}
    got = client.get("/api/v1/calc/interest", params={**interest, "txn": ["2022-08-15:1200"]})
    args = "--from 2022-07-01 --to 2023-06-30 --opening 10000 --txn 2022-08-15:1200 --json"
    cli = subprocess.run(
        [sys.executable, "-m", "hpf", "calc", "interest", *args.split()],
        capture_output=True,
        text=True,
        check=True,
    )
    assert got.json() == json.loads(cli.stdout)


def test_errors_are_problem_json_in_two_languages(web: Any) -> None:
    client = TestClient(web.app, raise_server_exceptions=False)
    bad = client.get(
        "/api/v1/calc/loan",
        params={"principal": "-5", "rate": "3", "months": 12, "first_due": "2024-01-01"},
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    body = bad.json()
    assert {"type", "title", "status", "detail", "detail_en", "code"} <= set(body)
    assert body["detail"] != body["detail_en"]
    invalid = client.get("/api/v1/calc/loan", params={"months": "x"})
    assert invalid.status_code == 422 and invalid.json()["code"] == "validation_failed"
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.json()["detail_en"]
    page = client.get("/nothing", headers=HTML)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]


def test_calculator_pages_render_fragments_for_htmx(web: Any) -> None:
    client = TestClient(web.app)
    query = "principal=100000&rate=3.1&months=12&first_due=2024-01-20&method=linear"
    full = client.get(f"/calc/loan?{query}")
    fragment = client.get(f"/calc/loan?{query}", headers={"HX-Request": "true"})
    assert "<html" in full.text and 'id="schedule"' in full.text
    assert "<html" not in fragment.text and fragment.text.count("<tr>") == 13
    bad = client.get("/calc/loan?principal=abc&rate=3&months=12&first_due=2024-01-20")
    assert 'id="calc-error"' in bad.text
    interest = client.get("/calc/interest?from=2023-07-01&to=2024-06-30&opening=10000")
    assert 'id="interest-amount"' in interest.text


def test_language_switch_and_chinese_default(web: Any) -> None:
    client = TestClient(web.app)
    assert "住房公积金管理系统" in client.get("/").text
    switched = client.get("/lang/en?next=/calc/loan", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/calc/loan"
    assert "Loan calculator" in client.get("/calc/loan").text
    assert (
        client.get("/lang/en?next=//evil.example", follow_redirects=False).headers["location"]
        == "/"
    )
    client.get("/lang/zh")
    assert "贷款计算器" in client.get("/calc/loan").text


def test_session_cookie_flags_and_sign_out(web: Any) -> None:
    client = TestClient(web.app)
    token = _signin_form(client)
    response = client.post(
        "/signin",
        data={"kind": "staff", "login_name": "clerk", "password": "Demo2023!", "csrf_token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "hpf_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert response.headers["location"] == "/console"
    page = client.get("/console", headers=HTML)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    refused = client.post("/signout", data={}, headers=HTML, follow_redirects=False)
    assert refused.status_code == 403
    done = client.post("/signout", data={"csrf_token": csrf[1]}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/console", headers=HTML, follow_redirects=False).status_code == 303


def test_sign_in_failures_are_generic_then_lock(web: Any) -> None:
    client = TestClient(web.app)
    token = _signin_form(client)
    form = {"kind": "staff", "csrf_token": token, "password": "wrong-password"}
    unknown = client.post("/signin", data={**form, "login_name": "nobody"})
    wrong = client.post("/signin", data={**form, "login_name": "approver"})
    assert unknown.status_code == wrong.status_code == 401
    assert 'id="signin-error"' in unknown.text
    error = re.compile(r'id="signin-error">\s*(.*?)\s*</div>', re.S)
    assert error.findall(unknown.text) == error.findall(wrong.text)
    for _ in range(4):
        last = client.post("/signin", data={**form, "login_name": "approver"})
    assert "锁定" in last.text
    good = {**form, "login_name": "approver", "password": "Demo2023!"}
    assert "锁定" in client.post("/signin", data=good).text
    no_csrf = client.post("/signin", data={**good, "csrf_token": "forged"})
    assert no_csrf.status_code == 403
    admin = web.client("sysadmin")
    locked_table = re.compile(r'<table[^>]*id="locked-users".*?</table>', re.S)
    users = admin.request("GET", "/console/users", headers=HTML)
    assert "<td>approver</td>" in locked_table.search(users.text).group(0)  # type: ignore[union-attr]
    with unit_of_work(web.url) as session:
        locks = session.scalars(
            select(AuditRecord.object_id).where(AuditRecord.action == "account.lock")
        ).all()
    assert str(web.user_ids["approver"]) in [str(o) for o in locks]
    unlocked = admin.request("POST", f"/console/users/{web.user_ids['approver']}/unlock")
    assert unlocked.status_code == 303
    users = admin.request("GET", "/console/users", headers=HTML)
    assert "<td>approver</td>" not in locked_table.search(users.text).group(0)  # type: ignore[union-attr]
    assert client.post("/signin", data=good, follow_redirects=False).status_code == 303


def test_expired_session_is_refused(web: Any) -> None:
    signed = web.fresh("auditor")
    assert signed.request("GET", "/api/v1/me").status_code == 200
    with unit_of_work(web.url) as session:
        session.execute(
            update(WebSession)
            .where(WebSession.user_id == web.user_ids["auditor"])
            .values(last_seen_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert signed.request("GET", "/api/v1/me").status_code == 401


def test_bearer_token_needs_no_csrf_and_revocation_works(web: Any) -> None:
    from hpf.auth import service as auth_service

    with unit_of_work(web.url) as session:
        token = auth_service.issue_api_token(
            session, web.user_ids["clerk"], name="t", scopes=frozenset({"clerk"})
        )
        token_id = auth_service.api_token_id(session, token)
    client = TestClient(web.app)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json()["roles"] == ["clerk"]
    acted = client.post(
        "/api/v1/applications/999999/actions", json={"action": "accept"}, headers=headers
    )
    assert acted.status_code == 404
    assert token_id is not None
    with unit_of_work(web.url) as session:
        auth_service.revoke_api_token(session, token_id)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_denied_request_is_an_audited_security_event(web: Any) -> None:
    admin = web.client("sysadmin")  # user administration, no personal data
    assert admin.request("GET", "/api/v1/depositors").status_code == 403
    with unit_of_work(web.url) as session:
        denied = session.execute(
            select(AuditRecord.actor_name, AuditRecord.object_id, AuditRecord.detail).where(
                AuditRecord.action == "permission.denied"
            )
        ).all()
        assert verify_trail(session).ok
    assert any(
        path == "/api/v1/depositors" and "person.read" in detail for _, path, detail in denied
    )
