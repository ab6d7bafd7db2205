"""``hpf report``: the annual report (年度报告), domain.md §8."""

from __future__ import annotations

from pathlib import Path

import typer

from hpf.clitools import domain_errors, fail, print_json
from hpf.db.engine import unit_of_work
from hpf.finance.xlsx import write_html, write_xlsx
from hpf.policy.loader import get_policy
from hpf.report.annual import annual_report
from hpf.report.render import report_tables

app = typer.Typer(help="报告 Reports", no_args_is_help=True)


@app.command("annual")
def annual(
    year: int = typer.Option(..., "--year", help="Calendar year"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    xlsx: str | None = typer.Option(None, "--xlsx", help="Write an XLSX workbook."),
    html: str | None = typer.Option(None, "--html", help="Write an HTML page."),
) -> None:
    """The annual report of a calendar year in the national structure (docs/annual-report.md).

    住房公积金年度报告（按自然年度）。
    """
    if not (as_json or xlsx or html):
        fail("请选择输出 choose at least one of --json, --xlsx FILE, --html FILE")
    with domain_errors(), unit_of_work() as session:
        report = annual_report(session, year, get_policy())
    if xlsx is not None:
        write_xlsx(report_tables(report), Path(xlsx))
    if html is not None:
        write_html(
            report_tables(report), Path(html), f"{year} 年度住房公积金年度报告 Annual report"
        )
    if as_json:
        print_json(report)
