"""Loan use cases (贷款业务): apply with the limit check (可贷额度), approve through the workflow
(合同签订), disburse (发放) to the ledger with the schedule stored. domain.md §6.

Flow: :func:`apply` computes the limit with :func:`hpf.loans.limit.loan_limit` from the person's
facts (balance from the ledger, monthly contribution and contribution history from the posted
remittance lists, age and sex from the ID number); a refusal is kept with its reasons and goes no
further; an eligible request becomes a workflow application of business type ``loan`` (amount =
the amount requested). Completing it (:func:`approve`, called by the workflow in the same
transaction) signs the contract. :func:`disburse` takes the rate in force on the disbursement day
(approved but undisbursed loans take a new rate at disbursement), posts debit ``121-<贷款账号>`` /
credit 101 住房公积金存款 once (idempotency key ``loan:<id>:disburse``), and stores the schedule of
:func:`hpf.loans.rules.repayment_schedule`.

Rules chosen here where domain.md is silent:

- one HPF loan at a time: a person who is a borrower or co-borrower of a loan approved or
  outstanding cannot apply, nor be a co-borrower (domain.md §9 names it an e-audit point);
- only the first co-borrower (the spouse) is counted as a second contributor for the limit;
- 组合贷款: the loan-to-value bound covers the HPF part and the commercial part together; the
  commercial part's monthly payment reduces repayment capacity only as declared in
  ``existing_monthly_debt_fen``;
- consecutive contribution months: the unbroken run of months on posted remittance lists that
  ends in the application month or the month before; the monthly contribution is the person's
  line on the latest posted list;
- the first installment is due one month after disbursement, on the disbursement day of month
  (clamped to the month's end); its interest is a whole month's, as every other installment's.

Nothing here commits; every change is audited.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.dates import add_months
from hpf.db.engine import is_sqlite
from hpf.deposits.depositors import balance_fen, get_depositor
from hpf.deposits.models import Depositor, Employer, Remittance, RemittanceLine
from hpf.errors import DomainError, InvalidInput
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import open_subsidiary, post
from hpf.loans import rules
from hpf.loans.directory import hpf_loan_directory
from hpf.loans.limit import Constraint, Contributor, LimitApplication, LimitResult, loan_limit
from hpf.loans.models import Installment, Loan, LoanParty, RateChange
from hpf.money import format_yuan
from hpf.policy.loader import Policy, get_policy
from hpf.workflow import service as workflow
from hpf.workflow.rules import REJECTED, WITHDRAWN
from hpf.workflow.stats import BUSINESS_TZ

BUSINESS_TYPE = "loan"
DISBURSE_KIND = "loan_disbursement"
SECURITY_KINDS = {"mortgage": "抵押", "guarantee": "保证"}


class LoanError(DomainError):
    """A loan action is not possible (贷款业务错误)."""

    code = "loan_error"


class LoanRefused(LoanError):
    """The rules refuse the loan (资格或额度不符)."""

    code = "loan_refused"


@dataclass(frozen=True)
class CoBorrower:
    """共同借款人 as the application names them."""

    id_number: str
    name: str
    relation: str = "spouse"


@dataclass(frozen=True)
class LoanRequest:
    """What the applicant asks for, with the home and the security (amounts in fen)."""

    amount_fen: int
    term_months: int
    method: str
    house_contract_ref: str
    price_fen: int
    area_m2: Decimal
    home_number: int
    security_kind: str
    security_ref: str
    co_borrowers: tuple[CoBorrower, ...] = ()
    commercial_fen: int = 0
    commercial_bank: str = ""
    existing_monthly_debt_fen: int = 0
    payee_name: str = ""
    payee_account: str = ""


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Outcome:
    """What :func:`apply` did."""

    loan_id: int
    loan_ref: str
    allowed: bool
    limit_fen: int
    refusals: tuple[Reason, ...] = ()
    application_id: int | None = None
    limit: LimitResult | None = field(default=None, compare=False)

    @property
    def text_zh(self) -> str:
        return "；".join(r.zh for r in self.refusals)


# --- apply ------------------------------------------------------------------------------------


def apply(
    session: Session,
    *,
    depositor_ref: str,
    request: LoanRequest,
    applicant: Principal,
    channel: str,
    idempotency_key: str,
    on: date | None = None,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> Outcome:
    """申请: check eligibility and the limit; keep a refusal with its reasons, or submit it.

    Idempotent per key: a replay returns the first outcome and writes nothing.
    """
    key = _key(idempotency_key)
    at = now or datetime.now(UTC)
    day = on or at.astimezone(BUSINESS_TZ).date()
    existing = session.scalar(select(Loan).where(Loan.idempotency_key == key))
    if existing is not None:
        return _stored_outcome(existing)
    policy = policy or get_policy()
    method = rules.parse_method(request.method)
    _validate(request)
    depositor = get_depositor(session, depositor_ref=depositor_ref)
    co_rows = [_co_borrower(session, c) for c in request.co_borrowers]
    result, refusals = evaluate(session, depositor, request, co_rows, day, policy)
    allowed = not refusals
    snapshot = policy.on(day)
    row = Loan(
        loan_ref=f"TMP{key[:16]}",
        idempotency_key=key,
        depositor_id=depositor.id,
        depositor_ref=depositor.depositor_ref,
        branch_id=depositor.branch_id,
        status="in_review" if allowed else "refused",
        channel=channel,
        applied_on=day,
        applied_at=at,
        house_contract_ref=request.house_contract_ref.strip().upper(),
        price_fen=request.price_fen,
        area_m2=request.area_m2,
        home_number=request.home_number,
        commercial_fen=request.commercial_fen,
        commercial_bank=request.commercial_bank.strip()[:60],
        existing_monthly_debt_fen=request.existing_monthly_debt_fen,
        requested_fen=request.amount_fen,
        limit_fen=result.limit_fen if result else 0,
        binding_constraint=(
            result.binding_constraint.value if result and result.binding_constraint else ""
        ),
        decision_zh=_decision_zh(result, refusals),
        decision_en=_decision_en(result, refusals),
        term_months=request.term_months,
        method=method.value,
        second_home=request.home_number >= 2,
        annual_rate_pct=(
            result.annual_rate_pct
            if result and result.annual_rate_pct is not None
            else snapshot.loan_rate.rate_pct(
                second_home=request.home_number >= 2, term_months=request.term_months
            )
        ),
        security_kind=request.security_kind,
        security_ref=request.security_ref.strip()[:60],
        payee_name=request.payee_name.strip()[:60],
        payee_account=request.payee_account.replace(" ", "")[:30],
    )
    session.add(row)
    session.flush()
    row.loan_ref = loan_ref(row.id)
    session.add(
        LoanParty(
            loan_id=row.id,
            role="borrower",
            id_number=depositor.id_number,
            name=depositor.name,
            depositor_id=depositor.id,
        )
    )
    for co, found in zip(request.co_borrowers, co_rows, strict=True):
        session.add(
            LoanParty(
                loan_id=row.id,
                role="co_borrower",
                id_number=co.id_number.strip().upper(),
                name=co.name.strip()[:50],
                relation=co.relation.strip()[:20],
                depositor_id=found.id if found else None,
            )
        )
    session.flush()
    if allowed:
        row.application_id = workflow.submit(
            session,
            business_type=BUSINESS_TYPE,
            applicant=applicant,
            channel=channel,
            payload={"loan_id": row.id},
            amount_fen=request.amount_fen,
            subject_ref=depositor.depositor_ref,
            branch_id=depositor.branch_id,
            idempotency_key=f"loan:{key}",
            now=at,
        )
        session.flush()
    record(
        session,
        actor=applicant,
        action="loan.apply" if allowed else "loan.refused",
        object_type="loan",
        object_id=row.id,
        detail={
            "loan": row.loan_ref,
            "depositor": depositor.depositor_ref,
            "requested_fen": request.amount_fen,
            "limit_fen": row.limit_fen,
            "refusals": [r.code for r in refusals],
        },
        now=at,
    )
    return Outcome(
        row.id, row.loan_ref, allowed, row.limit_fen, tuple(refusals), row.application_id, result
    )


def evaluate(
    session: Session,
    depositor: Depositor,
    request: LoanRequest,
    co_rows: list[Depositor | None],
    day: date,
    policy: Policy,
) -> tuple[LimitResult | None, list[Reason]]:
    """The limit check and every refusal of ``request`` on ``day`` (writes nothing)."""
    family = frozenset(
        {depositor.id_number, *(c.id_number.strip().upper() for c in request.co_borrowers)}
    )
    spouse = co_rows[0] if co_rows else None
    return assess(
        depositor,
        request,
        day,
        policy,
        outstanding=[loan.loan_ref for loan in hpf_loan_directory(session, family)],
        applicant=contributor(session, depositor, day),
        co_borrower=contributor(session, spouse, day) if spouse is not None else None,
    )


class Applicant(Protocol):
    """What :func:`assess` reads of the applicant's account (a ``Depositor`` row or the batch
    path's plain record)."""

    @property
    def status(self) -> str: ...

    @property
    def birth_date(self) -> date: ...

    @property
    def sex(self) -> str: ...


def assess(
    depositor: Applicant,
    request: LoanRequest,
    day: date,
    policy: Policy,
    *,
    outstanding: Sequence[str],
    applicant: Contributor,
    co_borrower: Contributor | None,
) -> tuple[LimitResult | None, list[Reason]]:
    """:func:`evaluate` on facts already read: the HPF loans outstanding of the family (their
    贷款账号) and the contributors' sides of the limit (pure; the batch path shares it)."""
    refusals: list[Reason] = []
    if depositor.status != "01":
        refusals.append(
            Reason(
                "account_not_active",
                f"个人账户状态为 {depositor.status}，须为正常缴存（01）才能申请贷款",
                f"the account status is {depositor.status}; loans need 01 (active)",
            )
        )
    for ref in outstanding:
        refusals.append(
            Reason(
                "hpf_loan_outstanding",
                f"借款人或共同借款人已有未结清的公积金贷款 {ref}，不能再申请",
                f"a borrower already has HPF loan {ref} outstanding",
            )
        )
    snapshot = policy.on(day)
    application = LimitApplication(
        applicant=applicant,
        price_fen=request.price_fen,
        area_m2=request.area_m2,
        home_number=request.home_number,
        age=_age(depositor.birth_date, day),
        male=depositor.sex == "M",
        co_borrower=co_borrower,
        term_months=request.term_months,
        existing_monthly_debt_fen=request.existing_monthly_debt_fen,
    )
    result = loan_limit(application, snapshot.loan_limit, snapshot.loan_rate)
    refusals.extend(Reason(r.code, r.zh, r.en) for r in result.refusals)
    if result.eligible:
        if request.term_months > result.max_term_months:
            refusals.append(
                Reason(
                    "term_too_long",
                    f"申请期限 {request.term_months} 个月超过最长可贷期限 "
                    f"{result.max_term_months} 个月",
                    f"the term of {request.term_months} months exceeds the longest allowed, "
                    f"{result.max_term_months}",
                )
            )
        if request.amount_fen > result.limit_fen:
            refusals.append(
                Reason(
                    "over_limit",
                    f"申请金额 {format_yuan(request.amount_fen, grouping=True)} 元超过可贷额度 "
                    f"{format_yuan(result.limit_fen, grouping=True)} 元",
                    f"the amount asked for, {format_yuan(request.amount_fen)}, exceeds the limit "
                    f"{format_yuan(result.limit_fen)}",
                )
            )
        ltv = result.amount(Constraint.LOAN_TO_VALUE)
        if request.commercial_fen and request.amount_fen + request.commercial_fen > ltv:
            refusals.append(
                Reason(
                    "combination_over_ltv",
                    f"组合贷款合计 {format_yuan(request.amount_fen + request.commercial_fen)} 元"
                    f"超过房价贷款成数上限 {format_yuan(ltv)} 元",
                    "the HPF and commercial parts together exceed the loan-to-value bound "
                    f"{format_yuan(ltv)}",
                )
            )
    return result, refusals


def contributor(session: Session, depositor: Depositor, day: date) -> Contributor:
    """A depositor's side of the limit: balance, monthly contribution and history on ``day``."""
    months = {
        m if isinstance(m, date) else date.fromisoformat(str(m))
        for (m,) in session.execute(
            select(Remittance.month)
            .join(RemittanceLine, RemittanceLine.remittance_id == Remittance.id)
            .where(
                RemittanceLine.depositor_id == depositor.id,
                Remittance.status == "posted",
                Remittance.month <= day,
            )
            .distinct()
        )
    }
    balance = balance_fen(session, depositor)
    latest = session.execute(
        select(
            RemittanceLine.employer_fen,
            RemittanceLine.employee_fen,
            Employer.employer_rate_pct,
            Employer.employee_rate_pct,
        )
        .join(Remittance, Remittance.id == RemittanceLine.remittance_id)
        .join(Employer, Employer.id == Remittance.employer_id)
        .where(
            RemittanceLine.depositor_id == depositor.id,
            Remittance.status == "posted",
            Remittance.kind == "remittance",
            Remittance.month <= day,
        )
        .order_by(Remittance.month.desc(), Remittance.id.desc())
        .limit(1)
    ).first()
    return contributor_of(
        balance,
        months,
        None if latest is None else (int(latest[0]) + int(latest[1]), latest[2], latest[3]),
        day,
    )


def contributor_of(
    balance: int,
    months: Iterable[date],
    latest: tuple[int, Decimal, Decimal] | None,
    day: date,
) -> Contributor:
    """A side of the limit from its facts: the balance, the months on posted lists (up to
    ``day``) and the latest remittance line's (total contribution, employer rate, employee rate).
    """
    ordered = sorted(set(months), reverse=True)
    consecutive = 0
    this_month = day.replace(day=1)
    if ordered and ordered[0] >= add_months(this_month, -1):
        expected = ordered[0]
        for month in ordered:
            if month != expected:
                break
            consecutive += 1
            expected = add_months(expected, -1)
    if latest is None:
        return Contributor.from_wage(balance, 0, 0, consecutive, len(ordered))
    total, er, ee = latest
    return Contributor.from_contribution(
        balance, total, Decimal(er), Decimal(ee), consecutive, len(ordered)
    )


# --- decide, approve, disburse ----------------------------------------------------------------


def decide(
    session: Session,
    loan_id: int,
    *,
    actor: Principal,
    action: str,
    comment: str = "",
    now: datetime | None = None,
) -> Loan:
    """A staff step on the loan's application (受理/复核/审批/退回); the last one signs the contract."""
    row = get(session, loan_id)
    if row.application_id is None or row.status != "in_review":
        raise LoanError(
            f"贷款申请 {row.loan_ref} 不在审核中", f"loan {row.loan_ref} is not in review"
        )
    view = workflow.act(
        session, row.application_id, actor=actor, action=action, comment=comment, now=now
    )
    if view.status in (REJECTED, WITHDRAWN):
        row.status = "rejected" if view.status == REJECTED else "withdrawn"
        if comment:
            row.decision_zh = f"不予受理：{comment}"
        session.flush()
    session.refresh(row)
    return row


def approve(
    session: Session, loan_id: int, *, approved_by: str, now: datetime | None = None
) -> Loan:
    """合同签订: the workflow's completion calls this in its transaction.

    Checks the one-loan rule again under the borrower's row lock (two applications of one
    family cannot both be signed) and gives the loan its contract number.
    """
    at = now or datetime.now(UTC)
    row = lock_loan(session, loan_id)
    if row.status != "in_review":
        raise LoanError(
            f"贷款申请 {row.loan_ref} 状态为 {row.status}，不能审批",
            f"loan {row.loan_ref} is {row.status} and cannot be approved",
        )
    lock_depositor(session, row.depositor_id)
    others = [
        fact
        for fact in hpf_loan_directory(session, frozenset(party_ids(session, row.id)))
        if fact.loan_ref != row.loan_ref
    ]
    if others:
        raise LoanRefused(
            f"借款人或共同借款人已有未结清的公积金贷款 {others[0].loan_ref}，不能签订合同",
            f"a borrower already has HPF loan {others[0].loan_ref} outstanding",
        )
    row.status = "approved"
    row.contract_ref = f"JK{row.applied_on.year}{row.id:010d}"
    row.approved_at = at
    session.flush()
    record(
        session,
        actor=None,
        action="loan.approve",
        object_type="loan",
        object_id=row.id,
        detail={"loan": row.loan_ref, "contract": row.contract_ref, "approved_by": approved_by},
        now=at,
    )
    return row


def disburse(
    session: Session,
    loan_id: int,
    *,
    on: date,
    actor: Principal,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> Loan:
    """发放: post the loan to the ledger and store its schedule; a replay changes nothing."""
    row = lock_loan(session, loan_id)
    if row.status in ("active", "settled") and row.disburse_journal_id is not None:
        return row
    if row.status != "approved":
        raise LoanError(
            f"贷款 {row.loan_ref} 状态为 {row.status}，不能发放",
            f"loan {row.loan_ref} is {row.status} and cannot be disbursed",
        )
    policy = policy or get_policy()
    entry = policy.on(on).loan_rate
    rate = entry.rate_pct(second_home=row.second_home, term_months=row.term_months)
    principal = row.requested_fen
    first_due = add_months(on, 1, day=on.day)
    schedule = rules.repayment_schedule(row.method, principal, rate, row.term_months, first_due)
    borrower = session.get(Depositor, row.depositor_id)
    assert borrower is not None
    open_subsidiary(
        session,
        kind="loan",
        ref=row.loan_ref,
        name=f"{borrower.name}公积金贷款",
        branch_id=row.branch_id,
        opened_on=on,
    )
    row.disburse_journal_id = post(
        session,
        JournalDraft(
            DISBURSE_KIND,
            row.branch_id,
            on,
            on,
            (debit(loan_account(row), principal), credit(chart.HPF_BANK_DEPOSITS, principal)),
            memo=f"贷款发放 {row.loan_ref} 合同 {row.contract_ref}",
        ),
        idempotency_key=f"loan:{row.id}:disburse",
    ).journal_id
    level = (
        rules.annuity_payment(principal, rate, row.term_months)
        if (row.method == rules.RepaymentMethod.ANNUITY.value)
        else schedule[0].principal
    )
    row.status = "active"
    row.annual_rate_pct = rate
    row.rate_effective = entry.effective
    row.principal_fen = principal
    row.balance_fen = principal
    row.disbursed_on = on
    row.disbursed_month = on.replace(day=1)
    row.first_due = first_due
    row.last_n = row.term_months
    row.paid_n = 0
    row.level_fen = level
    store_schedule(session, row.id, schedule, rate)
    session.add(
        RateChange(
            loan_id=row.id,
            applies_from=on,
            rate_pct=rate,
            policy_effective=entry.effective,
            reason="contract",
            level_fen=level,
        )
    )
    session.flush()
    record(
        session,
        actor=actor,
        action="loan.disburse",
        object_type="loan",
        object_id=row.id,
        detail={
            "loan": row.loan_ref,
            "principal_fen": principal,
            "rate_pct": str(rate),
            "journal": row.disburse_journal_id,
            "installments": len(schedule),
        },
        now=now,
    )
    return row


# --- schedule storage -------------------------------------------------------------------------


def store_schedule(
    session: Session, loan_id: int, schedule: list[rules.Installment], rate: Decimal
) -> None:
    """Insert schedule rows for ``loan_id`` (the caller removed the rows they replace)."""
    if not schedule:
        return
    session.execute(insert(Installment), schedule_rows(loan_id, schedule, rate))


def schedule_rows(
    loan_id: int, schedule: Iterable[rules.Installment], rate: Decimal
) -> list[dict[str, Any]]:
    """``loan_installment`` rows of ``schedule`` at ``rate``, all still to pay (also for the
    set-based batches that insert many loans' schedules at once)."""
    return [
        {
            "loan_id": loan_id,
            "n": item.n,
            "due_date": item.due_date,
            "principal_fen": item.principal,
            "interest_fen": item.interest,
            "balance_after_fen": item.balance,
            "rate_pct": rate,
            "status": "scheduled",
            "paid_principal_fen": 0,
            "paid_interest_fen": 0,
            "paid_penalty_fen": 0,
            "days_overdue": 0,
            "penalty_fen": 0,
        }
        for item in schedule
    ]


def installments(session: Session, loan_id: int) -> list[Installment]:
    """The stored schedule of a loan, in order."""
    return list(
        session.scalars(
            select(Installment).where(Installment.loan_id == loan_id).order_by(Installment.n)
        )
    )


# --- reading ----------------------------------------------------------------------------------


def loan_ref(loan_id: int) -> str:
    """贷款账号 of a loan id."""
    return f"DK{loan_id:010d}"


def loan_account(loan: Loan) -> str:
    """The loan's subsidiary account code ``121-<贷款账号>``."""
    return chart.subsidiary_code(chart.ENTRUSTED_LOANS, loan.loan_ref)


def get(session: Session, loan_id: int) -> Loan:
    row = session.get(Loan, loan_id)
    if row is None:
        raise LoanError(f"贷款不存在：{loan_id}", f"no such loan: {loan_id}")
    return row


def find(session: Session, ref: str) -> Loan:
    """A loan by 贷款账号, 借款合同编号 or id."""
    text = (ref or "").strip().upper()
    row = session.scalar(select(Loan).where((Loan.loan_ref == text) | (Loan.contract_ref == text)))
    if row is None and text.isdigit():
        row = session.get(Loan, int(text))
    if row is None:
        raise LoanError(f"贷款不存在：{ref}", f"no such loan: {ref}")
    return row


def party_ids(session: Session, loan_id: int) -> list[str]:
    return list(session.scalars(select(LoanParty.id_number).where(LoanParty.loan_id == loan_id)))


def outstanding_total(session: Session) -> int:
    """Σ principal outstanding of active loans (the control account 121's balance)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Loan.balance_fen), 0)).where(Loan.status == "active")
        )
        or 0
    )


# --- helpers ----------------------------------------------------------------------------------


def _validate(request: LoanRequest) -> None:
    for value, zh in (
        (request.amount_fen, "申请金额"),
        (request.price_fen, "房价"),
        (request.term_months, "贷款期限"),
        (request.home_number, "第几套住房"),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidInput(f"{zh}必须是正整数", f"{zh} must be a positive integer")
    if not 1 <= request.term_months <= rules.MAX_MONTHS:
        raise InvalidInput(
            f"贷款期限须在 1 至 {rules.MAX_MONTHS} 个月之间", "term must be 1..360 months"
        )
    for value, zh in (
        (request.commercial_fen, "商业贷款金额"),
        (request.existing_monthly_debt_fen, "已有月还款额"),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{zh}必须是非负整数分", f"{zh} must be non-negative fen")
    if request.security_kind not in SECURITY_KINDS:
        raise InvalidInput(
            f"担保方式应为 mortgage 抵押 或 guarantee 保证：{request.security_kind}",
            f"security must be mortgage or guarantee: {request.security_kind}",
        )
    if not request.security_ref.strip():
        raise InvalidInput("须登记抵押或保证信息", "the mortgage or guarantee must be recorded")
    if not request.house_contract_ref.strip() or len(request.house_contract_ref.strip()) > 60:
        raise InvalidInput("购房合同编号不能为空且不超过60个字符", "house contract ref 1-60 chars")
    if len(request.co_borrowers) > 3:
        raise InvalidInput("共同借款人最多3人", "at most three co-borrowers")


def _co_borrower(session: Session, co: CoBorrower) -> Depositor | None:
    id_number = co.id_number.strip().upper()
    if len(id_number) != 18 or not co.name.strip():
        raise InvalidInput(
            "共同借款人须有18位身份证号和姓名", "a co-borrower needs an 18-digit ID and a name"
        )
    return session.scalar(select(Depositor).where(Depositor.id_number == id_number))


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _decision_zh(result: LimitResult | None, refusals: list[Reason]) -> str:
    parts = [r.zh for r in refusals] or [r.zh for r in (result.reasons if result else ())]
    return "；".join(parts)


def _decision_en(result: LimitResult | None, refusals: list[Reason]) -> str:
    parts = [r.en for r in refusals] or [r.en for r in (result.reasons if result else ())]
    return "; ".join(parts)


def _stored_outcome(row: Loan) -> Outcome:
    refusals = (
        (Reason("refused", row.decision_zh, row.decision_en),) if row.status == "refused" else ()
    )
    return Outcome(
        row.id, row.loan_ref, row.status != "refused", row.limit_fen, refusals, row.application_id
    )


def lock_loan(session: Session, loan_id: int) -> Loan:
    stmt = select(Loan).where(Loan.id == loan_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    row = session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise LoanError(f"贷款不存在：{loan_id}", f"no such loan: {loan_id}")
    return row


def lock_depositor(session: Session, depositor_id: int) -> Depositor:
    """The depositor row, locked for the rest of the transaction (serializes its balance use)."""
    stmt = select(Depositor).where(Depositor.id == depositor_id)
    if not is_sqlite(session):  # SQLite already holds the write lock (BEGIN IMMEDIATE)
        stmt = stmt.with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


def _key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 100:
        raise InvalidInput(
            "幂等键不能为空且不超过100个字符", "idempotency key must be 1-100 characters"
        )
    return key


def decision_json(outcome: Outcome) -> str:
    """The outcome as JSON (CLI, logs)."""
    return json.dumps(
        {
            "loan": outcome.loan_ref,
            "allowed": outcome.allowed,
            "limit": format_yuan(outcome.limit_fen),
            "refusals": [{"code": r.code, "zh": r.zh, "en": r.en} for r in outcome.refusals],
        },
        ensure_ascii=False,
    )
