"""Period close (期末结账): a closed period refuses postings and reversals, naming the period;
corrections go to the open period; replays still answer; verify passes after the close."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.errors import InvalidInput
from hpf.ledger.periods import (
    PeriodClosed,
    close_period,
    closed_through,
    is_closed,
    parse_period,
    require_open,
)
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import post, reverse
from hpf.ledger.verify import verify_ledger


def _draft(branch_id: int, code: str, on: date, fen: int = 10_000) -> JournalDraft:
    return JournalDraft(
        "remittance", branch_id, on, on, (debit("101", fen), credit(code, fen)), memo="t"
    )


def test_parse_period() -> None:
    assert parse_period("2023").start == date(2023, 1, 1)
    assert parse_period("2023").end == date(2023, 12, 31)
    june = parse_period("2023-6")
    assert (june.label, june.kind, june.end) == ("2023-06", "month", date(2023, 6, 30))
    for bad in ("2023-13", "23", "2023/06", ""):
        with pytest.raises(InvalidInput):
            parse_period(bad)


def test_closed_month_refuses_postings_and_names_it(session: Session) -> None:
    branch = make_branch(session)
    (code,) = make_depositor_accounts(session, branch, 1)
    post(session, _draft(branch.id, code, date(2023, 5, 20)), idempotency_key="p-may")
    close_period(session, "2023-05", closed_by="tester")
    assert is_closed(session, "2023-05") and is_closed(session, "2023-04")
    assert not is_closed(session, "2023-06")
    assert closed_through(session) == date(2023, 5, 31)
    with pytest.raises(PeriodClosed) as err:
        post(session, _draft(branch.id, code, date(2023, 5, 31)), idempotency_key="p-late")
    assert "2023-05" in err.value.message_zh and "已结账" in err.value.message_zh
    assert "2023-05" in err.value.message_en and "closed" in err.value.message_en
    assert "2023-06-01" in err.value.message_en
    # the first day of the open period takes postings
    post(session, _draft(branch.id, code, date(2023, 6, 1)), idempotency_key="p-june")


def test_replay_of_a_posted_journal_still_answers(session: Session) -> None:
    branch = make_branch(session)
    (code,) = make_depositor_accounts(session, branch, 1)
    draft = _draft(branch.id, code, date(2023, 3, 3))
    first = post(session, draft, idempotency_key="p-replay")
    close_period(session, "2023-03")
    again = post(session, draft, idempotency_key="p-replay")
    assert again.replayed and again.journal_id == first.journal_id


def test_reversal_goes_to_the_open_period(session: Session) -> None:
    branch = make_branch(session)
    (code,) = make_depositor_accounts(session, branch, 1)
    posted = post(session, _draft(branch.id, code, date(2023, 2, 10)), idempotency_key="p-rev")
    close_period(session, "2023-02")
    with pytest.raises(PeriodClosed):
        reverse(session, posted.journal_id, idempotency_key="r1", posting_date=date(2023, 2, 28))
    fixed = reverse(session, posted.journal_id, idempotency_key="r2", posting_date=date(2023, 3, 1))
    assert not fixed.replayed
    assert verify_ledger(session).ok


def test_closing_twice_or_an_earlier_period_is_refused(session: Session) -> None:
    close_period(session, "2022-08")
    with pytest.raises(PeriodClosed, match="2022-08"):
        close_period(session, "2022-08")
    with pytest.raises(PeriodClosed, match="2022-07"):
        close_period(session, "2022-07")
    require_open(session, date(2022, 9, 1))


def test_closing_a_year_closes_its_december(session: Session) -> None:
    close_period(session, "2021")
    assert is_closed(session, "2021-12") and is_closed(session, "2021")
    with pytest.raises(PeriodClosed) as err:
        require_open(session, date(2021, 12, 31))
    assert "2021" in err.value.message_zh
    require_open(session, date(2022, 1, 1))


def test_batches_refuse_a_closed_period_and_write_nothing(session: Session) -> None:
    from sqlalchemy import func, select

    from hpf.ledger.bulk import post_many
    from hpf.ledger.models import Journal

    branch = make_branch(session)
    codes = make_depositor_accounts(session, branch, 3)
    done = post_many(
        session, [(f"b-may-{c}", _draft(branch.id, c, date(2023, 5, 10))) for c in codes]
    )
    assert done.posted == 3
    close_period(session, "2023-05")
    before = session.scalar(select(func.count()).select_from(Journal))
    late = [(f"b-late-{c}", _draft(branch.id, c, date(2023, 5, 31))) for c in codes]
    with pytest.raises(PeriodClosed):
        post_many(session, [*late, ("b-june", _draft(branch.id, codes[0], date(2023, 6, 1)))])
    assert session.scalar(select(func.count()).select_from(Journal)) == before
    # a replay of the May batch still answers; June goes through
    again = post_many(
        session, [(f"b-may-{c}", _draft(branch.id, c, date(2023, 5, 10))) for c in codes]
    )
    assert (again.posted, again.replayed) == (0, 3)
    assert (
        post_many(session, [("b-june", _draft(branch.id, codes[0], date(2023, 6, 1)))]).posted == 1
    )
    assert verify_ledger(session).ok


def test_settlement_refuses_a_closed_period(session: Session) -> None:
    from hpf.interest.service import settle_year
    from hpf.policy.loader import load_shipped_policy

    branch = make_branch(session)
    (code,) = make_depositor_accounts(session, branch, 1)
    post(session, _draft(branch.id, code, date(2022, 8, 10), 1_000_000), idempotency_key="s-aug")
    close_period(session, "2023-06")
    with pytest.raises(PeriodClosed):
        settle_year(session, 2023, load_shipped_policy())
