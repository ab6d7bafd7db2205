"""``books.balance_at`` and ``balances_at`` (reckoned backwards from the running balances, less
the postings dated after the day) equal the plain sum of the postings dated on or before the
day, for a control account with subsidiaries, a leaf chart account and an account without
postings, at every day around the postings, on both backends."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.finance import books
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import post

DAYS = [
    date(2023, 1, 5),
    date(2023, 3, 31),
    date(2023, 6, 30),
    date(2023, 12, 31),
    date(2024, 2, 1),
]


def _by_postings(session: Session, code: str, on: date) -> int:
    """The definition: Σ of the postings of ``code`` and its subsidiaries dated ≤ ``on``."""
    value = session.execute(
        text(
            "SELECT SUM(p.amount) FROM ledger_posting p "
            "JOIN ledger_journal j ON j.id = p.journal_id "
            "JOIN ledger_account a ON a.id = p.account_id "
            "LEFT JOIN ledger_account c ON c.id = a.parent_id "
            "WHERE (a.code = :c OR (a.subsidiary_kind IS NOT NULL AND c.code = :c)) "
            "AND j.posting_date <= :d"
        ),
        {"c": code, "d": on},
    ).scalar()
    return int(value or 0)


def test_balance_at_equals_the_sum_of_postings_to_the_day(session: Session) -> None:
    branch = make_branch(session)
    accounts = make_depositor_accounts(session, branch, 3)
    for n, day in enumerate(DAYS):
        for k, account in enumerate(accounts):
            fen = 10_000 * (n + 1) + 100 * k + 1
            post(
                session,
                JournalDraft(
                    kind="remittance",
                    branch_id=branch.id,
                    posting_date=day,
                    value_date=day,
                    legs=(debit(chart.HPF_BANK_DEPOSITS, fen), credit(account, fen)),
                ),
                idempotency_key=f"k-bal-{n}-{k}",
            )
    codes = (chart.DEPOSITORS_FUNDS, chart.HPF_BANK_DEPOSITS, chart.LOAN_RISK_RESERVE, accounts[0])
    probes = sorted({d + timedelta(days=s) for d in DAYS for s in (-1, 0, 1)})
    for code in codes:
        want = {on: _by_postings(session, code, on) for on in probes}
        for on in probes:
            assert books.balance_at(session, code, on) == want[on], (code, on)
        assert books.balances_at(session, code, reversed(probes)) == want, code
    assert books.balance_at(session, chart.DEPOSITORS_FUNDS, DAYS[-1]) < 0  # credits: liability
    assert books.balance_at(session, chart.DEPOSITORS_FUNDS, DAYS[0] - timedelta(days=1)) == 0
