"""``hpf partners``: partner departments of the partner API (合作部门接口), their tokens and calls.

Output in Chinese; bad input exits 2. A token is printed once, when issued; only its SHA-256 is
kept. docs/service.md.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail, print_json
from hpf.db.engine import unit_of_work
from hpf.ops import partner_rules, partners
from hpf.ops.models import PARTNER_RESULTS
from hpf.workflow.stats import BUSINESS_TZ

app = typer.Typer(help="合作部门接口 Partner-department API", no_args_is_help=True)

_SCOPES = "、".join(f"{s.code}（{s.name_zh}）" for s in partner_rules.SCOPES.values())


@app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="合作部门代码，如 bdc-linyi")],
    department: Annotated[str, typer.Option("--department", help="部门名称")],
    scopes: Annotated[str, typer.Option("--scopes", help=f"接口范围（逗号分隔）：{_SCOPES}")],
    contact: Annotated[str, typer.Option("--contact", help="联系人")] = "",
) -> None:
    """登记合作部门及其可调用的接口范围。"""
    with domain_errors(), unit_of_work() as session:
        row = partners.register_partner(
            session,
            code=code,
            department=department,
            scopes=scopes,
            contact=contact,
            actor=system_principal(),
        )
        text = f"已登记合作部门 {row.code}（{row.department}），接口范围：{row.scopes}"
    typer.echo(text)


@app.command("token")
def token(code: Annotated[str, typer.Argument(help="合作部门代码")]) -> None:
    """签发合作部门令牌（仅显示一次）。"""
    with domain_errors(), unit_of_work() as session:
        token_id, value = partners.issue_token(session, code, actor=system_principal())
    typer.echo(f"令牌编号 {token_id}（请妥善保存，仅显示一次 shown once）：")
    typer.echo(value)


@app.command("revoke")
def revoke(token_id: Annotated[int, typer.Argument(help="令牌编号")]) -> None:
    """吊销合作部门令牌。"""
    with domain_errors(), unit_of_work() as session:
        partners.revoke_token(session, token_id, actor=system_principal())
    typer.echo(f"令牌 {token_id} 已吊销")


@app.command("suspend")
def suspend(code: Annotated[str, typer.Argument(help="合作部门代码")]) -> None:
    """停用合作部门（其令牌立即失效，启用后恢复）。"""
    with domain_errors(), unit_of_work() as session:
        partners.set_status(session, code, "suspended", actor=system_principal())
    typer.echo(f"合作部门 {code} 已停用")


@app.command("activate")
def activate(code: Annotated[str, typer.Argument(help="合作部门代码")]) -> None:
    """启用合作部门。"""
    with domain_errors(), unit_of_work() as session:
        partners.set_status(session, code, "active", actor=system_principal())
    typer.echo(f"合作部门 {code} 已启用")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """列出合作部门、有效令牌数和调用次数。"""
    with domain_errors(), unit_of_work() as session:
        rows = partners.list_partners(session)
    data: list[dict[str, Any]] = [
        {
            "code": r.code,
            "department": r.department,
            "scopes": list(r.scopes),
            "status": r.status,
            "contact": r.contact,
            "live_tokens": r.live_tokens,
            "calls": r.calls,
        }
        for r in rows
    ]
    if as_json:
        print_json(data)
        return
    out = Table("代码", "部门", "接口范围", "状态", "有效令牌", "调用次数")
    for d in data:
        out.add_row(
            d["code"],
            d["department"],
            " ".join(d["scopes"]),
            partner_rules.STATUS_NAMES[d["status"]][0],
            str(d["live_tokens"]),
            str(d["calls"]),
        )
    Console().print(out)


@app.command("calls")
def calls(
    code: Annotated[str | None, typer.Argument(help="合作部门代码（默认全部）")] = None,
    result: Annotated[
        str | None, typer.Option("--result", help="结果 " + "/".join(PARTNER_RESULTS))
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="最多条数")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """列出合作部门接口调用记录（最新在前；查询对象已脱敏）。"""
    if result is not None and result not in PARTNER_RESULTS:
        fail(f"未知的结果：{result}（可用：{'/'.join(PARTNER_RESULTS)}） unknown result")
    with domain_errors(), unit_of_work() as session:
        if code is not None:
            partners.get_partner(session, code)
        rows, total = partners.list_calls(session, partner_code=code, result=result, size=limit)
    data: list[dict[str, Any]] = [
        {
            "id": r.id,
            "at": r.at.astimezone(BUSINESS_TZ).isoformat(timespec="seconds"),
            "partner": r.partner_code,
            "route": r.route,
            "subject": r.subject,
            "result": r.result,
            "status_code": r.status_code,
        }
        for r in rows
    ]
    if as_json:
        print_json({"total": total, "calls": data})
        return
    out = Table("编号", "时间", "合作部门", "接口", "查询对象", "结果")
    for d in data:
        out.add_row(
            str(d["id"]),
            d["at"][:19],
            d["partner"],
            d["route"],
            d["subject"],
            partner_rules.RESULT_NAMES[d["result"]][0],
        )
    Console().print(out)
    typer.echo(f"共 {total} 条调用记录")
