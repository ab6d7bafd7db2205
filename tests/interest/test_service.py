"""Annual settlement and closure interest agree to the fen with a day-by-day 积数 oracle."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.interest.service import closure_interest, settle_year
from hpf.ledger import chart
from hpf.ledger.models import Journal
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import balance_of, post
from hpf.ledger.verify import verify_ledger
from hpf.policy.loader import load_shipped_policy, parse_policy

POLICY = load_shipped_policy()
START, END = date(2022, 7, 1), date(2023, 6, 30)


def oracle_interest(
    history: list[tuple[date, int]], start: date, end: date, rates: list[tuple[date, str]]
) -> int:
    """Σ over days of (end-of-day balance in fen × rate / 360), exact, rounded half-up once."""
    total = Fraction(0)
    day = start
    while day <= end:
        balance = sum(a for d, a in history if d <= day)
        rate = [Fraction(r) for eff, r in rates if eff <= day][-1]
        total += Fraction(balance) * rate / 100 / 360
        day += timedelta(days=1)
    return int((total * 2 + 1) // 2) if total >= 0 else -int((-total * 2 + 1) // 2)


def deposit(session: Session, branch_id: int, acct: str, day: date, fen: int, key: str) -> None:
    legs = (
        (debit(chart.HPF_BANK_DEPOSITS, fen), credit(acct, fen))
        if fen > 0
        else (debit(acct, -fen), credit(chart.HPF_BANK_DEPOSITS, -fen))
    )
    post(session, JournalDraft("remittance", branch_id, day, day, legs), idempotency_key=key)


histories = st.lists(
    st.lists(st.tuples(st.integers(-300, 420), st.integers(1, 5 * 10**7)), min_size=1, max_size=6),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(accounts=histories)
def test_settlement_matches_oracle_and_is_idempotent(
    session: Session, accounts: list[list[tuple[int, int]]]
) -> None:
    savepoint = session.begin_nested()
    try:
        branch = make_branch(session)
        codes = make_depositor_accounts(session, branch, len(accounts))
        expected = {}
        for n, (code, moves) in enumerate(zip(codes, accounts, strict=True)):
            history = []
            for k, (offset, fen) in enumerate(moves):
                day = START + timedelta(days=offset)
                deposit(session, branch.id, code, day, fen, f"s-{branch.id}-{n}-{k}")
                history.append((day, fen))
            expected[code] = oracle_interest(history, START, END, [(date(2016, 2, 21), "1.5")])
        before = {c: balance_of(session, c) for c in codes}
        result = settle_year(session, 2023, POLICY)
        for code in codes:
            assert before[code] - balance_of(session, code) == expected[code], code
        assert result.total_fen == sum(expected.values())
        journals = session.scalar(select(func.count()).select_from(Journal))
        again = settle_year(session, 2023, POLICY)
        assert all(b.replayed for b in again.branches)
        assert session.scalar(select(func.count()).select_from(Journal)) == journals
        assert verify_ledger(session).ok
    finally:
        savepoint.rollback()


def test_settlement_exact_when_later_years_have_moved_the_accrual_slots(
    session: Session,
) -> None:
    """The account row keeps 积数 for its latest two interest years; a year settled (or
    replayed) after postings two years later is paid from the postings, to the fen."""
    branch = make_branch(session)
    stale, fresh = make_depositor_accounts(session, branch, 2)
    history = [(date(2022, 5, 3), 800_000), (date(2022, 10, 9), 123_457)]
    for k, (day, fen) in enumerate(history):
        deposit(session, branch.id, stale, day, fen, f"stale-{k}")
        deposit(session, branch.id, fresh, day, fen, f"fresh-{k}")
    # value-dated in the interest year ending June 2025: the slots of ``stale`` move past 2024
    deposit(session, branch.id, stale, date(2024, 8, 1), 5_000, "stale-later")
    rate = [(date(2016, 2, 21), "1.5")]
    expected = oracle_interest(history, START, END, rate)
    before = {c: balance_of(session, c) for c in (stale, fresh)}
    settle_year(session, 2023, POLICY)
    for code in (stale, fresh):
        assert before[code] - balance_of(session, code) == expected, code
    assert verify_ledger(session).ok
    # a later posting moves ``fresh`` on too; replaying the settlement writes nothing
    deposit(session, branch.id, fresh, date(2024, 9, 1), 7_000, "fresh-later")
    journals = session.scalar(select(func.count()).select_from(Journal))
    assert all(b.replayed for b in settle_year(session, 2023, POLICY).branches)
    assert session.scalar(select(func.count()).select_from(Journal)) == journals
    assert verify_ledger(session).ok


def test_rate_change_inside_the_year_rounds_once(session: Session) -> None:
    text = POLICY_TEXT.replace(
        "# @@EXTRA_RATE@@",
        '[[deposit_rate]]\neffective = 2023-01-01\ncurrent_year_pct = "1.75"\n'
        'brought_forward_pct = "1.75"\n',
    )
    policy = parse_policy(text)
    branch = make_branch(session)
    (code,) = make_depositor_accounts(session, branch, 1)
    history = [
        (date(2022, 6, 1), 1_000_001),
        (date(2022, 9, 9), 333_333),
        (date(2023, 2, 2), -50_000),
    ]
    for k, (day, fen) in enumerate(history):
        deposit(session, branch.id, code, day, fen, f"rate-change-{k}")
    before = balance_of(session, code)
    settle_year(session, 2023, policy)
    paid = before - balance_of(session, code)
    assert paid == oracle_interest(
        history, START, END, [(date(2016, 2, 21), "1.5"), (date(2023, 1, 1), "1.75")]
    )


def test_closure_interest_runs_to_the_day_before(session: Session) -> None:
    branch = make_branch(session)
    (code,) = make_depositor_accounts(session, branch, 1)
    history = [
        (date(2023, 1, 10), 2_000_000),
        (date(2023, 8, 1), 150_000),
        (date(2023, 11, 20), 99_999),
    ]
    for k, (day, fen) in enumerate(history):
        deposit(session, branch.id, code, day, fen, f"closure-{k}")
    event = date(2023, 11, 20)
    got = closure_interest(session, code, event, POLICY)
    assert got == oracle_interest(
        history, date(2023, 7, 1), event - timedelta(days=1), [(date(2016, 2, 21), "1.5")]
    )
    assert got > 0


def _policy_text() -> str:
    from importlib import resources

    text = resources.files("hpf.policy").joinpath("linyi.toml").read_text("utf-8")
    return text + "\n# @@EXTRA_RATE@@\n"


POLICY_TEXT = _policy_text()
