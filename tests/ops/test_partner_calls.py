"""Partner calls: every call is recorded, refused bodies (422) included; simultaneous calls never
exceed the rate limit (PostgreSQL, real threads and connections); a partner token's last use is
written at most once a minute."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from auth.test_token_touch import writes_of
from hpf.auth.sessions import TOUCH_INTERVAL
from hpf.db.engine import unit_of_work
from hpf.identifiers import make_id_number
from hpf.ops import partners
from hpf.ops.models import PartnerCall, PartnerClient, PartnerToken
from hpf.policy.loader import parse_policy
from web.conftest import WebEnv, served_env

PREFIX = "/api/partner/v1"
PERSON = make_id_number("371302", date(1979, 9, 9), 31, male=True)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def env(backend: str, databases: Any) -> Iterator[WebEnv]:
    with served_env(databases, backend) as made:
        yield made


def _partner(env: WebEnv, code: str) -> str:
    with unit_of_work(env.url) as session:
        partners.register_partner(
            session, code=code, department="测试部门", scopes="depositor_status"
        )
        return partners.issue_token(session, code)[1]


def _calls(env: WebEnv, code: str) -> list[tuple[str, int, str]]:
    with unit_of_work(env.url) as session:
        views, _ = partners.list_calls(session, partner_code=code)
    return [(v.result, v.status_code, v.subject) for v in reversed(views)]


def test_partner_token_last_use_is_written_at_most_once_a_minute(
    session: Session, engine: Engine
) -> None:
    partners.register_partner(session, code="touch", department="测试", scopes="depositor_status")
    token_id, token = partners.issue_token(session, "touch")
    assert partners.resolve_token(session, token, now=T0) is not None
    session.flush()
    with writes_of(engine) as writes:
        assert partners.resolve_token(session, token, now=T0 + timedelta(seconds=59)) is not None
        session.flush()
    assert writes == []
    session.expire_all()
    row = session.get(PartnerToken, token_id)
    assert row is not None and row.last_used_at is not None
    assert row.last_used_at.astimezone(UTC) == T0
    assert partners.resolve_token(session, token, now=T0 + TOUCH_INTERVAL) is not None
    session.flush()
    session.expire_all()
    row = session.get(PartnerToken, token_id)
    assert row is not None and row.last_used_at is not None
    assert row.last_used_at.astimezone(UTC) == T0 + TOUCH_INTERVAL


def test_every_refused_body_is_a_recorded_call(env: WebEnv) -> None:
    token = _partner(env, "bodies")
    http = TestClient(env.app, raise_server_exceptions=False)
    url = f"{PREFIX}/depositor-status"
    bearer = {"authorization": f"Bearer {token}"}
    missing = http.post(url, json={}, headers=bearer)
    assert missing.status_code == 422 and missing.json()["code"] == "validation_failed"
    too_long = http.post(url, json={"id_number": "1" * 19}, headers=bearer)
    assert too_long.status_code == 422
    not_json = http.post(
        url, content=b"{not json", headers={**bearer, "content-type": "application/json"}
    )
    assert not_json.status_code == 422
    wrong_check = PERSON[:17] + ("1" if PERSON[17] != "1" else "2")
    bad = http.post(url, json={"id_number": wrong_check}, headers=bearer)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
    ok = http.post(url, json={"id_number": PERSON}, headers=bearer)
    assert ok.status_code == 200
    calls = _calls(env, "bodies")
    assert [c[:2] for c in calls] == [
        ("invalid", 422),
        ("invalid", 422),
        ("invalid", 422),
        ("invalid", 400),
        ("not_found", 200),
    ]
    assert calls[3][2] and PERSON[4:14] not in calls[3][2]  # a 400 names its subject, masked
    # a body refused before any token is checked: the token's refusal is the answer, no record
    with unit_of_work(env.url) as session:
        before = session.scalar(select(func.count()).select_from(PartnerCall))
    anon = http.post(url, content=b"{", headers={"content-type": "application/json"})
    assert anon.status_code == 401
    forged = http.post(
        url,
        content=b"{",
        headers={"content-type": "application/json", "authorization": "Bearer hpfp_forged"},
    )
    assert forged.status_code == 401
    with unit_of_work(env.url) as session:
        assert session.scalar(select(func.count()).select_from(PartnerCall)) == before


def test_simultaneous_calls_never_exceed_the_limit(
    env: WebEnv, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL (SQLite serializes writers)")
    limit, callers = 3, 8
    shipped = (Path(partners.__file__).parents[1] / "policy" / "linyi.toml").read_text("utf-8")
    tight = shipped.replace("partner_calls_per_minute = 60", f"partner_calls_per_minute = {limit}")
    assert tight != shipped
    token = _partner(env, "burst")
    look_up = partners.depositor_status

    def slow_look_up(*args: Any, **kwargs: Any) -> dict[str, Any]:
        time.sleep(0.3)  # every caller is between its count and its record at once
        return look_up(*args, **kwargs)

    monkeypatch.setattr(partners, "depositor_status", slow_look_up)
    env.app.state.policy = parse_policy(tight)
    start = threading.Barrier(callers)

    def call(_: int) -> int:
        with TestClient(env.app, raise_server_exceptions=False) as http:
            start.wait()
            response = http.post(
                f"{PREFIX}/depositor-status",
                json={"id_number": PERSON},
                headers={"authorization": f"Bearer {token}"},
            )
            return int(response.status_code)

    try:
        with ThreadPoolExecutor(callers) as pool:
            codes = sorted(pool.map(call, range(callers)))
    finally:
        del env.app.state.policy
    assert codes == [200] * limit + [429] * (callers - limit)
    with unit_of_work(env.url) as session:
        partner_id = session.scalar(select(PartnerClient.id).where(PartnerClient.code == "burst"))
        assert partner_id is not None
        assert partners.calls_in_window(session, partner_id, datetime.now(UTC)) == limit
