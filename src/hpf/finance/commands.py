"""``hpf finance``: fund transactions, value-added income distribution, period close and
statements (财务核算, domain.md §7)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from hpf.clitools import domain_errors, print_json
from hpf.dates import parse_date
from hpf.db.engine import unit_of_work
from hpf.finance import closing, statements, transactions, value_added
from hpf.finance.xlsx import write_xlsx
from hpf.ledger.periods import closed_periods
from hpf.money import format_yuan, parse_amount, parse_rate
from hpf.policy.loader import get_policy

app = typer.Typer(help="财务 Fund accounting", no_args_is_help=True)

ACTOR = "cli"


def _day(text: str) -> date:
    with domain_errors():
        return parse_date(text)


@app.command("record")
def record(
    kind: str = typer.Argument(..., help=f"One of: {', '.join(transactions.SIMPLE)}"),
    amount: str = typer.Argument(..., help="Amount in yuan, e.g. 1234.56"),
    on: str = typer.Option(..., "--on", help="Posting and value date (YYYY-MM-DD)."),
    key: str = typer.Option(..., "--key", help="Idempotency key."),
    memo: str = typer.Option("", "--memo"),
) -> None:
    """Post one of the fund's own transactions (interest income, bank fees, transfers).

    记一笔资金业务：存款利息、手续费、管理费用上缴、廉租房补充资金上缴等。
    """
    with domain_errors(), unit_of_work() as session:
        journal = transactions.record(
            session, kind, parse_amount(amount), _day(on), idempotency_key=key, memo=memo
        )
    typer.echo(f"已记账 posted: 凭证 journal {journal}")


@app.command("place")
def place(
    kind: str = typer.Argument(..., help="fixed_deposit or national_debt"),
    amount: str = typer.Argument(..., help="Principal in yuan"),
    on: str = typer.Option(..., "--on"),
    matures: str = typer.Option(..., "--matures"),
    counterparty: str = typer.Option(..., "--counterparty", help="Bank or issue"),
    rate: str = typer.Option("0", "--rate", help="Annual rate in %"),
    key: str = typer.Option(..., "--key"),
) -> None:
    """Place idle funds on fixed term or buy national debt. 定期存款存入 / 购买国家债券。"""
    with domain_errors(), unit_of_work() as session:
        row = transactions.place(
            session,
            kind,
            parse_amount(amount),
            _day(on),
            _day(matures),
            counterparty=counterparty,
            annual_rate_pct=parse_rate(rate),
            idempotency_key=key,
        )
        typer.echo(f"资金运用 placement {row.id}: 凭证 journal {row.journal_id}")


@app.command("mature")
def mature(
    placement_id: int = typer.Argument(...),
    on: str = typer.Option(..., "--on"),
    interest: str = typer.Option("0", "--interest", help="Interest received, yuan"),
) -> None:
    """Principal and interest of a placement back into 101. 到期收回本息。"""
    with domain_errors(), unit_of_work() as session:
        row = transactions.mature(session, placement_id, _day(on), parse_amount(interest))
        typer.echo(f"已收回 repaid: 凭证 journal {row.maturity_journal_id}")


@app.command("distribute")
def distribute(
    year: int = typer.Option(..., "--year", help="Calendar year"),
    management_budget: str = typer.Option(
        "0", "--management-budget", help="Approved management expenses of the year, yuan"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Carry the year's income and expenses to value-added income and distribute it.

    增值收益分配：提取贷款风险准备金、管理费用、廉租住房建设补充资金（凭证日期为 12 月 31 日）。
    """
    with domain_errors(), unit_of_work() as session:
        row = value_added.distribute(
            session,
            year,
            get_policy(),
            management_budget_fen=parse_amount(management_budget),
            actor=ACTOR,
        )
        parts = {
            "risk_reserve": format_yuan(row.reserve_fen),
            "management_expenses": format_yuan(row.management_fen),
            "public_housing_supplement": format_yuan(row.supplement_fen),
        }
        data: dict[str, object] = {
            "year": row.year,
            "income": format_yuan(row.income_fen),
            "expenses": format_yuan(row.expenses_fen),
            "value_added_income": format_yuan(row.value_added_fen),
            "distribution": parts,
            "journals": {
                "carry": row.carry_journal_id,
                "distribution": row.journal_id,
                "close": row.close_journal_id,
            },
        }
    if as_json:
        print_json(data)
        return
    typer.echo(
        f"{year} 年度增值收益 {data['value_added_income']} 元：风险准备金 "
        f"{parts['risk_reserve']}，管理费用 "
        f"{parts['management_expenses']}，廉租住房建设补充资金 "
        f"{parts['public_housing_supplement']}"
    )


@app.command("close")
def close(
    period: str = typer.Option(..., "--period", help="YYYY-MM (month) or YYYY (year-end close)"),
) -> None:
    """Close a month or a year; postings dated in it are refused afterwards. 期末结账。"""
    with domain_errors(), unit_of_work() as session:
        row = closing.close(session, period, closed_by=ACTOR)
        typer.echo(f"已结账 closed: {row.period} ({row.start_date} – {row.end_date})")


@app.command("periods")
def periods() -> None:
    """List closed periods, latest first. 已结账期间。"""
    with unit_of_work() as session:
        for row in closed_periods(session):
            typer.echo(f"{row.period}\t{row.start_date}\t{row.end_date}\t{row.closed_by}")


@app.command("statement")
def statement(
    name: str = typer.Argument(..., help=f"{', '.join(statements.STATEMENTS)} or all"),
    period: str = typer.Option(..., "--period", help="YYYY or YYYY-MM"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    xlsx: str | None = typer.Option(None, "--xlsx", help="Write an XLSX workbook."),
) -> None:
    """Trial balance, balance sheet, value-added income or distribution statement.

    报表：科目余额表、资产负债表、增值收益表、增值收益分配表。
    """
    names = statements.STATEMENTS if name == "all" else (name,)
    with domain_errors(), unit_of_work() as session:
        built = [statements.build(session, n, period) for n in names]
    if xlsx is not None:
        write_xlsx([t for s in built for t in statements.tables(s)], Path(xlsx))
        typer.echo(f"已写入 written: {xlsx}")
    if as_json or xlsx is None:
        print_json(built[0] if len(built) == 1 else {"period": period, "statements": built})
