"""A token's or session's "last used" time is written at most once per ``TOUCH_INTERVAL``: a
request whose credential was used a moment ago writes nothing (on PostgreSQL it takes no row
lock either), an older time is refreshed; on PostgreSQL a request never queues behind another
one refreshing the same token. Both backends."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from hpf.auth import service
from hpf.auth.models import ApiToken, WebSession
from hpf.auth.sessions import TOUCH_INTERVAL, token_hash
from hpf.db.engine import make_engine, unit_of_work
from user_factories import make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRITES = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE)\b|\bFOR (NO KEY )?UPDATE\b|\bFOR (KEY )?SHARE\b", re.I
)


@contextmanager
def writes_of(engine: Engine) -> Iterator[list[str]]:
    """The statements that write or lock rows, sent through ``engine`` inside the block."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITES.search(statement):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def _stamp(session: Session, model: Any, token: str, field: str) -> datetime | None:
    row = session.scalar(
        select(model)
        .where(model.token_hash == token_hash(token))
        .execution_options(populate_existing=True)
    )
    value: datetime | None = getattr(row, field)
    return value.astimezone(UTC) if value is not None else None


def test_api_token_last_use_is_written_at_most_once_a_minute(
    session: Session, engine: Engine
) -> None:
    user = make_user(session, roles=("auditor",))
    token = service.issue_api_token(
        session, user.user_id, name="t", scopes=frozenset({"auditor"}), now=T0
    )
    assert service.resolve_api_token(session, token, now=T0) is not None
    session.flush()
    assert _stamp(session, ApiToken, token, "last_used_at") == T0  # first use: written
    soon = T0 + TOUCH_INTERVAL - timedelta(seconds=1)
    with writes_of(engine) as writes:
        assert service.resolve_api_token(session, token, now=soon) is not None
        session.flush()
    assert writes == []
    assert _stamp(session, ApiToken, token, "last_used_at") == T0
    later = T0 + TOUCH_INTERVAL
    assert service.resolve_api_token(session, token, now=later) is not None
    session.flush()
    assert _stamp(session, ApiToken, token, "last_used_at") == later


def test_session_idle_clock_is_written_at_most_once_a_minute(
    session: Session, engine: Engine
) -> None:
    user = make_user(session)
    token, _ = service.create_session(session, user, now=T0)
    with writes_of(engine) as writes:
        assert service.resolve_session(session, token, now=T0 + timedelta(seconds=30))
        session.flush()
    assert writes == []
    assert _stamp(session, WebSession, token, "last_seen_at") == T0
    later = T0 + timedelta(minutes=5)
    assert service.resolve_session(session, token, now=later)
    session.flush()
    assert _stamp(session, WebSession, token, "last_seen_at") == later
    # the idle clock still counts from the last write: 30 minutes after it, the session is gone
    assert service.resolve_session(session, token, now=later + timedelta(minutes=29, seconds=59))
    session.flush()
    assert service.resolve_session(session, token, now=later + timedelta(minutes=60)) is None


def test_postgresql_request_does_not_queue_behind_a_token_refresh(
    backend: str, fresh_db_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite serializes writers with BEGIN IMMEDIATE)")
    with unit_of_work(fresh_db_url) as s:
        user = make_user(s, roles=("auditor",))
        token = service.issue_api_token(
            s, user.user_id, name="t", scopes=frozenset({"auditor"}), now=T0
        )
    engine = make_engine(fresh_db_url)
    try:
        with engine.connect() as holder, Session(engine) as other:
            holder.begin()  # another request refreshing the token: it holds the row
            holder.execute(
                text("SELECT id FROM api_token WHERE token_hash = :h FOR UPDATE"),
                {"h": token_hash(token)},
            )
            other.execute(text("SET LOCAL lock_timeout = '3s'"))
            started = time.monotonic()
            principal = service.resolve_api_token(other, token, now=T0 + timedelta(hours=1))
            other.flush()
            assert principal is not None and principal.user_id == user.user_id
            assert time.monotonic() - started < 2
            assert _stamp(other, ApiToken, token, "last_used_at") is None  # left to the holder
            other.rollback()
            holder.rollback()
    finally:
        engine.dispose()
