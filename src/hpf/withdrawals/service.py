"""Withdrawal use cases (提取业务): apply with the automatic check, decide through the workflow,
post on approval, standing orders for a loan (约定提取还贷). domain.md §5.

Flow: :func:`apply` checks the request with :func:`hpf.withdrawals.rules.evaluate`; a refusal is
kept with its reason (Chinese and English) and goes no further; an eligible request becomes a
workflow application of business type ``withdrawal`` (amount = the amount for the approval band).
:func:`decide` takes the staff steps; the last one completes the application and :func:`approve`
runs inside the same transaction: it locks the person's depositor row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serializes writers), checks the rules again on the
balance as it is now, and posts debit ``201-<个人账号>`` / credit 21999 其他应付款项 (payable to the
person until the bank pays, :mod:`hpf.withdrawals.payments`). So two withdrawals racing for one
balance cannot both be approved. Closing types first post closure interest (销户结息) through
:func:`hpf.interest.service.closure_interest`, then move the whole balance.

Loans seam: the rules need the loans of the person and the spouse. The default
:data:`LoanDirectory` is :func:`hpf.loans.directory.hpf_loan_directory` (the loans approved or
outstanding on which they are borrowers or co-borrowers); :func:`use_loan_directory` swaps it (tests).
A commercial loan for a repayment withdrawal is declared with the application and checked against
its contract by the reviewer. Nothing here commits; every change is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.db.engine import is_sqlite
from hpf.deposits.depositors import balance_fen, get_depositor, ledger_code
from hpf.deposits.models import Depositor
from hpf.errors import DomainError, InvalidInput
from hpf.interest.service import CLOSURE_KIND, closure_interest
from hpf.ledger import chart
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import post
from hpf.loans.directory import hpf_loan_directory
from hpf.policy.loader import Policy, get_policy
from hpf.withdrawals import rules
from hpf.withdrawals.models import COUNTING_STATUSES, ContractUse, StandingOrder, Withdrawal
from hpf.withdrawals.rules import AccountFacts, Decision, LoanFact, PriorWithdrawal, Request
from hpf.workflow import service as workflow
from hpf.workflow.rules import REJECTED, WITHDRAWN, is_online_channel
from hpf.workflow.stats import BUSINESS_TZ

BUSINESS_TYPE = "withdrawal"
PAYABLE = chart.OTHER_PAYABLES_MISC
"""21999 其他应付款项: approved withdrawals waiting for the bank."""

LoanDirectory = Callable[[Session, frozenset[str]], tuple[LoanFact, ...]]
"""Given ID numbers (the person, the spouse), the HPF loans any of them owes (the loans seam)."""


def no_hpf_loans(session: Session, id_numbers: frozenset[str]) -> tuple[LoanFact, ...]:
    """A directory that finds no HPF loan (for tests of the rules without loans)."""
    return ()


_loan_directory: list[LoanDirectory] = [hpf_loan_directory]


def use_loan_directory(directory: LoanDirectory) -> LoanDirectory:
    """Install the loans area's directory (the seam); returns the one it replaces."""
    previous = _loan_directory[0]
    _loan_directory[0] = directory
    return previous


def loan_directory() -> LoanDirectory:
    """The directory in use."""
    return _loan_directory[0]


class WithdrawalError(DomainError):
    """A withdrawal action is not possible (提取业务错误)."""

    code = "withdrawal_error"


class WithdrawalRefused(WithdrawalError):
    """The rules refuse the withdrawal (at approval: the balance or the contract changed)."""

    code = "withdrawal_refused"


@dataclass(frozen=True)
class Application:
    """A request as a counter or the online hall takes it (amounts in fen)."""

    type: str
    documents: tuple[str, ...] = ()
    amount_fen: int | None = None
    event_date: date | None = None
    cost_fen: int | None = None
    contract_ref: str | None = None
    rent_months: int = 0
    loan_ref: str | None = None
    loan_borrower_id: str | None = None
    """For a commercial loan: the borrower's ID number as the loan contract shows it."""
    loan_outstanding_fen: int | None = None
    """For a commercial loan: the outstanding amount as the bank's statement shows it."""
    spouse_id: str | None = None
    heir_id: str | None = None
    heir_name: str | None = None
    heir_card: str | None = None
    owns_home: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What :func:`apply` did: the withdrawal, the check's decision, the workflow application."""

    withdrawal_id: int
    decision: Decision
    application_id: int | None


def apply(
    session: Session,
    *,
    depositor_ref: str,
    application: Application,
    applicant: Principal,
    channel: str,
    idempotency_key: str,
    on: date | None = None,
    policy: Policy | None = None,
    loans: LoanDirectory | None = None,
    now: datetime | None = None,
) -> Outcome:
    """申请: check the request; keep a refusal with its reason, or submit it for review.

    Idempotent per key: a replay returns the first outcome and writes nothing.
    """
    key = _key(idempotency_key)
    at = now or datetime.now(UTC)
    day = on or at.astimezone(BUSINESS_TZ).date()
    existing = session.scalar(select(Withdrawal).where(Withdrawal.idempotency_key == key))
    if existing is not None:
        return Outcome(existing.id, _stored_decision(existing), existing.application_id)
    policy = policy or get_policy()
    depositor = get_depositor(session, depositor_ref=depositor_ref)
    request, decision = _evaluate(
        session, depositor, application, day, policy, loans, exclude_id=None
    )
    payee_name, payee_card = _payee(depositor, application, request.type)
    row = Withdrawal(
        idempotency_key=key,
        depositor_id=depositor.id,
        depositor_ref=depositor.depositor_ref,
        branch_id=depositor.branch_id,
        type=request.type.value,
        reason_code=decision.reason_code,
        closes_account=decision.closes_account,
        channel=channel,
        fully_online=is_online_channel(channel),
        status="in_review" if decision.allowed else "refused",
        applied_on=day,
        applied_at=at,
        requested_fen=application.amount_fen,
        amount_fen=decision.amount_fen,
        contract_ref=request.contract_ref,
        loan_ref=request.loan_ref,
        evidence=json.dumps(_evidence(application), ensure_ascii=False, sort_keys=True),
        decision_zh=decision.text_zh,
        decision_en=decision.text_en,
        payee_name=payee_name,
        payee_card=payee_card,
    )
    session.add(row)
    session.flush()
    if decision.allowed:
        if request.contract_ref and request.cost_fen:
            _contract_row(session, request.contract_ref, request.cost_fen, row.id)
        row.application_id = workflow.submit(
            session,
            business_type=BUSINESS_TYPE,
            applicant=applicant,
            channel=channel,
            payload={"withdrawal_id": row.id},
            amount_fen=decision.amount_fen,
            subject_ref=depositor.depositor_ref,
            branch_id=depositor.branch_id,
            idempotency_key=f"withdrawal:{key}",
            now=at,
        )
        session.flush()
    record(
        session,
        actor=applicant,
        action="withdrawal.apply" if decision.allowed else "withdrawal.refused",
        object_type="withdrawal",
        object_id=row.id,
        detail={
            "depositor": depositor.depositor_ref,
            "type": row.type,
            "amount_fen": decision.amount_fen,
            "refusals": [r.code for r in decision.refusals],
        },
        now=at,
    )
    return Outcome(row.id, decision, row.application_id)


def check(
    session: Session,
    *,
    depositor_ref: str,
    application: Application,
    on: date,
    policy: Policy | None = None,
    loans: LoanDirectory | None = None,
) -> Decision:
    """The automatic check alone (预审), writing nothing."""
    depositor = get_depositor(session, depositor_ref=depositor_ref)
    return _evaluate(
        session, depositor, application, on, policy or get_policy(), loans, exclude_id=None
    )[1]


def decide(
    session: Session,
    withdrawal_id: int,
    *,
    actor: Principal,
    action: str,
    comment: str = "",
    at_counter: bool = False,
    now: datetime | None = None,
) -> Withdrawal:
    """A staff step on the withdrawal's application (受理/复核/审批/退回/不予受理).

    The last step approves: the amount is posted from the person's account (see :func:`approve`).
    """
    row = _get(session, withdrawal_id)
    if row.application_id is None or row.status != "in_review":
        raise WithdrawalError(
            f"提取申请 {withdrawal_id} 不在审核中", f"withdrawal {withdrawal_id} is not in review"
        )
    view = workflow.act(
        session,
        row.application_id,
        actor=actor,
        action=action,
        comment=comment,
        at_counter=at_counter,
        now=now,
    )
    if view.status in (REJECTED, WITHDRAWN):
        row.status = "rejected" if view.status == REJECTED else "withdrawn"
        row.decision_zh = f"不予受理：{comment}" if comment else row.decision_zh
        session.flush()
    session.refresh(row)
    return row


def approve(
    session: Session,
    withdrawal_id: int,
    *,
    fully_online: bool,
    approved_by: str,
    now: datetime | None = None,
    policy: Policy | None = None,
    loans: LoanDirectory | None = None,
) -> Withdrawal:
    """Post an approved withdrawal (the workflow's completion calls this, in its transaction).

    Locks the depositor row, checks the rules on the balance as it is now, and posts; raises
    WithdrawalRefused (nothing written) when the balance or the contract no longer allow it.
    """
    at = now or datetime.now(UTC)
    day = at.astimezone(BUSINESS_TZ).date()
    policy = policy or get_policy()
    row = _get(session, withdrawal_id, lock=True)
    if row.status != "in_review":
        raise WithdrawalError(
            f"提取申请 {withdrawal_id} 状态为 {row.status}，不能审批",
            f"withdrawal {withdrawal_id} is {row.status} and cannot be approved",
        )
    depositor = _lock_depositor(session, row.depositor_id)
    if row.contract_ref:
        _lock_contract(session, row.contract_ref)
    # eligibility windows, frequency and yearly caps count from the application day; the
    # balance, other withdrawals and the contract's use are as they are now, under the lock
    request, decision = _evaluate(
        session,
        depositor,
        _application_from(json.loads(row.evidence)),
        row.applied_on,
        policy,
        loans,
        exclude_id=row.id,
        amount_fen=None if row.closes_account else row.amount_fen,
    )
    if not decision.allowed:
        raise WithdrawalRefused(
            f"提取申请 {row.id} 不能审批通过：{decision.text_zh}",
            f"withdrawal {row.id} cannot be approved: {decision.text_en}",
        )
    code = ledger_code(depositor)
    if row.closes_account:
        interest = closure_interest(session, code, day, policy)
        if interest:
            row.interest_journal_id = post(
                session,
                JournalDraft(
                    CLOSURE_KIND,
                    depositor.branch_id,
                    day,
                    day,
                    (debit(chart.EXPENSE_DEPOSITOR_INTEREST, interest), credit(code, interest)),
                    memo=f"提取销户结息 提取 {row.id}",
                ),
                idempotency_key=f"withdrawal:{row.id}:interest",
            ).journal_id
        row.interest_fen = interest
        amount = balance_fen(session, depositor)
    else:
        amount = row.amount_fen
    kind = "closing_withdrawal" if row.closes_account else "partial_withdrawal"
    row.journal_id = post(
        session,
        JournalDraft(
            kind,
            depositor.branch_id,
            day,
            day,
            (debit(code, amount), credit(PAYABLE, amount)),
            memo=f"{rules.TYPES[request.type].name_zh}提取 {row.id}",
        ),
        idempotency_key=f"withdrawal:{row.id}:debit",
    ).journal_id
    row.amount_fen = amount
    row.status = "approved"
    row.approved_at = at
    row.fully_online = fully_online
    row.decision_zh, row.decision_en = decision.text_zh, decision.text_en
    session.flush()
    record(
        session,
        actor=None,
        action="withdrawal.approve",
        object_type="withdrawal",
        object_id=row.id,
        detail={
            "amount_fen": amount,
            "interest_fen": row.interest_fen,
            "journal": row.journal_id,
            "approved_by": approved_by,
        },
        now=at,
    )
    return row


# --- facts for the rules ------------------------------------------------------------------------


def _evaluate(
    session: Session,
    depositor: Depositor,
    application: Application,
    day: date,
    policy: Policy,
    loans: LoanDirectory | None,
    *,
    exclude_id: int | None,
    amount_fen: int | None = None,
) -> tuple[Request, Decision]:
    request = _request(application, day, amount_fen)
    facts = account_facts(
        session,
        depositor,
        request,
        loans,
        declared=_declared_loan(application),
        exclude_id=exclude_id,
    )
    return request, rules.evaluate(request, facts, policy.on(day).withdrawal)


def account_facts(
    session: Session,
    depositor: Depositor,
    request: Request,
    loans: LoanDirectory | None = None,
    *,
    declared: LoanFact | None = None,
    exclude_id: int | None = None,
) -> AccountFacts:
    """The rules' view of the account: balance, earlier withdrawals, loans, contract use."""
    counting = select(Withdrawal.type, Withdrawal.applied_on, Withdrawal.amount_fen).where(
        Withdrawal.depositor_id == depositor.id,
        Withdrawal.status.in_(COUNTING_STATUSES),
    )
    if exclude_id is not None:
        counting = counting.where(Withdrawal.id != exclude_id)
    prior = tuple(
        PriorWithdrawal(rules.parse_type(t), d, int(a)) for t, d, a in session.execute(counting)
    )
    family = frozenset(x for x in (depositor.id_number, request.spouse_id) if x)
    found = list((loans or loan_directory())(session, family))
    if declared is not None:
        found.append(declared)
    used, price = 0, None
    if request.contract_ref:
        used_stmt = select(func.coalesce(func.sum(Withdrawal.amount_fen), 0)).where(
            Withdrawal.contract_ref == request.contract_ref,
            Withdrawal.status.in_(COUNTING_STATUSES),
        )
        if exclude_id is not None:
            used_stmt = used_stmt.where(Withdrawal.id != exclude_id)
        used = int(session.scalar(used_stmt) or 0)
        price = session.scalar(
            select(ContractUse.price_fen).where(ContractUse.contract_ref == request.contract_ref)
        )
    return AccountFacts(
        id_number=depositor.id_number,
        status=depositor.status,
        balance_fen=balance_fen(session, depositor),
        frozen_on=depositor.frozen_on,
        prior=prior,
        loans=tuple(found),
        contract_used_fen=used,
        contract_price_fen=None if price is None else int(price),
    )


def _declared_loan(application: Application) -> LoanFact | None:
    """A commercial loan declared with the application (checked against its contract in review)."""
    if (
        application.loan_ref
        and application.loan_borrower_id
        and application.loan_outstanding_fen is not None
    ):
        return LoanFact(
            application.loan_ref,
            "commercial",
            frozenset({application.loan_borrower_id.strip().upper()}),
            application.loan_outstanding_fen,
        )
    return None


def _request(application: Application, day: date, amount_fen: int | None = None) -> Request:
    try:
        wtype = rules.parse_type(application.type)
    except ValueError:
        names = "、".join(t.value for t in rules.WithdrawalType)
        raise InvalidInput(
            f"未知的提取类型：{application.type}（可选：{names}）",
            f"unknown withdrawal type: {application.type}",
        ) from None
    contract = (application.contract_ref or "").strip().upper() or None
    if contract is not None and len(contract) > 60:
        raise InvalidInput("合同编号不超过60个字符", "the contract number is at most 60 characters")
    if application.rent_months < 0 or application.rent_months > 120:
        raise InvalidInput("租房月数无效", "invalid number of rent months")
    return Request(
        type=wtype,
        on=day,
        amount_fen=application.amount_fen if amount_fen is None else amount_fen,
        documents=frozenset(d.strip() for d in application.documents),
        event_date=application.event_date,
        cost_fen=application.cost_fen,
        contract_ref=contract,
        rent_months=application.rent_months,
        loan_ref=(application.loan_ref or "").strip() or None,
        spouse_id=(application.spouse_id or "").strip().upper() or None,
        heir_id=(application.heir_id or "").strip().upper() or None,
        owns_home=application.owns_home,
    )


def _payee(
    depositor: Depositor, application: Application, wtype: rules.WithdrawalType
) -> tuple[str, str]:
    if wtype == rules.WithdrawalType.DEATH:
        name, card = application.heir_name or "", application.heir_card or ""
    else:
        name, card = depositor.name, depositor.bank_card
    card = card.replace(" ", "")
    if not card.isdigit() or not 12 <= len(card) <= 25:
        who = "继承人" if wtype == rules.WithdrawalType.DEATH else "本人"
        raise InvalidInput(
            f"未登记有效的{who}银行卡号，无法付款", "no valid bank card for the payee"
        )
    if not name.strip():
        raise InvalidInput("收款人姓名不能为空", "the payee's name is required")
    return name.strip()[:50], card


def _evidence(application: Application) -> dict[str, Any]:
    data = asdict(application)
    for key in ("event_date",):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    data["documents"] = list(application.documents)
    return data


def _application_from(evidence: dict[str, Any]) -> Application:
    data = dict(evidence)
    if data.get("event_date"):
        data["event_date"] = date.fromisoformat(data["event_date"])
    data["documents"] = tuple(data.get("documents", ()))
    return Application(**data)


def _stored_decision(row: Withdrawal) -> Decision:
    wtype = rules.parse_type(row.type)
    refusals = (
        ()
        if row.status != "refused"
        else (rules.Refusal("refused", row.decision_zh, row.decision_en),)
    )
    return Decision(
        wtype, row.reason_code, row.closes_account, row.amount_fen, row.amount_fen, refusals
    )


def _contract_row(session: Session, contract_ref: str, price_fen: int, withdrawal_id: int) -> None:
    if session.get(ContractUse, contract_ref) is None:
        with session.begin_nested():
            session.add(
                ContractUse(
                    contract_ref=contract_ref,
                    price_fen=price_fen,
                    first_withdrawal_id=withdrawal_id,
                )
            )


def _lock_contract(session: Session, contract_ref: str) -> None:
    stmt = select(ContractUse.contract_ref).where(ContractUse.contract_ref == contract_ref)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    session.execute(stmt)


def _lock_depositor(session: Session, depositor_id: int) -> Depositor:
    """The depositor row, locked for the rest of the transaction (serializes its withdrawals)."""
    stmt = select(Depositor).where(Depositor.id == depositor_id)
    if not is_sqlite(session):  # SQLite already holds the write lock (BEGIN IMMEDIATE)
        stmt = stmt.with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


def _get(session: Session, withdrawal_id: int, *, lock: bool = False) -> Withdrawal:
    stmt = select(Withdrawal).where(Withdrawal.id == withdrawal_id)
    if lock and not is_sqlite(session):
        stmt = stmt.with_for_update()
    row = session.scalars(stmt.execution_options(populate_existing=lock)).one_or_none()
    if row is None:
        raise WithdrawalError(
            f"提取申请不存在：{withdrawal_id}", f"no such withdrawal: {withdrawal_id}"
        )
    return row


def get(session: Session, withdrawal_id: int) -> Withdrawal:
    """One withdrawal; raises WithdrawalError when there is none."""
    return _get(session, withdrawal_id)


def _key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 100:
        raise InvalidInput(
            "幂等键不能为空且不超过100个字符", "idempotency key must be 1-100 characters"
        )
    return key


def create_standing_order(
    session: Session,
    *,
    depositor_ref: str,
    loan_ref: str,
    monthly_fen: int,
    starts_on: date,
    actor: Principal,
    spouse_id: str | None = None,
    loan_borrower_id: str | None = None,
    loan_outstanding_fen: int | None = None,
    policy: Policy | None = None,
    loans: LoanDirectory | None = None,
    now: datetime | None = None,
) -> StandingOrder:
    """约定提取还贷: record a monthly withdrawal towards the person's (or spouse's) loan.

    The monthly run that pays each installment is :func:`hpf.loans.standing.run_standing_orders`;
    this records the agreement after :func:`hpf.withdrawals.rules.check_standing_order` allows it.
    """
    policy = policy or get_policy()
    depositor = get_depositor(session, depositor_ref=depositor_ref)
    application = Application(
        type=rules.WithdrawalType.LOAN_REPAYMENT.value,
        loan_ref=loan_ref,
        spouse_id=spouse_id,
        loan_borrower_id=loan_borrower_id,
        loan_outstanding_fen=loan_outstanding_fen,
    )
    request = _request(application, starts_on)
    facts = account_facts(session, depositor, request, loans, declared=_declared_loan(application))
    refusals = rules.check_standing_order(
        facts,
        loan_ref=loan_ref.strip(),
        monthly_fen=monthly_fen,
        spouse_id=request.spouse_id,
        policy=policy.on(starts_on).withdrawal,
    )
    if refusals:
        raise WithdrawalRefused(
            "不能办理约定提取还贷：" + "；".join(r.zh for r in refusals),
            "standing order refused: " + "; ".join(r.en for r in refusals),
        )
    order = StandingOrder(
        depositor_id=depositor.id,
        loan_ref=loan_ref.strip(),
        spouse_id=request.spouse_id,
        monthly_fen=monthly_fen,
        starts_on=starts_on,
        status="active",
        created_at=now or datetime.now(UTC),
        created_by=actor.login_name[:100],
    )
    session.add(order)
    session.flush()
    record(
        session,
        actor=actor,
        action="withdrawal.standing_order",
        object_type="withdrawal_standing_order",
        object_id=order.id,
        detail={
            "depositor": depositor.depositor_ref,
            "loan": order.loan_ref,
            "monthly_fen": monthly_fen,
        },
    )
    return order
