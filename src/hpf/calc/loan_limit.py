"""The loan-limit trial's shared edges: building a contributor from entered figures and the JSON
of a result. Used by ``hpf calc loan-limit`` and by the public calculator page and API, so both
print the same document; each names its own fields (CLI flags or form fields) in errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from hpf.errors import InvalidInput
from hpf.loans.limit import Contributor, LimitResult, Reason
from hpf.money import fen_round, format_yuan, parse_amount, parse_rate, to_decimal

FieldName = Callable[[str], str]
"""Turns a field key (``monthly_income``) into what the user typed (``--monthly-income``)."""


def contributor(
    name: FieldName,
    balance: str,
    months: int,
    total: int | None,
    contribution: str | None,
    income: str | None,
    employer_rate: str | None,
    employee_rate: str | None,
    *,
    income_required: bool = True,
) -> Contributor:
    """A Contributor: monthly contribution and both rates, or monthly wage and employer rate."""
    if contribution is not None and income is not None:
        raise InvalidInput(
            f"{name('monthly_contribution')} 与 {name('monthly_income')} 只能给一个",
            f"give either {name('monthly_contribution')} or {name('monthly_income')}, not both",
        )
    balance_fen = parse_amount(balance)
    if contribution is not None:
        if employer_rate is None or employee_rate is None:
            raise InvalidInput(
                f"{name('monthly_contribution')} 需要 {name('employer_rate')} 和 "
                f"{name('employee_rate')}",
                f"{name('monthly_contribution')} needs {name('employer_rate')} and "
                f"{name('employee_rate')}",
            )
        return Contributor.from_contribution(
            balance_fen,
            parse_amount(contribution),
            parse_rate(employer_rate),
            parse_rate(employee_rate),
            months,
            total,
        )
    if income is not None:
        if employer_rate is None:
            raise InvalidInput(
                f"{name('monthly_income')} 需要 {name('employer_rate')}（单位缴存额计入还款能力）",
                f"{name('monthly_income')} needs {name('employer_rate')} (the employer's "
                "contribution counts towards repayment capacity)",
            )
        wage = parse_amount(income)
        # domain.md §3: the employer's monthly amount is base × rate, half-up to the fen.
        employer = fen_round(to_decimal(wage) * parse_rate(employer_rate) / 100)
        return Contributor.from_wage(balance_fen, wage, employer, months, total)
    if income_required:
        raise InvalidInput(
            f"须给出 {name('monthly_contribution')}（及缴存比例）或 {name('monthly_income')}",
            f"give {name('monthly_contribution')} (with the rates) or {name('monthly_income')}",
        )
    return Contributor.from_wage(balance_fen, 0, 0, months, total)


def reason_json(reason: Reason) -> dict[str, str]:
    return {"code": reason.code, "zh": reason.zh, "en": reason.en}


def limit_json(result: LimitResult, day: date) -> dict[str, Any]:
    """A limit result as ``hpf calc loan-limit --json`` prints it."""
    return {
        "eligible": result.eligible,
        "limit": format_yuan(result.limit_fen),
        "binding_constraint": None
        if result.binding_constraint is None
        else result.binding_constraint.value,
        "binding_constraints": [item.value for item in result.binding],
        "constraints": {
            item.constraint.value: {
                "amount": format_yuan(item.amount_fen),
                "zh": item.reason.zh,
                "en": item.reason.en,
            }
            for item in result.constraints
        },
        "term_months": result.term_months,
        "max_term_months": result.max_term_months,
        "term_limited_by": result.term_limited_by.value,
        "rate_pct": None if result.annual_rate_pct is None else str(result.annual_rate_pct),
        "monthly_payment": format_yuan(result.monthly_payment_fen),
        "down_payment_pct": None
        if result.down_payment_pct is None
        else str(result.down_payment_pct),
        "two_contributors": result.two_contributors,
        "policy_date": day.isoformat(),
        "refusals": [reason_json(reason) for reason in result.refusals],
        "reasons": [reason_json(reason) for reason in result.reasons],
    }
