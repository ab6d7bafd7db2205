"""``hpf users``, ``hpf tokens`` and ``hpf audit-trail verify`` end to end on each backend."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.auth import service
from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import make_engine
from hpf.identifiers import is_valid_id_number


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("HPF_ENV", "development")
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def _tamper(url: str, backend: str, record_id: int) -> None:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        if backend == "sqlite":
            session.execute(text("DROP TRIGGER audit_record_no_update"))
        else:
            session.execute(text("ALTER TABLE audit_record DISABLE TRIGGER audit_record_immutable"))
        session.execute(
            text("UPDATE audit_record SET action = 'nothing.happened' WHERE id = :i"),
            {"i": record_id},
        )
    engine.dispose()


def test_seed_demo_add_list_unlock_and_verify(
    cli_db: str, backend: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["users", "seed-demo"]) == 0
    out = capsys.readouterr().out
    assert "created 11 demo users" in out
    assert run(["users", "seed-demo"]) == 0  # idempotent
    assert "created 0 demo users" in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin", io.StringIO("Counter2023\n"))
    argv = ["users", "add", "--kind", "staff", "--login", "wang", "--name", "王经办"]
    assert run([*argv, "--role", "clerk", "--branch", "371301", "--password-stdin"]) == 0
    assert "created user" in capsys.readouterr().out

    assert run(["users", "list", "--json"]) == 0
    users = json.loads(capsys.readouterr().out)
    by_login = {u["login"]: u for u in users}
    assert {"clerk", "sysadmin", "leadership", "E0001", "wang"} <= set(by_login)
    assert by_login["wang"]["roles"] == ["clerk"]
    depositors = [u for u in users if u["kind"] == "depositor"]
    assert len(depositors) == 2 and all("*" in u["login"] for u in depositors)

    engine = make_engine(cli_db)
    with Session(engine) as session, session.begin():
        ids = session.scalars(
            text("SELECT login_name FROM user_account WHERE kind = 'depositor'")
        ).all()
        assert all(is_valid_id_number(i) for i in ids)
        for _ in range(5):
            with contextlib.suppress(service.AuthError):
                service.authenticate(session, kind="staff", login_name="wang", password="nope1234")
        principal = service.authenticate(
            session, kind="staff", login_name="clerk", password="Demo2023!"
        )
        assert principal.has("workflow.accept")
    engine.dispose()

    assert run(["users", "list"]) == 0
    assert "locked" in capsys.readouterr().out
    assert run(["users", "unlock", "wang"]) == 0
    assert run(["users", "grant", "wang", "reviewer"]) == 0
    assert "clerk reviewer" in capsys.readouterr().out

    assert run(["audit-trail", "verify"]) == 0
    assert "audit trail verified" in capsys.readouterr().out
    _tamper(cli_db, backend, 3)
    assert run(["audit-trail", "verify"]) == 1
    err = capsys.readouterr().err
    assert "first offending record 3" in err


def test_tokens_issue_and_revoke(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["users", "seed-demo"]) == 0
    capsys.readouterr()
    assert run(["tokens", "issue", "finance", "--name", "对账", "--scope", "finance"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert "token id 1" in captured.err and len(token) >= 40
    engine = make_engine(cli_db)
    with Session(engine) as session, session.begin():
        p = service.resolve_api_token(session, token)
        assert p is not None and p.roles == {"finance"}
    assert run(["tokens", "revoke", "1"]) == 0
    with Session(engine) as session, session.begin():
        assert service.resolve_api_token(session, token) is None
    engine.dispose()
    assert run(["tokens", "issue", "finance", "--name", "x", "--scope", "god"]) == 2


def test_permissions_markdown_and_production_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["users", "permissions", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("# 角色与权限")
    assert run(["users", "permissions"]) == 0
    monkeypatch.setenv("HPF_ENV", "production")
    monkeypatch.setenv("HPF_SECRET_KEY", "x" * 40)
    get_settings.cache_clear()
    try:
        assert run(["users", "seed-demo"]) == 2
        assert "production" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
