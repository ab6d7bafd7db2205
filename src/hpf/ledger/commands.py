"""``hpf ledger``: verify the books, show balances and journals."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from hpf.clitools import domain_errors, print_json, progress
from hpf.db.engine import unit_of_work
from hpf.ledger.models import Account, Journal, Posting
from hpf.ledger.service import balance_of
from hpf.ledger.verify import verify_ledger
from hpf.money import format_yuan

app = typer.Typer(help="总账 Ledger", no_args_is_help=True)


@app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Prove the books from their postings; exit 1 naming the first offending journal.

    校验：凭证借贷平衡、余额等于分录合计、统驭科目等于明细合计、哈希链完整。
    """
    with unit_of_work() as session:
        total = int(session.scalar(select(Journal.id).order_by(Journal.id.desc()).limit(1)) or 0)
        with progress() as bar:
            task = bar.add_task("校验哈希链 hash chain", total=total)
            report = verify_ledger(session, on_progress=lambda n: bar.update(task, completed=n))
            bar.update(task, completed=total)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "journals": report.journals,
                "postings": report.postings,
                "accounts": report.accounts,
                "seconds": round(report.seconds, 3),
                "head_hash": report.head_hash,
                "first_offending_journal": report.first_offending_journal,
                "problems": [p.__dict__ for p in report.problems],
            }
        )
    elif report.ok:
        typer.echo(
            f"账本校验通过 ledger verified: {report.journals:,} journals, {report.postings:,} "
            f"postings, {report.accounts:,} accounts in {report.seconds:.1f} s; "
            f"chain head {report.head_hash[:16]}"
        )
    else:
        first = report.first_offending_journal
        typer.echo(
            "账本校验失败 ledger verification FAILED"
            + (f": first offending journal {first}" if first is not None else ""),
            err=True,
        )
        for problem in report.problems:
            typer.echo(f"  [{problem.check}] {problem.message}", err=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command("balance")
def balance(
    code: str = typer.Argument(..., help="Account code, e.g. 101 or 201-P000000001"),
) -> None:
    """Show an account's balance (in its normal direction). 查询科目余额。"""
    with domain_errors(), unit_of_work() as session:
        fen = balance_of(session, code)
        side = session.scalar(select(Account.normal_side).where(Account.code == code))
    shown = fen if side == "D" else -fen
    typer.echo(f"{code}: {format_yuan(shown, grouping=True)} 元 ({'借' if side == 'D' else '贷'})")


@app.command("journal")
def journal(journal_id: int = typer.Argument(..., help="Journal number.")) -> None:
    """Show one journal and its postings. 查看凭证。"""
    with unit_of_work() as session:
        j = session.get(Journal, journal_id)
        if j is None:
            from hpf.clitools import fail

            fail(f"凭证不存在 no such journal: {journal_id}")
        rows = session.execute(
            select(Account.code, Account.name, Posting.amount)
            .join(Account, Account.id == Posting.account_id)
            .where(Posting.journal_id == journal_id)
            .order_by(Posting.id)
        ).all()
        table = Table(
            "科目 account",
            "名称 name",
            "借方 debit",
            "贷方 credit",
            title=f"凭证 {j.id} {j.kind} {j.posting_date} {j.memo}",
        )
        for code, name, amount in rows:
            table.add_row(
                code,
                name,
                format_yuan(amount) if amount > 0 else "",
                format_yuan(-amount) if amount < 0 else "",
            )
    Console().print(table)
