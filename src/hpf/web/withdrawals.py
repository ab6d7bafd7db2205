"""Withdrawals as the web does them (提取): scoped reads, the apply form, payments, statistics.

Shared by the depositor portal (``portal_withdrawals``), the console (``console_withdrawals``)
and the API (``api_withdrawals``); every change itself is made by :mod:`hpf.withdrawals`.

- Who sees what (数据范围): a depositor only the withdrawals of their own account
  (``depositor_ref``); staff holding ``workflow.read`` (or ``withdrawal.pay``) those of their branch
  (all when whole-center). Anything else answers 404 exactly like a missing withdrawal. Staff see
  the person's name and card masked unless they hold ``person.unmask``; every staff view of a
  withdrawal is written to the audit trail (``person.view`` / ``person.unmask``).
- Refusals: the automatic check keeps every reason (joined, in Chinese and English) on the row and
  their codes in the audit record of the refusal; :func:`reasons_of` lists them one by one with
  what the person can do about each (:data:`ADVICE`).
- Idempotency: applying and exporting a payment batch go through
  :func:`hpf.web.contribution_actions.once` (a key per rendered form or the ``Idempotency-Key``
  header); a replay answers the first outcome. The bank's result file is idempotent by itself
  (a line already settled is left alone).
- Staff steps on a withdrawal's application go through :func:`hpf.withdrawals.service.decide`
  (so a rejection also ends the withdrawal); :func:`act_on_application` routes the generic
  application actions there too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.masking import mask_bank_card, mask_id_number, mask_name
from hpf.auth.models import AuditRecord
from hpf.auth.principal import Principal
from hpf.deposits.depositors import balance_fen
from hpf.deposits.models import Depositor
from hpf.errors import DomainError
from hpf.identifiers import parse_id_number
from hpf.money import format_yuan
from hpf.policy.loader import Policy
from hpf.web import application_pages as pages
from hpf.web import batch_files as bf
from hpf.web import contribution_actions as actions
from hpf.web.application_pages import QueueItem, inbox_queue
from hpf.web.batch_files import decode_result_file as decode_result_file
from hpf.web.errors import Problem
from hpf.web.i18n import _ as N_
from hpf.withdrawals import payments, rules, service
from hpf.withdrawals.models import PaymentBatch, PaymentLine, Withdrawal
from hpf.withdrawals.stats import DIMENSIONS, StatRow, withdrawal_stats
from hpf.workflow import service as workflow
from hpf.workflow.service import ApplicationView
from hpf.workflow.stats import BUSINESS_TZ

MAX_PAGE_SIZE = 100
STAFF_READERS = ("workflow.read", "withdrawal.pay")
STATUS_LABELS = {
    "refused": N_("Refused by the automatic check"),
    "in_review": N_("In review"),
    "approved": N_("Approved, awaiting payment"),
    "in_batch": N_("Sent to the bank"),
    "paid": N_("Paid"),
    "failed": N_("Payment failed"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
ADVICE: dict[str, tuple[str, str]] = {
    "type_disabled": (
        "请选择其他提取类型，或咨询 12329 热线。",
        "Choose another type of withdrawal or ask the 12329 hotline.",
    ),
    "account_blocked": (
        "账户冻结期间不能提取；请向作出冻结的法院或管理部了解解除冻结的办法。",
        "No withdrawal while the account is blocked; ask the court or branch that blocked it.",
    ),
    "account_closed": (
        "账户已销户；如有疑问请携带身份证到管理部窗口咨询。",
        "The account is closed; bring your ID card to a branch counter if in doubt.",
    ),
    "documents_missing": (
        "备齐所列材料后重新申请（网上申请请确认已提供每一项材料）。",
        "Gather every listed document and apply again (online: confirm each one).",
    ),
    "event_date_missing": (
        "填写材料上载明的日期后重新申请。",
        "Enter the date shown on your document and apply again.",
    ),
    "event_in_future": (
        "请在事项发生之日后再申请，并核对填写的日期。",
        "Apply once the event has happened; check the date you entered.",
    ),
    "event_too_old": (
        "已超过可申请期限，不能再以此事项提取；如符合其他提取条件，可选择其他类型。",
        "The time to apply has passed; another type of withdrawal may still apply to you.",
    ),
    "too_often_year": (
        "本年度次数已用完，请于下一年度再申请。",
        "This year's withdrawals of this type are used up; apply again next year.",
    ),
    "too_soon": (
        "请在说明中的日期之后再申请。",
        "Apply again from the date given in the reason.",
    ),
    "no_balance": (
        "账户没有余额，暂不能提取。",
        "There is no balance to withdraw yet.",
    ),
    "nothing_to_withdraw": (
        "扣除最低留存或上限后无可提取金额，请待账户余额增加后再申请。",
        "After the minimum balance or cap nothing is left; apply when the balance has grown.",
    ),
    "amount_not_positive": (
        "请填写大于零的提取金额，或不填以提取可提取的最高金额。",
        "Enter an amount above zero, or leave it empty to withdraw the most allowed.",
    ),
    "amount_over_limit": (
        "请将申请金额降至说明中的可提取上限以内后重新申请。",
        "Lower the amount to the limit given in the reason and apply again.",
    ),
    "cost_missing": (
        "请填写材料上载明的金额后重新申请。",
        "Enter the amount shown on your documents and apply again.",
    ),
    "contract_missing": (
        "请填写购房合同（或备案）编号后重新申请。",
        "Enter the purchase contract (or filing) number and apply again.",
    ),
    "contract_price_mismatch": (
        "同一合同的房价须与此前申报一致；请核对合同后重新申请。",
        "The price must match the one declared before for this contract; check the contract.",
    ),
    "contract_used_up": (
        "该合同已提取至房价，不能再次使用。",
        "Withdrawals on this contract have reached its price; it cannot be used again.",
    ),
    "loan_missing": (
        "请填写借款合同编号后重新申请。",
        "Enter the loan contract number and apply again.",
    ),
    "loan_not_own": (
        "请核对借款合同编号；配偶的贷款须同时填写配偶身份证号；商业贷款须填写借款人身份证号和贷款余额。",
        "Check the loan number; for a spouse's loan enter the spouse's ID number; for a bank "
        "loan enter the borrower's ID number and the outstanding amount.",
    ),
    "loan_repaid": (
        "贷款已还清，不能再提取还贷。",
        "The loan is repaid; no repayment withdrawal is possible.",
    ),
    "hpf_loan_outstanding": (
        "有公积金贷款期间可选择偿还贷款提取。",
        "While an HPF loan is outstanding, a loan repayment withdrawal may apply instead.",
    ),
    "owns_home": (
        "有自有住房的不能办理租房提取。",
        "A rent withdrawal is not possible for a home owner.",
    ),
    "rent_months": (
        "请填写 1 到 12 个月的租期后重新申请。",
        "Enter a rent period of 1 to 12 months and apply again.",
    ),
    "rent_year_used_up": (
        "本年度租房提取额度已用完，请于下一年度再申请。",
        "This year's rent allowance is used up; apply again next year.",
    ),
    "still_employed": (
        "与单位终止劳动关系、账户封存后再申请。",
        "Apply once the employment has ended and the account is sealed.",
    ),
    "heir_missing": (
        "请填写继承人（受遗赠人）的身份证号、姓名和银行卡号。",
        "Enter the heir's ID number, name and bank card.",
    ),
    "not_frozen": (
        "离职后由单位办理账户封存，封存满规定月数后再申请。",
        "After leaving, the employer seals the account; apply once it has been sealed long enough.",
    ),
    "frozen_too_short": (
        "请在说明中的日期之后再申请。",
        "Apply again from the date given in the reason.",
    ),
}
DEFAULT_ADVICE = (
    "如有疑问，请拨打 12329 热线或携带身份证到管理部窗口咨询。",
    "If in doubt, call the 12329 hotline or bring your ID card to a branch counter.",
)


def withdrawal_not_found(withdrawal_id: int) -> Problem:
    return Problem(
        404,
        "withdrawal_not_found",
        f"提取申请不存在：{withdrawal_id}",
        f"no such withdrawal: {withdrawal_id}",
    )


def batch_not_found(batch_id: int) -> Problem:
    return Problem(
        404, "batch_not_found", f"支付批次不存在：{batch_id}", f"no such payment batch: {batch_id}"
    )


def type_name(code: str, lang: str) -> str:
    try:
        info = rules.TYPES[rules.parse_type(code)]
    except ValueError:
        return code
    return info.name_en if lang == "en" else info.name_zh


# --- the policy's types -----------------------------------------------------------------------


@dataclass(frozen=True)
class TypeView:
    """One withdrawal type as a form shows it: names, documents, limits and the facts it needs."""

    code: str
    name_zh: str
    name_en: str
    enabled: bool
    closes_account: bool
    documents: tuple[str, ...]
    window_months: int
    min_interval_months: int
    max_times_per_year: int
    cap_fen: int
    event_zh: str
    cost_zh: str
    min_balance_fen: int
    rent_cap_monthly_fen: int | None
    rent_cap_yearly_fen: int | None
    unemployment_frozen_months: int | None

    @property
    def fields(self) -> tuple[str, ...]:
        """The form fields this type uses besides the documents."""
        out: list[str] = []
        if not self.closes_account:
            out.append("amount")
        if self.event_zh:
            out.append("event_date")
        if self.cost_zh:
            out.append("cost")
        extra = {
            "purchase": ("contract_ref",),
            "loan_repayment": ("loan_ref", "spouse_id", "loan_borrower_id", "loan_outstanding"),
            "rent": ("rent_months", "spouse_id", "owns_home"),
            "death": ("heir_id", "heir_name", "heir_card"),
        }
        out.extend(extra.get(self.code, ()))
        return tuple(out)


def type_views(policy: Policy, on: date) -> list[TypeView]:
    """Every withdrawal type with the parameters of the policy in force on ``on``."""
    entry = policy.on(on).withdrawal
    out = []
    for wtype in rules.WithdrawalType:
        info, rule = rules.TYPES[wtype], getattr(entry.types, wtype.value)
        rent = wtype == rules.WithdrawalType.RENT
        out.append(
            TypeView(
                wtype.value,
                info.name_zh,
                info.name_en,
                rule.enabled,
                rule.closes_account,
                tuple(rule.documents),
                rule.window_months,
                rule.min_interval_months,
                rule.max_times_per_year,
                rule.cap_fen,
                info.event_zh,
                info.cost_zh,
                0 if rule.closes_account else entry.min_balance_fen,
                entry.rent_cap_monthly_fen if rent else None,
                entry.rent_cap_yearly_fen if rent else None,
                entry.unemployment_frozen_months
                if wtype == rules.WithdrawalType.UNEMPLOYMENT
                else None,
            )
        )
    return out


def type_view(policy: Policy, on: date, code: str) -> TypeView | None:
    return next((t for t in type_views(policy, on) if t.code == code), None)


def today() -> date:
    return datetime.now(UTC).astimezone(BUSINESS_TZ).date()


# --- reads ------------------------------------------------------------------------------------


def may_see(principal: Principal, row: Withdrawal) -> bool:
    if principal.kind == "depositor":
        return bool(principal.depositor_ref) and principal.depositor_ref == row.depositor_ref
    if principal.kind not in ("staff", "system"):
        return False
    return any(principal.has(p) for p in STAFF_READERS) and principal.can_see_branch(row.branch_id)


def get_visible(session: Session, principal: Principal, withdrawal_id: int) -> Withdrawal:
    """The withdrawal if ``principal`` may see it; 404 otherwise (as for a missing one)."""
    row = session.get(Withdrawal, withdrawal_id)
    if row is None or not may_see(principal, row):
        raise withdrawal_not_found(withdrawal_id)
    return row


def own_depositor(session: Session, principal: Principal) -> Depositor:
    """The signed-in depositor's account; 404 when none is linked."""
    ref = principal.depositor_ref
    depositor = (
        session.scalar(select(Depositor).where(Depositor.depositor_ref == ref)) if ref else None
    )
    if principal.kind != "depositor" or depositor is None:
        raise Problem(
            404,
            "depositor_not_found",
            "未关联个人公积金账户",
            "no personal account is linked to this user",
        )
    return depositor


def list_own(session: Session, principal: Principal) -> list[Withdrawal]:
    """The depositor's withdrawals, newest first (refused ones included)."""
    if principal.kind != "depositor" or not principal.depositor_ref:
        return []
    return list(
        session.scalars(
            select(Withdrawal)
            .where(Withdrawal.depositor_ref == principal.depositor_ref)
            .order_by(Withdrawal.id.desc())
            .limit(200)
        )
    )


def list_staff(
    session: Session,
    principal: Principal,
    *,
    page: int = 1,
    size: int = 20,
    status: str | None = None,
    wtype: str | None = None,
) -> tuple[list[Withdrawal], int]:
    """One page of the withdrawals of the principal's branch scope, newest first."""
    filters = [Withdrawal.status == status] if status else []
    if wtype:
        filters.append(Withdrawal.type == wtype)
    return pages.staff_page(
        session, principal, Withdrawal, *filters, page=page, size=size, max_size=MAX_PAGE_SIZE
    )


def queue(
    session: Session, principal: Principal, *, now: datetime | None = None
) -> list[QueueItem[Withdrawal]]:
    """The workflow inbox of ``principal``, withdrawals only, oldest first."""
    return inbox_queue(
        session,
        principal,
        business_type=service.BUSINESS_TYPE,
        application_id=Withdrawal.application_id,
        now=now,
    )


def reasons_of(session: Session, row: Withdrawal) -> list[dict[str, str]]:
    """Every reason of a refusal, with what the person can do about it (zh and en)."""
    if row.status != "refused":
        return []
    texts_zh = [t for t in row.decision_zh.split("；") if t.strip()]
    texts_en = [t for t in row.decision_en.split("; ") if t.strip()]
    detail = session.scalar(
        select(AuditRecord.detail)
        .where(
            AuditRecord.action == "withdrawal.refused",
            AuditRecord.object_type == "withdrawal",
            AuditRecord.object_id == str(row.id),
        )
        .limit(1)
    )
    codes: list[str] = []
    if detail:
        found = json.loads(detail).get("refusals")
        codes = [str(c) for c in found] if isinstance(found, list) else []
    if len(codes) != len(texts_zh):
        codes = ["refused"] * len(texts_zh)
    out = []
    for i, (code, zh) in enumerate(zip(codes, texts_zh, strict=True)):
        advice = ADVICE.get(code, DEFAULT_ADVICE)
        out.append(
            {
                "code": code,
                "text": zh,
                "text_en": texts_en[i] if len(texts_en) == len(texts_zh) else row.decision_en,
                "advice": advice[0],
                "advice_en": advice[1],
            }
        )
    return out


def documents_of(row: Withdrawal) -> list[str]:
    evidence = json.loads(row.evidence or "{}")
    docs = evidence.get("documents", [])
    return [str(d) for d in docs] if isinstance(docs, list) else []


def evidence_of(row: Withdrawal) -> dict[str, Any]:
    """The facts declared with the application (without documents and empty values)."""
    evidence = json.loads(row.evidence or "{}")
    skip = {"documents", "type", "extra", "amount_fen"}
    return {k: v for k, v in evidence.items() if k not in skip and v not in (None, "", 0, False)}


def detail(session: Session, principal: Principal, row: Withdrawal) -> dict[str, Any]:
    """A withdrawal for a page or the API; the person masked for staff without ``person.unmask``."""
    own = principal.kind == "depositor"
    unmask = own or principal.has("person.unmask")
    depositor = session.get(Depositor, row.depositor_id)
    name = depositor.name if depositor else ""
    id_number = depositor.id_number if depositor else ""
    evidence = evidence_of(row)
    if not unmask:
        for key in ("spouse_id", "heir_id", "loan_borrower_id"):
            if key in evidence:
                evidence[key] = mask_id_number(str(evidence[key]))
        if "heir_card" in evidence:
            evidence["heir_card"] = mask_bank_card(str(evidence["heir_card"]))
        if "heir_name" in evidence:
            evidence["heir_name"] = mask_name(str(evidence["heir_name"]))
    application = workflow.get(session, row.application_id) if row.application_id else None
    return {
        "id": row.id,
        "reference": payments.reference(row.id),
        "type": row.type,
        "type_name_zh": type_name(row.type, "zh"),
        "type_name_en": type_name(row.type, "en"),
        "status": row.status,
        "channel": row.channel,
        "fully_online": row.fully_online,
        "depositor_ref": row.depositor_ref,
        "person_name": name if unmask else mask_name(name),
        "id_number": id_number if unmask else mask_id_number(id_number),
        "branch_id": row.branch_id,
        "applied_on": row.applied_on,
        "applied_at": row.applied_at,
        "requested_fen": row.requested_fen,
        "amount_fen": row.amount_fen,
        "interest_fen": row.interest_fen,
        "closes_account": row.closes_account,
        "decision": row.decision_zh,
        "decision_en": row.decision_en,
        "reasons": reasons_of(session, row),
        "documents": documents_of(row),
        "evidence": evidence,
        "payee_name": row.payee_name if unmask else mask_name(row.payee_name),
        "payee_card": mask_bank_card(row.payee_card),
        "application_id": row.application_id,
        "application_status": application.status if application else None,
        "awaiting": application.awaiting if application else None,
        "batch_id": row.batch_id,
        "paid_on": row.paid_on,
        "failure": row.failure,
        "application": application,
    }


def audit_view(session: Session, principal: Principal, row: Withdrawal, *, ip: str = "") -> None:
    """查看留痕: a staff member opened a withdrawal (a person's data)."""
    pages.audit_view(
        session,
        principal,
        object_type="withdrawal",
        object_id=row.id,
        depositor_ref=row.depositor_ref,
        ip=ip,
    )


# --- applying ---------------------------------------------------------------------------------


def _text(fields: Mapping[str, str], name: str, limit: int = 60) -> str | None:
    value = (fields.get(name) or "").replace("\x00", "").strip()
    if len(value) > limit:
        raise actions.FieldInvalid(name, f"不超过{limit}个字符", f"at most {limit} characters")
    return value or None


def _fen(fields: Mapping[str, str], name: str) -> int | None:
    value = (fields.get(name) or "").strip()
    return actions.check_amount(name, value) if value else None


def _date(fields: Mapping[str, str], name: str) -> date | None:
    value = (fields.get(name) or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise actions.FieldInvalid(
            name, "日期格式应为 YYYY-MM-DD", "a date is YYYY-MM-DD"
        ) from None
    if not date(1950, 1, 1) <= day <= date(2100, 12, 31):
        raise actions.FieldInvalid(name, "日期超出范围", "the date is out of range")
    return day


def _id(fields: Mapping[str, str], name: str) -> str | None:
    value = _text(fields, name, 30)
    if value is None:
        return None
    try:
        return parse_id_number(value).value
    except DomainError as exc:
        raise actions.FieldInvalid.of(name, exc) from None


def application_from(
    wtype: str, fields: Mapping[str, str], documents: Sequence[str]
) -> service.Application:
    """The request typed into a form (or an API body as strings); FieldInvalid names a bad field."""
    try:
        rules.parse_type(wtype)
    except ValueError:
        raise actions.FieldInvalid(
            "type", "请选择提取类型", "choose a type of withdrawal"
        ) from None
    months_text = (fields.get("rent_months") or "").strip()
    if months_text and not months_text.isdigit():
        raise actions.FieldInvalid("rent_months", "月数应为整数", "months must be a whole number")
    months = int(months_text) if months_text else 0
    if months > 120:
        raise actions.FieldInvalid("rent_months", "租房月数无效", "invalid number of rent months")
    card = _text(fields, "heir_card", 30)
    return service.Application(
        type=wtype,
        documents=tuple(sorted({d.strip()[:60] for d in documents if d.strip()}))[:30],
        amount_fen=_fen(fields, "amount"),
        event_date=_date(fields, "event_date"),
        cost_fen=_fen(fields, "cost"),
        contract_ref=_text(fields, "contract_ref"),
        rent_months=months,
        loan_ref=_text(fields, "loan_ref", 40),
        loan_borrower_id=_id(fields, "loan_borrower_id"),
        loan_outstanding_fen=_fen(fields, "loan_outstanding"),
        spouse_id=_id(fields, "spouse_id"),
        heir_id=_id(fields, "heir_id"),
        heir_name=_text(fields, "heir_name", 50),
        heir_card=card.replace(" ", "") if card else None,
        owns_home=(fields.get("owns_home") or "").lower() in ("1", "true", "on", "yes"),
    )


def apply_for(
    session: Session,
    principal: Principal,
    policy: Policy,
    *,
    depositor: Depositor,
    application: service.Application,
    channel: str,
    key: str,
) -> actions.Done:
    """Apply (申请) with the automatic check, once per key; the result names the withdrawal."""
    request = {
        "depositor": depositor.depositor_ref,
        "channel": channel,
        **service._evidence(application),
    }

    def run(scoped: str) -> dict[str, Any]:
        outcome = service.apply(
            session,
            depositor_ref=depositor.depositor_ref,
            application=application,
            applicant=principal,
            channel=channel,
            idempotency_key=scoped,
            policy=policy,
        )
        return {"withdrawal_id": outcome.withdrawal_id, "allowed": outcome.decision.allowed}

    return actions.once(session, principal, "withdrawal.apply", key, request, run)


def depositor_for_counter(session: Session, principal: Principal, ref: str) -> Depositor:
    """The depositor a counter clerk applies for (their branch scope); a field error otherwise."""
    ref = (ref or "").strip()
    depositor = (
        session.scalar(select(Depositor).where(Depositor.depositor_ref == ref)) if ref else None
    )
    if depositor is None or not principal.can_see_branch(depositor.branch_id):
        raise actions.FieldInvalid(
            "depositor_ref",
            f"个人账户不存在：{ref}",
            f"no such personal account: {ref}",
            code="depositor_not_found",
        )
    return depositor


def depositor_balance(session: Session, depositor: Depositor) -> int | None:
    try:
        return balance_fen(session, depositor)
    except DomainError:
        return None


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
    """A staff step on any application; a withdrawal's goes through ``service.decide``."""
    return pages.decide_through(
        session,
        application_id,
        Withdrawal.application_id,
        decide=lambda row_id: service.decide(
            session, row_id, actor=actor, action=action, comment=comment, at_counter=at_counter
        ),
        otherwise=lambda: workflow.act(
            session,
            application_id,
            actor=actor,
            action=action,
            comment=comment,
            at_counter=at_counter,
            ip=ip,
        ),
    )


def staff_actions(principal: Principal, row: Withdrawal, view: ApplicationView | None) -> list[str]:
    return pages.step_actions(principal, row.status, view)


# --- payments ---------------------------------------------------------------------------------

_branch = bf.branch_scope
PAYMENT_TABLES = bf.BatchTables(
    batch=PaymentBatch,
    line_batch_id=PaymentLine.batch_id,
    line_amount_fen=PaymentLine.amount_fen,
    line_result=PaymentLine.result,
    line_owner_id=PaymentLine.withdrawal_id,
    owner_id=Withdrawal.id,
    owner_branch_id=Withdrawal.branch_id,
)


def waiting_for_payment(session: Session, principal: Principal) -> tuple[int, int]:
    """(count, total fen) of approved withdrawals not yet in a batch, in the branch scope."""
    stmt = select(func.count(), func.coalesce(func.sum(Withdrawal.amount_fen), 0)).where(
        Withdrawal.status == "approved", Withdrawal.batch_id.is_(None)
    )
    branch = _branch(principal)
    if branch is not None:
        stmt = stmt.where(Withdrawal.branch_id == branch)
    count, total = session.execute(stmt).one()
    return int(count), int(total)


def export(session: Session, principal: Principal, *, key: str) -> actions.Done:
    """A new payment batch of every approved, unsent withdrawal of the scope; once per key."""
    branch = bf.staff_branch_or_refuse(principal)

    def run(_scoped: str) -> dict[str, Any]:
        batch = payments.export_batch(session, on=today(), actor=principal, branch_id=branch)
        return {"batch_id": batch.batch_id, "lines": batch.lines, "total_fen": batch.total_fen}

    return actions.once(session, principal, "withdrawal.batch_export", key, {"branch": branch}, run)


def batches(session: Session, principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
    """Recent payment batches holding withdrawals of the scope, with their results so far."""
    return bf.summaries(session, principal, PAYMENT_TABLES, limit)


def batch_visible(session: Session, principal: Principal, batch_id: int) -> PaymentBatch:
    """The batch if every withdrawal in it is in the principal's scope; 404 otherwise."""
    batch: PaymentBatch = bf.visible_batch(
        session, principal, PAYMENT_TABLES, batch_id, batch_not_found
    )
    return batch


def batch_csv(session: Session, principal: Principal, batch_id: int) -> str:
    """The bank file of a batch again (the same lines as when it was exported)."""
    batch_visible(session, principal, batch_id)
    lines = session.scalars(
        select(PaymentLine).where(PaymentLine.batch_id == batch_id).order_by(PaymentLine.line_no)
    )
    return bf.bank_file(
        session,
        principal,
        payments.EXPORT_COLUMNS,
        (
            [
                batch_id,
                line.line_no,
                payments.reference(line.withdrawal_id),
                line.payee_name,
                line.payee_card,
                format_yuan(line.amount_fen),
            ]
            for line in lines
        ),
        audit_action="withdrawal.batch_download",
        object_type="withdrawal_batch",
        batch_id=batch_id,
    )


def import_results(session: Session, principal: Principal, text: str) -> payments.ImportSummary:
    """Settle the bank's result file (idempotent); every batch in it must be in the scope."""
    bf.staff_branch_or_refuse(principal)
    for batch_id in bf.batch_ids_in(text):
        batch_visible(session, principal, batch_id)
    with session.begin_nested():
        return payments.import_result(session, text, on=today(), actor=principal)


PAYMENT_FILES = bf.BatchFiles(
    permission="withdrawal.pay",
    filename="withdrawal-batch-{}.csv",
    export=lambda _request, session, principal, key: export(session, principal, key=key),
    batches=batches,
    csv=batch_csv,
    import_results=import_results,
)


# --- statistics -------------------------------------------------------------------------------


def stats(
    session: Session, principal: Principal, *, start: date, end: date, by: Sequence[str]
) -> list[StatRow]:
    """Paid withdrawals of the scope grouped ``by`` (type, branch, month, channel)."""
    dims = [d for d in DIMENSIONS if d in set(by)]
    return withdrawal_stats(session, start=start, end=end, by=dims, branch_id=_branch(principal))
