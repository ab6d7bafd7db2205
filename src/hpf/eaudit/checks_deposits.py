"""E-audit checks over contributions and accounts (归集): base, rates, frozen accounts, ID numbers,
activity after a death or a closure. domain.md §3, §9. Each is set-based SQL over one month.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from hpf.dates import add_months
from hpf.deposits.models import Depositor, Employer, Remittance, RemittanceLine
from hpf.eaudit.context import AuditContext, Finding
from hpf.eaudit.sql import as_date, by_date, json_text, within
from hpf.identifiers import is_valid_id_number, mask
from hpf.loans.models import Loan, LoanParty
from hpf.money import format_yuan
from hpf.org.models import OrgUnit
from hpf.withdrawals.models import COUNTING_STATUSES, Withdrawal


def _posted_in_month(ctx: AuditContext) -> ColumnElement[bool]:
    return and_(Remittance.status == "posted", within(Remittance.posted_on, ctx.first, ctx.last))


def base_out_of_range(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Lines posted in the month whose base is above the cap or below the floor of their month."""
    entries = ctx.policy.document.contribution
    cap = by_date(Remittance.month, entries, lambda e: e.base_cap_fen)
    floor_city = by_date(Remittance.month, entries, lambda e: e.base_floor_city_fen)
    floor_county = by_date(Remittance.month, entries, lambda e: e.base_floor_county_fen)
    floor_expr = case((OrgUnit.area_class == "county", floor_county), else_=floor_city)
    stmt = (
        select(
            RemittanceLine.id,
            Depositor.depositor_ref,
            Remittance.id.label("remittance_id"),
            Remittance.month,
            Remittance.branch_id,
            RemittanceLine.base_fen,
            cap.label("cap"),
            floor_expr.label("floor"),
        )
        .join(Remittance, Remittance.id == RemittanceLine.remittance_id)
        .join(Depositor, Depositor.id == RemittanceLine.depositor_id)
        .join(OrgUnit, OrgUnit.id == Remittance.branch_id)
        .where(_posted_in_month(ctx))
        .where(or_(RemittanceLine.base_fen > cap, RemittanceLine.base_fen < floor_expr))
        .order_by(RemittanceLine.id)
    )
    return [
        Finding(
            "remittance_line",
            f"{r.depositor_ref}@{r.remittance_id}",
            f"个人账号 {r.depositor_ref} {r.month:%Y-%m} 缴存基数 {format_yuan(r.base_fen)} 元"
            f"{'超过上限' if r.base_fen > r.cap else '低于下限'}",
            {
                "depositor_ref": r.depositor_ref,
                "remittance_id": r.remittance_id,
                "month": r.month.isoformat(),
                "base_yuan": format_yuan(r.base_fen),
                "cap_yuan": format_yuan(r.cap),
                "floor_yuan": format_yuan(r.floor),
            },
            r.branch_id,
        )
        for r in session.execute(stmt)
    ]


def rate_out_of_range(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Employers with a list posted in the month whose rates are outside the range then in force."""
    e = ctx.policy.document.contribution
    lo_er = by_date(Remittance.month, e, lambda x: x.employer_rate_min_pct)
    hi_er = by_date(Remittance.month, e, lambda x: x.employer_rate_max_pct)
    lo_ee = by_date(Remittance.month, e, lambda x: x.employee_rate_min_pct)
    hi_ee = by_date(Remittance.month, e, lambda x: x.employee_rate_max_pct)
    stmt = (
        select(
            Employer.employer_ref,
            Employer.branch_id,
            Employer.employer_rate_pct,
            Employer.employee_rate_pct,
            func.max(Remittance.month).label("month"),
        )
        .join(Remittance, Remittance.employer_id == Employer.id)
        .where(_posted_in_month(ctx))
        .where(
            or_(
                Employer.employer_rate_pct < lo_er,
                Employer.employer_rate_pct > hi_er,
                Employer.employee_rate_pct < lo_ee,
                Employer.employee_rate_pct > hi_ee,
            )
        )
        .group_by(
            Employer.employer_ref,
            Employer.branch_id,
            Employer.employer_rate_pct,
            Employer.employee_rate_pct,
        )
        .order_by(Employer.employer_ref)
    )
    return [
        Finding(
            "employer",
            r.employer_ref,
            f"单位账号 {r.employer_ref} 缴存比例 单位 {r.employer_rate_pct}% / 个人 "
            f"{r.employee_rate_pct}% 超出政策范围",
            {
                "employer_ref": r.employer_ref,
                "employer_rate_pct": str(r.employer_rate_pct),
                "employee_rate_pct": str(r.employee_rate_pct),
            },
            r.branch_id,
        )
        for r in session.execute(stmt)
    ]


def frozen_account_payment(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Lines posted in the month to accounts frozen (封存) more than ``frozen_months`` before."""
    cutoff = add_months(ctx.first, -ctx.params.frozen_months)
    stmt = (
        select(
            Depositor.depositor_ref,
            Depositor.frozen_on,
            Remittance.id.label("remittance_id"),
            Remittance.month,
            Remittance.branch_id,
            (RemittanceLine.employer_fen + RemittanceLine.employee_fen).label("amount"),
        )
        .select_from(RemittanceLine)
        .join(Remittance, Remittance.id == RemittanceLine.remittance_id)
        .join(Depositor, Depositor.id == RemittanceLine.depositor_id)
        .where(_posted_in_month(ctx))
        .where(Depositor.status == "02", Depositor.frozen_on < cutoff)
        .order_by(RemittanceLine.id)
    )
    return [
        Finding(
            "remittance_line",
            f"{r.depositor_ref}@{r.remittance_id}",
            f"个人账号 {r.depositor_ref} 自 {r.frozen_on} 封存，{r.month:%Y-%m} 仍缴存 "
            f"{format_yuan(r.amount)} 元",
            {
                "depositor_ref": r.depositor_ref,
                "frozen_on": r.frozen_on.isoformat(),
                "month": r.month.isoformat(),
                "amount_yuan": format_yuan(r.amount),
            },
            r.branch_id,
        )
        for r in session.execute(stmt)
    ]


def id_check_digit(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Depositors opened and loan parties recorded in the month whose ID number fails GB 11643.

    SQL selects the month's candidates; the check digit itself is :mod:`hpf.identifiers`.
    """
    depositors = select(
        literal("depositor").label("kind"),
        Depositor.depositor_ref.label("ref"),
        Depositor.id_number,
        Depositor.branch_id,
    ).where(within(Depositor.opened_on, ctx.first, ctx.last))
    parties = (
        select(
            literal("loan_party").label("kind"),
            (Loan.loan_ref + ":" + LoanParty.role).label("ref"),
            LoanParty.id_number,
            Loan.branch_id,
        )
        .join(Loan, Loan.id == LoanParty.loan_id)
        .where(within(Loan.applied_on, ctx.first, ctx.last))
    )
    out = []
    for r in session.execute(union_all(depositors, parties)):
        if is_valid_id_number(r.id_number):
            continue
        out.append(
            Finding(
                r.kind,
                r.ref,
                f"{'个人账号' if r.kind == 'depositor' else '贷款'} {r.ref} 身份证号码 "
                f"{mask(r.id_number)} 校验位错误",
                {"ref": r.ref, "id_number": mask(r.id_number)},
                r.branch_id,
            )
        )
    return sorted(out, key=lambda f: (f.object_type, f.object_ref))


def activity_after_end(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Contributions for a month after, or withdrawals and loans applied after, a recorded death
    (a death withdrawal's 死亡日, else its application date) or the account's closure (销户).
    """
    death_day = func.coalesce(
        as_date(session, json_text(session, Withdrawal.evidence, "event_date")),
        Withdrawal.applied_on,
    )
    deaths = (
        select(
            Withdrawal.depositor_id.label("depositor_id"),
            func.min(death_day).label("ended_on"),
            literal("death").label("why"),
        )
        .where(Withdrawal.type == "death", Withdrawal.status.in_(COUNTING_STATUSES))
        .group_by(Withdrawal.depositor_id)
    )
    closures = select(
        Depositor.id.label("depositor_id"),
        Depositor.closed_on.label("ended_on"),
        literal("closed").label("why"),
    ).where(Depositor.closed_on.is_not(None), Depositor.status.in_(("03", "04", "05")))
    ended = union_all(deaths, closures).subquery("ended")
    lines = (
        select(
            literal("remittance_line").label("kind"),
            (Depositor.depositor_ref + "@" + cast(Remittance.id, String)).label("ref"),
            Depositor.depositor_ref,
            ended.c.why,
            ended.c.ended_on,
            Remittance.month.label("on"),
            Remittance.branch_id,
        )
        .select_from(RemittanceLine)
        .join(Remittance, Remittance.id == RemittanceLine.remittance_id)
        .join(Depositor, Depositor.id == RemittanceLine.depositor_id)
        .join(ended, ended.c.depositor_id == RemittanceLine.depositor_id)
        .where(_posted_in_month(ctx), Remittance.month > ended.c.ended_on)
    )
    withdrawals = (
        select(
            literal("withdrawal").label("kind"),
            cast(Withdrawal.id, String).label("ref"),
            Withdrawal.depositor_ref,
            ended.c.why,
            ended.c.ended_on,
            Withdrawal.applied_on.label("on"),
            Withdrawal.branch_id,
        )
        .join(ended, ended.c.depositor_id == Withdrawal.depositor_id)
        .where(
            within(Withdrawal.applied_on, ctx.first, ctx.last),
            Withdrawal.applied_on > ended.c.ended_on,
            Withdrawal.type != "death",
            Withdrawal.status.in_(COUNTING_STATUSES),
        )
    )
    loans = (
        select(
            literal("loan").label("kind"),
            Loan.loan_ref.label("ref"),
            Loan.depositor_ref,
            ended.c.why,
            ended.c.ended_on,
            Loan.applied_on.label("on"),
            Loan.branch_id,
        )
        .join(ended, ended.c.depositor_id == Loan.depositor_id)
        .where(
            within(Loan.applied_on, ctx.first, ctx.last),
            Loan.applied_on > ended.c.ended_on,
            Loan.status.not_in(("refused", "rejected", "withdrawn")),
        )
    )
    out = []
    seen: set[str] = set()
    for r in session.execute(union_all(lines, withdrawals, loans)):
        ref = f"{r.kind}:{r.ref}"
        if ref in seen:  # a person both dead and closed: one item
            continue
        seen.add(ref)
        what = {"remittance_line": "缴存", "withdrawal": "提取", "loan": "贷款申请"}[r.kind]
        why = "死亡" if r.why == "death" else "销户"
        out.append(
            Finding(
                r.kind,
                ref,
                f"个人账号 {r.depositor_ref} 于 {r.ended_on} {why}后仍有{what}（{r.on}）",
                {
                    "depositor_ref": r.depositor_ref,
                    "ended": r.why,
                    "ended_on": str(r.ended_on),
                    "activity": r.kind,
                    "on": str(r.on),
                },
                r.branch_id,
            )
        )
    return sorted(out, key=lambda f: f.object_ref)
