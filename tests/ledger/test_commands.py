"""``hpf ledger verify`` end to end on a committed database of each backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.cli import run
from hpf.config import get_settings
from hpf.db.engine import make_engine
from hpf.ledger.bulk import post_many
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import open_subsidiaries
from hpf.org.service import create_unit


@pytest.fixture
def cli_db(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HPF_DATABASE_URL", fresh_db_url)
    get_settings.cache_clear()
    yield fresh_db_url
    get_settings.cache_clear()


def _load(url: str, journals: int) -> None:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        center = create_unit(session, code="C0", name="中心", kind="center")
        branch = create_unit(
            session, code="C1", name="管理部", kind="branch", parent_code=center.code
        )
        open_subsidiaries(
            session,
            "depositor",
            [(f"P{i:05d}", f"职工{i}", branch.id, date(2023, 1, 1)) for i in range(50)],
        )
        post_many(
            session,
            [
                (
                    f"load-{k}",
                    JournalDraft(
                        "remittance",
                        branch.id,
                        date(2023, 7, 5),
                        date(2023, 7, 5),
                        (debit("101", 1000 + k), credit(f"201-P{k % 50:05d}", 1000 + k)),
                    ),
                )
                for k in range(journals)
            ],
        )
    engine.dispose()


def _tamper(url: str, backend: str, journal_id: int) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        if backend == "sqlite":
            conn.execute(text("DROP TRIGGER ledger_posting_no_update"))
        else:
            conn.execute(
                text("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_immutable")
            )
        conn.execute(
            text(
                "UPDATE ledger_posting SET amount = amount * 2 WHERE id = "
                "(SELECT MIN(id) FROM ledger_posting WHERE journal_id = :j)"
            ),
            {"j": journal_id},
        )
    engine.dispose()


def test_verify_passes_then_names_tampered_journal(
    cli_db: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _load(cli_db, 5_000)  # 10,000 postings: the bounded version of the 1 M benchmark
    assert run(["ledger", "verify"]) == 0
    assert "10,000 postings" in capsys.readouterr().out
    _tamper(cli_db, backend, 4_321)
    assert run(["ledger", "verify"]) == 1
    err = capsys.readouterr().err
    assert "first offending journal 4321" in err
    assert run(["ledger", "verify", "--json"]) == 1
    assert '"first_offending_journal": 4321' in capsys.readouterr().out


def test_db_current_reports_head(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["db", "current"]) == 0
    out = capsys.readouterr().out
    assert "up to date" in out


def test_org_seed_is_idempotent(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["org", "seed"]) == 0
    assert "created 27" in capsys.readouterr().out
    assert run(["org", "seed"]) == 0
    assert "created 0" in capsys.readouterr().out


def test_verify_reports_the_chain_head_hash(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _load(cli_db, 20)
    assert run(["ledger", "verify", "--json"]) == 0
    reported = json.loads(capsys.readouterr().out)["head_hash"]
    engine = make_engine(cli_db)
    with engine.connect() as conn:
        last = conn.execute(text("SELECT hash FROM ledger_journal ORDER BY id DESC LIMIT 1"))
        assert reported == last.scalar_one()
    engine.dispose()
    assert len(reported) == 64
