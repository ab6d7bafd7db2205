"""Paying withdrawals to bank cards (提取支付): a batch file for the bank, then its result file.

Export: every approved withdrawal not yet sent becomes a line of a new batch (status
``in_batch``); the CSV carries batch number, line number, reference, payee, card and amount.
Import: the bank's result file (the same columns plus 结果 and 说明) settles each line:
- paid (成功): debit 21999 其他应付款项 / credit 101 住房公积金存款; a closing withdrawal then
  closes the ledger account and sets the account status 05 提取销户;
- failed (失败): the approval's journal is reversed (and the closure interest, for a closing
  type), so the person's balance and 积数 are exactly as before the withdrawal.
The import is idempotent: a line already settled with the same result is left alone (the journals
carry idempotency keys too); a file that contradicts an earlier result is refused whole.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.db.engine import is_sqlite
from hpf.deposits.depositors import balance_fen, mark_closed
from hpf.deposits.models import Depositor
from hpf.errors import InvalidInput
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import post, reverse
from hpf.money import format_yuan, parse_amount
from hpf.tabular_safety import safe_csv_writer
from hpf.withdrawals.models import PaymentBatch, PaymentLine, Withdrawal
from hpf.withdrawals.service import PAYABLE, WithdrawalError

EXPORT_COLUMNS = ("批次号", "序号", "业务编号", "收款人", "银行卡号", "金额")
RESULT_COLUMNS = (*EXPORT_COLUMNS, "结果", "说明")
_PAID = {"成功", "success", "s", "paid", "0000"}
_FAILED = {"失败", "failed", "f", "fail"}
CLOSED_BY_WITHDRAWAL = "05"  # GRZHZT 提取销户


@dataclass(frozen=True)
class BatchFile:
    batch_id: int
    lines: int
    total_fen: int
    csv_text: str


@dataclass(frozen=True)
class ImportSummary:
    batch_ids: tuple[int, ...]
    paid: int
    failed: int
    unchanged: int
    paid_fen: int


def reference(withdrawal_id: int) -> str:
    """The business reference (业务编号) of a withdrawal on bank files."""
    return f"TQ{withdrawal_id:010d}"


def export_batch(
    session: Session,
    *,
    on: date,
    actor: Principal,
    branch_id: int | None = None,
    now: datetime | None = None,
) -> BatchFile:
    """Put every approved, unsent withdrawal into a new batch and return its CSV file."""
    stmt = select(Withdrawal).where(Withdrawal.status == "approved", Withdrawal.batch_id.is_(None))
    if branch_id is not None:
        stmt = stmt.where(Withdrawal.branch_id == branch_id)
    stmt = stmt.order_by(Withdrawal.id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    if not rows:
        raise WithdrawalError("没有待支付的提取", "no approved withdrawals waiting for payment")
    at = now or datetime.now(UTC)
    batch = PaymentBatch(
        created_on=on,
        created_at=at,
        lines=len(rows),
        total_fen=sum(r.amount_fen for r in rows),
        created_by=actor.login_name[:100],
    )
    session.add(batch)
    session.flush()
    out = io.StringIO()
    writer = safe_csv_writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for number, row in enumerate(rows, start=1):
        session.add(
            PaymentLine(
                batch_id=batch.id,
                line_no=number,
                withdrawal_id=row.id,
                amount_fen=row.amount_fen,
                payee_name=row.payee_name,
                payee_card=row.payee_card,
            )
        )
        row.status = "in_batch"
        row.batch_id = batch.id
        writer.writerow(
            [
                batch.id,
                number,
                reference(row.id),
                row.payee_name,
                row.payee_card,
                format_yuan(row.amount_fen),
            ]
        )
    session.flush()
    record(
        session,
        actor=actor,
        action="withdrawal.batch_export",
        object_type="withdrawal_batch",
        object_id=batch.id,
        detail={"lines": batch.lines, "total_fen": batch.total_fen},
        now=at,
    )
    return BatchFile(batch.id, batch.lines, batch.total_fen, out.getvalue())


@dataclass(frozen=True)
class _Result:
    line: PaymentLine
    paid: bool
    message: str


def import_result(
    session: Session, text: str, *, on: date, actor: Principal, now: datetime | None = None
) -> ImportSummary:
    """Settle the lines of the bank's result file; idempotent (see the module doc)."""
    results = _parse(session, text)
    at = now or datetime.now(UTC)
    paid = failed = unchanged = paid_fen = 0
    for result in results:
        line = result.line
        outcome = "paid" if result.paid else "failed"
        if line.result is not None:
            unchanged += 1
            continue
        row = _locked_withdrawal(session, line.withdrawal_id)
        if result.paid:
            _pay(session, row, on, actor)
            paid += 1
            paid_fen += row.amount_fen
        else:
            _fail(session, row, on, result.message)
            failed += 1
        line.result, line.result_message, line.result_on = outcome, result.message[:200], on
        session.flush()
        record(
            session,
            actor=actor,
            action=f"withdrawal.{outcome}",
            object_type="withdrawal",
            object_id=row.id,
            detail={
                "batch": line.batch_id,
                "line": line.line_no,
                "amount_fen": row.amount_fen,
                "message": result.message[:200],
            },
            now=at,
        )
    batches = tuple(sorted({r.line.batch_id for r in results}))
    return ImportSummary(batches, paid, failed, unchanged, paid_fen)


def _parse(session: Session, text: str) -> list[_Result]:
    """Read and check the whole file before anything changes."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in RESULT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            f"银行回盘文件缺少列：{'、'.join(missing)}",
            f"the bank result file lacks columns: {', '.join(missing)}",
        )
    results: list[_Result] = []
    seen: set[int] = set()
    for number, raw in enumerate(reader, start=2):
        where = f"第 {number} 行"
        try:
            batch_id, line_no = int(raw["批次号"]), int(raw["序号"])
            if not (0 < batch_id < 2**62 and 0 < line_no < 2**31):  # beyond any stored id
                raise ValueError(batch_id)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"{where}：批次号或序号无效", f"line {number}: bad batch or line number"
            ) from None
        line = session.scalar(
            select(PaymentLine).where(
                PaymentLine.batch_id == batch_id, PaymentLine.line_no == line_no
            )
        )
        if line is None or reference(line.withdrawal_id) != (raw["业务编号"] or "").strip():
            raise InvalidInput(
                f"{where}：批次 {batch_id} 没有序号 {line_no} / 业务编号 {raw['业务编号']}",
                f"line {number}: no such payment in batch {batch_id}",
            )
        if parse_amount(raw["金额"] or "") != line.amount_fen:
            raise InvalidInput(
                f"{where}：金额与支付批次不符", f"line {number}: amount differs from the batch"
            )
        word = (raw["结果"] or "").strip().lower()
        if word not in _PAID | _FAILED:
            raise InvalidInput(
                f"{where}：结果应为 成功 或 失败", f"line {number}: result must be 成功 or 失败"
            )
        paid = word in _PAID
        if line.result is not None and (line.result == "paid") != paid:
            raise InvalidInput(
                f"{where}：与此前导入的结果（{'成功' if line.result == 'paid' else '失败'}）矛盾，整个文件未导入",
                f"line {number}: contradicts the result imported before; nothing imported",
            )
        if line.id in seen:
            raise InvalidInput(
                f"{where}：同一笔支付重复出现", f"line {number}: payment listed twice"
            )
        seen.add(line.id)
        results.append(_Result(line, paid, (raw["说明"] or "").strip()))
    if not results:
        raise InvalidInput("银行回盘文件没有数据行", "the bank result file has no rows")
    return results


def _locked_withdrawal(session: Session, withdrawal_id: int) -> Withdrawal:
    stmt = select(Withdrawal).where(Withdrawal.id == withdrawal_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    row = session.scalars(stmt.execution_options(populate_existing=True)).one()
    if row.status != "in_batch":
        raise WithdrawalError(
            f"提取 {row.id} 状态为 {row.status}，不能登记支付结果",
            f"withdrawal {row.id} is {row.status}: no payment result can be recorded",
        )
    return row


def _pay(session: Session, row: Withdrawal, on: date, actor: Principal) -> None:
    depositor = session.get(Depositor, row.depositor_id)
    assert depositor is not None
    row.paid_journal_id = post(
        session,
        JournalDraft(
            "withdrawal_payment",
            row.branch_id,
            on,
            on,
            (debit(PAYABLE, row.amount_fen), credit(chart.HPF_BANK_DEPOSITS, row.amount_fen)),
            memo=f"提取支付 {reference(row.id)}",
        ),
        idempotency_key=f"withdrawal:{row.id}:paid",
    ).journal_id
    row.status = "paid"
    row.paid_on = on
    row.paid_month = on.replace(day=1)
    row.processing_days = (on - row.applied_on).days
    if row.closes_account and balance_fen(session, depositor) == 0:
        mark_closed(
            session,
            depositor,
            on,
            CLOSED_BY_WITHDRAWAL,
            actor,
            detail={"withdrawal": reference(row.id), "amount": row.amount_fen},
        )


def _fail(session: Session, row: Withdrawal, on: date, message: str) -> None:
    assert row.journal_id is not None
    reverse(
        session,
        row.journal_id,
        idempotency_key=f"withdrawal:{row.id}:reverse",
        posting_date=on,
        memo=f"提取支付失败冲销 {reference(row.id)}",
    )
    if row.interest_journal_id is not None:
        reverse(
            session,
            row.interest_journal_id,
            idempotency_key=f"withdrawal:{row.id}:reverse-interest",
            posting_date=on,
            memo=f"提取支付失败冲销销户结息 {reference(row.id)}",
        )
    row.status = "failed"
    row.failure = message[:200] or "银行退回"
