"""Value-added income (增值收益) = income − expenses, distributed in order and posted; the year
then closes, the books verify, and the closed year refuses postings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from factories import make_branch, make_depositor_accounts
from hpf.finance import books, closing, transactions
from hpf.finance.value_added import FinanceError, distribute, year_figures
from hpf.ledger.periods import PeriodClosed, is_closed
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import post
from hpf.ledger.verify import verify_ledger
from hpf.policy.loader import load_shipped_policy


def _year_of_books(session: Session) -> tuple[int, str]:
    """Deposits 1,000,000.00; bank interest 12,345.67 + 2,000.00 on a fixed deposit; interest
    paid to depositors 5,000.00; a collection fee 345.67. Value-added income 9,000.00."""
    branch = make_branch(session)
    (code,) = make_depositor_accounts(session, branch, 1)
    post(
        session,
        JournalDraft(
            "remittance",
            branch.id,
            date(2023, 1, 5),
            date(2023, 1, 5),
            (debit("101", 100_000_000), credit(code, 100_000_000)),
        ),
        idempotency_key="va-remit",
    )
    transactions.record(
        session, "deposit_interest", 1_234_567, date(2023, 3, 21), idempotency_key="va-i"
    )
    placement = transactions.place(
        session,
        "fixed_deposit",
        50_000_000,
        date(2023, 4, 1),
        date(2023, 10, 1),
        counterparty="临沂某银行",
        annual_rate_pct=Decimal("0.8"),
        idempotency_key="va-fd",
    )
    transactions.mature(session, placement.id, date(2023, 10, 1), 200_000)
    post(
        session,
        JournalDraft(
            "interest_settlement",
            branch.id,
            date(2023, 6, 30),
            date(2023, 6, 30),
            (debit("41101", 500_000), credit(code, 500_000)),
        ),
        idempotency_key="va-settle",
    )
    transactions.record(
        session, "collection_fee", 34_567, date(2023, 11, 2), idempotency_key="va-fee"
    )
    return branch.id, code


def test_figures_and_distribution_posted(session: Session) -> None:
    _year_of_books(session)
    figs = year_figures(session, 2023)
    assert figs.income == {"40101": 1_434_567}
    assert figs.expenses == {"41101": 500_000, "41102": 34_567}
    assert figs.value_added_fen == 900_000
    row = distribute(session, 2023, load_shipped_policy(), management_budget_fen=100_000)
    assert (row.reserve_fen, row.management_fen, row.supplement_fen) == (540_000, 100_000, 260_000)
    assert row.reserve_fen + row.management_fen + row.supplement_fen == row.value_added_fen
    end = date(2023, 12, 31)
    assert -books.balance_at(session, "301", end) == 540_000
    assert -books.balance_at(session, "21902", end) == 100_000
    assert -books.balance_at(session, "21402", end) == 260_000
    for code in ("311", "321", "401", "411"):
        assert books.balance_at(session, code, end) == 0
    # the carry is not income: the year's figures are unchanged after it
    assert year_figures(session, 2023).value_added_fen == 900_000
    with pytest.raises(FinanceError, match="2023"):
        distribute(session, 2023, load_shipped_policy())
    closing.close(session, "2023", closed_by="tester")
    assert is_closed(session, "2023")
    assert verify_ledger(session).ok
    with pytest.raises(PeriodClosed, match="2023"):
        transactions.record(session, "collection_fee", 100, end, idempotency_key="va-late")
    transactions.record(session, "collection_fee", 100, date(2024, 1, 2), idempotency_key="va-ok")


def test_year_does_not_close_before_distribution(session: Session) -> None:
    _year_of_books(session)
    with pytest.raises(FinanceError, match="distribute"):
        closing.close(session, "2023")
    with pytest.raises(FinanceError, match="December"):
        closing.close(session, "2023-12")
    closing.close(session, "2023-11")
    assert is_closed(session, "2023-11") and not is_closed(session, "2023-12")


def test_income_after_distribution_blocks_the_close(session: Session) -> None:
    _year_of_books(session)
    distribute(session, 2023, load_shipped_policy())
    late = transactions.record(
        session, "deposit_interest", 1_000, date(2023, 12, 31), idempotency_key="va-late-i"
    )
    with pytest.raises(FinanceError, match="40101"):
        closing.close(session, "2023")
    from hpf.ledger.service import reverse

    reverse(session, late, idempotency_key="va-late-r", posting_date=date(2023, 12, 31))
    closing.close(session, "2023")


def test_management_budget_limited_to_what_remains(session: Session) -> None:
    _year_of_books(session)
    row = distribute(session, 2023, load_shipped_policy(), management_budget_fen=10_000_000)
    assert (row.reserve_fen, row.management_fen, row.supplement_fen) == (540_000, 360_000, 0)


def test_distribution_needs_an_open_year(session: Session) -> None:
    make_branch(session)
    closing.close(session, "2019")  # nothing earned: closes without a distribution
    with pytest.raises(PeriodClosed):
        distribute(session, 2019, load_shipped_policy())
