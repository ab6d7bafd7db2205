"""``hpf calc``: stand-alone calculators (计算器) for loan schedules and deposit interest.

Thin CLI over the pure rules in :mod:`hpf.loans.rules` (domain.md section 6) and
:mod:`hpf.interest.rules` (domain.md section 4); parsing and formatting go through
:mod:`hpf.money` and :mod:`hpf.dates`. Bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hpf.clitools import domain_errors, print_json
from hpf.dates import parse_date
from hpf.errors import InvalidInput
from hpf.interest.rules import interest_fen, jishu_fen_days
from hpf.loans.rules import Installment, parse_method, repayment_schedule, total_interest
from hpf.money import format_yuan, parse_amount, parse_rate

T = TypeVar("T")

app = typer.Typer(
    name="calc",
    help="计算器：贷款还款计划与存款结息 (Calculators: loan schedules and deposit interest)",
    no_args_is_help=True,
)


@app.command("loan")
def loan(
    principal: Annotated[
        str, typer.Option("--principal", help="贷款本金（元，可写 100万） Principal in yuan")
    ],
    rate: Annotated[str, typer.Option("--rate", help="年利率（%） Annual rate in %, e.g. 3.1")],
    months: Annotated[int, typer.Option("--months", help="期数（月，1–360） Number of months")],
    first_due: Annotated[
        str, typer.Option("--first-due", help="首期还款日 First due date, YYYY-MM-DD")
    ],
    method: Annotated[
        str,
        typer.Option(
            "--method", help="还款方式 annuity（等额本息）或 linear（等额本金） Repayment method"
        ),
    ] = "annuity",
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON Print JSON")] = False,
) -> None:
    """贷款还款计划 (Loan repayment schedule: 等额本息 annuity or 等额本金 linear)."""
    with domain_errors():
        chosen = parse_method(method)
        schedule = repayment_schedule(
            chosen, parse_amount(principal), parse_rate(rate), months, parse_date(first_due)
        )
    interest_total = total_interest(schedule)
    if as_json:
        print_json(
            {
                "schedule": [_row_json(row) for row in schedule],
                "total_interest": format_yuan(interest_total),
            }
        )
        return
    table = Table(title=f"还款计划 Repayment schedule（{chosen.label_zh} {chosen.value}）")
    for header in ("期数", "还款日期", "月供（元）", "本金（元）", "利息（元）", "剩余本金（元）"):
        table.add_column(header, justify="left" if header == "还款日期" else "right")
    for row in schedule:
        table.add_row(
            str(row.n),
            row.due_date.isoformat(),
            *(format_yuan(v, grouping=True) for v in (row.payment, row.principal, row.interest)),
            format_yuan(row.balance, grouping=True),
        )
    console = Console()
    console.print(table)
    paid = sum(row.payment for row in schedule)
    console.print(f"利息总额 Total interest: {format_yuan(interest_total, grouping=True)} 元")
    console.print(f"还款总额 Total paid: {format_yuan(paid, grouping=True)} 元")


@app.command("interest")
def interest(
    start: Annotated[str, typer.Option("--from", help="计息起始日 Period start, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="计息截止日（含） Period end (included)")],
    opening: Annotated[
        str, typer.Option("--opening", help="期初余额（元） Balance at the start of --from")
    ] = "0",
    txns: Annotated[
        list[str] | None,
        typer.Option("--txn", help="交易 日期:金额，可重复 Posting DATE:AMOUNT (repeatable)"),
    ] = None,
    rate: Annotated[str, typer.Option("--rate", help="年利率（%） Annual rate in percent")] = "1.5",
    rate_changes: Annotated[
        list[str] | None,
        typer.Option(
            "--rate-change",
            help="期内利率调整 日期:利率，可重复 Rate change inside the period DATE:RATE",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON Print JSON")] = False,
) -> None:
    """存款结息（积数法） (Deposit interest by the jishu / balance×days method)."""
    with domain_errors():
        period_start, period_end = parse_date(start), parse_date(end)
        postings = [_parse_pair(text, "--txn", parse_amount) for text in txns or []]
        rates: list[tuple[date, Decimal]] = [(period_start, parse_rate(rate))]
        for text in rate_changes or []:
            effective, changed = _parse_pair(text, "--rate-change", parse_rate)
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
    if as_json:
        print_json({"jishu": format_yuan(jishu), "interest": format_yuan(amount)})
        return
    console = Console()
    console.print(f"计息期 Period: {period_start} – {period_end}")
    console.print(f"积数 Jishu: {format_yuan(jishu, grouping=True)} 元·天 (yuan·days)")
    console.print(f"利息 Interest: {format_yuan(amount, grouping=True)} 元")


def _row_json(row: Installment) -> dict[str, Any]:
    return {
        "n": row.n,
        "due_date": row.due_date.isoformat(),
        "payment": format_yuan(row.payment),
        "principal": format_yuan(row.principal),
        "interest": format_yuan(row.interest),
        "balance": format_yuan(row.balance),
    }


def _parse_pair(text: str, option: str, parse_value: Callable[[str], T]) -> tuple[date, T]:
    """Parse ``DATE:VALUE`` (split at the first colon)."""
    raw = text.strip()
    head, sep, tail = raw.partition(":")
    if not sep or not head.strip() or not tail.strip():
        raise InvalidInput(
            f"{option} 格式应为 日期:数值（如 2022-08-15:1200）：{text!r}",
            f"{option} must be DATE:VALUE (e.g. 2022-08-15:1200): {text!r}",
        )
    return parse_date(head), parse_value(tail)
