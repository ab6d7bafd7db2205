"""``hpf incidents``: incident log, security events (from the audit trail or entered), and the
system-stability and data-security indicators. Output in Chinese; bad input exits 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail, print_json
from hpf.dates import parse_date
from hpf.db.engine import unit_of_work
from hpf.ops import incidents, security
from hpf.ops.models import SECURITY_KINDS, SEVERITIES

app = typer.Typer(help="运维事件 Incidents and security events", no_args_is_help=True)

_AT = typer.Option("--at", help="时间 YYYY-MM-DD HH:MM（中国时间；默认现在）")


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    fail(f"--at 应为时间 YYYY-MM-DD HH:MM：{text} (--at must be a date-time)")


@app.command("log")
def log(
    severity: Annotated[str, typer.Option("--severity", help="级别：" + "/".join(SEVERITIES))],
    title: Annotated[str, typer.Option("--title", help="事件标题")],
    line: Annotated[
        str,
        typer.Option("--line", help="中断/受影响的业务条线：" + "/".join(incidents.BUSINESS_LINES)),
    ] = "",
    description: Annotated[str, typer.Option("--description", help="事件描述")] = "",
    at: Annotated[str | None, _AT] = None,
) -> None:
    """登记故障事件（重大 = 业务条线中断，须注明条线）。"""
    when = _moment(at)
    with domain_errors(), unit_of_work() as session:
        row = incidents.log_incident(
            session,
            occurred_at=when,
            severity=severity,
            title=title,
            business_line=line,
            description=description,
            actor=system_principal(),
        )
        number = row.id
    typer.echo(f"已登记事件 {number}（{incidents.SEVERITY_NAMES[severity][0]}）")


@app.command("resolve")
def resolve(
    incident: Annotated[int, typer.Argument(help="事件编号")],
    cause: Annotated[str, typer.Option("--cause", help="原因")] = "",
    actions: Annotated[str, typer.Option("--actions", help="处置措施")] = "",
    at: Annotated[str | None, _AT] = None,
) -> None:
    """事件恢复：记录恢复时间、原因和处置措施。"""
    when = _moment(at)
    with domain_errors(), unit_of_work() as session:
        incidents.resolve_incident(
            session,
            incident,
            resolved_at=when,
            cause=cause,
            actions=actions,
            actor=system_principal(),
        )
    typer.echo(f"事件 {incident} 已恢复")


@app.command("security-sync")
def security_sync() -> None:
    """从审计留痕提取安全事件（登录失败、账户锁定、查看未脱敏信息、批量导出）。"""
    with domain_errors(), unit_of_work() as session:
        added = security.sync_from_trail(session)
    typer.echo(f"新增安全事件 {added} 条")


@app.command("security-add")
def security_add(
    kind: Annotated[str, typer.Option("--kind", help="类型：" + "/".join(SECURITY_KINDS))],
    detail: Annotated[str, typer.Option("--detail", help="说明")],
    who: Annotated[str, typer.Option("--who", help="相关人员")] = "",
    at: Annotated[str | None, _AT] = None,
) -> None:
    """登记审计留痕之外发现的安全事件（如越权访问、数据泄露）。"""
    when = _moment(at)
    with domain_errors(), unit_of_work() as session:
        row = security.record_event(
            session, kind=kind, at=when, detail=detail, actor_name=who, actor=system_principal()
        )
        number = row.id
    typer.echo(f"已登记安全事件 {number}（{security.KIND_NAMES[kind]}）")


@app.command("stats")
def stats(
    date_from: Annotated[str, typer.Option("--from", help="起始日 YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="截止日 YYYY-MM-DD（含）")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """系统稳定性与数据安全指标。"""
    with domain_errors():
        start, end = parse_date(date_from), parse_date(date_to)
    with domain_errors(), unit_of_work() as session:
        stab = incidents.stability(session, start, end)
        sec = security.data_security(session, start, end)
    if as_json:
        print_json(
            {
                "major": stab.major,
                "significant": stab.significant,
                "minor": stab.minor,
                "major_minutes": stab.major_minutes,
                "stability_met": stab.met,
                "security_events": sec.by_kind,
                "leaks": sec.leaks,
                "months": sec.months,
                "months_with_backup": sec.months_with_backup,
                "data_security_met": sec.met,
            }
        )
        return
    typer.echo(
        f"故障事件：重大 {stab.major}（业务中断 {stab.major_minutes} 分钟）、较大 "
        f"{stab.significant}、一般 {stab.minor}；系统稳定性{'达标' if stab.met else '未达标'}"
    )
    kinds = "、".join(f"{security.KIND_NAMES[k]} {n}" for k, n in sorted(sec.by_kind.items()))
    typer.echo(f"安全事件：{kinds or '无'}")
    typer.echo(
        f"数据泄露 {sec.leaks} 起；有备份的月份 {sec.months_with_backup}/{sec.months}；"
        f"数据安全{'达标' if sec.met else '未达标'}"
    )
