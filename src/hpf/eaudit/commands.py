"""``hpf audit``: the monthly e-audit run (电子稽核), suspicious items (疑点) and their closure.

Not to be confused with ``hpf audit-trail`` (审计留痕). Output in Chinese; bad input is one line
on stderr and exit code 2; the run shows a progress bar over the rules.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail, print_json, progress
from hpf.dates import parse_date
from hpf.db.engine import unit_of_work
from hpf.deposits.rules import parse_month
from hpf.eaudit import service
from hpf.eaudit.models import ITEM_STATUSES
from hpf.eaudit.rules import RULES, RULES_BY_CODE, rule
from hpf.money import format_pct
from hpf.policy.loader import get_policy

app = typer.Typer(help="电子稽核 Electronic audit (not the audit trail)", no_args_is_help=True)

_ON = typer.Option("--on", help="业务日期 YYYY-MM-DD（默认今天）")


def _day(text: str | None) -> date:
    with domain_errors():
        return date.today() if text is None else parse_date(text)


def _month(text: str) -> date:
    with domain_errors():
        return parse_month(text)


@app.command("rules")
def rules_() -> None:
    """列出稽核规则。"""
    out = Table("代码 code", "规则 rule", "业务 area")
    for r in RULES:
        out.add_row(r.code, f"{r.name_zh} ({r.name_en})", r.area)
    Console().print(out)


@app.command("run")
def run(
    month: Annotated[str, typer.Option("--month", help="稽核月份 YYYY-MM")],
    only: Annotated[
        list[str] | None, typer.Option("--rule", help="只运行某条规则（可多次）")
    ] = None,
    on: Annotated[str | None, _ON] = None,
) -> None:
    """按月运行稽核规则，生成疑点（同月同规则重复运行只新增未记录的疑点）。"""
    first, day = _month(month), _day(on)
    with domain_errors():
        chosen = [rule(code) for code in only] if only else list(RULES)
    with domain_errors(), unit_of_work() as session, progress() as bar:
        task = bar.add_task(f"稽核 {first:%Y-%m}", total=len(chosen))
        outcomes = service.run_month(
            session,
            first,
            get_policy(),
            on=day,
            actor=system_principal(),
            rules=chosen,
            on_rule=lambda _o: bar.advance(task),
        )
    for o in outcomes:
        typer.echo(f"{o.rule.name_zh}（{o.rule.code}）：疑点 {o.found} 个，新增 {o.new} 个")
    typer.echo(f"{first:%Y-%m} 稽核完成：新增疑点 {sum(o.new for o in outcomes)} 个")


@app.command("list")
def list_(
    month: Annotated[str | None, typer.Option("--month", help="月份 YYYY-MM")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="状态 " + "/".join(ITEM_STATUSES))
    ] = None,
    code: Annotated[str | None, typer.Option("--rule", help="规则代码")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """列出疑点。"""
    if status is not None and status not in ITEM_STATUSES:
        fail(f"未知的状态：{status}（可用：{'/'.join(ITEM_STATUSES)}） unknown status")
    if code is not None and code not in RULES_BY_CODE:
        fail(f"未知的稽核规则：{code} (unknown rule)")
    with domain_errors(), unit_of_work() as session:
        rows = service.list_items(
            session, month=_month(month) if month else None, status=status, rule_code=code
        )
        data = [
            {
                "id": r.id,
                "month": f"{r.month:%Y-%m}",
                "rule": r.rule_code,
                "object": r.object_ref,
                "summary": r.summary,
                "status": r.status,
                "due_on": r.due_on.isoformat(),
                "assignee": r.assignee,
                "evidence": json.loads(r.evidence),
            }
            for r in rows
        ]
    if as_json:
        print_json(data)
        return
    out = Table("编号", "月份", "规则", "疑点", "状态", "期限", "承办人")
    for d in data:
        out.add_row(
            str(d["id"]),
            d["month"],
            d["rule"],
            d["summary"],
            service.STATUS_NAMES[d["status"]][0],
            d["due_on"],
            d["assignee"],
        )
    Console().print(out)
    typer.echo(f"共 {len(data)} 个疑点")


@app.command("assign")
def assign(
    item: Annotated[int, typer.Argument(help="疑点编号")],
    to: Annotated[str, typer.Option("--to", help="承办人")],
    on: Annotated[str | None, _ON] = None,
) -> None:
    """分派疑点。"""
    day = _day(on)
    with domain_errors(), unit_of_work() as session:
        service.assign(session, item, to, day, system_principal())
    typer.echo(f"疑点 {item} 已分派给 {to}")


@app.command("respond")
def respond(
    item: Annotated[int, typer.Argument(help="疑点编号")],
    explain: Annotated[str | None, typer.Option("--explain", help="情况说明")] = None,
    rectify: Annotated[str | None, typer.Option("--rectify", help="整改情况")] = None,
    on: Annotated[str | None, _ON] = None,
) -> None:
    """反馈疑点：情况说明（--explain）或整改情况（--rectify）。"""
    if (explain is None) == (rectify is None):
        fail("请给出 --explain 或 --rectify（二选一） give --explain or --rectify")
    day = _day(on)
    with domain_errors(), unit_of_work() as session:
        service.respond(
            session,
            item,
            rectified=rectify is not None,
            text=rectify or explain or "",
            on=day,
            actor=system_principal(),
        )
    typer.echo(f"疑点 {item} 已{'整改' if rectify else '说明'}")


@app.command("close")
def close(
    item: Annotated[int, typer.Argument(help="疑点编号")],
    evidence: Annotated[str, typer.Option("--evidence", help="佐证材料（文号、凭证号等）")],
    on: Annotated[str | None, _ON] = None,
) -> None:
    """疑点销号（须已说明或整改，并提供佐证材料）。"""
    day = _day(on)
    with domain_errors(), unit_of_work() as session:
        row = service.close(session, item, evidence=evidence, on=day, actor=system_principal())
        on_time = row.closed_on is not None and row.closed_on <= row.due_on
    typer.echo(f"疑点 {item} 已销号（{'按期' if on_time else '逾期'}）")


@app.command("indicator")
def indicator(
    first: Annotated[str, typer.Option("--from", help="起始月份 YYYY-MM")],
    last: Annotated[str, typer.Option("--to", help="截止月份 YYYY-MM")],
    on: Annotated[str | None, _ON] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """电子稽核指标：按月运行情况与疑点按期销号率。"""
    a, b, day = _month(first), _month(last), _day(on)
    with domain_errors(), unit_of_work() as session:
        ind = service.indicator(session, a, b, day)
    run_rate = "-" if ind.run_rate is None else format_pct(ind.run_rate)
    on_time = "-" if ind.on_time_rate is None else format_pct(ind.on_time_rate)
    if as_json:
        print_json(
            {
                "months": ind.months,
                "months_run": ind.months_run,
                "items": ind.items,
                "items_due": ind.items_due,
                "closed_on_time": ind.closed_on_time,
                "closed_late": ind.closed_late,
                "open_overdue": ind.open_overdue,
                "run_rate": None if ind.run_rate is None else str(ind.run_rate),
                "on_time_rate": None if ind.on_time_rate is None else str(ind.on_time_rate),
            }
        )
        return
    typer.echo(f"月份 {ind.months} 个，已完整运行 {ind.months_run} 个（{run_rate}）")
    typer.echo(
        f"疑点 {ind.items} 个，到期应销号 {ind.items_due} 个：按期销号 {ind.closed_on_time}、"
        f"逾期销号 {ind.closed_late}、逾期未销号 {ind.open_overdue}；按期销号率 {on_time}"
    )
