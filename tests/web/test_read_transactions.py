"""Safe requests read without the write lock; what they must write is committed apart.

On SQLite a GET runs in a deferred, query-only transaction: it answers while another connection
holds the database's write lock, and an unsafe request still waits for that lock (``BEGIN
IMMEDIATE``). A staff member's view of a person's data still leaves its audit record, written in
a transaction of its own, also when another writer commits between the page's reads and its
audit record (a deferred read transaction upgraded to a write would fail then with "database is
locked"); if the record cannot be written the page is not shown. Both backends where it applies.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url

from deposit_books import Books
from hpf.auth import audit
from hpf.auth import service as auth_service
from hpf.auth.models import AuditRecord
from hpf.auth.principal import system_principal
from hpf.db.engine import unit_of_work
from hpf.org.models import OrgUnit
from hpf.policy.loader import load_shipped_policy
from web.conftest import WebEnv

HTML = {"accept": "text/html"}
QUICK_S = 5.0
"""A read must answer well within this while the write lock is held (busy timeout: 30 s)."""


@dataclass(frozen=True)
class Person:
    ref: str
    id_number: str


@pytest.fixture(scope="module")
def person(web: WebEnv) -> Person:
    with unit_of_work(web.url) as session:
        home = session.scalar(select(OrgUnit).where(OrgUnit.id == web.branch_id))
        assert home is not None
        books = Books(session, load_shipped_policy(), system_principal("test"), home.code)
        depositor = books.depositor(books.employer("12"), 500_000)
        return Person(depositor.depositor_ref, depositor.id_number)


def _audits(web: WebEnv, action: str, object_id: str) -> list[int]:
    with unit_of_work(web.url) as session:
        return list(
            session.scalars(
                select(AuditRecord.id)
                .where(AuditRecord.action == action, AuditRecord.object_id == object_id)
                .order_by(AuditRecord.id)
            )
        )


def _engine(web: WebEnv) -> Engine:
    bind = web.app.state.session_factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


@contextmanager
def _write_lock_held(web: WebEnv) -> Iterator[None]:
    """Another connection holds the SQLite database's write lock inside the block."""
    path = make_url(web.url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE audit_chain_head SET last_seq = last_seq WHERE id = 1")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            out["response"] = call()
        except BaseException as exc:  # reported by the test
            out["error"] = exc
        out["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _begins(engine: Engine) -> tuple[list[str], Callable[[], None]]:
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(("BEGIN", "PRAGMA query_only")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    return seen, lambda: event.remove(engine, "before_cursor_execute", listen)


def test_a_read_answers_while_another_connection_holds_the_write_lock(
    web: WebEnv, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the database write lock: SQLite")
    reader = web.fresh("auditor")  # its idle clock was just set: the reads write nothing
    with _write_lock_held(web):
        thread, out = _in_thread(
            lambda: [
                reader.request("GET", "/api/v1/me"),
                reader.request("GET", "/console", headers=HTML),
            ]
        )
        thread.join(QUICK_S)
        assert not thread.is_alive(), "a GET waited for the write lock"
    assert "error" not in out, out.get("error")
    me, console = out["response"]
    assert me.status_code == 200, me.text
    assert console.status_code in (200, 303), console.text
    assert out["seconds"] < QUICK_S


def test_an_unsafe_request_still_takes_the_write_lock(web: WebEnv, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the database write lock: SQLite")
    writer = web.fresh("auditor")
    with _write_lock_held(web):
        thread, out = _in_thread(lambda: writer.request("POST", "/signout"))
        thread.join(1.0)
        assert thread.is_alive(), "a POST ran while another connection held the write lock"
    thread.join(QUICK_S)  # the lock released: the POST goes on
    assert not thread.is_alive()
    assert "error" not in out, out.get("error")
    assert out["response"].status_code == 303


def test_safe_requests_begin_deferred_and_unsafe_ones_immediate(web: WebEnv, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("BEGIN IMMEDIATE: SQLite")
    client = web.fresh("auditor")
    seen, stop = _begins(_engine(web))
    try:
        assert client.request("GET", "/api/v1/me").status_code == 200
        reads = list(seen)
        seen.clear()
        assert client.request("POST", "/signout").status_code == 303
        writes = list(seen)
    finally:
        stop()
    assert reads == ["BEGIN", "PRAGMA query_only=ON"]
    assert writes == ["BEGIN IMMEDIATE"]


def test_a_person_view_is_audited_apart_while_another_writer_commits(
    web: WebEnv, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page has read the depositor when another connection commits (here: an audit record,
    the hottest row there is); the view's own record is written after that, in a transaction of
    its own, and the page still renders from its read transaction."""
    clerk = web.fresh("clerk")  # holds person.unmask
    original = audit.record
    interleaved: list[int] = []

    def record_after_another_commit(session: Any, **kwargs: Any) -> int:
        if kwargs.get("action") == "person.unmask" and not interleaved:
            with unit_of_work(web.url) as other:
                interleaved.append(
                    original(other, actor=None, action="test.interleaved", object_id=person.ref)
                )
        return original(session, **kwargs)

    monkeypatch.setattr(audit, "record", record_after_another_commit)
    before = _audits(web, "person.unmask", person.ref)
    page = clerk.request("GET", f"/console/depositors/{person.ref}", headers=HTML)
    assert page.status_code == 200, page.text
    assert person.id_number in page.text and 'id="statement"' in page.text
    after = _audits(web, "person.unmask", person.ref)
    assert len(after) == len(before) + 1
    assert interleaved and after[-1] > interleaved[0]  # written after the other commit
    with unit_of_work(web.url) as session:
        assert audit.verify_trail(session).ok


def test_a_person_view_is_audited_on_the_api_too(web: WebEnv, person: Person) -> None:
    before = _audits(web, "person.view", person.ref)
    agent = web.client("service_agent")  # no person.unmask: masked, still audited
    answer = agent.request("GET", f"/api/v1/depositors/{person.ref}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["id_number"] != person.id_number
    assert len(_audits(web, "person.view", person.ref)) == len(before) + 1


def test_no_data_is_shown_when_the_view_cannot_be_audited(
    web: WebEnv, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(_session: Any, **_kwargs: Any) -> int:
        raise RuntimeError("the audit trail cannot be written")

    clerk = web.fresh("clerk")  # signed in before the trail breaks
    monkeypatch.setattr(audit, "record", failing)
    page = clerk.request("GET", f"/console/depositors/{person.ref}", headers=HTML)
    assert page.status_code >= 500
    assert person.id_number not in page.text
    api = clerk.request("GET", f"/api/v1/depositors/{person.ref}")
    assert api.status_code >= 500
    assert person.id_number not in api.text


def test_reads_hold_no_lock_against_a_long_writer_on_the_api_token_path(
    web: WebEnv, backend: str
) -> None:
    """A bearer-token read whose last use is fresh answers under a held write lock too."""
    if backend != "sqlite":
        pytest.skip("the database write lock: SQLite")
    with unit_of_work(web.url) as session:
        token = auth_service.issue_api_token(
            session, web.user_ids["auditor"], name="lock", scopes=frozenset({"auditor"})
        )
    client = web.fresh("auditor").http
    bearer = {"authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200  # first use: written
    with unit_of_work(web.url) as session:
        count_before = session.scalar(select(func.count()).select_from(AuditRecord))
    with _write_lock_held(web):
        thread, out = _in_thread(lambda: client.get("/api/v1/me", headers=bearer))
        thread.join(QUICK_S)
        assert not thread.is_alive(), "a token read waited for the write lock"
    assert out["response"].status_code == 200
    with unit_of_work(web.url) as session:
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == count_before
