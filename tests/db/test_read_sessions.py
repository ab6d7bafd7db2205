"""Read sessions (``hpf.db.engine.read_session_factory``) and ``writable``, on both backends.

A read session's transaction on SQLite is deferred and query-only: a write in it fails at once
instead of upgrading it (which fails under concurrent writes), and the pooled connection is
writable again for the next write session. ``writable`` joins a write session's transaction, and
commits a read session's writes in a transaction of their own before it returns (rolls them
back, and raises, when the block fails).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from hpf.auth import audit
from hpf.auth.models import AuditRecord
from hpf.db.engine import (
    is_read_session,
    read_session_factory,
    session_factory,
    unit_of_work,
    writable,
)


def _count(url: str) -> int:
    with unit_of_work(url) as session:
        return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def test_read_sessions_share_the_engine_and_are_marked(fresh_db_url: str) -> None:
    reads, writes = read_session_factory(fresh_db_url), session_factory(fresh_db_url)
    assert read_session_factory(fresh_db_url) is reads  # cached per URL
    with reads() as r, writes() as w:
        assert is_read_session(r) and not is_read_session(w)
        assert r.get_bind().pool is w.get_bind().pool


def test_a_read_session_cannot_write_on_sqlite_and_its_connection_is_writable_after(
    fresh_db_url: str, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("query_only: SQLite (PostgreSQL transactions are unchanged)")
    before = _count(fresh_db_url)
    with read_session_factory(fresh_db_url)() as session:
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == before
        with pytest.raises(OperationalError, match="readonly"):
            audit.record(session, actor=None, action="test.write_in_read")
        session.rollback()
    with unit_of_work(fresh_db_url) as session:  # the same pooled connection, writable again
        audit.record(session, actor=None, action="test.write_after_read")
    assert _count(fresh_db_url) == before + 1


def test_writable_joins_a_write_session(fresh_db_url: str) -> None:
    before = _count(fresh_db_url)
    session = session_factory(fresh_db_url)()
    try:
        with writable(session) as target:
            assert target is session
            audit.record(target, actor=None, action="test.joined")
        session.rollback()  # the write went with the business transaction
    finally:
        session.close()
    assert _count(fresh_db_url) == before


def test_writable_commits_a_read_sessions_write_apart(fresh_db_url: str) -> None:
    before = _count(fresh_db_url)
    with read_session_factory(fresh_db_url)() as session:
        session.scalar(select(func.count()).select_from(AuditRecord))  # the read is under way
        with writable(session) as target:
            assert target is not session and not is_read_session(target)
            seq = audit.record_read(target, actor=None, action="test.apart")
        assert _count(fresh_db_url) == before + 1  # committed before the read ends
        assert audit.record_read(session, actor=None, action="test.apart") == seq + 1
        session.rollback()  # nothing of the read session's to undo
    assert _count(fresh_db_url) == before + 2
    with unit_of_work(fresh_db_url) as check:
        assert audit.verify_trail(check).ok


def test_writable_rolls_back_and_raises_when_the_block_fails(fresh_db_url: str) -> None:
    before = _count(fresh_db_url)
    session = read_session_factory(fresh_db_url)()
    try:
        with pytest.raises(RuntimeError), writable(session) as target:
            audit.record(target, actor=None, action="test.failed")
            raise RuntimeError("after the write")
    finally:
        session.close()
    assert _count(fresh_db_url) == before
