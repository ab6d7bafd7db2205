"""``hpf tickets``: enter, import, assign, escalate, reply to and call back hotline tickets; stats.

Output in Chinese; bad input is one line on stderr and exit code 2. Times are China Standard Time
(``YYYY-MM-DD HH:MM``); omitted, they are now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from hpf.auth.audit import utc
from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail, print_json
from hpf.dates import parse_date
from hpf.db.engine import unit_of_work
from hpf.money import format_pct
from hpf.org.service import unit_by_code
from hpf.service_desk import importer, rules, service, stats
from hpf.workflow.stats import BUSINESS_TZ

app = typer.Typer(help="热线工单 Service hotline tickets", no_args_is_help=True)

_AT = typer.Option("--at", help="时间 YYYY-MM-DD HH:MM（中国时间；默认现在）")
_JSON = typer.Option("--json", help="输出 JSON")


def _moment(text: str | None, option: str = "--at") -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return importer.parse_moment(text)
    except ValueError:
        fail(f"{option} 应为时间 YYYY-MM-DD HH:MM：{text} ({option} must be a date-time)")


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else format_pct(value)


@app.command("add")
def add(
    channel: Annotated[str, typer.Option("--channel", help="来源：12329、12345、web")],
    topic: Annotated[str, typer.Option("--topic", help="诉求主题")],
    category: Annotated[
        str, typer.Option("--category", help="类别：咨询 求助 建议 投诉 举报 表扬")
    ] = "consult",
    caller: Annotated[str, typer.Option("--caller", help="来电人")] = "",
    phone: Annotated[str, typer.Option("--phone", help="联系电话")] = "",
    content: Annotated[str, typer.Option("--content", help="诉求内容")] = "",
    branch: Annotated[str | None, typer.Option("--branch", help="承办管理部代码")] = None,
    due_days: Annotated[int | None, typer.Option("--due-days", help="答复时限（天）")] = None,
    at: Annotated[str | None, _AT] = None,
) -> None:
    """受理一张工单（来电或网站留言），按类别设定答复时限。"""
    received = _moment(at)
    with domain_errors(), unit_of_work() as session:
        row = service.add_ticket(
            session,
            service.TicketInput(
                channel=channel,
                topic=topic,
                category=category,
                received_at=received,
                caller_name=caller,
                caller_phone=phone,
                content=content,
                branch_code=branch,
                due_days=due_days,
            ),
            system_principal(),
        )
        number, due = row.ticket_no, row.due_at
    typer.echo(f"已受理工单 {number} ，答复时限 {utc(due).astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M}")


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="热线平台导出的工单文件（.xlsx 或 .csv）")],
) -> None:
    """导入热线平台的工单导出文件：全部通过才导入，任何一行有错则整份不导入。"""
    if not path.is_file():
        fail(f"文件不存在：{path} (no such file)")
    data = path.read_bytes()
    with domain_errors():
        try:
            with unit_of_work() as session:
                result = importer.import_tickets(session, data, path.name, system_principal())
        except importer.TicketFileRejected as exc:
            for e in exc.errors[:50]:
                typer.echo(
                    f"第 {e.line_no} 行 {e.column}：{e.message_zh} ({e.message_en})", err=True
                )
            raise
    typer.echo(
        f"已导入工单 {result.imported} 张（其中已答复 {result.replied}，已回访 "
        f"{result.called_back}） imported {result.imported} tickets"
    )


@app.command("assign")
def assign(
    ticket: Annotated[str, typer.Argument(help="工单编号")],
    to: Annotated[str, typer.Option("--to", help="承办人")],
    at: Annotated[str | None, _AT] = None,
) -> None:
    """分派工单给承办人。"""
    now = _moment(at)
    with domain_errors(), unit_of_work() as session:
        service.assign(session, ticket, to, system_principal(), now)
    typer.echo(f"工单 {ticket} 已分派给 {to}")


@app.command("escalate")
def escalate(
    ticket: Annotated[str | None, typer.Argument(help="工单编号（与 --overdue 二选一）")] = None,
    reason: Annotated[str, typer.Option("--reason", help="升级原因")] = "",
    overdue: Annotated[bool, typer.Option("--overdue", help="升级所有超时未答复工单")] = False,
    at: Annotated[str | None, _AT] = None,
) -> None:
    """升级督办：一张工单，或所有超过答复时限仍未答复的工单。"""
    now = _moment(at)
    if (ticket is None) == (not overdue):
        fail("请指定工单编号或 --overdue（二选一） give a ticket number or --overdue")
    with domain_errors(), unit_of_work() as session:
        if ticket is not None:
            row = service.escalate(session, ticket, reason, system_principal(), now)
            typer.echo(f"工单 {ticket} 已升级督办（第 {row.escalation_level} 级）")
            return
        count = service.escalate_overdue(session, now)
    typer.echo(f"已升级超时工单 {count} 张")


@app.command("reply")
def reply(
    ticket: Annotated[str, typer.Argument(help="工单编号")],
    text: Annotated[str, typer.Option("--text", help="答复内容")],
    at: Annotated[str | None, _AT] = None,
) -> None:
    """答复工单（时限内答复计入来电答复率）。"""
    now = _moment(at)
    with domain_errors(), unit_of_work() as session:
        row = service.reply(session, ticket, text, system_principal(), now)
        on_time = rules.replied_on_time(row.replied_at, utc(row.due_at))
    typer.echo(f"工单 {ticket} 已答复（{'时限内' if on_time else '已超时'}）")


@app.command("callback")
def callback(
    ticket: Annotated[str, typer.Argument(help="工单编号")],
    reached: Annotated[
        bool, typer.Option("--reached/--not-reached", help="回访是否成功（联系到本人）")
    ] = True,
    rating: Annotated[
        str | None, typer.Option("--rating", help="满意度：满意、基本满意、不满意")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="回访记录")] = "",
    at: Annotated[str | None, _AT] = None,
) -> None:
    """回访：记录是否联系到本人及满意度评价；回访成功即办结。"""
    now = _moment(at)
    with domain_errors(), unit_of_work() as session:
        service.callback(
            session,
            ticket,
            reached=reached,
            rating=rating,
            actor=system_principal(),
            now=now,
            note=note,
        )
    typer.echo(f"工单 {ticket} 回访已记录（{'回访成功' if reached else '未联系到本人'}）")


@app.command("stats")
def stats_(
    date_from: Annotated[str, typer.Option("--from", help="起始日 YYYY-MM-DD（中国时间）")],
    date_to: Annotated[str, typer.Option("--to", help="截止日 YYYY-MM-DD（含）")],
    branch: Annotated[str | None, typer.Option("--branch", help="管理部代码")] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """来电答复率与满意率（domain.md §9 口径）。"""
    with domain_errors():
        start: date = parse_date(date_from)
        end: date = parse_date(date_to)
    with domain_errors(), unit_of_work() as session:
        branch_id = unit_by_code(session, branch).id if branch else None
        ind = stats.indicators(session, start, end, branch_id)
    if as_json:
        print_json(
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "tickets": ind.tickets,
                "calls": ind.calls,
                "calls_replied_on_time": ind.calls_replied_on_time,
                "call_reply_rate": None
                if ind.call_reply_rate is None
                else str(ind.call_reply_rate),
                "callbacks": ind.callbacks,
                "callbacks_reached": ind.callbacks_reached,
                "satisfied": ind.satisfied,
                "basic": ind.basic,
                "unsatisfied": ind.unsatisfied,
                "satisfaction_rate": None
                if ind.satisfaction_rate is None
                else str(ind.satisfaction_rate),
            }
        )
        return
    typer.echo(f"{start} – {end} 工单 {ind.tickets} 张，其中来电 {ind.calls} 个")
    typer.echo(
        f"时限内答复来电 {ind.calls_replied_on_time} 个，来电答复率 {_pct(ind.call_reply_rate)}"
    )
    typer.echo(
        f"回访 {ind.callbacks} 次，成功 {ind.callbacks_reached}：满意 {ind.satisfied}、"
        f"基本满意 {ind.basic}、不满意 {ind.unsatisfied}；满意率 {_pct(ind.satisfaction_rate)}"
    )
