"""A posting must name an existing account and journal, on both backends.

SQLite enforces this with foreign keys; PostgreSQL with one set-based check per INSERT
statement (migration 0016), and by refusing to delete or renumber a ledger account at all.
Either way a bad reference is an IntegrityError and nothing of the statement is written.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import post

D = date(2023, 7, 10)


def _postings(session: Session) -> int:
    return int(session.execute(text("SELECT COUNT(*) FROM ledger_posting")).scalar_one())


def _posted(session: Session) -> tuple[int, int]:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    draft = JournalDraft(
        kind="remittance",
        branch_id=branch.id,
        posting_date=D,
        value_date=D,
        legs=(debit(chart.HPF_BANK_DEPOSITS, 100), credit(acct, 100)),
    )
    journal = post(session, draft, idempotency_key="k-refs").journal_id
    account_id = int(
        session.execute(
            text("SELECT id FROM ledger_account WHERE code = :c"), {"c": acct}
        ).scalar_one()
    )
    return journal, account_id


def test_a_posting_to_a_missing_account_is_refused(session: Session) -> None:
    journal, account_id = _posted(session)
    before = _postings(session)
    with pytest.raises(IntegrityError), session.begin_nested():
        # a whole statement: one good row and one naming no account; neither is written
        session.execute(
            text(
                "INSERT INTO ledger_posting (journal_id, account_id, amount) "
                "VALUES (:j, :a, 5), (:j, 987654321, -5)"
            ),
            {"j": journal, "a": account_id},
        )
    assert _postings(session) == before


def test_a_posting_to_a_missing_journal_is_refused(session: Session) -> None:
    journal, account_id = _posted(session)
    before = _postings(session)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            text(
                "INSERT INTO ledger_posting (journal_id, account_id, amount) "
                "VALUES (:j, :a, 5), (:missing, :a, -5)"
            ),
            {"j": journal, "a": account_id, "missing": journal + 1000},
        )
    assert _postings(session) == before


def test_an_account_with_postings_cannot_be_deleted_or_renumbered(session: Session) -> None:
    _journal, account_id = _posted(session)
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(text("DELETE FROM ledger_account WHERE id = :a"), {"a": account_id})
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(
            text("UPDATE ledger_account SET id = id + 1000000 WHERE id = :a"), {"a": account_id}
        )
    assert (
        session.execute(
            text("SELECT COUNT(*) FROM ledger_account WHERE id = :a"), {"a": account_id}
        ).scalar_one()
        == 1
    )
