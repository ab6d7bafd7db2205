"""Public calculators (计算器) as plain functions returning the JSON of ``hpf calc … --json``.

Loan schedules (domain.md section 6, :mod:`hpf.loans.rules`) and deposit interest by the jishu
method (domain.md section 4, :mod:`hpf.interest.rules`). Text input is parsed with
:mod:`hpf.money` and :mod:`hpf.dates`; bad input raises :class:`hpf.errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from hpf.dates import parse_date
from hpf.errors import InvalidInput
from hpf.interest.rules import interest_fen, jishu_fen_days
from hpf.loans.rules import parse_method, repayment_schedule, total_interest
from hpf.money import format_yuan, parse_amount, parse_rate

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
