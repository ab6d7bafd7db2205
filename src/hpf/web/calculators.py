"""Public calculators (计算器) as plain functions returning the JSON of ``hpf calc … --json``.

Loan schedules (domain.md section 6, :mod:`hpf.loans.rules`), the loan limit trial (可贷额度试算,
:mod:`hpf.loans.limit`) and deposit interest by the jishu method (domain.md section 4,
:mod:`hpf.interest.rules`). Text input is parsed with
:mod:`hpf.money` and :mod:`hpf.dates`; bad input raises :class:`hpf.errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from hpf.calc.loan_limit import contributor, limit_json
from hpf.dates import parse_date
from hpf.errors import InvalidInput
from hpf.interest.rules import interest_fen, jishu_fen_days
from hpf.loans.limit import LimitApplication, loan_limit
from hpf.loans.rules import parse_method, repayment_schedule, total_interest
from hpf.money import format_yuan, parse_amount, parse_rate, to_decimal
from hpf.policy.loader import Policy

T = TypeVar("T")
MAX_TEXT = 40
MAX_POSTINGS = 1000


def loan_schedule(
    principal: str, rate: str, months: int, first_due: str, method: str = "annuity"
) -> dict[str, Any]:
    """``{"schedule": [...], "total_interest": "…"}`` as ``hpf calc loan --json`` prints it."""
    for text in (principal, rate, first_due, method):
        _check_length(text)
    chosen = parse_method(method)
    schedule = repayment_schedule(
        chosen, parse_amount(principal), parse_rate(rate), months, parse_date(first_due)
    )
    return {
        "schedule": [
            {
                "n": row.n,
                "due_date": row.due_date.isoformat(),
                "payment": format_yuan(row.payment),
                "principal": format_yuan(row.principal),
                "interest": format_yuan(row.interest),
                "balance": format_yuan(row.balance),
            }
            for row in schedule
        ],
        "total_interest": format_yuan(total_interest(schedule)),
    }


SEXES = {"male": True, "m": True, "男": True, "female": False, "f": False, "女": False}


def loan_limit_trial(
    policy: Policy,
    *,
    balance: str,
    contribution_months: int,
    price: str,
    area: str,
    age: int,
    sex: str,
    monthly_contribution: str | None = None,
    monthly_income: str | None = None,
    employer_rate: str | None = None,
    employee_rate: str | None = None,
    total_contribution_months: int | None = None,
    spouse_balance: str | None = None,
    spouse_contribution_months: int | None = None,
    spouse_monthly_contribution: str | None = None,
    spouse_monthly_income: str | None = None,
    spouse_employer_rate: str | None = None,
    spouse_employee_rate: str | None = None,
    debt: str = "0",
    home: int = 1,
    term: int | None = None,
    on: str | None = None,
) -> dict[str, Any]:
    """可贷额度试算: the JSON ``hpf calc loan-limit --json`` prints for the same options."""
    texts = (
        balance, price, area, sex, monthly_contribution, monthly_income, employer_rate,
        employee_rate, spouse_balance, spouse_monthly_contribution, spouse_monthly_income,
        spouse_employer_rate, spouse_employee_rate, debt, on,
    )  # fmt: skip
    for text in texts:
        if text is not None:
            _check_length(text)
    day = date.today() if on is None else parse_date(on)
    snapshot = policy.on(day)
    applicant = contributor(
        lambda key: key,
        balance,
        contribution_months,
        total_contribution_months,
        monthly_contribution,
        monthly_income,
        employer_rate,
        employee_rate,
    )
    co_borrower = None
    if spouse_balance is not None:
        if spouse_contribution_months is None:
            raise InvalidInput(
                "填写配偶余额时须同时填写配偶连续缴存月数",
                "spouse_balance needs spouse_contribution_months",
            )
        co_borrower = contributor(
            lambda key: f"spouse_{key}",
            spouse_balance,
            spouse_contribution_months,
            None,
            spouse_monthly_contribution,
            spouse_monthly_income,
            spouse_employer_rate or employer_rate,
            spouse_employee_rate or employee_rate,
            income_required=False,
        )
    elif any(
        value is not None
        for value in (
            spouse_contribution_months,
            spouse_monthly_contribution,
            spouse_monthly_income,
            spouse_employer_rate,
            spouse_employee_rate,
        )
    ):
        raise InvalidInput("配偶信息须与配偶余额一起填写", "spouse fields need spouse_balance")
    male = SEXES.get(sex.strip().lower())
    if male is None:
        raise InvalidInput(
            f"性别应为 male 或 female：{sex!r}", f"sex must be male or female: {sex!r}"
        )
    application = LimitApplication(
        applicant=applicant,
        price_fen=parse_amount(price),
        area_m2=to_decimal(area),
        home_number=home,
        age=age,
        male=male,
        co_borrower=co_borrower,
        term_months=term,
        existing_monthly_debt_fen=parse_amount(debt),
    )
    result = loan_limit(application, snapshot.loan_limit, snapshot.loan_rate)
    return limit_json(result, day)


def deposit_interest(
    start: str,
    end: str,
    opening: str = "0",
    txns: Sequence[str] = (),
    rate: str = "1.5",
    rate_changes: Sequence[str] = (),
) -> dict[str, str]:
    """``{"jishu": "…", "interest": "…"}`` as ``hpf calc interest --json`` prints it."""
    for text in (start, end, opening, rate, *txns, *rate_changes):
        _check_length(text)
    if len(txns) > MAX_POSTINGS or len(rate_changes) > MAX_POSTINGS:
        raise InvalidInput(
            f"交易或利率调整最多 {MAX_POSTINGS} 笔", f"at most {MAX_POSTINGS} postings or rates"
        )
    period_start, period_end = parse_date(start), parse_date(end)
    postings = [parse_pair(text, "txn", parse_amount) for text in txns]
    rates: list[tuple[date, Decimal]] = [(period_start, parse_rate(rate))]
    for text in rate_changes:
        effective, changed = parse_pair(text, "rate_change", parse_rate)
        if not period_start < effective <= period_end:
            raise InvalidInput(
                f"利率调整日期 {effective} 须在 {period_start} 之后、{period_end} 之前（含）",
                f"rate change {effective} must be after {period_start} and on or before "
                f"{period_end}",
            )
        rates.append((effective, changed))
    opening_fen = parse_amount(opening)
    jishu = jishu_fen_days(opening_fen, postings, period_start, period_end)
    amount = interest_fen(opening_fen, postings, period_start, period_end, rates)
    return {"jishu": format_yuan(jishu), "interest": format_yuan(amount)}


def parse_pair(text: str, field: str, parse_value: Callable[[str], T]) -> tuple[date, T]:
    """Parse ``DATE:VALUE`` (split at the first colon)."""
    head, sep, tail = text.strip().partition(":")
    if not sep or not head.strip() or not tail.strip():
        raise InvalidInput(
            f"{field} 格式应为 日期:数值（如 2022-08-15:1200）：{text!r}",
            f"{field} must be DATE:VALUE (e.g. 2022-08-15:1200): {text!r}",
        )
    return parse_date(head), parse_value(tail)


def _check_length(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"输入过长（最多 {MAX_TEXT} 个字符）", f"input too long (at most {MAX_TEXT} characters)"
        )
