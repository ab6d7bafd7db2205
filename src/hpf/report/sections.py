"""The annual report's organisation (机构概况), fund placements (资金存储与运用) and other matters
(其他重要事项) sections, domain.md §8. Field definitions: docs/annual-report.md.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from hpf.finance import books
from hpf.finance.transactions import FIXED_DEPOSITS
from hpf.ledger import chart
from hpf.ledger.periods import is_closed
from hpf.money import format_yuan
from hpf.org.service import list_units
from hpf.policy.loader import SECTIONS, Policy
from hpf.policy.schema import SECTION_LABELS
from hpf.report import indicators as ind


def organisation(session: Session, policy: Policy) -> dict[str, Any]:
    """The center (the policy file's ``meta.center``) and its branches (管理部/分中心)."""
    units = list_units(session)
    branches = [u for u in units if u.kind == "branch"]
    centers = [u for u in units if u.kind == "center"]
    return {
        "center": policy.document.meta.center or (centers[0].name if centers else ""),
        "branch_count": len(branches),
        "service_point_count": sum(1 for u in units if u.kind == "service_point"),
        "branches": [{"code": u.code, "name": u.name} for u in branches],
    }


def placements(session: Session, end: date, deposit_balance_fen: int) -> dict[str, Any]:
    """Where the fund's money is at the end of the year (资金存储与运用), from the ledger."""
    demand = books.balance_at(session, chart.HPF_BANK_DEPOSITS, end)
    fixed = books.balance_at(session, FIXED_DEPOSITS, end)
    value_added = books.balance_at(session, chart.VALUE_ADDED_DEPOSITS, end)
    debt = books.balance_at(session, chart.NATIONAL_DEBT, end)
    loans = books.loan_balance(session, end)
    return {
        "demand_deposits": format_yuan(demand),
        "fixed_term_deposits": format_yuan(fixed),
        "value_added_deposits": format_yuan(value_added),
        "national_debt": format_yuan(debt),
        "loans": format_yuan(loans),
        "utilisation_ratio": ind.text(ind.ratio(loans + debt, deposit_balance_fen)),
    }


def other_matters(session: Session, year: int, policy: Policy) -> dict[str, Any]:
    """Policy entries that took effect in the year, and whether the year is closed."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    changes = [
        {"section": section, "label": SECTION_LABELS[section], "effective": e.effective.isoformat()}
        for section in SECTIONS
        for e in policy.history(section)
        if start <= e.effective <= end
    ]
    changes.sort(key=lambda c: (c["effective"], c["section"]))
    return {"policy_changes": changes, "year_closed": is_closed(session, end)}
