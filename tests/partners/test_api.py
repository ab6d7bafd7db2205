"""The partner API over HTTP on both backends: only partner tokens with the right scope get in;
staff sessions and staff API tokens are refused; every call, refusals included, is logged with
the subject masked; the per-partner rate limit answers 429."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from eaudit.conftest import AuditBooks
from hpf.auth import service as auth_service
from hpf.auth.models import AuditRecord
from hpf.db.engine import unit_of_work
from hpf.identifiers import make_id_number
from hpf.ops import partners
from hpf.ops.models import PartnerCall
from hpf.org.models import OrgUnit
from hpf.policy.loader import parse_policy
from hpf.web.app import all_routes
from web.conftest import WebEnv, served_env

PREFIX = "/api/partner/v1"
PERSON = make_id_number("371302", date(1979, 9, 9), 31, male=True)
BODIES: dict[str, dict[str, str]] = {
    "/depositor-status": {"id_number": PERSON},
    "/loan-certificate": {"loan_ref": "DK0000000001", "id_number": PERSON},
    "/employer-status": {"uscc": "91371300MA3C000018"},
}


@pytest.fixture(scope="module")
def env(backend: str, databases: Any) -> Iterator[WebEnv]:
    with served_env(databases, backend) as made:
        with unit_of_work(made.url) as session:
            partners.register_partner(
                session, code="bdc", department="不动产登记中心", scopes="depositor_status"
            )
            partners.register_partner(
                session,
                code="all",
                department="外地公积金中心",
                scopes="depositor_status,loan_certificate,employer_status",
            )
            branch = session.get(OrgUnit, made.branch_id)
            assert branch is not None
            books = AuditBooks(session, branch)
            owner = books.person(id_number=PERSON)
            books.loan(owner)
        yield made


def token_for(env: WebEnv, code: str) -> str:
    with unit_of_work(env.url) as session:
        return partners.issue_token(session, code)[1]


def partner_paths(env: WebEnv) -> list[str]:
    return sorted(
        r.path for r in all_routes(env.app) if isinstance(r, APIRoute) and r.path.startswith(PREFIX)
    )


def post(client: Any, path: str, token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return client.post(path, json=BODIES[path.removeprefix(PREFIX)], headers=headers)


def test_only_partner_tokens_with_the_scope_get_in(env: WebEnv) -> None:
    paths = partner_paths(env)
    assert [p.removeprefix(PREFIX) for p in paths] == sorted(BODIES)
    anon = TestClient(env.app, raise_server_exceptions=False)
    bdc, full = token_for(env, "bdc"), token_for(env, "all")
    with unit_of_work(env.url) as session:
        staff_token = auth_service.issue_api_token(
            session, env.user_ids["auditor"], name="t", scopes=frozenset({"auditor"})
        )
    for path in paths:
        response = post(anon, path)
        assert response.status_code == 401, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert post(anon, path, "hpfp_forged").status_code == 401
        for key in env.users:  # every staff role, employer agents, depositors: their session
            signed = env.client(key)
            response = signed.request("POST", path, json=BODIES[path.removeprefix(PREFIX)])
            assert response.status_code == 403, (key, path)
            assert response.json()["code"] == "partner_only"
        refused = post(anon, path, staff_token)
        assert (refused.status_code, refused.json()["code"]) == (403, "partner_only")
        answered = post(anon, path, full)
        assert answered.status_code == 200, (path, answered.text)
        scoped = post(anon, path, bdc)
        if path.endswith("/depositor-status"):
            assert scoped.status_code == 200
        else:
            assert (scoped.status_code, scoped.json()["code"]) == (403, "scope_missing")
    # a partner token opens no other route
    assert (
        anon.get("/api/v1/applications", headers={"authorization": f"Bearer {full}"}).status_code
        == 401
    )
    with unit_of_work(env.url) as session:
        denied = session.scalars(
            select(AuditRecord.object_id).where(AuditRecord.action == "permission.denied")
        ).all()
    assert f"{PREFIX}/depositor-status" in denied


def test_answers_and_call_log_mask_the_id_number(env: WebEnv) -> None:
    anon = TestClient(env.app, raise_server_exceptions=False)
    token = token_for(env, "bdc")
    response = post(anon, f"{PREFIX}/depositor-status", token)
    data = response.json()
    assert data["found"] and data["hpf_loan_outstanding"] is True
    assert PERSON not in response.text and data["id_number"] == PERSON[:4] + "*" * 10 + PERSON[-4:]
    bad = anon.post(
        f"{PREFIX}/depositor-status",
        json={"id_number": PERSON[:17] + ("1" if PERSON[17] != "1" else "2")},
        headers={"authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 400
    with unit_of_work(env.url) as session:
        calls = session.scalars(
            select(PartnerCall).where(PartnerCall.id >= data["call_id"]).order_by(PartnerCall.id)
        ).all()
        assert [(c.result, c.status_code) for c in calls] == [("found", 200), ("invalid", 400)]
        assert all(PERSON[4:14] not in c.subject for c in calls)
        views, _ = partners.list_calls(session, partner_code="bdc")
        assert {"denied", "found", "invalid"} <= {v.result for v in views}


def test_rate_limit_answers_429_and_is_logged(env: WebEnv) -> None:
    shipped = (Path(partners.__file__).parents[1] / "policy" / "linyi.toml").read_text("utf-8")
    tight = shipped.replace("partner_calls_per_minute = 60", "partner_calls_per_minute = 2")
    assert tight != shipped
    env.app.state.policy = parse_policy(tight)
    try:
        with unit_of_work(env.url) as session:
            partners.register_partner(
                session, code="burst", department="测试", scopes="employer_status"
            )
        token = token_for(env, "burst")
        anon = TestClient(env.app, raise_server_exceptions=False)
        codes = [post(anon, f"{PREFIX}/employer-status", token).status_code for _ in range(4)]
        assert codes == [200, 200, 429, 429]
        last = post(anon, f"{PREFIX}/employer-status", token)
        assert last.headers["retry-after"] == "60"
    finally:
        del env.app.state.policy
    with unit_of_work(env.url) as session:
        views, total = partners.list_calls(session, partner_code="burst")
    assert total == 5 and [v.result for v in views].count("rate_limited") == 3
