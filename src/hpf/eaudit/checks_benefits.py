"""E-audit checks over withdrawals and loans (提取、贷款): back payment then withdrawal, reused
contracts, shared bank cards, a second HPF loan, the limit check, the loan rate. domain.md §5, §6,
§9. Each is set-based SQL over one month.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, case, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from hpf.deposits.models import Depositor, Remittance, RemittanceLine
from hpf.eaudit.context import AuditContext, Finding
from hpf.eaudit.sql import by_date, days_before, related, within
from hpf.loans.models import OUTSTANDING_STATUSES, Loan, LoanParty
from hpf.money import format_yuan
from hpf.withdrawals.models import COUNTING_STATUSES, Withdrawal
from hpf.workflow.stats import day_bounds

_LOAN_LIVE = ("in_review", "approved", "active", "settled")
_CONTRACT_TYPES = ("purchase", "build")


def withdrawal_after_back_payment(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Withdrawals applied in the month within N days after an unusual back payment (补缴) for
    the same person: at least ``unusual_back_payment_fen`` or ``unusual_back_payment_months``
    months, posted in the N days up to the application.
    """
    p = ctx.params
    back = (
        select(
            Withdrawal.id.label("withdrawal_id"),
            func.count(RemittanceLine.id).label("months"),
            func.sum(RemittanceLine.employer_fen + RemittanceLine.employee_fen).label("amount"),
            func.max(Remittance.posted_on).label("posted_on"),
        )
        .join(RemittanceLine, RemittanceLine.depositor_id == Withdrawal.depositor_id)
        .join(Remittance, Remittance.id == RemittanceLine.remittance_id)
        .where(
            within(Withdrawal.applied_on, ctx.first, ctx.last),
            Withdrawal.status.in_(COUNTING_STATUSES),
            Remittance.kind == "back_payment",
            Remittance.status == "posted",
            Remittance.posted_on <= Withdrawal.applied_on,
            Remittance.posted_on
            >= days_before(session, Withdrawal.applied_on, p.back_payment_window_days),
        )
        .group_by(Withdrawal.id)
        .subquery("back")
    )
    stmt = (
        select(Withdrawal, back.c.months, back.c.amount, back.c.posted_on)
        .join(back, back.c.withdrawal_id == Withdrawal.id)
        .where(
            or_(
                back.c.amount >= p.unusual_back_payment_fen,
                back.c.months >= p.unusual_back_payment_months,
            )
        )
        .order_by(Withdrawal.id)
    )
    return [
        Finding(
            "withdrawal",
            str(w.id),
            f"个人账号 {w.depositor_ref} 于 {posted} 补缴 {months} 个月共 {format_yuan(int(amount))} "
            f"元后，{w.applied_on} 申请提取 {format_yuan(w.amount_fen)} 元",
            {
                "depositor_ref": w.depositor_ref,
                "withdrawal_id": w.id,
                "type": w.type,
                "applied_on": w.applied_on.isoformat(),
                "back_payment_posted_on": str(posted),
                "back_payment_months": int(months),
                "back_payment_yuan": format_yuan(int(amount)),
            },
            w.branch_id,
        )
        for w, months, amount, posted in session.execute(stmt)
    ]


def contract_reused(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Housing withdrawals applied in the month on a purchase contract that an unrelated person
    also used, for a withdrawal or as the home of an HPF loan.
    """
    me = aliased(Depositor, name="me")
    other_w = aliased(Withdrawal, name="other_w")
    other_p = aliased(Depositor, name="other_p")
    mine = and_(
        within(Withdrawal.applied_on, ctx.first, ctx.last),
        Withdrawal.status.in_(COUNTING_STATUSES),
        Withdrawal.type.in_(_CONTRACT_TYPES),
        Withdrawal.contract_ref.is_not(None),
    )
    by_withdrawal = (
        select(Withdrawal.id, Withdrawal.contract_ref, other_p.depositor_ref.label("other"))
        .join(me, me.id == Withdrawal.depositor_id)
        .join(
            other_w,
            and_(
                other_w.contract_ref == Withdrawal.contract_ref,
                other_w.depositor_id != Withdrawal.depositor_id,
                other_w.status.in_(COUNTING_STATUSES),
            ),
        )
        .join(other_p, other_p.id == other_w.depositor_id)
        .where(mine, ~related(me.id_number, other_p.id_number))
    )
    borrower = aliased(LoanParty, name="borrower")
    by_loan = (
        select(Withdrawal.id, Withdrawal.contract_ref, Loan.loan_ref.label("other"))
        .join(me, me.id == Withdrawal.depositor_id)
        .join(Loan, and_(Loan.house_contract_ref == Withdrawal.contract_ref))
        .join(borrower, and_(borrower.loan_id == Loan.id, borrower.role == "borrower"))
        .where(
            mine,
            Loan.status.in_(_LOAN_LIVE),
            ~related(me.id_number, borrower.id_number),
        )
    )
    found: dict[int, tuple[str, set[str]]] = {}
    for wid, contract, other in session.execute(union_all(by_withdrawal, by_loan)):
        found.setdefault(int(wid), (str(contract), set()))[1].add(str(other))
    if not found:
        return []
    rows = {w.id: w for w in session.scalars(select(Withdrawal).where(Withdrawal.id.in_(found)))}
    return [
        Finding(
            "withdrawal",
            str(wid),
            f"个人账号 {rows[wid].depositor_ref} 提取所用购房合同 {contract} 亦被无关人员使用"
            f"（{'、'.join(sorted(others))}）",
            {
                "depositor_ref": rows[wid].depositor_ref,
                "contract_ref": contract,
                "also_used_by": sorted(others),
            },
            rows[wid].branch_id,
        )
        for wid, (contract, others) in sorted(found.items())
    ]


def shared_bank_card(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Withdrawals applied in the month paid to a card that is an unrelated person's own card or
    received another unrelated person's withdrawal (an heir's death withdrawal excepted).
    """
    me = aliased(Depositor, name="me")
    other = aliased(Depositor, name="other")
    other_w = aliased(Withdrawal, name="other_w")
    mine = and_(
        within(Withdrawal.applied_on, ctx.first, ctx.last),
        Withdrawal.status.in_(COUNTING_STATUSES),
        Withdrawal.type != "death",
        Withdrawal.payee_card != "",
    )
    as_own_card = (
        select(Withdrawal.id, Withdrawal.payee_card, other.depositor_ref.label("other"))
        .join(me, me.id == Withdrawal.depositor_id)
        .join(other, and_(other.bank_card == Withdrawal.payee_card, other.id != me.id))
        .where(mine, ~related(me.id_number, other.id_number))
    )
    as_payee = (
        select(Withdrawal.id, Withdrawal.payee_card, other.depositor_ref.label("other"))
        .join(me, me.id == Withdrawal.depositor_id)
        .join(
            other_w,
            and_(
                other_w.payee_card == Withdrawal.payee_card,
                other_w.depositor_id != Withdrawal.depositor_id,
                other_w.status.in_(COUNTING_STATUSES),
                other_w.type != "death",
            ),
        )
        .join(other, other.id == other_w.depositor_id)
        .where(mine, ~related(me.id_number, other.id_number))
    )
    found: dict[int, tuple[str, set[str]]] = {}
    for wid, card, who in session.execute(union_all(as_own_card, as_payee)):
        found.setdefault(int(wid), (card, set()))[1].add(str(who))
    if not found:
        return []
    rows = {w.id: w for w in session.scalars(select(Withdrawal).where(Withdrawal.id.in_(found)))}
    return [
        Finding(
            "withdrawal",
            str(wid),
            f"个人账号 {rows[wid].depositor_ref} 提取收款卡 ****{card[-4:]} 亦为无关人员所用"
            f"（{'、'.join(sorted(others))}）",
            {
                "depositor_ref": rows[wid].depositor_ref,
                "card_tail": card[-4:],
                "also_used_by": sorted(others),
            },
            rows[wid].branch_id,
        )
        for wid, (card, others) in sorted(found.items())
    ]


def _approved_in_month(ctx: AuditContext) -> ColumnElement[bool]:
    lo, hi = day_bounds(ctx.first, ctx.last)
    return and_(
        Loan.approved_at >= lo,
        Loan.approved_at < hi,
        Loan.status.in_(("approved", "active", "settled")),
    )


def second_hpf_loan(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Loans approved in the month where a party (borrower or co-borrower, e.g. the spouse) is a
    party of another HPF loan still outstanding (approved or active, or settled only after this
    loan was applied for).
    """
    party = aliased(LoanParty, name="party")
    other_party = aliased(LoanParty, name="other_party")
    other = aliased(Loan, name="other")
    stmt = (
        select(Loan.loan_ref, Loan.branch_id, Loan.depositor_ref, other.loan_ref.label("other"))
        .join(party, party.loan_id == Loan.id)
        .join(other_party, other_party.id_number == party.id_number)
        .join(other, other.id == other_party.loan_id)
        .where(
            _approved_in_month(ctx),
            other.id != Loan.id,
            or_(
                other.status.in_(OUTSTANDING_STATUSES),
                and_(other.status == "settled", other.settled_on > Loan.applied_on),
            ),
        )
        .distinct()
        .order_by(Loan.loan_ref)
    )
    found: dict[str, tuple[int, str, set[str]]] = {}
    for ref, branch_id, depositor_ref, other_ref in session.execute(stmt):
        found.setdefault(ref, (branch_id, depositor_ref, set()))[2].add(other_ref)
    return [
        Finding(
            "loan",
            ref,
            f"贷款 {ref}（个人账号 {dref}）的借款人或配偶尚有未结清的公积金贷款 "
            f"{'、'.join(sorted(others))}",
            {"loan_ref": ref, "depositor_ref": dref, "other_loans": sorted(others)},
            branch_id,
        )
        for ref, (branch_id, dref, others) in sorted(found.items())
    ]


def loan_limit_inconsistent(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Loans approved in the month whose amount exceeds the recorded limit, or whose recorded
    limit exceeds the price × loan-to-value the policy allowed on the application day.
    """
    e = ctx.policy.document.loan_limit
    on = Loan.applied_on
    ltv_pct = case(
        (Loan.second_home, 100 - by_date(on, e, lambda x: x.down_payment_second_pct)),
        (
            Loan.area_m2 <= by_date(on, e, lambda x: x.small_home_max_area_m2),
            100 - by_date(on, e, lambda x: x.down_payment_first_small_pct),
        ),
        else_=100 - by_date(on, e, lambda x: x.down_payment_first_large_pct),
    )
    amount = case((Loan.principal_fen > 0, Loan.principal_fen), else_=Loan.requested_fen)
    stmt = (
        select(Loan, amount.label("amount"))
        .where(_approved_in_month(ctx))
        .where(or_(amount > Loan.limit_fen, Loan.limit_fen * 100 > Loan.price_fen * ltv_pct))
        .order_by(Loan.loan_ref)
    )
    return [
        Finding(
            "loan",
            loan.loan_ref,
            f"贷款 {loan.loan_ref} 金额 {format_yuan(amt)} 元、额度 {format_yuan(loan.limit_fen)} "
            f"元与房价 {format_yuan(loan.price_fen)} 元及政策首付比例不符",
            {
                "loan_ref": loan.loan_ref,
                "amount_yuan": format_yuan(amt),
                "limit_yuan": format_yuan(loan.limit_fen),
                "price_yuan": format_yuan(loan.price_fen),
                "area_m2": str(loan.area_m2),
                "second_home": loan.second_home,
            },
            loan.branch_id,
        )
        for loan, amt in session.execute(stmt)
    ]


def loan_rate_off_policy(session: Session, ctx: AuditContext) -> Sequence[Finding]:
    """Loans disbursed in the month at a rate other than the policy's rate for new loans (home
    number and term band) in force on the disbursement day.
    """
    e = ctx.policy.document.loan_rate
    on = Loan.disbursed_on
    short = Loan.term_months <= by_date(on, e, lambda x: x.band_upto_months)
    expected = case(
        (and_(Loan.second_home, short), by_date(on, e, lambda x: x.second_home_upto_5y_pct)),
        (Loan.second_home, by_date(on, e, lambda x: x.second_home_over_5y_pct)),
        (short, by_date(on, e, lambda x: x.first_home_upto_5y_pct)),
        else_=by_date(on, e, lambda x: x.first_home_over_5y_pct),
    )
    # the contract rate: the first rate row, before any repricing changed the loan's rate
    stmt = (
        select(Loan, expected.label("expected"))
        .where(within(Loan.disbursed_on, ctx.first, ctx.last))
        .where(Loan.annual_rate_pct != expected)
        .order_by(Loan.loan_ref)
    )
    return [
        Finding(
            "loan",
            loan.loan_ref,
            f"贷款 {loan.loan_ref} 发放利率 {loan.annual_rate_pct}% 与政策利率 {exp}% 不符",
            {
                "loan_ref": loan.loan_ref,
                "rate_pct": str(loan.annual_rate_pct),
                "policy_rate_pct": str(exp),
                "disbursed_on": str(loan.disbursed_on),
            },
            loan.branch_id,
        )
        for loan, exp in session.execute(stmt)
    ]
