"""``hpf interest``: annual settlement (年终结息) and previews."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from hpf.clitools import domain_errors, print_json, progress
from hpf.db.engine import unit_of_work
from hpf.interest import service
from hpf.money import format_yuan
from hpf.policy.loader import get_policy

app = typer.Typer(help="结息 Deposit interest", no_args_is_help=True)


@app.command("settle")
def settle(
    year: int = typer.Option(..., "--year", help="Year in which the interest year ends (June 30)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Settle the interest year ending June 30 of YEAR; running it again posts nothing.

    年终结息：按积数计算每个缴存人的利息，每个管理部一张凭证。
    """
    with domain_errors(), unit_of_work() as session, progress() as bar:
        task = bar.add_task(f"{year} 年度结息 settlement", total=None)
        result = service.settle_year(
            session, year, get_policy(), on_progress=lambda n: bar.update(task, completed=n)
        )
    if as_json:
        print_json(
            {
                "year": year,
                "value_date": result.value_date.isoformat(),
                "accounts": result.accounts,
                "total_interest": format_yuan(result.total_fen),
                "branches": [
                    {
                        "branch_id": b.branch_id,
                        "journal_id": b.journal_id,
                        "accounts": b.accounts,
                        "total_interest": format_yuan(b.total_fen),
                        "replayed": b.replayed,
                    }
                    for b in result.branches
                ],
            }
        )
        return
    table = Table(
        "管理部 branch",
        "凭证 journal",
        "户数 accounts",
        "利息 interest",
        "状态 state",
        title=f"{year} 年度结息 (起息 {result.value_date})",
    )
    for b in result.branches:
        table.add_row(
            str(b.branch_id),
            str(b.journal_id),
            f"{b.accounts:,}",
            format_yuan(b.total_fen, grouping=True),
            "已结息(重放) replay" if b.replayed else "已入账 posted",
        )
    Console().print(table)
    typer.echo(
        f"合计 total: {result.accounts:,} 户, {format_yuan(result.total_fen, grouping=True)} 元"
    )
