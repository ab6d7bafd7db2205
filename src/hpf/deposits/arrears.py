"""欠缴 and 催缴: every employer-month that is due and not posted is an arrears item; reminder
notices (催缴通知书) are generated documents kept with their history.

A month M is due on the employer's pay day of M plus the policy's remittance deadline (条例 art. 19:
within 5 days of payday). It is in arrears at ``as_of`` when that day has passed, no regular list
or back payment for M has been posted, and M is not covered by a deferral (缓缴).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.dates import add_months
from hpf.deposits.models import Depositor, Employer, ReminderNotice, Remittance
from hpf.deposits.rules import month_start, shares_of_base
from hpf.errors import DomainError
from hpf.money import format_yuan
from hpf.policy.loader import Policy


@dataclass(frozen=True)
class ArrearsItem:
    """One employer-month due and unpaid."""

    employer_ref: str
    employer_name: str
    branch_id: int
    month: date
    due_on: date
    age_days: int
    amount_fen: int


def due_date(employer: Employer, month: date, deadline_days: int) -> date:
    return date(month.year, month.month, employer.pay_day) + timedelta(days=deadline_days)


def arrears(
    session: Session, as_of: date, policy: Policy, *, branch_id: int | None = None
) -> list[ArrearsItem]:
    """The arrears list at ``as_of``, oldest first; amount = the month's drafted total today."""
    deadline = policy.on(as_of).contribution.remit_deadline_days
    stmt = select(Employer).where(Employer.status.in_(("01", "02", "03")))
    if branch_id is not None:
        stmt = stmt.where(Employer.branch_id == branch_id)
    employers = list(session.scalars(stmt.order_by(Employer.id)))
    if not employers:
        return []
    paid: dict[int, set[date]] = defaultdict(set)
    for employer_id, month in session.execute(
        select(Remittance.employer_id, Remittance.month).where(Remittance.status == "posted")
    ):
        paid[employer_id].add(month)
    monthly = _monthly_due(session, [e.id for e in employers])
    items: list[ArrearsItem] = []
    for employer in employers:
        month = employer.first_month
        while True:
            due = due_date(employer, month, deadline)
            if due >= as_of:
                break
            deferred = employer.deferred_until is not None and month <= employer.deferred_until
            if month not in paid[employer.id] and not deferred:
                items.append(
                    ArrearsItem(
                        employer.employer_ref,
                        employer.name,
                        employer.branch_id,
                        month,
                        due,
                        (as_of - due).days,
                        monthly.get(employer.id, 0),
                    )
                )
            month = add_months(month, 1)
    items.sort(key=lambda i: (i.month, i.employer_ref))
    return items


def _monthly_due(session: Session, employer_ids: list[int]) -> dict[int, int]:
    """Σ of monthly amounts of each employer's active depositors (vectorised per employer)."""
    out: dict[int, int] = {}
    rows = session.execute(
        select(
            Depositor.employer_id,
            Depositor.base_fen,
            Employer.employer_rate_pct,
            Employer.employee_rate_pct,
        )
        .join(Employer, Employer.id == Depositor.employer_id)
        .where(Depositor.status == "01", Depositor.employer_id.in_(employer_ids))
        .order_by(Depositor.employer_id)
    ).all()
    grouped: dict[int, list[int]] = defaultdict(list)
    rates = {}
    for employer_id, base, er, ee in rows:
        assert employer_id is not None
        grouped[employer_id].append(base)
        rates[employer_id] = (er, ee)
    for employer_id, bases in grouped.items():
        arr = np.array(bases, dtype=np.int64)
        er, ee = rates[employer_id]
        out[employer_id] = int(shares_of_base(arr, er).sum() + shares_of_base(arr, ee).sum())
    return out


def issue_reminder(
    session: Session, employer: Employer, as_of: date, policy: Policy, actor: Principal
) -> ReminderNotice:
    """催缴通知书 for every month the employer is in arrears; refused when it owes nothing."""
    owed = [
        i
        for i in arrears(session, as_of, policy, branch_id=employer.branch_id)
        if i.employer_ref == employer.employer_ref
    ]
    if not owed:
        raise DomainError("该单位没有欠缴", "the employer has no arrears", code="no_arrears")
    total = sum(i.amount_fen for i in owed)
    months = "、".join(f"{i.month:%Y年%m月}" for i in owed)
    document = (
        f"住房公积金催缴通知书\n\n{employer.name}（单位账号 {employer.employer_ref}）：\n\n"
        f"经核查，贵单位 {months} 共 {len(owed)} 个月的住房公积金未按时足额缴存，"
        f"按当前缴存人数和基数测算欠缴金额约 {format_yuan(total, grouping=True)} 元。"
        "根据《住房公积金管理条例》第二十条、第三十八条，请贵单位自收到本通知之日起及时补缴；"
        "逾期不缴的，住房公积金管理中心可依法申请人民法院强制执行。\n\n"
        f"特此通知。\n\n{as_of:%Y年%m月%d日}\n"
    )
    notice = ReminderNotice(
        employer_id=employer.id,
        issued_on=as_of,
        months=",".join(f"{i.month:%Y-%m}" for i in owed)[:500],
        amount_fen=total,
        document=document,
        issued_by=actor.login_name[:50],
    )
    session.add(notice)
    session.flush()
    record(
        session,
        actor=actor,
        action="employer.reminder",
        object_type="employer",
        object_id=employer.employer_ref,
        detail={"months": len(owed), "amount": total},
    )
    return notice


def reminders(session: Session, employer: Employer) -> list[ReminderNotice]:
    return list(
        session.scalars(
            select(ReminderNotice)
            .where(ReminderNotice.employer_id == employer.id)
            .order_by(ReminderNotice.issued_on.desc(), ReminderNotice.id.desc())
        )
    )


def unpaid_month_count(session: Session, employer: Employer) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Remittance)
            .where(Remittance.employer_id == employer.id, Remittance.status != "posted")
        )
        or 0
    )


__all__ = ["ArrearsItem", "arrears", "issue_reminder", "month_start", "reminders"]
