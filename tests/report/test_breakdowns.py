"""The annual report's social and economic benefit breakdowns (domain.md §8) from books built
through the real services, against hand counts; the band boundaries (floor area 90 / 144 m²,
age 30 / 40 / 50, income exactly 3× the average wage) and shares summing to 1.

The book (2024), made below:

| person | employer type | born       | age on 2024-09-20 | base (元) | loan (元) | area   | home   |
|--------|---------------|------------|-------------------|-----------|-----------|--------|--------|
| L1     | government    | 1994-09-20 | 30                | 8,000.00  | 120,000   | 90     | first  |
| L2     | government    | 1993-09-20 | 31                | 7,999.99  | 100,000   | 90.01  | second |
| L3     | private       | 1984-09-20 | 40                | 8,000.00  | 100,000   | 144    | first  |
| L4     | private       | 1973-09-21 | 50                | 10,000.00 | 100,000   | 144.01 | first  |
| L5     | private       | 1973-09-20 | 51                | 5,000.00  | 100,000   | 200    | second |
| F1     | flexible      | 1990-05-05 | —                 | 3,000.00  | —         |        |        |

Government and private employers post lists for 2024-01 … 2024-08, the flexible one for
2024-03 … 2024-05. With an average annual wage of 32,000 yuan the high-income line is a base of
8,000.00 a month (3 × 32,000 / 12): L1, L3 and L4 are at or above it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.deposits.depositors import DepositorInput, open_depositor
from hpf.deposits.employers import EmployerInput, open_employer
from hpf.deposits.models import Depositor, Employer, Remittance
from hpf.errors import InvalidInput
from hpf.identifiers import make_id_number, make_uscc
from hpf.policy.loader import Policy, parse_policy
from hpf.report import indicators as ind
from hpf.report.annual import annual_report
from hpf.report.render import report_tables
from loan_books import LoanBooks, make_loan_books

_seq = itertools.count(301)

BORROWERS = {
    # name: (employer, born, base fen, loan fen, area, home number)
    "L1": ("government", date(1994, 9, 20), 800_000, 12_000_000, "90", 1),
    "L2": ("government", date(1993, 9, 20), 799_999, 10_000_000, "90.01", 2),
    "L3": ("private", date(1984, 9, 20), 800_000, 10_000_000, "144", 1),
    "L4": ("private", date(1973, 9, 21), 1_000_000, 10_000_000, "144.01", 1),
    "L5": ("private", date(1973, 9, 20), 500_000, 10_000_000, "200", 2),
}


def _employer(lb: LoanBooks, kind: str) -> Employer:
    n = next(_seq)
    return open_employer(
        lb.session,
        EmployerInput(
            uscc=make_uscc(f"91371311MB{n:07d}"),
            name=f"报告单位{n}",
            branch_code=lb.books.branch_code,
            employer_rate_pct=Decimal("12"),
            employee_rate_pct=Decimal("12"),
            opened_on=date(2023, 7, 1),
            employer_type=kind,
        ),
        lb.books.policy,
        lb.books.actor,
    )


def _person(lb: LoanBooks, employer: Employer, born: date, base_fen: int) -> Depositor:
    n = next(_seq)
    return open_depositor(
        lb.session,
        DepositorInput(
            id_number=make_id_number("371311", born, n, male=True),
            name=f"报告职工{n}",
            employer_ref=employer.employer_ref,
            base_fen=base_fen,
            joined_on=date(2023, 7, 1),
            bank_card="6222020200112233445",
        ),
        lb.books.policy,
        lb.books.actor,
    )


def _policy_with_average_wage(yuan: str) -> Policy:
    shipped = resources.files("hpf.policy").joinpath("linyi.toml").read_text(encoding="utf-8")
    changed, n = re.subn(r'average_wage_yuan = "\d+"', f'average_wage_yuan = "{yuan}"', shipped)
    assert n >= 1
    return parse_policy(changed, "test")


def _books(session: Session) -> dict[str, Any]:
    lb = make_loan_books(session)
    employers = {kind: _employer(lb, kind) for kind in ("government", "private", "flexible")}
    people = {
        name: _person(lb, employers[kind], born, base)
        for name, (kind, born, base, *_) in BORROWERS.items()
    }
    _person(lb, employers["flexible"], date(1990, 5, 5), 300_000)
    lb.contribute(employers["government"], date(2024, 1, 1), 8)
    lb.contribute(employers["private"], date(2024, 1, 1), 8)
    lb.contribute(employers["flexible"], date(2024, 3, 1), 3)
    for name, (_, _, _, loan_fen, area, home) in BORROWERS.items():
        lb.fund(people[name], 5_000_000)
        lb.loan(
            people[name],
            amount_fen=loan_fen,
            term_months=60,
            area_m2=Decimal(area),
            home_number=home,
        )
    return {"lb": lb}


@pytest.fixture
def books(session: Session) -> dict[str, Any]:
    return _books(session)


def _sums_to_one(breakdown: dict[str, dict[str, Any]], key: str = "share") -> None:
    values = [cell[key] for cell in breakdown.values()]
    if all(v is None for v in values):
        return
    assert sum(Decimal(v) for v in values) == 1


def _counts(breakdown: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {code: cell["count"] for code, cell in breakdown.items() if cell["count"]}


def test_loan_breakdowns_match_hand_counts_and_boundaries(
    session: Session, books: dict[str, Any]
) -> None:
    r = annual_report(session, 2024, _policy_with_average_wage("32000"))
    b = r["benefit"]
    assert r["loans"]["issued_count"] == 5
    # first / second home
    assert _counts(b["loans_by_home"]) == {"first": 3, "second": 2}
    assert b["loans_by_home"]["first"]["amount"] == "320000.00"
    assert b["loans_by_home"]["first"]["share"] == "0.600000"
    assert b["loans_by_home"]["first"]["amount_share"] == "0.615385"  # 320,000 / 520,000
    # floor area: 90 → ≤ 90; 90.01 and 144 → 90–144; 144.01 and 200 → > 144
    assert _counts(b["loans_by_floor_area"]) == {"upto_90": 1, "90_144": 2, "over_144": 2}
    # income: a base of exactly 8,000.00 (3 × 32,000 / 12) is high income, 7,999.99 is not
    assert _counts(b["loans_by_income"]) == {"below_3x": 2, "at_least_3x": 3}
    assert b["loans_by_income"]["at_least_3x"]["amount"] == "320000.00"
    # age on the disbursement day: 30 → ≤ 30; 31, 40 → 31–40; 50 → 41–50; 51 → > 50
    assert _counts(b["loans_by_age"]) == {"upto_30": 1, "31_40": 2, "41_50": 1, "over_50": 1}
    for key in ("loans_by_home", "loans_by_floor_area", "loans_by_income", "loans_by_age"):
        total = sum(cell["count"] for cell in b[key].values())
        assert total == r["loans"]["issued_count"]
        amount = sum(Decimal(cell["amount"]) for cell in b[key].values())
        assert amount == Decimal(r["loans"]["issued_amount"])
        _sums_to_one(b[key])
        _sums_to_one(b[key], "amount_share")


def test_income_line_follows_the_policy(session: Session, books: dict[str, Any]) -> None:
    """The shipped policy: 97,720 yuan from 2024-07-01, the line is a base of 24,430.00."""
    policy = books["lb"].books.policy
    b = annual_report(session, 2024, policy)["benefit"]
    assert _counts(b["loans_by_income"]) == {"below_3x": 5}
    assert b["loans_by_income"]["at_least_3x"]["share"] == "0.000000"
    # a line just under L4's base of 10,000.00: 4 × 10,000.00 = 40,000 yuan a year
    b = annual_report(session, 2024, _policy_with_average_wage("40000"))["benefit"]
    assert _counts(b["loans_by_income"]) == {"below_3x": 4, "at_least_3x": 1}


def test_depositor_breakdowns_by_employer_type(session: Session, books: dict[str, Any]) -> None:
    r = annual_report(session, 2024, books["lb"].books.policy)
    d, b = r["deposits"], r["benefit"]
    paying = b["paying_depositors_by_employer_type"]
    assert _counts(paying) == {"government": 2, "private": 3, "flexible": 1}
    assert sum(cell["count"] for cell in paying.values()) == d["paying_depositors"]
    assert list(paying) == [
        "government",
        "state_owned",
        "collective",
        "foreign_invested",
        "private",
        "non_profit",
        "flexible",
        "other",
    ]
    assert paying["private"]["share"] == "0.500000"
    _sums_to_one(paying)
    new = b["new_depositors_by_employer_type"]
    assert _counts(new) == {"government": 2, "private": 3, "flexible": 1}
    assert sum(cell["count"] for cell in new.values()) == d["new_depositors"]
    _sums_to_one(new)
    money = b["contributions_by_employer_type"]
    assert sum(Decimal(cell["amount"]) for cell in money.values()) == Decimal(d["contributions"])
    flexible = session.scalar(
        select(func.sum(Remittance.total_fen))
        .join(Employer, Employer.id == Remittance.employer_id)
        .where(Employer.employer_type == "flexible")
    )
    assert Decimal(money["flexible"]["amount"]) * 100 == flexible == 3 * 300_000 * 24 // 100
    _sums_to_one(money)


def test_withdrawal_shares_and_an_empty_year(session: Session, books: dict[str, Any]) -> None:
    policy = books["lb"].books.policy
    r = annual_report(session, 2024, policy)
    purpose = r["benefit"]["withdrawals_by_purpose"]
    assert Decimal(purpose["housing_consumption"]["amount"]) == Decimal(
        r["withdrawals"]["housing_consumption"]
    )
    assert set(r["benefit"]["withdrawals_by_reason"]) == set(r["withdrawals"]["by_reason"])
    _sums_to_one(purpose)
    _sums_to_one(r["benefit"]["withdrawals_by_reason"])
    empty = annual_report(session, 2022, policy)["benefit"]
    for key in ("loans_by_home", "loans_by_age", "paying_depositors_by_employer_type"):
        assert all(cell["share"] is None and cell["count"] == 0 for cell in empty[key].values())


def test_report_sections_and_tables(session: Session, books: dict[str, Any]) -> None:
    r = annual_report(session, 2024, books["lb"].books.policy)
    assert r["organisation"]["branch_count"] >= 1
    assert r["organisation"]["center"].startswith("临沂")
    assert Decimal(r["placements"]["loans"]) == Decimal(r["loans"]["balance_end"])
    assert {c["effective"] for c in r["other_matters"]["policy_changes"]} >= {
        "2024-05-18",
        "2024-07-01",
    }
    assert r["other_matters"]["year_closed"] is False
    titles = [t.title for t in report_tables(r)]
    assert titles[0] == "2024 年度 机构概况 Organisation"
    assert titles[-1] == "2024 年度 其他重要事项 Other matters"
    for part in ("单位性质", "按套数", "按面积", "按收入", "按年龄", "资金存储与运用"):
        assert any(part in t for t in titles), part
    age = next(t for t in report_tables(r) if "按年龄" in t.title)
    assert age.rows[0][0].startswith("30岁（含）以下")


def test_employer_type_is_checked_at_opening(session: Session) -> None:
    lb = make_loan_books(session)
    assert lb.employer().employer_type == "other"  # the default (and the migration's)
    n = next(_seq)
    data = EmployerInput(
        uscc=make_uscc(f"91371311MB{n:07d}"),
        name="国有单位",
        branch_code=lb.books.branch_code,
        employer_rate_pct=Decimal("12"),
        employee_rate_pct=Decimal("12"),
        opened_on=date(2023, 7, 1),
        employer_type="国有企业",
    )
    assert open_employer(session, data, lb.books.policy, lb.books.actor).employer_type == (
        "state_owned"
    )
    with pytest.raises(InvalidInput, match="unknown employer type"):
        open_employer(
            session,
            replace(data, uscc=make_uscc("91371311MB9999999"), employer_type="x"),
            lb.books.policy,
            lb.books.actor,
        )


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"a": 1, "b": 1, "c": 1}, {"a": "0.333334", "b": "0.333333", "c": "0.333333"}),
        ({"a": 2, "b": 1}, {"a": "0.666667", "b": "0.333333"}),
        ({"a": 0, "b": 7}, {"a": "0.000000", "b": "1.000000"}),
        ({"a": 0, "b": 0}, {"a": None, "b": None}),
    ],
)
def test_shares_sum_to_one(parts: dict[str, int], expected: dict[str, str | None]) -> None:
    got = {k: ind.text(v) for k, v in ind.shares(parts).items()}
    assert got == expected
