"""Employers, depositors, monthly remittance, arrears and transfers on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from deposit_books import Books
from hpf.deposits import arrears, remittance, stats
from hpf.deposits.depositors import (
    DepositorError,
    balance_fen,
    freeze,
    join_employer,
    merge,
    transfer_in,
    transfer_out,
)
from hpf.deposits.employers import (
    EmployerError,
    EmployerInput,
    change_rates,
    close_employer,
    open_employer,
)
from hpf.deposits.models import RemittanceLine
from hpf.deposits.rules import ContributionRuleError
from hpf.errors import InvalidInput
from hpf.identifiers import make_uscc
from hpf.interest.service import closure_interest
from hpf.ledger import chart
from hpf.ledger.models import Journal
from hpf.ledger.service import balance_of
from hpf.ledger.verify import verify_ledger

JULY = date(2023, 7, 1)


def test_open_employer_validates_credit_code_and_rates(books: Books) -> None:
    base = dict(
        name="临沂某公司",
        branch_code=books.branch_code,
        employee_rate_pct=Decimal("12"),
        opened_on=JULY,
    )
    with pytest.raises(InvalidInput, match="check digit"):
        open_employer(
            books.session,
            EmployerInput(uscc="91371300MA3C000001", employer_rate_pct=Decimal("12"), **base),
            books.policy,
            books.actor,
        )  # type: ignore[arg-type]
    with pytest.raises(ContributionRuleError):
        open_employer(
            books.session,
            EmployerInput(
                uscc=make_uscc("91371300MA3C00002"), employer_rate_pct=Decimal("13"), **base
            ),  # type: ignore[arg-type]
            books.policy,
            books.actor,
        )
    employer = books.employer()
    assert employer.status == "02" and employer.employer_ref.startswith(books.branch_code[:6])
    assert balance_of(books.session, remittance.suspense_code(employer)) == 0


def test_depositor_open_derives_birth_and_sex_and_checks_base(books: Books) -> None:
    employer = books.employer()
    person = books.depositor(employer, 600_000)
    assert person.birth_date.year == 1990 and person.sex in ("M", "F")
    assert len(person.depositor_ref) == 12 and person.status == "01"
    with pytest.raises(ContributionRuleError, match="cap"):
        books.depositor(employer, 2_368_101)  # cap 23,681 yuan from 2023-07-01
    with pytest.raises(ContributionRuleError, match="floor"):
        books.depositor(employer, 189_999)  # city floor 1,900 yuan


def test_remittance_month_posts_one_balanced_journal_crediting_everyone(books: Books) -> None:
    s = books.session
    employer = books.employer("12")
    people = [books.depositor(employer, base) for base in (500_000, 612_345, 190_000)]
    lst = remittance.draft(s, employer, JULY, books.policy, books.actor)
    # 12% of 6,123.45 = 734.814 -> 734.81 for each share
    assert lst.lines == 3 and lst.total_fen == 2 * (60_000 + 73_481 + 22_800)
    with pytest.raises(remittance.RemittanceError):
        remittance.draft(
            s, employer, JULY, books.policy, books.actor
        )  # one list per employer-month
    remittance.confirm(s, lst, books.actor)
    with pytest.raises(remittance.RemittanceError, match="short"):
        remittance.post_remittances(s, [lst.id], date(2023, 7, 12), books.actor)
    remittance.receive_funds(
        s,
        employer,
        lst.total_fen + 1_000,
        date(2023, 7, 12),
        books.actor,
        idempotency_key=f"funds-{lst.id}",
    )
    [outcome] = remittance.post_remittances(s, [lst.id], date(2023, 7, 12), books.actor)
    assert [balance_fen(s, p) for p in people] == [120_000, 146_962, 45_600]
    assert -balance_of(s, remittance.suspense_code(employer)) == 1_000  # the over-payment waits
    assert employer.status == "01"
    again = remittance.post_remittances(s, [lst.id], date(2023, 7, 12), books.actor)
    assert again[0].replayed and again[0].journal_id == outcome.journal_id
    remittance.refund_overpayment(
        s, employer, 1_000, date(2023, 7, 13), books.actor, idempotency_key="refund-1"
    )
    assert balance_of(s, remittance.suspense_code(employer)) == 0
    [row] = [r for r in stats.monthly(s, JULY, JULY) if r.branch_id == employer.branch_id]
    assert (row.amount_fen, row.paying_employers, row.paying_depositors, row.new_depositors) == (
        lst.total_fen,
        1,
        3,
        3,
    )
    assert verify_ledger(s).ok


def test_first_contributors_are_marked_once_counted_by_branch(books: Books) -> None:
    """A depositor's first posted line (a zero line too) marks the month and counts once in the
    branch's new depositors; the next month finds nobody new and changes no mark."""
    s = books.session
    employer = books.employer()
    people = [books.depositor(employer, 500_000) for _ in range(3)]
    august = date(2023, 8, 1)
    for month, posted_on in ((JULY, date(2023, 7, 12)), (august, date(2023, 8, 12))):
        lst = remittance.draft(s, employer, month, books.policy, books.actor)
        if month == JULY:  # the third person's July line is zero (no wages that month)
            line = s.scalars(
                select(RemittanceLine).where(
                    RemittanceLine.remittance_id == lst.id,
                    RemittanceLine.depositor_id == people[2].id,
                )
            ).one()
            lst.employer_total_fen -= line.employer_fen
            lst.employee_total_fen -= line.employee_fen
            lst.total_fen -= line.employer_fen + line.employee_fen
            line.employer_fen = line.employee_fen = 0
            s.flush()
        remittance.confirm(s, lst, books.actor)
        remittance.receive_funds(
            s, employer, lst.total_fen, posted_on, books.actor, idempotency_key=f"first-{lst.id}"
        )
        remittance.post_remittances(s, [lst.id], posted_on, books.actor)
        assert [p.first_contribution_month for p in people] == [JULY] * 3
        [row] = [r for r in stats.monthly(s, month, month) if r.branch_id == employer.branch_id]
        assert row.new_depositors == (3 if month == JULY else 0)
    assert verify_ledger(s).ok


def test_arrears_lists_unpaid_months_and_reminders_keep_history(books: Books) -> None:
    s = books.session
    employer = books.employer(opened=date(2023, 5, 3), pay_day=10)
    books.depositor(employer, 500_000, joined=date(2023, 5, 3))
    items = [
        i
        for i in arrears.arrears(s, date(2023, 7, 20), books.policy)
        if i.employer_ref == employer.employer_ref
    ]
    # May and June are due (10th + 5 days); July's deadline (July 15) has passed too.
    assert [i.month for i in items] == [date(2023, 5, 1), date(2023, 6, 1), date(2023, 7, 1)]
    assert (
        items[0].amount_fen == 120_000
        and items[0].age_days == (date(2023, 7, 20) - date(2023, 5, 15)).days
    )
    lst = remittance.draft(s, employer, date(2023, 5, 1), books.policy, books.actor)
    remittance.confirm(s, lst, books.actor)
    remittance.receive_funds(
        s, employer, lst.total_fen, date(2023, 7, 20), books.actor, idempotency_key="arr-funds"
    )
    remittance.post_remittances(s, [lst.id], date(2023, 7, 20), books.actor)
    left = [
        i.month
        for i in arrears.arrears(s, date(2023, 7, 20), books.policy)
        if i.employer_ref == employer.employer_ref
    ]
    assert left == [date(2023, 6, 1), date(2023, 7, 1)]
    notice = arrears.issue_reminder(s, employer, date(2023, 7, 21), books.policy, books.actor)
    assert "2023年06月" in notice.document and notice.amount_fen == 240_000
    assert len(arrears.reminders(s, employer)) == 1


def test_freeze_unfreeze_transfer_and_merge(books: Books) -> None:
    s = books.session
    first, second = books.employer(), books.employer()
    person = books.depositor(first)
    transfer_in(
        s, person, 1_000_000, date(2023, 8, 1), "济南市", books.actor, idempotency_key="tin-1"
    )
    freeze(s, person, date(2023, 9, 1), books.actor)
    assert person.status == "02" and person.employer_id is None
    with pytest.raises(DepositorError):
        freeze(s, person, date(2023, 9, 2), books.actor)
    join_employer(s, person, second, 700_000, date(2023, 10, 1), books.policy, books.actor)
    assert person.status == "01" and person.employer_id == second.id
    duplicate = books.depositor(first)
    transfer_in(
        s, duplicate, 50_000, date(2023, 8, 1), "青岛市", books.actor, idempotency_key="tin-2"
    )
    owed = closure_interest(s, f"201-{duplicate.depositor_ref}", date(2023, 11, 1), books.policy)
    duplicate.name = person.name  # the same person registered twice
    moved = merge(
        s,
        person,
        duplicate,
        date(2023, 11, 1),
        books.policy,
        books.actor,
        idempotency_key="merge-1",
    )
    assert moved == 50_000 + owed and duplicate.status == "03"
    assert balance_fen(s, person) == 1_000_000 + moved
    with pytest.raises(Exception, match="closed"):
        transfer_in(s, duplicate, 1, date(2023, 11, 2), "x", books.actor, idempotency_key="tin-3")
    assert verify_ledger(s).ok


def test_transfer_out_pays_balance_and_closure_interest(books: Books) -> None:
    s = books.session
    employer = books.employer()
    person = books.depositor(employer)
    transfer_in(
        s, person, 3_000_000, date(2023, 7, 1), "济南市", books.actor, idempotency_key="tout-in"
    )
    interest = closure_interest(s, f"201-{person.depositor_ref}", date(2024, 1, 1), books.policy)
    assert interest == round(3_000_000 * 184 * Decimal("0.015") / 360)  # Jul 1..Dec 31 = 184 days
    bank_before = balance_of(s, chart.HPF_BANK_DEPOSITS)
    paid = transfer_out(
        s, person, date(2024, 1, 1), "北京市", books.policy, books.actor, idempotency_key="tout"
    )
    assert paid == 3_000_000 + interest and person.status == "04"
    assert balance_of(s, chart.HPF_BANK_DEPOSITS) == bank_before - paid
    with pytest.raises(DepositorError):
        transfer_out(
            s,
            person,
            date(2024, 1, 2),
            "北京市",
            books.policy,
            books.actor,
            idempotency_key="tout-2",
        )


def test_rates_change_and_close_employer(books: Books) -> None:
    s = books.session
    employer = books.employer("12")
    change_rates(
        s, employer, Decimal("5"), Decimal("5"), date(2023, 8, 1), books.policy, books.actor
    )
    assert employer.employer_rate_pct == Decimal("5")
    with pytest.raises(ContributionRuleError):
        change_rates(
            s, employer, Decimal("4.99"), Decimal("5"), date(2023, 8, 1), books.policy, books.actor
        )
    person = books.depositor(employer)
    with pytest.raises(EmployerError):
        close_employer(s, employer, date(2023, 9, 1), books.actor)
    freeze(s, person, date(2023, 9, 1), books.actor)
    close_employer(s, employer, date(2023, 9, 1), books.actor)
    assert employer.status == "04"
    assert s.scalar(select(func.count()).select_from(Journal)) is not None


def test_july_base_adjustment_is_all_or_nothing(books: Books) -> None:
    from hpf.deposits.adjustment import BaseAdjustmentRejected, adjust_bases

    s = books.session
    employer = books.employer()
    a, b = books.depositor(employer, 400_000), books.depositor(employer, 500_000)
    with pytest.raises(BaseAdjustmentRejected) as info:
        adjust_bases(
            s,
            employer,
            [(2, a.id_number, 450_000), (3, b.id_number, 2_500_000)],
            date(2024, 7, 1),
            books.policy,
            books.actor,
        )  # 25,000 > the 2024 cap 24,430
    assert info.value.errors[0].line_no == 3
    s.refresh(a)
    assert a.base_fen == 400_000
    assert (
        adjust_bases(
            s,
            employer,
            [(2, a.id_number, 450_000), (3, b.id_number, 2_443_000)],
            date(2024, 7, 1),
            books.policy,
            books.actor,
        )
        == 2
    )
    s.refresh(a)
    s.refresh(b)
    assert (a.base_fen, b.base_fen) == (450_000, 2_443_000)


def test_statement_runs_balances_in_value_date_order(books: Books) -> None:
    from hpf.ledger.statement import account_statement

    s = books.session
    person = books.depositor(books.employer())
    transfer_in(s, person, 10_000, date(2023, 8, 1), "A", books.actor, idempotency_key="st-1")
    transfer_in(s, person, 5_000, date(2023, 7, 20), "B", books.actor, idempotency_key="st-2")
    transfer_in(s, person, 1_000, date(2023, 9, 1), "C", books.actor, idempotency_key="st-3")
    st = account_statement(s, f"201-{person.depositor_ref}", date(2023, 7, 25), date(2023, 12, 31))
    assert st.opening_fen == 5_000
    assert [(line.amount_fen, line.balance_fen) for line in st.lines] == [
        (10_000, 15_000),
        (1_000, 16_000),
    ]
    assert st.closing_fen == balance_fen(s, person)
