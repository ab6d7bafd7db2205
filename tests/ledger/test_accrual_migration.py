"""Migration 0015 moves 积数 onto the account row and back, keeping every figure."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.db.engine import make_engine
from hpf.db.migrate import alembic_config, upgrade
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import post
from hpf.ledger.verify import verify_ledger

SLOTS = "accrual_year, accrual_net, accrual_jishu, prior_net, prior_jishu"


def test_downgrade_rebuilds_the_table_and_upgrade_refills_the_row(fresh_db_url: str) -> None:
    engine = make_engine(fresh_db_url)
    with Session(engine) as s, s.begin():
        branch = make_branch(s)
        codes = make_depositor_accounts(s, branch, 3)
        moves = {
            codes[0]: [date(2022, 3, 1), date(2022, 9, 1), date(2023, 8, 1)],  # 3 years
            codes[1]: [date(2023, 2, 1)],
            codes[2]: [],
        }
        for code, days in moves.items():
            for k, day in enumerate(days):
                post(
                    s,
                    JournalDraft(
                        "remittance",
                        branch.id,
                        day,
                        day,
                        (debit(chart.HPF_BANK_DEPOSITS, 100 + k), credit(code, 100 + k)),
                    ),
                    idempotency_key=f"mig-{code}-{k}",
                )
    with engine.connect() as conn:
        before = {
            r.code: tuple(r)[1:]
            for r in conn.execute(text(f"SELECT code, {SLOTS} FROM ledger_account"))
        }
    assert before[codes[0]][0] == 2024 and before[codes[2]] == (None, 0, 0, 0, 0)
    engine.dispose()

    command.downgrade(alembic_config(fresh_db_url), "0014")
    engine = make_engine(fresh_db_url)
    with engine.connect() as conn:
        years = conn.execute(
            text(
                "SELECT a.code, i.year_start, i.net, i.jishu FROM ledger_interest_accrual i "
                "JOIN ledger_account a ON a.id = i.account_id ORDER BY a.code, i.year_start"
            )
        ).all()
    engine.dispose()
    first = [(str(r.year_start), r.net, r.jishu) for r in years if r.code == codes[0]]
    # −100 on 2022-03-01 (122 days to June 30), −101 on 2022-09-01 (303), −102 on 2023-08-01 (335)
    assert first == [
        ("2021-07-01", -100, -100 * 122),
        ("2022-07-01", -101, -101 * 303),
        ("2023-07-01", -102, -102 * 335),
    ]
    assert not [r for r in years if r.code == codes[2]]

    upgrade(fresh_db_url)
    engine = make_engine(fresh_db_url)
    with engine.connect() as conn:
        after = {
            r.code: tuple(r)[1:]
            for r in conn.execute(text(f"SELECT code, {SLOTS} FROM ledger_account"))
        }
    assert after == before
    with Session(engine) as s:
        assert verify_ledger(s).ok
    engine.dispose()
