"""``hpf withdrawals``: check a withdrawal (预审), bank payment batches (支付批次), statistics.

Output in Chinese; bad input is one line on stderr and exit code 2; ``check`` exits 1 when the
rules refuse (the reasons are printed).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail, print_json
from hpf.dates import parse_date
from hpf.db.engine import unit_of_work
from hpf.money import format_yuan, parse_amount
from hpf.policy.loader import get_policy
from hpf.withdrawals import payments, service
from hpf.withdrawals.rules import TYPES, WithdrawalType
from hpf.withdrawals.stats import DIMENSIONS, withdrawal_stats

app = typer.Typer(help="提取 Withdrawals", no_args_is_help=True)
batch_app = typer.Typer(help="支付批次 Payment batches", no_args_is_help=True)
app.add_typer(batch_app, name="batch")

_TYPES_HELP = ", ".join(f"{t.value} {TYPES[t].name_zh}" for t in WithdrawalType)


def _day(text: str | None) -> date:
    return date.today() if text is None else parse_date(text)


def _fen(text: str | None) -> int | None:
    return None if text is None else parse_amount(text)


@app.command("check")
def check(
    depositor: Annotated[str, typer.Option("--depositor", help="个人账号 personal account")],
    wtype: Annotated[str, typer.Option("--type", help=f"提取类型: {_TYPES_HELP}")],
    on: Annotated[str | None, typer.Option("--on", help="申请日期 YYYY-MM-DD")] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="申请金额（元）")] = None,
    cost: Annotated[str | None, typer.Option("--cost", help="房价/费用/已付房租（元）")] = None,
    event_date: Annotated[str | None, typer.Option("--event-date", help="事项日期")] = None,
    contract: Annotated[str | None, typer.Option("--contract", help="购房合同编号")] = None,
    months: Annotated[int, typer.Option("--months", help="租房月数")] = 0,
    loan: Annotated[str | None, typer.Option("--loan", help="借款合同编号")] = None,
    spouse: Annotated[str | None, typer.Option("--spouse", help="配偶身份证号")] = None,
    heir: Annotated[str | None, typer.Option("--heir", help="继承人身份证号")] = None,
    doc: Annotated[list[str] | None, typer.Option("--doc", help="已交材料（可多次）")] = None,
    all_docs: Annotated[bool, typer.Option("--all-docs", help="材料齐全（按政策文件）")] = False,
    owns_home: Annotated[bool, typer.Option("--owns-home", help="本人有自有住房")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """预审：按政策文件检查一笔提取是否可办理及可提取金额（不写入任何数据）。"""
    with domain_errors():
        day = _day(on)
        policy = get_policy()
        documents = tuple(doc or ())
        if all_docs:
            rule = getattr(policy.on(day).withdrawal.types, wtype.strip(), None)
            documents += tuple(rule.documents) if rule is not None else ()
        application = service.Application(
            type=wtype,
            documents=documents,
            amount_fen=_fen(amount),
            cost_fen=_fen(cost),
            event_date=None if event_date is None else parse_date(event_date),
            contract_ref=contract,
            rent_months=months,
            loan_ref=loan,
            spouse_id=spouse,
            heir_id=heir,
            owns_home=owns_home,
        )
        with unit_of_work() as session:
            decision = service.check(
                session, depositor_ref=depositor, application=application, on=day, policy=policy
            )
    info = TYPES[decision.type]
    if as_json:
        print_json(
            {
                "type": decision.type.value,
                "reason_code": decision.reason_code,
                "allowed": decision.allowed,
                "amount": format_yuan(decision.amount_fen),
                "closes_account": decision.closes_account,
                "refusals": [{"code": r.code, "zh": r.zh, "en": r.en} for r in decision.refusals],
            }
        )
    else:
        typer.echo(f"{info.name_zh}提取（提取原因 {decision.reason_code}）")
        if decision.allowed:
            closing = "，销户提取" if decision.closes_account else ""
            typer.echo(
                f"可以办理：可提取 {format_yuan(decision.amount_fen, grouping=True)} 元{closing}"
            )
        else:
            typer.echo("不予提取：")
            for refusal in decision.refusals:
                typer.echo(f"  - {refusal.zh}")
    if not decision.allowed:
        raise typer.Exit(1)


@batch_app.command("export")
def batch_export(
    out: Annotated[Path, typer.Option("--out", help="支付文件路径 (CSV)")],
    on: Annotated[str | None, typer.Option("--on", help="批次日期 YYYY-MM-DD")] = None,
    branch: Annotated[int | None, typer.Option("--branch", help="管理部编号 branch id")] = None,
) -> None:
    """生成支付批次：把已审批未支付的提取写入银行代发文件。"""
    if out.exists():
        fail(f"文件已存在，不覆盖：{out} (file exists)")
    with domain_errors(), unit_of_work() as session:
        batch = payments.export_batch(
            session, on=_day(on), actor=system_principal(), branch_id=branch
        )
        out.write_text(batch.csv_text, encoding="utf-8")
    typer.echo(
        f"支付批次 {batch.batch_id}：{batch.lines} 笔，合计 {format_yuan(batch.total_fen, grouping=True)} 元，"
        f"已写入 {out}"
    )


@batch_app.command("import")
def batch_import(
    file: Annotated[Path, typer.Argument(help="银行回盘文件 (CSV)")],
    on: Annotated[str | None, typer.Option("--on", help="入账日期 YYYY-MM-DD")] = None,
) -> None:
    """导入银行回盘：成功的记支付，失败的冲销退回个人账户；重复导入不重复记账。"""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"无法读取文件 {file}：{exc}")
    with domain_errors(), unit_of_work() as session:
        summary = payments.import_result(session, text, on=_day(on), actor=system_principal())
    batches = "、".join(str(b) for b in summary.batch_ids)
    typer.echo(
        f"批次 {batches}：支付成功 {summary.paid} 笔（{format_yuan(summary.paid_fen, grouping=True)} 元），"
        f"失败退回 {summary.failed} 笔，此前已导入 {summary.unchanged} 笔"
    )


@app.command("stats")
def stats(
    start: Annotated[str, typer.Option("--from", help="开始日期（支付日）YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="结束日期 YYYY-MM-DD")],
    by: Annotated[
        str, typer.Option("--by", help="统计维度: type,branch,month,channel")
    ] = "type,branch,month,channel",
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """提取统计：按类型、管理部、月份、渠道统计金额、笔数、办理时长和网办率。"""
    dims = [d.strip() for d in by.split(",") if d.strip()]
    with domain_errors(), unit_of_work() as session:
        rows = withdrawal_stats(session, start=parse_date(start), end=parse_date(end), by=dims)
    data = [
        {
            **{d: (v.isoformat()[:7] if isinstance(v, date) else v) for d, v in row.keys.items()},
            "count": row.count,
            "amount": format_yuan(row.amount_fen),
            "average_days": str(row.average_days),
            "online_share": str(row.online_share),
        }
        for row in rows
    ]
    if as_json:
        print_json(data)
        return
    labels = {"type": "类型", "branch": "管理部", "month": "月份", "channel": "渠道"}
    header = [labels[d] for d in dims if d in DIMENSIONS] + [
        "笔数",
        "金额(元)",
        "平均办理天数",
        "网办率",
    ]
    typer.echo("\t".join(header))
    for row, item in zip(rows, data, strict=True):
        keys = [
            TYPES[WithdrawalType(str(item[d]))].name_zh if d == "type" else str(item[d])
            for d in dims
        ]
        typer.echo(
            "\t".join(
                [
                    *keys,
                    str(row.count),
                    format_yuan(row.amount_fen, grouping=True),
                    str(row.average_days),
                    f"{(row.online_share * 100).normalize():f}%",
                ]
            )
        )
    if not rows:
        typer.echo("（该期间没有已支付的提取）")
