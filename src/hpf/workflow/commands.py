"""``hpf workflow``: business types (业务类型) and their routes, workflow statistics (网办率)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import typer
from rich.console import Console
from rich.table import Table

from hpf.clitools import domain_errors, fail, print_json
from hpf.db.engine import unit_of_work
from hpf.money import format_pct, format_yuan
from hpf.org.service import unit_by_code
from hpf.workflow import rules, service
from hpf.workflow.business_types import route_table

app = typer.Typer(help="业务流程 Workflow", no_args_is_help=True)


def _steps_zh(steps: tuple[str, ...]) -> str:
    return "→".join(["申请", *(rules.STEP_NAMES[s][0] for s in steps), "办结"])


@app.command("types")
def types(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List registered business types and their steps per amount band. 业务类型及审批环节。"""
    table = route_table()
    rows = [(btype, band) for btype in service.business_types() for band in table.bands(btype.code)]
    if as_json:
        print_json(
            [
                {
                    "code": btype.code,
                    "name_zh": btype.name_zh,
                    "name_en": btype.name_en,
                    "up_to_yuan": None if band.up_to_fen is None else format_yuan(band.up_to_fen),
                    "steps": list(band.steps),
                }
                for btype, band in rows
            ]
        )
        return
    out = Table("代码 code", "名称 name", "金额 amount (元)", "环节 steps")
    for btype, band in rows:
        limit = "不限 any" if band.up_to_fen is None else f"≤ {format_yuan(band.up_to_fen)}"
        out.add_row(
            btype.code,
            f"{btype.name_zh} {btype.name_en}",
            limit,
            f"{_steps_zh(band.steps)} ({', '.join(band.steps)})",
        )
    Console().print(out)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} 应为日期 YYYY-MM-DD：{text} ({option} must be a date YYYY-MM-DD)")


@app.command("stats")
def stats(
    date_from: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (China time)."),
    date_to: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD, inclusive."),
    branch: str | None = typer.Option(None, "--branch", help="Organisation unit code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Applications by status and channel, and the online handling rate. 业务统计与网办率。"""
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    with domain_errors(), unit_of_work() as session:
        branch_id = unit_by_code(session, branch).id if branch else None
        by = service.counts(session, start, end, branch_id)
        online, total = service.online_rate(session, start, end, branch_id)
    rate = format_pct(Decimal(online) / Decimal(total)) if total else "-"
    if as_json:
        print_json(
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "branch": branch,
                "submitted": [
                    {"status": status, "channel": ch, "count": n}
                    for (status, ch), n in sorted(by.items())
                ],
                "completed": total,
                "completed_online": online,
                "online_rate": rate,
            }
        )
        return
    channels = [c for c in rules.CHANNELS if any(ch == c for _, ch in by)]
    out = Table(
        "状态 status",
        *(f"{rules.CHANNELS[c].name_zh} {c}" for c in channels),
        "合计 total",
        title=f"{start} – {end} 受理申请 applications submitted",
    )
    for status in rules.STATUSES:
        cells = [by.get((status, c), 0) for c in channels]
        if any(cells):
            name_zh, name_en = rules.STATUS_NAMES[status]
            out.add_row(f"{name_zh} {name_en}", *(str(n) for n in cells), str(sum(cells)))
    Console().print(out)
    typer.echo(
        f"办结 completed: {total}，全程网办 fully online: {online}，网办率 online rate: {rate}"
    )


@app.command("online-rate")
def online_rate(
    first: str = typer.Option(..., "--from", help="First month, YYYY-MM."),
    last: str = typer.Option(..., "--to", help="Last month, YYYY-MM, inclusive."),
    branch: str | None = typer.Option(None, "--branch", help="Organisation unit code."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """网办率 per month and business type: completed entirely online / all completed (§9)."""
    from hpf.deposits.rules import parse_month
    from hpf.workflow.stats import online_rate_by_month_and_type

    with domain_errors(), unit_of_work() as session:
        a, b = parse_month(first), parse_month(last)
        branch_id = unit_by_code(session, branch).id if branch else None
        rates = online_rate_by_month_and_type(session, a, b, branch_id)
    rows = [
        (month, btype, online, total, format_pct(Decimal(online) / Decimal(total)))
        for (month, btype), (online, total) in sorted(rates.items())
    ]
    if as_json:
        print_json(
            [
                {"month": f"{m:%Y-%m}", "business_type": t, "online": o, "total": n, "rate": r}
                for m, t, o, n, r in rows
            ]
        )
        return
    out = Table("月份 month", "业务类型 type", "全程网办 online", "办结 completed", "网办率 rate")
    for m, t, o, n, r in rows:
        out.add_row(f"{m:%Y-%m}", t, str(o), str(n), r)
    Console().print(out)
