"""``hpf loans``: a loan and its schedule, the overdue and repricing batches, the bank debit
file (代扣) and its result, statistics.

Output in Chinese; bad input is one line on stderr and exit code 2; batches show a progress bar
on stderr.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from hpf.auth.principal import system_principal
from hpf.clitools import domain_errors, fail, print_json, progress
from hpf.dates import parse_date
from hpf.db.engine import unit_of_work
from hpf.loans import batches, collection, dunning, service, standing, stats
from hpf.loans.overdue import format_overdue_ratio
from hpf.loans.rules import RepaymentMethod
from hpf.money import format_pct, format_yuan
from hpf.policy.loader import get_policy

app = typer.Typer(help="贷款 Loans", no_args_is_help=True)
overdue_app = typer.Typer(help="逾期 Overdue", no_args_is_help=True)
collection_app = typer.Typer(help="代扣 Bank debit of installments", no_args_is_help=True)
app.add_typer(overdue_app, name="overdue")
app.add_typer(collection_app, name="collection")
dunning_app = typer.Typer(help="催收 Collection contacts on overdue loans", no_args_is_help=True)
app.add_typer(dunning_app, name="dunning")

STATUS_ZH = {
    "refused": "不予受理",
    "in_review": "审核中",
    "approved": "已签合同待发放",
    "active": "还款中",
    "settled": "已结清",
    "rejected": "已退回",
    "withdrawn": "已撤回",
}
INSTALLMENT_ZH = {"scheduled": "待还", "overdue": "逾期", "paid": "已还"}


def _day(text: str | None) -> date:
    return date.today() if text is None else parse_date(text)


def _y(fen: int) -> str:
    return format_yuan(fen, grouping=True)


@app.command("show")
def show(
    loan: Annotated[str, typer.Argument(help="贷款账号、借款合同编号或编号")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """查看一笔贷款：借款人、金额、利率、余额、期次与逾期情况。"""
    with domain_errors(), unit_of_work() as session:
        row = service.find(session, loan)
        data = {
            "loan": row.loan_ref,
            "contract": row.contract_ref,
            "status": row.status,
            "depositor": row.depositor_ref,
            "principal": format_yuan(row.principal_fen or row.requested_fen),
            "balance": format_yuan(row.balance_fen),
            "rate_pct": str(row.annual_rate_pct),
            "method": row.method,
            "term_months": row.term_months,
            "paid_n": row.paid_n,
            "last_n": row.last_n,
            "level": format_yuan(row.level_fen),
            "disbursed_on": row.disbursed_on.isoformat() if row.disbursed_on else None,
            "days_past_due": row.days_past_due,
            "overdue_principal": format_yuan(row.overdue_principal_fen),
            "penalty": format_yuan(row.penalty_fen),
            "risk_grade": row.risk_grade,
        }
        method_zh = RepaymentMethod(row.method).label_zh
    if as_json:
        print_json(data)
        return
    typer.echo(
        f"贷款账号 {row.loan_ref}  借款合同 {row.contract_ref or '—'}  状态 {STATUS_ZH[row.status]}"
    )
    typer.echo(f"借款人个人账号 {row.depositor_ref}  管理部 {row.branch_id}")
    typer.echo(
        f"贷款金额 {_y(row.principal_fen or row.requested_fen)} 元  期限 {row.term_months} 个月  "
        f"{method_zh}  年利率 {row.annual_rate_pct}%"
    )
    if row.disbursed_on:
        typer.echo(
            f"发放日 {row.disbursed_on}  贷款余额 {_y(row.balance_fen)} 元  已还 {row.paid_n}/"
            f"{row.last_n} 期  月供（或每期本金）{_y(row.level_fen)} 元"
        )
    if row.days_past_due:
        typer.echo(
            f"逾期 {row.days_past_due} 天  逾期本金 {_y(row.overdue_principal_fen)} 元  "
            f"逾期利息 {_y(row.overdue_interest_fen)} 元  罚息 {_y(row.penalty_fen)} 元  "
            f"风险分类 {row.risk_grade}（截至 {row.overdue_as_of}）"
        )


@app.command("schedule")
def schedule(
    loan: Annotated[str, typer.Argument(help="贷款账号、借款合同编号或编号")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """还款计划：每期还款日、本金、利息、剩余本金和状态。"""
    with domain_errors(), unit_of_work() as session:
        row = service.find(session, loan)
        items = service.installments(session, row.id)
        data = [
            {
                "n": i.n,
                "due_date": i.due_date.isoformat(),
                "principal": format_yuan(i.principal_fen),
                "interest": format_yuan(i.interest_fen),
                "payment": format_yuan(i.principal_fen + i.interest_fen),
                "balance": format_yuan(i.balance_after_fen),
                "rate_pct": str(i.rate_pct),
                "status": i.status,
                "penalty": format_yuan(i.penalty_fen),
            }
            for i in items
        ]
    if as_json:
        print_json(data)
        return
    if not items:
        typer.echo(f"贷款 {row.loan_ref} 尚无还款计划（未发放或已结清）")
        return
    typer.echo("期次\t还款日\t本金(元)\t利息(元)\t月供(元)\t剩余本金(元)\t利率%\t状态")
    for i in items:
        typer.echo(
            f"{i.n}\t{i.due_date}\t{_y(i.principal_fen)}\t{_y(i.interest_fen)}\t"
            f"{_y(i.principal_fen + i.interest_fen)}\t{_y(i.balance_after_fen)}\t{i.rate_pct}\t"
            f"{INSTALLMENT_ZH[i.status]}"
        )


@overdue_app.command("run")
def overdue_run(
    on: Annotated[str, typer.Option("--on", help="日终日期 YYYY-MM-DD")],
) -> None:
    """逾期日终：标记逾期期次、计算罚息与账龄、更新催收清单。"""
    with domain_errors():
        day = parse_date(on)
        with progress() as bar, unit_of_work() as session:
            task = bar.add_task("逾期日终", total=8)
            summary = batches.run_overdue(
                session,
                day,
                policy=get_policy(),
                on_progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
            rows = stats.overdue_by_branch(session, day)
    typer.echo(
        f"{day} 逾期日终：逾期贷款 {summary.loans_overdue} 笔，逾期期次 "
        f"{summary.overdue_installments} 期，逾期本金 {_y(summary.overdue_principal_fen)} 元，"
        f"罚息 {_y(summary.penalty_fen)} 元；新增催收 {summary.collections_opened} 笔，"
        f"结束催收 {summary.collections_resolved} 笔"
    )
    _ratio_table(rows)


@overdue_app.command("ratio")
def overdue_ratio(
    on: Annotated[str, typer.Option("--on", help="统计日期 YYYY-MM-DD")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """逾期率：各管理部在某日的逾期额、个贷余额和逾期率。"""
    with domain_errors(), unit_of_work() as session:
        rows = stats.overdue_by_branch(session, parse_date(on))
    if as_json:
        print_json(
            [
                {
                    "branch": r.branch_id,
                    "balance": format_yuan(r.balance_fen),
                    "overdue": format_yuan(r.overdue_fen),
                    "ratio": str(r.ratio),
                }
                for r in rows
            ]
        )
        return
    _ratio_table(rows)


def _ratio_table(rows: list[stats.OverdueRow]) -> None:
    typer.echo("管理部\t个贷余额(元)\t逾期额(元)\t逾期率")
    for r in rows:
        name = "合计" if r.branch_id is None else str(r.branch_id)
        typer.echo(
            f"{name}\t{_y(r.balance_fen)}\t{_y(r.overdue_fen)}\t"
            f"{format_overdue_ratio(r.overdue_fen, r.balance_fen)}"
        )


@app.command("standing-run")
def standing_run(
    on: Annotated[str, typer.Option("--on", help="扣款日期 YYYY-MM-DD")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """约定提取还贷：按有效的约定，从职工公积金余额偿还到期未还的贷款期次。"""
    with domain_errors():
        day = parse_date(on)
        with unit_of_work() as session:
            run = standing.run_standing_orders(
                session, day, system_principal("standing-run"), policy=get_policy()
            )
    if as_json:
        print_json(
            {
                "on": day.isoformat(),
                "paid": len(run.paid),
                "paid_amount": format_yuan(run.paid_fen),
                "refused": [{"order": k, "reason": v} for k, v in sorted(run.refused.items())],
            }
        )
        return
    typer.echo(
        f"{day} 约定提取还贷：成功 {len(run.paid)} 笔，金额 {_y(run.paid_fen)} 元；"
        f"未扣成功 {len(run.refused)} 笔"
    )
    for order_id, reason in sorted(run.refused.items()):
        typer.echo(f"  约定 {order_id}：{reason}")


@app.command("reprice")
def reprice(
    on: Annotated[str, typer.Option("--on", help="调整日期（通常为1月1日）YYYY-MM-DD")],
) -> None:
    """利率调整：按政策文件对存量贷款自调整日起重算月供和剩余还款计划。"""
    with domain_errors():
        day = parse_date(on)
        with progress() as bar, unit_of_work() as session:
            task = bar.add_task("利率调整", total=1)
            summary = batches.run_repricing(
                session,
                day,
                policy=get_policy(),
                on_progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    if summary.policy_effective is None:
        typer.echo(f"{day} 没有需要执行的存量贷款利率调整")
        return
    typer.echo(
        f"{day} 利率调整（{summary.policy_effective} 生效的利率）：调整贷款 {summary.loans} 笔，"
        f"重算还款计划 {summary.installments} 期"
    )


@collection_app.command("export")
def collection_export(
    out: Annotated[Path, typer.Option("--out", help="代扣文件路径 (CSV)")],
    on: Annotated[str | None, typer.Option("--on", help="扣款日期 YYYY-MM-DD")] = None,
    branch: Annotated[int | None, typer.Option("--branch", help="管理部编号 branch id")] = None,
) -> None:
    """生成代扣文件：把到期未还的期次（含罚息）写入银行扣款文件。"""
    if out.exists():
        fail(f"文件已存在，不覆盖：{out} (file exists)")
    with domain_errors(), unit_of_work() as session:
        batch = collection.export_batch(
            session, on=_day(on), actor=system_principal(), branch_id=branch, policy=get_policy()
        )
        out.write_text(batch.csv_text, encoding="utf-8")
    typer.echo(
        f"代扣批次 {batch.batch_id}：{batch.lines} 笔，合计 {_y(batch.total_fen)} 元，已写入 {out}"
    )


@collection_app.command("import")
def collection_import(
    file: Annotated[Path, typer.Argument(help="银行回盘文件 (CSV)")],
    on: Annotated[str | None, typer.Option("--on", help="入账日期 YYYY-MM-DD")] = None,
) -> None:
    """导入扣款回盘：成功的记还款，失败的期次保持未还；重复导入不重复记账。"""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"无法读取文件 {file}：{exc}")
    with domain_errors(), unit_of_work() as session:
        summary = collection.import_result(session, text, on=_day(on), actor=system_principal())
    batches_text = "、".join(str(b) for b in summary.batch_ids)
    typer.echo(
        f"批次 {batches_text}：扣款成功 {summary.paid} 笔（{_y(summary.paid_fen)} 元），"
        f"失败 {summary.failed} 笔，此前已导入 {summary.unchanged} 笔"
    )


@app.command("stats")
def stats_command(
    start: Annotated[str, typer.Option("--from", help="开始日期 YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="结束日期 YYYY-MM-DD")],
    branch: Annotated[int | None, typer.Option("--branch", help="管理部编号 branch id")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """贷款统计：按管理部和月份统计发放、余额、个贷率、还款、提前还款、逾期额和逾期率。"""
    with domain_errors(), unit_of_work() as session:
        rows = stats.loan_stats(
            session, start=parse_date(start), end=parse_date(end), branch_id=branch
        )
    data = [
        {
            "branch": r.branch_id,
            "month": r.month.isoformat()[:7],
            "issued": r.issued,
            "issued_amount": format_yuan(r.issued_fen),
            "balance": format_yuan(r.balance_fen),
            "deposit_balance": format_yuan(r.deposit_balance_fen),
            "loan_to_deposit": str(r.loan_to_deposit),
            "repaid": format_yuan(r.repaid_fen),
            "prepayments": r.prepayments,
            "prepaid": format_yuan(r.prepaid_fen),
            "overdue": format_yuan(r.overdue_fen),
            "overdue_ratio": str(r.overdue_ratio),
        }
        for r in rows
    ]
    if as_json:
        print_json(data)
        return
    typer.echo(
        "管理部\t月份\t发放笔数\t发放金额(元)\t个贷余额(元)\t缴存余额(元)\t个贷率\t"
        "还款(元)\t提前还款笔数\t提前还款(元)\t逾期额(元)\t逾期率"
    )
    for r in rows:
        typer.echo(
            f"{r.branch_id}\t{r.month.isoformat()[:7]}\t{r.issued}\t{_y(r.issued_fen)}\t"
            f"{_y(r.balance_fen)}\t{_y(r.deposit_balance_fen)}\t"
            f"{format_pct(r.loan_to_deposit, 2)}\t"
            f"{_y(r.repaid_fen)}\t{r.prepayments}\t{_y(r.prepaid_fen)}\t{_y(r.overdue_fen)}\t"
            f"{format_overdue_ratio(r.overdue_fen, r.balance_fen)}"
        )
    if not rows:
        typer.echo("（该期间没有贷款）")


@dunning_app.command("contact")
def dunning_contact(
    item: Annotated[int, typer.Argument(help="催收记录编号")],
    method: Annotated[str, typer.Option("--method", help="phone | sms | letter | visit | legal")],
    note: Annotated[str, typer.Option("--note", help="催收情况")],
    on: Annotated[str | None, typer.Option("--on", help="催收日期 YYYY-MM-DD（默认今天）")] = None,
) -> None:
    """登记一次催收（电话、短信、催收函、上门、诉讼）。"""
    with domain_errors():
        day = parse_date(on) if on else date.today()
        with unit_of_work() as session:
            row = dunning.record_contact(
                session, item, method=method, note=note, on=day, actor=system_principal()
            )
            contacts = row.contacts
    typer.echo(f"已登记催收 recorded: 记录 {item} 第 {contacts} 次")


@dunning_app.command("history")
def dunning_history(item: Annotated[int, typer.Argument(help="催收记录编号")]) -> None:
    """某条催收记录的全部催收情况。"""
    with unit_of_work() as session:
        contacts = dunning.contact_history(session, item)
    if not contacts:
        typer.echo(f"记录 {item} 尚无催收登记")
    for c in contacts:
        typer.echo(f"{c.on}  {dunning.CONTACT_METHODS[c.method][0]}  {c.note}  （{c.by}）")
