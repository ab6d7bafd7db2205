"""Posting, reversal, idempotency and verification on both databases."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.ledger import chart
from hpf.ledger.models import Journal, Posting
from hpf.ledger.rules import (
    IdempotencyConflict,
    JournalDraft,
    LedgerError,
    UnbalancedJournal,
    credit,
    debit,
)
from hpf.ledger.service import balance_of, post, reverse
from hpf.ledger.verify import verify_ledger

D = date(2023, 7, 10)


def remittance(branch_id: int, account: str, fen: int) -> JournalDraft:
    return JournalDraft(
        kind="remittance",
        branch_id=branch_id,
        posting_date=D,
        value_date=D,
        legs=(debit(chart.HPF_BANK_DEPOSITS, fen), credit(account, fen)),
    )


def journal_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Journal)) or 0)


def test_post_updates_leaf_and_control_balances(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    bank_before = balance_of(session, chart.HPF_BANK_DEPOSITS)
    control_before = balance_of(session, chart.DEPOSITORS_FUNDS)
    result = post(session, remittance(branch.id, acct, 123_456), idempotency_key="k-post-1")
    assert not result.replayed
    assert balance_of(session, acct) == -123_456  # credit: liability grows
    assert balance_of(session, chart.DEPOSITORS_FUNDS) == control_before - 123_456
    assert balance_of(session, chart.HPF_BANK_DEPOSITS) == bank_before + 123_456
    assert verify_ledger(session).ok


def test_replay_returns_first_journal_and_posts_nothing(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    first = post(session, remittance(branch.id, acct, 5_000), idempotency_key="k-replay")
    count = journal_count(session)
    again = post(session, remittance(branch.id, acct, 5_000), idempotency_key="k-replay")
    assert again.journal_id == first.journal_id and again.replayed
    assert journal_count(session) == count
    assert balance_of(session, acct) == -5_000


def test_same_key_different_request_is_refused(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    post(session, remittance(branch.id, acct, 5_000), idempotency_key="k-conflict")
    with pytest.raises(IdempotencyConflict):
        post(session, remittance(branch.id, acct, 5_001), idempotency_key="k-conflict")
    assert balance_of(session, acct) == -5_000


def test_unbalanced_journal_is_rejected_with_nothing_written(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    count = journal_count(session)
    draft = JournalDraft(
        kind="manual",
        branch_id=branch.id,
        posting_date=D,
        value_date=D,
        legs=(debit(chart.HPF_BANK_DEPOSITS, 100), credit(acct, 99)),
    )
    with pytest.raises(UnbalancedJournal):
        post(session, draft, idempotency_key="k-unbalanced")
    assert journal_count(session) == count
    assert balance_of(session, acct) == 0


def test_control_account_and_unknown_account_are_refused(session: Session) -> None:
    branch = make_branch(session)
    for target in (chart.DEPOSITORS_FUNDS, "201-NOPE"):
        draft = JournalDraft(
            kind="manual",
            branch_id=branch.id,
            posting_date=D,
            value_date=D,
            legs=(debit(chart.HPF_BANK_DEPOSITS, 100), credit(target, 100)),
        )
        with pytest.raises(LedgerError):
            post(session, draft, idempotency_key=f"k-refused-{target}")


def test_reversal_restores_balances_once(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    posted = post(session, remittance(branch.id, acct, 7_700), idempotency_key="k-rev-orig")
    rev = reverse(
        session, posted.journal_id, idempotency_key="k-rev", posting_date=date(2023, 7, 11)
    )
    assert balance_of(session, acct) == 0
    row = session.get(Journal, rev.journal_id)
    assert row is not None and row.reverses_id == posted.journal_id and row.value_date == D
    assert reverse(
        session, posted.journal_id, idempotency_key="k-rev", posting_date=date(2023, 7, 11)
    ).replayed
    with pytest.raises(LedgerError):
        reverse(
            session, posted.journal_id, idempotency_key="k-rev-2", posting_date=date(2023, 7, 12)
        )
    with pytest.raises(LedgerError):
        reverse(session, rev.journal_id, idempotency_key="k-rev-3", posting_date=date(2023, 7, 12))
    assert verify_ledger(session).ok


def test_postings_are_immutable_in_the_database(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    posted = post(session, remittance(branch.id, acct, 100), idempotency_key="k-immutable")
    with pytest.raises(Exception, match="immutable"), session.begin_nested():
        session.execute(
            text("UPDATE ledger_posting SET amount = amount + 1 WHERE journal_id = :j"),
            {"j": posted.journal_id},
        )
    with pytest.raises(Exception, match="immutable"), session.begin_nested():
        session.execute(text("DELETE FROM ledger_journal WHERE id = :j"), {"j": posted.journal_id})


def test_verify_names_the_tampered_journal(session: Session, backend: str) -> None:
    branch = make_branch(session)
    accts = make_depositor_accounts(session, branch, 3)
    ids = [
        post(
            session, remittance(branch.id, a, 1_000 * (i + 1)), idempotency_key=f"k-tamper-{i}"
        ).journal_id
        for i, a in enumerate(accts)
    ]
    assert verify_ledger(session).ok
    victim = ids[1]
    _drop_triggers(session, backend)
    session.execute(
        text(
            "UPDATE ledger_posting SET amount = amount + 1 WHERE id = "
            "(SELECT MIN(id) FROM ledger_posting WHERE journal_id = :j)"
        ),
        {"j": victim},
    )
    report = verify_ledger(session)
    assert not report.ok
    assert report.first_offending_journal == victim
    checks = {p.check for p in report.problems}
    assert {"balance", "running_balance", "hash_chain"} <= checks


def _drop_triggers(session: Session, backend: str) -> None:
    """What an attacker with DBA rights would do before editing the books."""
    if backend == "sqlite":
        session.execute(text("DROP TRIGGER ledger_posting_no_update"))
    else:
        session.execute(text("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_immutable"))


def test_postings_sum_to_zero_overall(session: Session) -> None:
    branch = make_branch(session)
    accts = make_depositor_accounts(session, branch, 2)
    for i, a in enumerate(accts):
        post(session, remittance(branch.id, a, 10 + i), idempotency_key=f"k-sum-{i}")
    assert session.scalar(select(func.sum(Posting.amount))) == 0


def test_bulk_posting_to_many_accounts_uses_the_staging_join(session: Session) -> None:
    from hpf.ledger.bulk import post_many
    from hpf.ledger.service import STAGE_THRESHOLD

    branch = make_branch(session)
    accts = make_depositor_accounts(session, branch, STAGE_THRESHOLD + 50)
    items = [
        (f"many-{branch.id}-{i}", remittance(branch.id, a, 100 + i)) for i, a in enumerate(accts)
    ]
    result = post_many(session, items)
    assert result.posted == len(accts)
    assert [balance_of(session, a) for a in accts[:3]] == [-100, -101, -102]
    assert verify_ledger(session).ok
