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
from hpf.ledger.models import Account
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
    """opening × days + the year's accrued increments, from the account row (ledger sign)."""
    row = session.execute(
        select(
            Account.balance,
            Account.accrual_year,
            Account.accrual_net,
            Account.accrual_jishu,
            Account.prior_net,
            Account.prior_jishu,
        ).where(Account.code == code)
    ).one()
    year = year_start.year + 1
    if row.accrual_year is None or row.accrual_year < year:
        later_net, this_year = 0, 0
    elif row.accrual_year == year:
        later_net, this_year = row.accrual_net, row.accrual_jishu
    else:
        assert row.accrual_year == year + 1, "slots moved past the year"
        later_net, this_year = row.accrual_net + row.prior_net, row.prior_jishu
    assert row.balance == balance_of(session, code)
    return (row.balance - later_net) * n_days + this_year


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
    row = session.execute(
        select(Account.accrual_year, Account.accrual_net, Account.accrual_jishu).where(
            Account.code == acct
        )
    ).one()
    assert (row.accrual_year, row.accrual_net, row.accrual_jishu) == (2023, -500, 0)
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
    session.execute(
        text("UPDATE ledger_account SET accrual_jishu = accrual_jishu - 1 WHERE code = :c"),
        {"c": acct},
    )
    report = verify_ledger(session)
    assert any(p.check == "interest_accrual" and p.account_code == acct for p in report.problems)


def test_verify_catches_accrual_on_an_account_that_earns_no_interest(session: Session) -> None:
    make_branch(session)
    session.execute(
        text("UPDATE ledger_account SET accrual_year = 2023, accrual_net = 5 WHERE code = :c"),
        {"c": chart.HPF_BANK_DEPOSITS},
    )
    report = verify_ledger(session)
    assert any(
        p.check == "interest_accrual" and p.account_code == chart.HPF_BANK_DEPOSITS
        for p in report.problems
    )


def test_verify_catches_postings_past_the_accrual_year(session: Session) -> None:
    branch = make_branch(session)
    (acct,) = make_depositor_accounts(session, branch, 1)
    for k, day in enumerate((date(2023, 1, 5), date(2023, 8, 5))):
        post(
            session,
            JournalDraft(
                "remittance",
                branch.id,
                day,
                day,
                (debit(chart.HPF_BANK_DEPOSITS, 100), credit(acct, 100)),
            ),
            idempotency_key=f"accrual-year-{k}",
        )
    row = session.execute(
        select(Account.accrual_year, Account.prior_net).where(Account.code == acct)
    ).one()
    assert tuple(row) == (2024, -100)
    assert verify_ledger(session).ok
    # pretend the July posting never rolled the slots: verify names the account
    session.execute(
        text(
            "UPDATE ledger_account SET accrual_year = 2023, accrual_net = prior_net, "
            "accrual_jishu = prior_jishu, prior_net = 0, prior_jishu = 0 WHERE code = :c"
        ),
        {"c": acct},
    )
    report = verify_ledger(session)
    assert any(p.check == "interest_accrual" and p.account_code == acct for p in report.problems)
