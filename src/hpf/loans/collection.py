"""The bank's monthly debit of installments (委托扣款): a debit file out, the result file back.

Export (:func:`export_batch`): every unpaid installment of an active loan due on or before the
batch day, not already waiting in an earlier batch, becomes a line (payer: the borrower's card);
its amount is the unpaid principal and interest plus the penalty interest reckoned to the batch
day. The CSV carries 批次号, 序号, 业务编号, 贷款账号, 期次, 付款人, 银行卡号, 金额.

Import (:func:`import_result`): the same columns plus 结果 and 说明.
- 成功: the installment is paid (debit 101 住房公积金存款, credit ``121-<贷款账号>`` and 40103);
- 失败: the line records the failure and the installment stays unpaid (the overdue batch picks
  it up; a later batch will include it again).
The import is idempotent: a line already settled with the same result is left alone, the
journal of an installment carries the key ``loan:<id>:bank:n<n>``; a file that contradicts an
earlier result, or names an unknown line or another amount, is refused whole.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.db.engine import is_sqlite
from hpf.deposits.models import Depositor
from hpf.errors import InvalidInput
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft
from hpf.ledger.service import post
from hpf.loans.models import DebitBatch, DebitLine, Installment, Loan
from hpf.loans.repayment import REPAYMENT_KIND, Due, due_on, repayment_legs, settle_installments
from hpf.loans.service import LoanError, lock_loan
from hpf.money import format_yuan, parse_amount
from hpf.policy.loader import Policy, get_policy
from hpf.tabular_safety import safe_csv_writer

EXPORT_COLUMNS = ("批次号", "序号", "业务编号", "贷款账号", "期次", "付款人", "银行卡号", "金额")
RESULT_COLUMNS = (*EXPORT_COLUMNS, "结果", "说明")
_PAID = {"成功", "success", "s", "paid", "0000"}
_FAILED = {"失败", "failed", "f", "fail"}


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


def reference(line: DebitLine) -> str:
    """业务编号 of a debit line on bank files."""
    return f"HK{line.batch_id:06d}{line.line_no:07d}"


def export_batch(
    session: Session,
    *,
    on: date,
    actor: Principal,
    branch_id: int | None = None,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> BatchFile:
    """Put every unpaid installment due by ``on`` (not already in a pending batch) into a batch."""
    policy = policy or get_policy()
    pending = exists().where(DebitLine.installment_id == Installment.id, DebitLine.result.is_(None))
    stmt = (
        select(Installment, Loan.loan_ref, Depositor.name, Depositor.bank_card)
        .join(Loan, Loan.id == Installment.loan_id)
        .join(Depositor, Depositor.id == Loan.depositor_id)
        .where(
            Loan.status == "active",
            Installment.status != "paid",
            Installment.due_date <= on,
            ~pending,
        )
        .order_by(Installment.loan_id, Installment.n)
    )
    if branch_id is not None:
        stmt = stmt.where(Loan.branch_id == branch_id)
    rows = session.execute(stmt).all()
    if not rows:
        raise LoanError("没有待扣款的到期贷款", "no installments due for collection")
    at = now or datetime.now(UTC)
    batch = DebitBatch(created_on=on, created_at=at, created_by=actor.login_name[:100])
    session.add(batch)
    session.flush()
    out = io.StringIO()
    writer = safe_csv_writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    total = 0
    lines = []
    loans: dict[int, Loan] = {}
    for number, (inst, ref, name, card) in enumerate(rows, start=1):
        loan = loans.get(inst.loan_id) or session.get(Loan, inst.loan_id)
        assert loan is not None
        loans[inst.loan_id] = loan
        (due,) = due_on(loan, [inst], on, policy)
        line = DebitLine(
            batch_id=batch.id,
            line_no=number,
            installment_id=inst.id,
            loan_id=inst.loan_id,
            principal_fen=due.principal_fen,
            interest_fen=due.interest_fen,
            penalty_fen=due.penalty_fen,
            amount_fen=due.amount_fen,
            payer_name=name[:50],
            payer_card=card or "",
        )
        lines.append(line)
        total += due.amount_fen
        writer.writerow(
            [
                batch.id,
                number,
                reference(line),
                ref,
                inst.n,
                name,
                card,
                format_yuan(due.amount_fen),
            ]
        )
    session.add_all(lines)
    batch.lines, batch.total_fen = len(lines), total
    session.flush()
    record(
        session,
        actor=actor,
        action="loan.debit_export",
        object_type="loan_debit_batch",
        object_id=batch.id,
        detail={"lines": batch.lines, "total_fen": total, "due_through": on.isoformat()},
        now=at,
    )
    return BatchFile(batch.id, batch.lines, total, out.getvalue())


@dataclass(frozen=True)
class _Result:
    line: DebitLine
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
        if line.result is not None:
            unchanged += 1
            continue
        if result.paid:
            _pay(session, line, on)
            paid += 1
            paid_fen += line.amount_fen
        else:
            failed += 1
        line.result = "paid" if result.paid else "failed"
        line.result_message, line.result_on = result.message[:200], on
        session.flush()
        record(
            session,
            actor=actor,
            action=f"loan.debit_{line.result}",
            object_type="loan",
            object_id=line.loan_id,
            detail={
                "batch": line.batch_id,
                "line": line.line_no,
                "installment": line.installment_id,
                "amount_fen": line.amount_fen,
                "message": result.message[:200],
            },
            now=at,
        )
    batches = tuple(sorted({r.line.batch_id for r in results}))
    return ImportSummary(batches, paid, failed, unchanged, paid_fen)


def _pay(session: Session, line: DebitLine, on: date) -> None:
    loan = lock_loan(session, line.loan_id)
    inst = session.get(Installment, line.installment_id)
    if loan.status != "active" or inst is None or inst.status == "paid":
        raise LoanError(
            f"扣款 {reference(line)} 对应的期次已结清或贷款已结清，不能再记扣款成功",
            f"debit {reference(line)}: the installment or loan is already settled",
        )
    due = Due(inst, line.principal_fen, line.interest_fen, line.penalty_fen)
    key = f"loan:{loan.id}:bank:n{inst.n}"
    journal_id = post(
        session,
        JournalDraft(
            REPAYMENT_KIND,
            loan.branch_id,
            on,
            on,
            repayment_legs(loan, [due], chart.HPF_BANK_DEPOSITS),
            memo=f"贷款扣款 {loan.loan_ref} 第{inst.n}期",
        ),
        idempotency_key=key,
    ).journal_id
    settle_installments(
        session, loan, [due], on=on, source="bank", journal_id=journal_id, key_prefix=key
    )


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
        stmt = select(DebitLine).where(DebitLine.batch_id == batch_id, DebitLine.line_no == line_no)
        if not is_sqlite(session):
            stmt = stmt.with_for_update()
        line = session.scalar(stmt)
        if line is None or reference(line) != (raw["业务编号"] or "").strip():
            raise InvalidInput(
                f"{where}：批次 {batch_id} 没有序号 {line_no} / 业务编号 {raw['业务编号']}",
                f"line {number}: no such debit in batch {batch_id}",
            )
        if parse_amount(raw["金额"] or "") != line.amount_fen:
            raise InvalidInput(
                f"{where}：金额与扣款批次不符", f"line {number}: amount differs from the batch"
            )
        word = (raw["结果"] or "").strip().lower()
        if word not in _PAID | _FAILED:
            raise InvalidInput(
                f"{where}：结果应为 成功 或 失败", f"line {number}: result must be 成功 or 失败"
            )
        paid = word in _PAID
        if line.result is not None and (line.result == "paid") != paid:
            raise InvalidInput(
                f"{where}：与此前导入的结果（{'成功' if line.result == 'paid' else '失败'}）矛盾，"
                "整个文件未导入",
                f"line {number}: contradicts the result imported before; nothing imported",
            )
        if line.id in seen:
            raise InvalidInput(f"{where}：同一笔扣款重复出现", f"line {number}: listed twice")
        seen.add(line.id)
        results.append(_Result(line, paid, (raw["说明"] or "").strip()))
    if not results:
        raise InvalidInput("银行回盘文件没有数据行", "the bank result file has no rows")
    return results
