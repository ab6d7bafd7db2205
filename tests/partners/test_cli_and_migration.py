"""``hpf partners`` on a committed database, and migration 0012 down and up (both backends)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect

from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import make_engine, unit_of_work
from hpf.db.migrate import alembic_config, current, upgrade
from hpf.ops import partners
from hpf.ops.models import PartnerToken
from hpf.policy.loader import get_policy

TABLES = {"ops_partner", "ops_partner_token", "ops_partner_call"}


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    monkeypatch.delenv("HPF_POLICY_FILE", raising=False)
    get_settings.cache_clear()
    get_policy.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def test_partners_cli(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["partners", "add", "bdc", "--department", "不动产登记中心"]
    assert run([*args, "--scopes", "depositor_status,loan_certificate"]) == 0
    assert "bdc" in capsys.readouterr().out
    assert run([*args, "--scopes", "everything"]) == 2
    assert "everything" in capsys.readouterr().err
    assert run(["partners", "token", "bdc"]) == 0
    out = capsys.readouterr().out.splitlines()
    token_id, token = int(out[0].split()[1].split("（")[0]), out[1].strip()
    with unit_of_work(cli_db) as session:
        auth = partners.resolve_token(session, token)
        assert auth is not None and auth.token_id == token_id
        stored = session.get(PartnerToken, token_id)
        assert stored is not None and stored.token_hash != token
        partners.record_call(
            session,
            auth,
            route="/depositor-status",
            subject="id:3713**********0219",
            result="found",
            status_code=200,
        )
    assert run(["partners", "calls", "bdc", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 1 and data["calls"][0]["subject"] == "id:3713**********0219"
    assert run(["partners", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["live_tokens"] == 1 and listed[0]["calls"] == 1
    assert run(["partners", "revoke", str(token_id)]) == 0
    assert run(["partners", "suspend", "bdc"]) == 0
    assert run(["partners", "calls", "nobody"]) == 2
    with unit_of_work(cli_db) as session:
        assert partners.resolve_token(session, token) is None


def test_migration_0012_down_and_up(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()
    command.downgrade(alembic_config(fresh_db_url), "0011")
    engine = make_engine(fresh_db_url)
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
    upgrade(fresh_db_url)
    revision, head = current(fresh_db_url)
    assert revision == head
    engine = make_engine(fresh_db_url)
    names = {ix["name"] for ix in inspect(engine).get_indexes("ops_partner_call")}
    assert {"ix_ops_partner_call_partner_at", "ix_ops_partner_call_at"} <= names
    engine.dispose()
