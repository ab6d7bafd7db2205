"""积数 accrual kept by every posting agrees with the day-by-day definition (domain.md §4)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.models import Account, InterestAccrual
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import balance_of, post
from hpf.ledger.verify import verify_ledger

YEAR_START, YEAR_END = date(2022, 7, 1), date(2023, 6, 30)


def day_by_day_jishu(history: list[tuple[date, int]], start: date, end: date) -> int:
    """Σ of end-of-day balances, literally one day at a time (the oracle)."""
    total, day = 0, start
    while day <= end:
        total += sum(a for d, a in history if d <= day)
        day += timedelta(days=1)
    return total


def stored_year_jishu(session: Session, code: str, year_start: date, n_days: int) -> int:
    """opening × days + the year's accrued increments, from the table (ledger sign)."""
    account_id = session.scalar(select(Account.id).where(Account.code == code))
    rows = session.execute(
        select(InterestAccrual.year_start, InterestAccrual.net, InterestAccrual.jishu).where(
            InterestAccrual.account_id == account_id
        )
    ).all()
    later_net = sum(r.net for r in rows if r.year_start >= year_start)
    this_year = sum(r.jishu for r in rows if r.year_start == year_start)
    opening = balance_of(session, code) - later_net
    return opening * n_days + this_year


deposits = st.lists(
    st.tuples(st.integers(-400, 400), st.integers(1, 10**8)), min_size=1, max_size=8
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=deposits, bulk=st.booleans())
def test_accrual_matches_day_by_day_oracle(
    session: Session, moves: list[tuple[int, int]], bulk: bool
) -> None:
    savepoint = session.begin_nested()
    try:
        branch = make_branch(session)
        (acct,) = make_depositor_accounts(session, branch, 1)
        history: list[tuple[date, int]] = []
        items = []
        for k, (offset, fen) in enumerate(moves):
            day = YEAR_START + timedelta(days=offset)  # some fall in the years before and after
            draft = JournalDraft(
                "remittance",
                branch.id,
                day,
                day,
                (debit(chart.HPF_BANK_DEPOSITS, fen), credit(acct, fen)),
            )
            items.append((f"acc-{branch.id}-{k}", draft))
            history.append((day, -fen))
        if bulk:
            post_many(session, items)
        else:
            for key, draft in items:
                post(session, draft, idempotency_key=key)
        expected = day_by_day_jishu(history, YEAR_START, YEAR_END)
        n_days = (YEAR_END - YEAR_START).days + 1
        assert stored_year_jishu(session, acct, YEAR_START, n_days) == expected
        assert verify_ledger(session).ok
    finally:
        savepoint.rollback()


def test_settlement_journals_do_not_add_jishu(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    draft = JournalDraft(
        "interest_settlement",
        branch.id,
        YEAR_END,
        YEAR_END,
        (debit(chart.EXPENSE_DEPOSITOR_INTEREST, 500), credit(acct, 500)),
    )
    post(session, draft, idempotency_key="settle-no-jishu")
    row = session.execute(select(InterestAccrual.net, InterestAccrual.jishu)).first()
    assert row is not None and row.net == -500 and row.jishu == 0
    assert verify_ledger(session).ok


def test_verify_catches_an_altered_accrual(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    post(
        session,
        JournalDraft(
            "remittance",
            branch.id,
            date(2023, 1, 5),
            date(2023, 1, 5),
            (debit(chart.HPF_BANK_DEPOSITS, 100), credit(acct, 100)),
        ),
        idempotency_key="accrual-tamper",
    )
    session.execute(text("UPDATE ledger_interest_accrual SET jishu = jishu - 1"))
    report = verify_ledger(session)
    assert any(p.check == "interest_accrual" and p.account_code == acct for p in report.problems)
