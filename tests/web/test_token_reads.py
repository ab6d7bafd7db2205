"""A read with a credential used a moment ago writes nothing, over HTTP on both backends: an API
token's ``last_used_at`` (and a browser session's idle clock) is refreshed at most once a
minute, so a GET sends no INSERT, UPDATE, DELETE or row lock to the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from auth.test_token_touch import writes_of
from hpf.auth import service as auth_service
from hpf.auth.models import ApiToken
from hpf.auth.sessions import TOUCH_INTERVAL, token_hash
from hpf.db.engine import unit_of_work
from web.conftest import WebEnv


def _engine(web: WebEnv) -> Engine:
    bind = web.app.state.session_factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


def _last_used(web: WebEnv, token: str) -> datetime | None:
    with unit_of_work(web.url) as session:
        value = session.scalar(
            select(ApiToken.last_used_at).where(ApiToken.token_hash == token_hash(token))
        )
    return value.astimezone(UTC) if value is not None else None


def test_api_read_with_a_recently_used_token_writes_nothing(web: WebEnv) -> None:
    with unit_of_work(web.url) as session:
        token = auth_service.issue_api_token(
            session, web.user_ids["auditor"], name="reads", scopes=frozenset({"auditor"})
        )
    http = TestClient(web.app, raise_server_exceptions=False)
    bearer = {"authorization": f"Bearer {token}"}
    assert http.get("/api/v1/me", headers=bearer).status_code == 200
    first = _last_used(web, token)
    assert first is not None  # the first use is written
    with writes_of(_engine(web)) as writes:
        for _ in range(3):
            assert http.get("/api/v1/me", headers=bearer).status_code == 200
    assert writes == []
    assert _last_used(web, token) == first
    # used longer ago than the interval: the next request refreshes it
    old = datetime.now(UTC) - TOUCH_INTERVAL - timedelta(seconds=5)
    with unit_of_work(web.url) as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == token_hash(token))
            .values(last_used_at=old)
        )
    before = datetime.now(UTC)
    assert http.get("/api/v1/me", headers=bearer).status_code == 200
    refreshed = _last_used(web, token)
    assert refreshed is not None and refreshed >= before - timedelta(seconds=1)


def test_page_read_in_a_fresh_browser_session_writes_nothing(web: WebEnv) -> None:
    signed = web.fresh("auditor")  # its sign-in just set the idle clock
    with writes_of(_engine(web)) as writes:
        assert signed.request("GET", "/api/v1/me").status_code == 200
    assert writes == []
