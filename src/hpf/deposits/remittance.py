"""汇缴 use cases: draft the monthly list (清册), replace it from an upload, confirm it, receive the
employer's funds (into 单位暂收款), post it as one balanced journal per employer-month crediting
every depositor, back payments (补缴) and refunds of over-payments.

Drafting and posting are set-based: lines are computed with numpy and inserted in bulk; month-end
posting goes through ``ledger.bulk.post_many`` (one journal per employer-month).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.deposits.employers import employer_limits
from hpf.deposits.models import Depositor, Employer, MonthlyDepositStats, Remittance, RemittanceLine
from hpf.deposits.rules import month_start, shares_of_base
from hpf.errors import DomainError, InvalidInput
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.rules import JournalDraft, Leg, credit, debit
from hpf.ledger.service import balance_of, post
from hpf.policy.loader import Policy

if TYPE_CHECKING:
    from hpf.deposits.remittance_file import RemittanceRow


class RemittanceError(DomainError):
    """A remittance list cannot move to the requested state."""

    code = "remittance_error"


@dataclass(frozen=True)
class PostOutcome:
    remittance_id: int
    journal_id: int
    total_fen: int
    replayed: bool


def suspense_code(employer: Employer) -> str:
    return chart.subsidiary_code(chart.EMPLOYER_SUSPENSE, employer.employer_ref)


def draft(
    session: Session,
    employer: Employer,
    month: date,
    policy: Policy,
    actor: Principal,
    *,
    kind: str = "remittance",
    depositor_refs: Sequence[str] | None = None,
) -> Remittance:
    """Draft the employer's list for ``month`` from current bases and rates (one regular list
    per employer-month; back-payment lists may name a subset of depositors)."""
    month = month_start(month)
    if kind not in ("remittance", "back_payment"):
        raise InvalidInput(f"未知的清册类型：{kind}", f"unknown list kind: {kind}")
    if employer.status in ("04", "05"):
        raise RemittanceError("单位已销户或封存", "the employer is closed or suspended")
    if month < employer.first_month:
        raise RemittanceError(
            "该月份早于单位起缴月份", "the month is before the employer's first month"
        )
    open_key = f"{employer.id}:{month.isoformat()}" if kind == "remittance" else None
    if open_key and session.scalar(select(Remittance.id).where(Remittance.open_key == open_key)):
        raise RemittanceError(
            f"{month:%Y-%m} 的汇缴清册已存在",
            f"the remittance list for {month:%Y-%m} already exists",
        )
    remittance = Remittance(
        employer_id=employer.id,
        branch_id=employer.branch_id,
        month=month,
        kind=kind,
        status="draft",
        source="drafted",
        open_key=open_key,
    )
    session.add(remittance)
    session.flush()
    stmt = select(Depositor.id, Depositor.base_fen).where(
        Depositor.employer_id == employer.id, Depositor.status == "01"
    )
    if depositor_refs is not None:
        stmt = stmt.where(Depositor.depositor_ref.in_(list(depositor_refs)))
    people = session.execute(stmt.order_by(Depositor.id)).all()
    limits = employer_limits(session, policy, employer, month)
    ids = np.fromiter((p.id for p in people), dtype=np.int64, count=len(people))
    bases = np.fromiter((p.base_fen for p in people), dtype=np.int64, count=len(people))
    _insert_lines(
        session,
        remittance,
        ids,
        bases,
        shares_of_base(bases, employer.employer_rate_pct, limits.rounding),
        shares_of_base(bases, employer.employee_rate_pct, limits.rounding),
    )
    record(
        session,
        actor=actor,
        action=f"{kind}.draft",
        object_type="remittance",
        object_id=remittance.id,
        detail={"employer": employer.employer_ref, "month": month},
    )
    return remittance


def replace_lines(
    session: Session, remittance: Remittance, rows: Sequence[RemittanceRow], actor: Principal
) -> None:
    """Replace a draft's lines by a validated upload (the file module checked every row)."""
    _require_status(remittance, "draft")
    refs = [r.depositor_ref for r in rows]
    ids = (
        dict(
            session.execute(
                select(Depositor.depositor_ref, Depositor.id).where(
                    Depositor.depositor_ref.in_(refs)
                )
            ).all()
        )
        if refs
        else {}
    )
    missing = [r for r in refs if r not in ids]
    if missing:
        raise InvalidInput(
            f"个人账号不存在：{missing[0]}", f"no such personal account: {missing[0]}"
        )
    session.execute(delete(RemittanceLine).where(RemittanceLine.remittance_id == remittance.id))
    _insert_lines(
        session,
        remittance,
        np.array([ids[r.depositor_ref] for r in rows], dtype=np.int64),
        np.array([r.base_fen for r in rows], dtype=np.int64),
        np.array([r.employer_fen for r in rows], dtype=np.int64),
        np.array([r.employee_fen for r in rows], dtype=np.int64),
    )
    remittance.source = "upload"
    record(
        session,
        actor=actor,
        action="remittance.upload",
        object_type="remittance",
        object_id=remittance.id,
        detail={"lines": len(rows), "total": remittance.total_fen},
    )


def confirm(session: Session, remittance: Remittance, actor: Principal) -> None:
    """The employer confirms the list (确认清册); it can then be posted when funds arrive."""
    _require_status(remittance, "draft")
    if remittance.lines == 0:
        raise RemittanceError("清册为空，不能确认", "an empty list cannot be confirmed")
    remittance.status = "confirmed"
    session.flush()
    record(
        session,
        actor=actor,
        action="remittance.confirm",
        object_type="remittance",
        object_id=remittance.id,
        detail={"total": remittance.total_fen},
    )


def cancel(session: Session, remittance: Remittance, actor: Principal) -> None:
    if remittance.status not in ("draft", "confirmed"):
        raise RemittanceError("已入账的清册不能撤销", "a posted list cannot be cancelled")
    remittance.status = "cancelled"
    remittance.open_key = None
    session.flush()
    record(
        session,
        actor=actor,
        action="remittance.cancel",
        object_type="remittance",
        object_id=remittance.id,
    )


def receive_funds(
    session: Session,
    employer: Employer,
    amount_fen: int,
    on: date,
    actor: Principal,
    *,
    idempotency_key: str,
    memo: str = "单位汇缴到账",
) -> int:
    """到账: the employer's transfer lands in the fund's bank account and 单位暂收款."""
    if amount_fen <= 0:
        raise InvalidInput("到账金额必须大于零", "the amount received must be positive")
    posted = post(
        session,
        JournalDraft(
            "funds_received",
            employer.branch_id,
            on,
            on,
            (
                debit(chart.HPF_BANK_DEPOSITS, amount_fen),
                credit(suspense_code(employer), amount_fen),
            ),
            memo=memo,
        ),
        idempotency_key=idempotency_key,
    )
    if not posted.replayed:
        record(
            session,
            actor=actor,
            action="employer.funds_received",
            object_type="employer",
            object_id=employer.employer_ref,
            detail={"amount": amount_fen, "on": on},
        )
    return posted.journal_id


def refund_overpayment(
    session: Session,
    employer: Employer,
    amount_fen: int,
    on: date,
    actor: Principal,
    *,
    idempotency_key: str,
) -> int:
    """退款: pay back what the employer sent beyond its lists."""
    available = -balance_of(session, suspense_code(employer))
    if not 0 < amount_fen <= available:
        raise RemittanceError(
            f"退款金额超过单位暂收款余额 {available / 100:.2f} 元",
            f"refund exceeds the suspense balance {available / 100:.2f}",
        )
    posted = post(
        session,
        JournalDraft(
            "overpayment_refund",
            employer.branch_id,
            on,
            on,
            (
                debit(suspense_code(employer), amount_fen),
                credit(chart.HPF_BANK_DEPOSITS, amount_fen),
            ),
            memo="多缴退款",
        ),
        idempotency_key=idempotency_key,
    )
    record(
        session,
        actor=actor,
        action="employer.refund",
        object_type="employer",
        object_id=employer.employer_ref,
        detail={"amount": amount_fen},
    )
    return posted.journal_id


def post_remittances(
    session: Session,
    remittance_ids: Sequence[int],
    on: date,
    actor: Principal,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> list[PostOutcome]:
    """入账: post confirmed lists funded by their employers' suspense balances, one journal each.

    All or nothing: a list that is not confirmed or not covered by its employer's funds refuses
    the whole call before anything is written. Idempotent per list (key ``remittance:<id>``).
    """
    lists = list(
        session.scalars(
            select(Remittance)
            .where(Remittance.id.in_(list(remittance_ids)))
            .order_by(Remittance.id)
        )
    )
    if len(lists) != len(set(remittance_ids)):
        raise InvalidInput("清册不存在", "no such remittance list")
    employers = {
        e.id: e
        for e in session.scalars(
            select(Employer).where(Employer.id.in_({r.employer_id for r in lists}))
        )
    }
    already = [r for r in lists if r.status == "posted"]
    todo = [r for r in lists if r.status != "posted"]
    need: dict[int, int] = {}
    for r in todo:
        _require_status(r, "confirmed")
        need[r.employer_id] = need.get(r.employer_id, 0) + r.total_fen
    for employer_id, total in need.items():
        available = -balance_of(session, suspense_code(employers[employer_id]))
        if available < total:
            raise RemittanceError(
                f"单位 {employers[employer_id].employer_ref} 到账资金不足：需 {total / 100:.2f} 元，"
                f"暂收款 {available / 100:.2f} 元",
                f"employer {employers[employer_id].employer_ref} funds short: need {total / 100:.2f}, "
                f"have {available / 100:.2f}",
            )
    lines = _lines_by_list(session, [r.id for r in todo])
    items = []
    for r in todo:
        employer = employers[r.employer_id]
        legs = [Leg(suspense_code(employer), r.total_fen)]
        legs.extend(
            Leg(chart.subsidiary_code(chart.DEPOSITORS_FUNDS, ref), -amount)
            for ref, amount in lines[r.id]
        )
        items.append(
            (
                f"remittance:{r.id}",
                JournalDraft(
                    r.kind,
                    r.branch_id,
                    on,
                    on,
                    tuple(legs),
                    memo=f"{employer.employer_ref} {r.month:%Y-%m} 汇缴",
                ),
            )
        )
    result = post_many(session, items, on_progress=on_progress)
    outcomes = [PostOutcome(r.id, int(r.journal_id or 0), r.total_fen, True) for r in already]
    for offset, r in enumerate(todo):
        assert result.first_id is not None
        r.journal_id = result.first_id + offset
        r.status = "posted"
        r.posted_on = on
        outcomes.append(PostOutcome(r.id, r.journal_id, r.total_fen, False))
    session.flush()
    _update_stats(session, todo, on)
    _activate_employers(session, [employers[r.employer_id] for r in todo])
    if todo:  # one audit record per batch: which lists, which journals, how much
        record(
            session,
            actor=actor,
            action="remittance.post",
            object_type="remittance",
            object_id=f"{todo[0].id}..{todo[-1].id}",
            detail={
                "lists": len(todo),
                "journals": [todo[0].journal_id, todo[-1].journal_id],
                "total": sum(r.total_fen for r in todo),
                "on": on,
            },
        )
    return outcomes


def _insert_lines(
    session: Session,
    remittance: Remittance,
    ids: np.ndarray,
    bases: np.ndarray,
    employer_amounts: np.ndarray,
    employee_amounts: np.ndarray,
) -> None:
    rows = [
        {
            "remittance_id": remittance.id,
            "depositor_id": int(i),
            "base_fen": int(b),
            "employer_fen": int(e),
            "employee_fen": int(p),
        }
        for i, b, e, p in zip(ids, bases, employer_amounts, employee_amounts, strict=True)
    ]
    for start in range(0, len(rows), 20_000):
        session.execute(insert(RemittanceLine), rows[start : start + 20_000])
    remittance.lines = len(rows)
    remittance.employer_total_fen = int(employer_amounts.sum()) if len(rows) else 0
    remittance.employee_total_fen = int(employee_amounts.sum()) if len(rows) else 0
    remittance.total_fen = remittance.employer_total_fen + remittance.employee_total_fen
    session.flush()


def _lines_by_list(session: Session, list_ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
    out: dict[int, list[tuple[str, int]]] = {i: [] for i in list_ids}
    for start in range(0, len(list_ids), 500):
        chunk = list(list_ids[start : start + 500])
        for rid, ref, amount in session.execute(
            select(
                RemittanceLine.remittance_id,
                Depositor.depositor_ref,
                RemittanceLine.employer_fen + RemittanceLine.employee_fen,
            )
            .join(Depositor, Depositor.id == RemittanceLine.depositor_id)
            .where(RemittanceLine.remittance_id.in_(chunk))
            .order_by(RemittanceLine.remittance_id, RemittanceLine.id)
        ):
            if amount:
                out[rid].append((ref, int(amount)))
    return out


def _update_stats(session: Session, posted: Sequence[Remittance], on: date) -> None:
    """Monthly statistics by branch (month of the posting date), maintained incrementally."""
    month = month_start(on)
    by_branch: dict[int, list[int]] = {}
    for r in posted:
        row = by_branch.setdefault(r.branch_id, [0, 0, 0, 0])
        row[0] += r.total_fen
        if r.kind == "remittance":
            row[1] += 1
            row[2] += r.lines
    ids = [r.id for r in posted]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        new_people = session.execute(
            select(Remittance.branch_id, func.count(func.distinct(RemittanceLine.depositor_id)))
            .join(RemittanceLine, RemittanceLine.remittance_id == Remittance.id)
            .join(Depositor, Depositor.id == RemittanceLine.depositor_id)
            .where(Remittance.id.in_(chunk), Depositor.first_contribution_month.is_(None))
            .group_by(Remittance.branch_id)
        ).all()
        for branch_id, count in new_people:
            by_branch.setdefault(branch_id, [0, 0, 0, 0])[3] += int(count)
        session.execute(
            update(Depositor)
            .where(
                Depositor.first_contribution_month.is_(None),
                Depositor.id.in_(
                    select(RemittanceLine.depositor_id).where(
                        RemittanceLine.remittance_id.in_(chunk)
                    )
                ),
            )
            .values(first_contribution_month=month)
            .execution_options(synchronize_session=False)
        )
    upsert = text(
        "INSERT INTO deposit_monthly_stats (branch_id, month, amount_fen, paying_employers, "
        "paying_depositors, new_depositors) VALUES (:b, :m, :a, :e, :d, :n) "
        "ON CONFLICT (branch_id, month) DO UPDATE SET "
        "amount_fen = deposit_monthly_stats.amount_fen + excluded.amount_fen, "
        "paying_employers = deposit_monthly_stats.paying_employers + excluded.paying_employers, "
        "paying_depositors = deposit_monthly_stats.paying_depositors + excluded.paying_depositors, "
        "new_depositors = deposit_monthly_stats.new_depositors + excluded.new_depositors"
    )
    for branch_id, (amount, employers, depositors, new) in sorted(by_branch.items()):
        session.execute(
            upsert,
            {"b": branch_id, "m": month, "a": amount, "e": employers, "d": depositors, "n": new},
        )
    session.expire_all()


def _activate_employers(session: Session, employers: Sequence[Employer]) -> None:
    for employer in employers:
        if employer.status == "02":
            employer.status = "01"
    session.flush()


def _require_status(remittance: Remittance, status: str) -> None:
    if remittance.status != status:
        raise RemittanceError(
            f"清册状态为 {remittance.status}，不能执行此操作",
            f"the list is {remittance.status}; this action needs {status}",
        )


__all__ = [
    "MonthlyDepositStats",
    "PostOutcome",
    "RemittanceError",
    "confirm",
    "draft",
    "post_remittances",
    "receive_funds",
    "refund_overpayment",
    "replace_lines",
]
