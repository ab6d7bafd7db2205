"""``hpf calc``: stand-alone calculators (计算器) for loan schedules and limits and deposit interest.

Thin CLI over the pure rules in :mod:`hpf.loans.rules` and :mod:`hpf.loans.limit` (domain.md
section 6) and :mod:`hpf.interest.rules` (domain.md section 4); parsing and formatting go through
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

from hpf.calc.loan_limit import FieldName, contributor, limit_json
from hpf.clitools import domain_errors, print_json
from hpf.dates import parse_date
from hpf.errors import InvalidInput
from hpf.interest.rules import interest_fen, jishu_fen_days
from hpf.loans.limit import LimitApplication, loan_limit
from hpf.loans.rules import Installment, parse_method, repayment_schedule, total_interest
from hpf.money import format_yuan, parse_amount, parse_rate, to_decimal
from hpf.policy.loader import get_policy

T = TypeVar("T")

app = typer.Typer(
    name="calc",
    help="计算器：贷款还款计划、可贷额度与存款结息 (Calculators: loan schedules, loan limit, deposit interest)",
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


_SEXES = {"male": True, "m": True, "男": True, "female": False, "f": False, "女": False}


@app.command("loan-limit")
def loan_limit_command(
    balance: Annotated[str, typer.Option("--balance", help="公积金余额（元） HPF balance in yuan")],
    contribution_months: Annotated[
        int,
        typer.Option(
            "--contribution-months",
            help="截至申请连续缴存月数 Consecutive months of contributions up to the application",
        ),
    ],
    price: Annotated[str, typer.Option("--price", help="房价（元） Price of the home in yuan")],
    area: Annotated[str, typer.Option("--area", help="建筑面积（㎡） Floor area in m²")],
    age: Annotated[int, typer.Option("--age", help="申请人年龄（周岁） Applicant's age")],
    sex: Annotated[str, typer.Option("--sex", help="性别 male/female（男/女） Sex")],
    monthly_contribution: Annotated[
        str | None,
        typer.Option(
            "--monthly-contribution",
            help="月缴存额（单位+个人，元） Total monthly contribution (both shares)",
        ),
    ] = None,
    monthly_income: Annotated[
        str | None,
        typer.Option("--monthly-income", help="月工资收入（元） Monthly wage in yuan"),
    ] = None,
    employer_rate: Annotated[
        str | None, typer.Option("--employer-rate", help="单位缴存比例（%） Employer rate in %")
    ] = None,
    employee_rate: Annotated[
        str | None, typer.Option("--employee-rate", help="个人缴存比例（%） Employee rate in %")
    ] = None,
    total_months: Annotated[
        int | None,
        typer.Option(
            "--total-contribution-months",
            help="累计缴存月数（默认同连续月数） Total months contributed",
        ),
    ] = None,
    spouse_balance: Annotated[
        str | None,
        typer.Option("--spouse-balance", help="配偶（共同借款人）公积金余额 Spouse's balance"),
    ] = None,
    spouse_contribution_months: Annotated[
        int | None,
        typer.Option(
            "--spouse-contribution-months", help="配偶连续缴存月数 Spouse's consecutive months"
        ),
    ] = None,
    spouse_monthly_contribution: Annotated[
        str | None,
        typer.Option("--spouse-monthly-contribution", help="配偶月缴存额 Spouse's contribution"),
    ] = None,
    spouse_monthly_income: Annotated[
        str | None,
        typer.Option("--spouse-monthly-income", help="配偶月工资收入 Spouse's monthly wage"),
    ] = None,
    spouse_employer_rate: Annotated[
        str | None,
        typer.Option("--spouse-employer-rate", help="配偶单位缴存比例（默认同申请人）"),
    ] = None,
    spouse_employee_rate: Annotated[
        str | None,
        typer.Option("--spouse-employee-rate", help="配偶个人缴存比例（默认同申请人）"),
    ] = None,
    debt: Annotated[
        str, typer.Option("--debt", help="已有月还款额（元） Existing monthly debt payments")
    ] = "0",
    home: Annotated[
        int,
        typer.Option(
            "--home", "--home-count", help="第几套住房 1 首套 / 2 二套 / 3 三套 Home number"
        ),
    ] = 1,
    term: Annotated[
        int | None,
        typer.Option(
            "--months", "--term", help="贷款期限（月，默认最长） Term in months (default longest)"
        ),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option("--date", help="政策日期（默认今天） Policy date, YYYY-MM-DD"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON Print JSON")] = False,
) -> None:
    """可贷额度与贷款资格 (Loan limit and eligibility, with the binding constraint)."""
    with domain_errors():
        day = date.today() if on is None else parse_date(on)
        snapshot = get_policy().on(day)
        applicant = contributor(
            _flag(""),
            balance,
            contribution_months,
            total_months,
            monthly_contribution,
            monthly_income,
            employer_rate,
            employee_rate,
        )
        co_borrower = None
        if spouse_balance is not None:
            if spouse_contribution_months is None:
                raise InvalidInput(
                    "指定 --spouse-balance 时须同时给出 --spouse-contribution-months",
                    "--spouse-balance needs --spouse-contribution-months",
                )
            co_borrower = contributor(
                _flag("spouse-"),
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
            raise InvalidInput(
                "配偶信息须与 --spouse-balance 一起给出", "spouse options need --spouse-balance"
            )
        chosen_sex = _SEXES.get(sex.strip().lower())
        if chosen_sex is None:
            raise InvalidInput(
                f"性别应为 male 或 female：{sex!r}", f"sex must be male or female: {sex!r}"
            )
        application = LimitApplication(
            applicant=applicant,
            price_fen=parse_amount(price),
            area_m2=to_decimal(area),
            home_number=home,
            age=age,
            male=chosen_sex,
            co_borrower=co_borrower,
            term_months=term,
            existing_monthly_debt_fen=parse_amount(debt),
        )
        result = loan_limit(application, snapshot.loan_limit, snapshot.loan_rate)
    data = limit_json(result, day)
    if as_json:
        print_json(data)
        return
    console = Console()
    verdict = "可以贷款 eligible" if result.eligible else "不予贷款 refused"
    console.print(f"{verdict}：可贷额度 limit {format_yuan(result.limit_fen, grouping=True)} 元")
    if result.binding_constraint is not None:
        console.print(f"决定因素 binding constraint: {result.binding_constraint.value}")
    for item in result.constraints:
        console.print(
            f"  {item.constraint.value}: {format_yuan(item.amount_fen, grouping=True)} 元"
        )
    for reason in (*result.refusals, *result.reasons):
        console.print(f"- {reason.zh}")
        console.print(f"  {reason.en}")


def _flag(prefix: str) -> FieldName:
    return lambda key: f"--{prefix}{key.replace('_', '-')}"


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
