"""Loans as the web does them (贷款): scoped reads, the apply form, staff steps, finance, work lists.

Shared by the depositor portal (``portal_loans``), the console (``console_loans``) and the API
(``api_loans``); every change itself is made by :mod:`hpf.loans` (service, repayment,
collection).

- Who sees what (数据范围): a depositor only the loans they borrow or co-borrow; staff holding
  ``workflow.read`` or ``loan.finance`` those of their branch (all when whole-center). Anything
  else answers 404 exactly like a missing loan. Staff see names, ID numbers and accounts masked
  unless they hold ``person.unmask``; every staff view of a loan is audited.
- Idempotency: applying, disbursing, prepaying and exporting a debit batch go through
  :func:`hpf.web.contribution_actions.once` (a key per rendered form or the ``Idempotency-Key``
  header); a replay answers the first outcome. The bank's result file is idempotent by itself.
- Staff steps on a loan's application go through :func:`hpf.loans.service.decide` (so a
  rejection also ends the loan); :func:`act_on_application` routes the generic application
  actions there too (withdrawals keep their own route).
- A prepayment trial (提前还款试算) runs the pure rules on the loan's position and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hpf.auth.masking import mask_bank_card, mask_id_number, mask_name
from hpf.auth.models import AuditRecord
from hpf.auth.principal import Principal
from hpf.calc.loan_limit import limit_json
from hpf.deposits.models import Depositor
from hpf.errors import DomainError
from hpf.loans import collection, repayment, service
from hpf.loans import prepayment as prepayment_rules
from hpf.loans import stats as loan_stats
from hpf.loans.limit import LimitApplication, loan_limit
from hpf.loans.models import (
    Collection,
    DebitBatch,
    DebitLine,
    Installment,
    Loan,
    LoanParty,
    RateChange,
    Repayment,
)
from hpf.loans.overdue import AgingBucket
from hpf.money import format_yuan
from hpf.policy.loader import Policy
from hpf.web import application_pages as pages
from hpf.web import batch_files as bf
from hpf.web import contribution_actions as actions
from hpf.web import withdrawals as w
from hpf.web.application_pages import QueueItem, inbox_queue
from hpf.web.contributions import policy_of
from hpf.web.errors import Problem
from hpf.web.i18n import _ as N_
from hpf.workflow import service as workflow
from hpf.workflow.service import ApplicationView

MAX_PAGE_SIZE = 100
SCHEDULE_PAGE = 24
STAFF_READERS = ("workflow.read", "loan.finance")
STATUS_LABELS = {
    "refused": N_("Refused by the limit check"),
    "in_review": N_("In review"),
    "approved": N_("Contract signed, awaiting disbursement"),
    "active": N_("Repaying"),
    "settled": N_("Settled"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
INSTALLMENT_LABELS = {
    "scheduled": N_("Due"),
    "overdue": N_("Overdue"),
    "paid": N_("Paid"),
}
METHOD_LABELS = {
    "annuity": N_("Equal installments (annuity)"),
    "linear": N_("Equal principal (linear)"),
}
OPTION_LABELS = {
    "shorter_term": N_("Shorter term"),
    "lower_payment": N_("Lower payment"),
    "full": N_("Repay in full"),
}
BUCKET_LABELS = {
    AgingBucket.DAYS_1_30.value: N_("1-30 days"),
    AgingBucket.DAYS_31_90.value: N_("31-90 days"),
    AgingBucket.DAYS_91_180.value: N_("91-180 days"),
    AgingBucket.OVER_180.value: N_("Over 180 days"),
}
REPAYMENT_KIND_LABELS = {
    "installment": N_("Installment"),
    "prepayment": N_("Prepayment"),
    "full_prepayment": N_("Full prepayment"),
}


def loan_not_found(loan_id: int) -> Problem:
    return Problem(404, "loan_not_found", f"贷款不存在：{loan_id}", f"no such loan: {loan_id}")


def debit_batch_not_found(batch_id: int) -> Problem:
    return Problem(
        404, "batch_not_found", f"扣款批次不存在：{batch_id}", f"no such debit batch: {batch_id}"
    )


def today() -> date:
    return w.today()


# --- reads ------------------------------------------------------------------------------------


def _own_depositor_id(session: Session, principal: Principal) -> int | None:
    if principal.kind != "depositor" or not principal.depositor_ref:
        return None
    return session.scalar(
        select(Depositor.id).where(Depositor.depositor_ref == principal.depositor_ref)
    )


def may_see(session: Session, principal: Principal, row: Loan) -> bool:
    if principal.kind == "depositor":
        if not principal.depositor_ref:
            return False
        if row.depositor_ref == principal.depositor_ref:
            return True
        own = _own_depositor_id(session, principal)
        return own is not None and bool(
            session.scalar(
                select(LoanParty.id).where(
                    LoanParty.loan_id == row.id, LoanParty.depositor_id == own
                )
            )
        )
    if principal.kind not in ("staff", "system"):
        return False
    return any(principal.has(p) for p in STAFF_READERS) and principal.can_see_branch(row.branch_id)


def get_visible(session: Session, principal: Principal, loan_id: int) -> Loan:
    """The loan if ``principal`` may see it; 404 otherwise (as for a missing one)."""
    row = session.get(Loan, loan_id)
    if row is None or not may_see(session, principal, row):
        raise loan_not_found(loan_id)
    return row


def list_own(session: Session, principal: Principal) -> list[Loan]:
    """The depositor's loans (as borrower or co-borrower), newest first, refused ones included."""
    own = _own_depositor_id(session, principal)
    if own is None:
        return []
    parties = select(LoanParty.loan_id).where(LoanParty.depositor_id == own)
    return list(
        session.scalars(
            select(Loan)
            .where(or_(Loan.depositor_id == own, Loan.id.in_(parties)))
            .order_by(Loan.id.desc())
            .limit(100)
        )
    )


def list_staff(
    session: Session,
    principal: Principal,
    *,
    page: int = 1,
    size: int = 20,
    status: str | None = None,
) -> tuple[list[Loan], int]:
    """One page of the loans of the principal's branch scope, newest first."""
    filters = [Loan.status == status] if status else []
    return pages.staff_page(
        session, principal, Loan, *filters, page=page, size=size, max_size=MAX_PAGE_SIZE
    )


def borrower_names(session: Session, rows: list[Loan], *, unmask: bool) -> dict[int, str]:
    """Loan id -> the borrower's name (masked unless ``unmask``)."""
    names = dict(
        session.execute(
            select(Depositor.id, Depositor.name).where(
                Depositor.id.in_({r.depositor_id for r in rows})
            )
        ).all()
    )
    out = {}
    for r in rows:
        name = str(names.get(r.depositor_id, ""))
        out[r.id] = name if unmask else mask_name(name)
    return out


def queue(
    session: Session, principal: Principal, *, now: datetime | None = None
) -> list[QueueItem[Loan]]:
    """The workflow inbox of ``principal``, loans only, oldest first; the borrower masked."""
    return inbox_queue(
        session,
        principal,
        business_type=service.BUSINESS_TYPE,
        application_id=Loan.application_id,
        now=now,
    )


def next_installment(session: Session, loan_id: int) -> Installment | None:
    return session.scalar(
        select(Installment)
        .where(Installment.loan_id == loan_id, Installment.status != "paid")
        .order_by(Installment.n)
        .limit(1)
    )


def schedule_page(
    session: Session, loan_id: int, *, page: int = 1, size: int = SCHEDULE_PAGE
) -> tuple[list[Installment], int]:
    size = max(1, min(size, 360))
    total = int(session.scalar(select(func.count()).where(Installment.loan_id == loan_id)) or 0)
    rows = session.scalars(
        select(Installment)
        .where(Installment.loan_id == loan_id)
        .order_by(Installment.n)
        .offset((max(1, page) - 1) * size)
        .limit(size)
    )
    return list(rows), total


def installment_json(row: Installment) -> dict[str, Any]:
    return {
        "n": row.n,
        "due_date": row.due_date,
        "payment_fen": row.principal_fen + row.interest_fen,
        "principal_fen": row.principal_fen,
        "interest_fen": row.interest_fen,
        "balance_after_fen": row.balance_after_fen,
        "rate_pct": str(row.rate_pct),
        "status": row.status,
        "paid_on": row.paid_on,
        "days_overdue": row.days_overdue,
        "penalty_fen": row.penalty_fen,
    }


def repayments_of(session: Session, loan_id: int) -> list[Repayment]:
    return list(
        session.scalars(
            select(Repayment)
            .where(Repayment.loan_id == loan_id)
            .order_by(Repayment.paid_on.desc(), Repayment.id.desc())
            .limit(500)
        )
    )


def rate_changes_of(session: Session, loan_id: int) -> list[RateChange]:
    return list(
        session.scalars(
            select(RateChange)
            .where(RateChange.loan_id == loan_id)
            .order_by(RateChange.applies_from)
        )
    )


def collections_of(session: Session, loan_id: int) -> list[Collection]:
    return list(
        session.scalars(
            select(Collection).where(Collection.loan_id == loan_id).order_by(Collection.id.desc())
        )
    )


def history_of(session: Session, loan_id: int) -> list[dict[str, Any]]:
    """The loan's audit records (申请、审批、发放、还款…), oldest first."""
    rows = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.object_type == "loan", AuditRecord.object_id == str(loan_id))
        .order_by(AuditRecord.id)
        .limit(500)
    )
    return [
        {"at": r.at, "action": r.action, "actor_name": r.actor_name or r.actor_kind} for r in rows
    ]


def detail(session: Session, principal: Principal, row: Loan) -> dict[str, Any]:
    """A loan for a page or the API; people masked for staff without ``person.unmask``."""
    own = principal.kind == "depositor"
    unmask = own or principal.has("person.unmask")
    parties = [
        {
            "role": p.role,
            "name": p.name if unmask else mask_name(p.name),
            "id_number": p.id_number if unmask else mask_id_number(p.id_number),
            "relation": p.relation,
        }
        for p in session.scalars(
            select(LoanParty).where(LoanParty.loan_id == row.id).order_by(LoanParty.id)
        )
    ]
    borrower = next((p for p in parties if p["role"] == "borrower"), None)
    nxt = next_installment(session, row.id)
    application = workflow.get(session, row.application_id) if row.application_id else None
    return {
        "id": row.id,
        "loan_ref": row.loan_ref,
        "contract_ref": row.contract_ref,
        "status": row.status,
        "channel": row.channel,
        "depositor_ref": row.depositor_ref,
        "person_name": borrower["name"] if borrower else "",
        "branch_id": row.branch_id,
        "applied_on": row.applied_on,
        "house_contract_ref": row.house_contract_ref,
        "price_fen": row.price_fen,
        "area_m2": str(row.area_m2),
        "home_number": row.home_number,
        "commercial_fen": row.commercial_fen,
        "requested_fen": row.requested_fen,
        "limit_fen": row.limit_fen,
        "binding_constraint": row.binding_constraint,
        "decision": row.decision_zh,
        "decision_en": row.decision_en,
        "term_months": row.term_months,
        "method": row.method,
        "annual_rate_pct": str(row.annual_rate_pct),
        "security_kind": row.security_kind,
        "security_ref": row.security_ref,
        "payee_name": row.payee_name if unmask else mask_name(row.payee_name),
        "payee_account": row.payee_account if unmask else mask_bank_card(row.payee_account),
        "principal_fen": row.principal_fen,
        "balance_fen": row.balance_fen,
        "disbursed_on": row.disbursed_on,
        "first_due": row.first_due,
        "paid_n": row.paid_n,
        "last_n": row.last_n,
        "level_fen": row.level_fen,
        "settled_on": row.settled_on,
        "days_past_due": row.days_past_due,
        "overdue_principal_fen": row.overdue_principal_fen,
        "overdue_interest_fen": row.overdue_interest_fen,
        "penalty_fen": row.penalty_fen,
        "risk_grade": row.risk_grade,
        "next_installment": installment_json(nxt) if nxt is not None else None,
        "parties": parties,
        "application_id": row.application_id,
        "application_status": application.status if application else None,
        "awaiting": application.awaiting if application else None,
        "application": application,
    }


def audit_view(session: Session, principal: Principal, row: Loan, *, ip: str = "") -> None:
    """查看留痕: a staff member opened a loan (a person's data)."""
    pages.audit_view(
        session,
        principal,
        object_type="loan",
        object_id=row.id,
        depositor_ref=row.depositor_ref,
        ip=ip,
    )


# --- applying ---------------------------------------------------------------------------------


def _text(fields: Mapping[str, str], name: str, limit: int = 60, *, required: bool = False) -> str:
    value = (fields.get(name) or "").replace("\x00", "").strip()
    if len(value) > limit:
        raise actions.FieldInvalid(name, f"不超过{limit}个字符", f"at most {limit} characters")
    if required and not value:
        raise actions.FieldInvalid(name, "必填", "required")
    return value


def _int(fields: Mapping[str, str], name: str, low: int, high: int, default: int | None) -> int:
    value = (fields.get(name) or "").strip()
    if not value and default is not None:
        return default
    number = whole_number(value)
    if number is None or not low <= number <= high:
        raise actions.FieldInvalid(
            name, f"应为 {low} 至 {high} 的整数", f"a whole number from {low} to {high}"
        )
    return number


def whole_number(text: str) -> int | None:
    """``text`` as a non-negative whole number of at most 9 ASCII digits, else None."""
    text = (text or "").strip()
    if not text or len(text) > 9 or not all("0" <= ch <= "9" for ch in text):
        return None
    return int(text)


def area_of(fields: Mapping[str, str], name: str = "area") -> Decimal:
    value = (fields.get(name) or "").strip()
    try:
        area = Decimal(value)
    except InvalidOperation:
        raise actions.FieldInvalid(name, "面积应为数字", "the area must be a number") from None
    if not area.is_finite() or not 0 < area <= 99999:
        raise actions.FieldInvalid(name, "面积应在 0 至 99999㎡ 之间", "area 0 to 99999 m²")
    return area.quantize(Decimal("0.01"))


def _fen(fields: Mapping[str, str], name: str, *, required: bool = True) -> int:
    value = (fields.get(name) or "").strip()
    if not value:
        if required:
            raise actions.FieldInvalid(name, "必填", "required")
        return 0
    return actions.check_amount(name, value, positive=required)


def request_from(fields: Mapping[str, str]) -> service.LoanRequest:
    """The loan request typed into a form (or an API body as strings); FieldInvalid names a field."""
    method = _text(fields, "method", 10) or "annuity"
    if method not in METHOD_LABELS:
        raise actions.FieldInvalid("method", "还款方式无效", "invalid repayment method")
    security = _text(fields, "security_kind", 10) or "mortgage"
    if security not in service.SECURITY_KINDS:
        raise actions.FieldInvalid("security_kind", "担保方式无效", "invalid security")
    co_id = _text(fields, "co_id_number", 18)
    co_name = _text(fields, "co_name", 50)
    co: tuple[service.CoBorrower, ...] = ()
    if co_id or co_name:
        try:
            co = (service.CoBorrower(actions.check_id_number(co_id).value, co_name, "spouse"),)
        except DomainError as exc:
            raise actions.FieldInvalid.of("co_id_number", exc) from None
        if not co_name:
            raise actions.FieldInvalid("co_name", "请填写共同借款人姓名", "name the co-borrower")
    return service.LoanRequest(
        amount_fen=_fen(fields, "amount"),
        term_months=_int(fields, "term_months", 1, 360, None),
        method=method,
        house_contract_ref=_text(fields, "house_contract_ref", required=True),
        price_fen=_fen(fields, "price"),
        area_m2=area_of(fields),
        home_number=_int(fields, "home_number", 1, 9, 1),
        security_kind=security,
        security_ref=_text(fields, "security_ref", required=True),
        co_borrowers=co,
        commercial_fen=_fen(fields, "commercial", required=False),
        commercial_bank=_text(fields, "commercial_bank"),
        existing_monthly_debt_fen=_fen(fields, "debt", required=False),
        payee_name=_text(fields, "payee_name"),
        payee_account=_text(fields, "payee_account", 30),
    )


def apply_for(
    session: Session,
    principal: Principal,
    policy: Policy,
    *,
    depositor: Depositor,
    request: service.LoanRequest,
    channel: str,
    key: str,
) -> actions.Done:
    """Apply (申请) with the limit check, once per key; the result names the loan."""
    described = {
        "depositor": depositor.depositor_ref,
        "channel": channel,
        "amount_fen": request.amount_fen,
        "term_months": request.term_months,
        "method": request.method,
        "house_contract_ref": request.house_contract_ref,
        "price_fen": request.price_fen,
        "area_m2": str(request.area_m2),
        "home_number": request.home_number,
        "security": [request.security_kind, request.security_ref],
        "co": [c.id_number for c in request.co_borrowers],
        "commercial_fen": request.commercial_fen,
        "debt_fen": request.existing_monthly_debt_fen,
        "payee": [request.payee_name, request.payee_account],
    }

    def run(scoped: str) -> dict[str, Any]:
        outcome = service.apply(
            session,
            depositor_ref=depositor.depositor_ref,
            request=request,
            applicant=principal,
            channel=channel,
            idempotency_key=scoped,
            on=today(),
            policy=policy,
        )
        return {"loan_id": outcome.loan_id, "allowed": outcome.allowed}

    return actions.once(session, principal, "loan.apply", key, described, run)


@dataclass(frozen=True)
class AccountFacts:
    """What the limit trial takes from a depositor's account (prefilled on the apply form)."""

    balance_fen: int
    consecutive_months: int
    total_months: int
    monthly_wage_fen: int
    age: int
    male: bool


def account_facts(session: Session, depositor: Depositor, day: date) -> AccountFacts:
    person = service.contributor(session, depositor, day)
    birth = depositor.birth_date
    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return AccountFacts(
        person.balance_fen,
        person.consecutive_months,
        person.total_months,
        int(person.monthly_wage_fen),
        age,
        depositor.sex == "M",
    )


def limit_trial(
    session: Session,
    policy: Policy,
    depositor: Depositor,
    *,
    price_fen: int,
    area_m2: Decimal,
    home_number: int,
    term_months: int | None,
    debt_fen: int = 0,
) -> dict[str, Any]:
    """The limit from the depositor's account facts and the home entered (writes nothing)."""
    day = today()
    snapshot = policy.on(day)
    application = LimitApplication(
        applicant=service.contributor(session, depositor, day),
        price_fen=price_fen,
        area_m2=area_m2,
        home_number=home_number,
        age=account_facts(session, depositor, day).age,
        male=depositor.sex == "M",
        term_months=term_months,
        existing_monthly_debt_fen=debt_fen,
    )
    return limit_json(loan_limit(application, snapshot.loan_limit, snapshot.loan_rate), day)


# --- staff steps ------------------------------------------------------------------------------


def act_on_application(
    session: Session,
    application_id: int,
    *,
    actor: Principal,
    action: str,
    comment: str = "",
    at_counter: bool = False,
    ip: str = "",
) -> ApplicationView:
    """A staff step on any application: a loan's through ``service.decide``, the rest as before."""
    return pages.decide_through(
        session,
        application_id,
        Loan.application_id,
        decide=lambda row_id: service.decide(
            session, row_id, actor=actor, action=action, comment=comment
        ),
        otherwise=lambda: w.act_on_application(
            session,
            application_id,
            actor=actor,
            action=action,
            comment=comment,
            at_counter=at_counter,
            ip=ip,
        ),
    )


def staff_actions(principal: Principal, row: Loan, view: ApplicationView | None) -> list[str]:
    if view is not None and view.applicant_user_id == principal.user_id:
        return []
    return pages.step_actions(principal, row.status, view)


# --- finance: disbursement and prepayment -----------------------------------------------------


def disburse(
    session: Session, principal: Principal, policy: Policy, row: Loan, *, key: str
) -> actions.Done:
    """发放 today, once per key (the service itself is idempotent per loan)."""

    def run(_scoped: str) -> dict[str, Any]:
        done = service.disburse(session, row.id, on=today(), actor=principal, policy=policy)
        return {"loan_id": done.id, "principal_fen": done.principal_fen}

    return actions.once(session, principal, "loan.disburse", key, {"loan": row.id}, run)


def prepayment_on(row: Loan) -> date | None:
    """The day a prepayment is made: the due date of the last paid installment."""
    if row.status != "active" or row.first_due is None:
        return None
    return repayment.position(row).last_paid_due


def prepayment_trial(row: Loan, *, amount_fen: int | None, option: str) -> dict[str, Any]:
    """提前还款试算: the schedule left after prepaying ``amount_fen`` (None: in full); no writes."""
    if row.status != "active" or row.first_due is None:
        raise service.LoanError(
            f"贷款 {row.loan_ref} 不在还款中，不能提前还款",
            f"loan {row.loan_ref} is not being repaid",
        )
    before = repayment.position(row)
    if amount_fen is None or option == "full":
        result = prepayment_rules.prepay_in_full(before)
    else:
        result = prepayment_rules.prepay(before, amount_fen, option)
    remaining_before = before.schedule()
    remaining_after = result.schedule()
    interest_before = sum(i.interest for i in remaining_before)
    interest_after = sum(i.interest for i in remaining_after)
    return {
        "on": result.on,
        "amount_fen": result.amount_fen,
        "option": "full" if result.full else result.option.value,
        "full": result.full,
        "balance_before_fen": before.balance_fen,
        "balance_after_fen": result.after.balance_fen,
        "installments_before": before.remaining_n,
        "installments_after": result.after.remaining_n,
        "level_before_fen": before.level_fen,
        "level_after_fen": result.after.level_fen,
        "interest_saved_fen": interest_before - interest_after,
        "schedule": [
            {
                "n": i.n,
                "due_date": i.due_date,
                "payment_fen": i.payment,
                "principal_fen": i.principal,
                "interest_fen": i.interest,
                "balance_after_fen": i.balance,
            }
            for i in remaining_after
        ],
    }


def parse_prepayment(amount: str, option: str) -> tuple[int | None, str]:
    """(amount in fen or None for in full, option) from a form."""
    option = (option or "").strip() or "shorter_term"
    if option not in OPTION_LABELS:
        raise actions.FieldInvalid("option", "提前还款方式无效", "invalid prepayment option")
    if option == "full":
        return None, option
    return actions.check_amount("amount", (amount or "").strip()), option


def prepay(
    session: Session,
    principal: Principal,
    row: Loan,
    *,
    amount_fen: int | None,
    option: str,
    source: str,
    key: str,
) -> actions.Done:
    """提前还款 at the counter or from the HPF balance, once per key."""
    on = prepayment_on(row)
    if on is None:
        raise service.LoanRefused(
            "首期还款之前或贷款不在还款中，不能提前还款",
            "no prepayment before the first installment is paid or when the loan is not active",
        )
    request = {"loan": row.id, "amount_fen": amount_fen, "option": option, "source": source}

    def run(scoped: str) -> dict[str, Any]:
        done = repayment.prepay(
            session,
            row.id,
            on=on,
            amount_fen=amount_fen,
            option="shorter_term" if option == "full" else option,
            source=source,
            actor=principal,
            idempotency_key=scoped,
        )
        return {"repayment_id": done.id, "amount_fen": done.amount_fen, "kind": done.kind}

    return actions.once(session, principal, "loan.prepay", key, request, run)


# --- finance: the bank's debit file -----------------------------------------------------------


_branch = bf.branch_scope
DEBIT_TABLES = bf.BatchTables(
    batch=DebitBatch,
    line_batch_id=DebitLine.batch_id,
    line_amount_fen=DebitLine.amount_fen,
    line_result=DebitLine.result,
    line_owner_id=DebitLine.loan_id,
    owner_id=Loan.id,
    owner_branch_id=Loan.branch_id,
)


def due_for_collection(session: Session, principal: Principal) -> tuple[int, int]:
    """(installments, principal + interest fen) due by today, unpaid, in the scope."""
    stmt = (
        select(
            func.count(),
            func.coalesce(
                func.sum(
                    Installment.principal_fen
                    - Installment.paid_principal_fen
                    + Installment.interest_fen
                    - Installment.paid_interest_fen
                ),
                0,
            ),
        )
        .join(Loan, Loan.id == Installment.loan_id)
        .where(
            Loan.status == "active",
            Installment.status != "paid",
            Installment.due_date <= today(),
        )
    )
    branch = _branch(principal)
    if branch is not None:
        stmt = stmt.where(Loan.branch_id == branch)
    count, total = session.execute(stmt).one()
    return int(count), int(total)


def export_debits(
    session: Session, principal: Principal, policy: Policy, *, key: str
) -> actions.Done:
    """A new debit batch of every installment due by today in the scope; once per key."""
    branch = bf.staff_branch_or_refuse(principal)

    def run(_scoped: str) -> dict[str, Any]:
        batch = collection.export_batch(
            session, on=today(), actor=principal, branch_id=branch, policy=policy
        )
        return {"batch_id": batch.batch_id, "lines": batch.lines, "total_fen": batch.total_fen}

    return actions.once(session, principal, "loan.debit_export", key, {"branch": branch}, run)


def debit_batch_visible(session: Session, principal: Principal, batch_id: int) -> DebitBatch:
    """The batch if every loan in it is in the principal's scope; 404 otherwise."""
    batch: DebitBatch = bf.visible_batch(
        session, principal, DEBIT_TABLES, batch_id, debit_batch_not_found
    )
    return batch


def debit_batches(session: Session, principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
    """Recent debit batches of the scope, with their results so far."""
    return bf.summaries(session, principal, DEBIT_TABLES, limit)


def debit_batch_csv(session: Session, principal: Principal, batch_id: int) -> str:
    """The bank file of a batch (the same lines as when it was exported)."""
    debit_batch_visible(session, principal, batch_id)
    rows = session.execute(
        select(DebitLine, Loan.loan_ref, Installment.n)
        .join(Loan, Loan.id == DebitLine.loan_id)
        .join(Installment, Installment.id == DebitLine.installment_id)
        .where(DebitLine.batch_id == batch_id)
        .order_by(DebitLine.line_no)
    )
    return bf.bank_file(
        session,
        principal,
        collection.EXPORT_COLUMNS,
        (
            [
                batch_id,
                line.line_no,
                collection.reference(line),
                ref,
                n,
                line.payer_name,
                line.payer_card,
                format_yuan(line.amount_fen),
            ]
            for line, ref, n in rows
        ),
        audit_action="loan.debit_download",
        object_type="loan_debit_batch",
        batch_id=batch_id,
    )


def import_debit_results(
    session: Session, principal: Principal, text: str
) -> collection.ImportSummary:
    """Settle the bank's result file (idempotent); every batch in it must be in the scope."""
    bf.staff_branch_or_refuse(principal)
    for batch_id in bf.batch_ids_in(text):
        debit_batch_visible(session, principal, batch_id)
    with session.begin_nested():
        return collection.import_result(session, text, on=today(), actor=principal)


DEBIT_FILES = bf.BatchFiles(
    permission="loan.finance",
    filename="loan-debit-{}.csv",
    export=lambda request, session, principal, key: export_debits(
        session, principal, policy_of(request), key=key
    ),
    batches=debit_batches,
    csv=debit_batch_csv,
    import_results=import_debit_results,
)


# --- overdue work list and statistics ---------------------------------------------------------


@dataclass(frozen=True)
class OverdueItem:
    collection: Collection
    loan: Loan
    person: str


def overdue_list(
    session: Session, principal: Principal, *, bucket: str = ""
) -> tuple[list[OverdueItem], dict[str, tuple[int, int]]]:
    """Open collection items of the scope, most days overdue first, and (count, overdue fen)
    per aging bucket."""
    if principal.kind not in ("staff", "system"):
        return [], {}
    stmt = (
        select(Collection, Loan)
        .join(Loan, Loan.id == Collection.loan_id)
        .where(Collection.status == "open")
    )
    counts = select(
        Collection.bucket,
        func.count(),
        func.coalesce(
            func.sum(Collection.overdue_principal_fen + Collection.overdue_interest_fen), 0
        ),
    ).where(Collection.status == "open")
    branch = _branch(principal)
    if branch is None and not principal.whole_center:
        return [], {}
    if branch is not None:
        stmt = stmt.where(Collection.branch_id == branch)
        counts = counts.where(Collection.branch_id == branch)
    buckets = {
        str(b): (int(n), int(total))
        for b, n, total in session.execute(counts.group_by(Collection.bucket))
    }
    if bucket:
        stmt = stmt.where(Collection.bucket == bucket)
    pairs = session.execute(
        stmt.order_by(Collection.days_past_due.desc(), Collection.id).limit(500)
    ).all()
    names = borrower_names(
        session, [loan for _c, loan in pairs], unmask=principal.has("person.unmask")
    )
    return [OverdueItem(c, loan, names.get(loan.id, "")) for c, loan in pairs], buckets


def stats(
    session: Session, principal: Principal, *, start: date, end: date
) -> list[loan_stats.MonthRow]:
    """Loans issued, repaid, balance and overdue by branch and month, in the scope."""
    return loan_stats.loan_stats(session, start=start, end=end, branch_id=_branch(principal))
