"""Contribution writes as the web does them (归集经办): scoped, idempotent, all or nothing.

The console forms (``console_contribution_actions``), the employer portal forms
(``portal_contribution_actions``) and the API (``api_contribution_actions``) call the use cases
here; every change itself is made by the services of ``hpf.deposits`` (which write the audit
records). What this layer adds:

- scope: staff reach only employers and depositors of their branch (whole-center: all); anything
  else answers 404 exactly like the reads of ``hpf.web.contributions``;
- field checks before anything is written: the credit code (统一社会信用代码) and the ID number
  (身份证号, birth date and sex decoded from it) are refused with the name of their field
  (``FieldInvalid``), so a form can show the error beside the field;
- idempotency (幂等): every write carries a key (a hidden form field generated per rendered form,
  or the API's ``Idempotency-Key`` header). The first outcome is kept in the audit trail (action
  ``web.idempotent``, object id ``<user id>:<key>``, detail = request digest and result). The same
  key with the same request answers that outcome again and writes nothing; with another request
  it is refused (409 ``idempotency_conflict``). Use cases that post to the ledger also pass the
  key down (``web:<user id>:<key>``), so even two concurrent replays post one journal;
- all or nothing: the use case and its idempotency record run in one savepoint
  (``db.begin_nested()``), so a refusal half-way leaves nothing behind.

Concurrency: two simultaneous requests with one fresh key can both miss the record; the ledger
key (money) and the unique credit code / ID number (accounts) then keep the second from writing
twice; the other use cases (rates, base, freeze) set a state, so a second run changes nothing
that matters but leaves a second audit record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.models import AuditRecord
from hpf.auth.principal import Principal
from hpf.dates import add_months, interest_year, months_between
from hpf.deposits import depositors as depositor_service
from hpf.deposits import employers as employer_service
from hpf.deposits import remittance as remittance_service
from hpf.deposits.adjustment import BaseAdjustmentRejected, BaseRowError, adjust_bases
from hpf.deposits.models import Depositor, Employer, Remittance
from hpf.deposits.remittance_cells import CellError, cell_text, column_key, id_cell, money_cell
from hpf.deposits.rules import EMPLOYER_TYPES, month_start, parse_employer_type
from hpf.deposits.tabular import read_table
from hpf.errors import DomainError, InvalidInput
from hpf.identifiers import IdNumber, mask, parse_id_number, parse_uscc
from hpf.ledger.rules import IdempotencyConflict
from hpf.money import parse_amount, parse_rate
from hpf.org.models import OrgUnit
from hpf.policy.loader import Policy
from hpf.web import contributions as c
from hpf.web.errors import Problem

IDEMPOTENT_ACTION = "web.idempotent"
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,47}$"
"""An idempotency key: 8-48 letters, digits, ``.``, ``_``, ``:`` or ``-`` (a UUID fits)."""
MAX_BACK_PAYMENT_MONTHS = 24
MAX_BACK_PAYMENT_PEOPLE = 500
MAX_BASE_ROWS = 20_000
MAX_ROW_ERRORS = 200
CITY_MAX = 50
SEX_LABELS = {"M": "男", "F": "女"}


def employer_type_choices() -> list[tuple[str, str, str]]:
    """单位性质 choices for forms: (code, Chinese, English), in the annual report's order."""
    return [(code, zh, en) for code, (zh, en) in EMPLOYER_TYPES.items()]


class FieldInvalid(InvalidInput):
    """One field of a form or request body is wrong; ``field`` names it."""

    def __init__(self, field: str, message_zh: str, message_en: str, *, code: str = "") -> None:
        super().__init__(message_zh, message_en, code=code or "invalid_input")
        self.field = field

    @classmethod
    def of(cls, field: str, exc: DomainError) -> FieldInvalid:
        return cls(field, exc.message_zh, exc.message_en, code=exc.code)


@dataclass(frozen=True)
class Done:
    """The outcome of a write: what it produced, and whether it was a replay of an earlier one."""

    result: dict[str, Any]
    replayed: bool


# --- idempotency ----------------------------------------------------------------------------


def scoped_key(principal: Principal, key: str) -> str:
    """The key as kept: per user, so two users' keys never meet."""
    key = (key or "").strip()
    if not key or len(key) > 48:
        raise InvalidInput(
            "幂等键不能为空且不超过48个字符", "the idempotency key must be 1-48 characters"
        )
    return f"{principal.user_id}:{key}"


def request_digest(use_case: str, request: Mapping[str, Any]) -> str:
    """A digest of the request as given; grouped by 8 so the trail's masking leaves it alone."""
    text = json.dumps(
        {"use_case": use_case, **request},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    raw = hashlib.sha256(text.encode()).hexdigest()
    return "-".join(raw[i : i + 8] for i in range(0, 64, 8))


def _replay(db: Session, use_case: str, scoped: str, digest: str) -> dict[str, Any] | None:
    row = db.execute(
        select(AuditRecord.object_type, AuditRecord.detail)
        .where(AuditRecord.action == IDEMPOTENT_ACTION, AuditRecord.object_id == scoped)
        .order_by(AuditRecord.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    detail = json.loads(row.detail or "{}")
    if row.object_type != use_case or detail.get("request") != digest:
        key = scoped.partition(":")[2]
        raise IdempotencyConflict(
            f"幂等键 {key} 已用于另一笔不同的请求，请刷新页面后重新提交",
            f"idempotency key {key} was used for a different request",
        )
    result = detail.get("result")
    return dict(result) if isinstance(result, dict) else {}


def once(
    db: Session,
    principal: Principal,
    use_case: str,
    key: str,
    request: Mapping[str, Any],
    action: Callable[[str], dict[str, Any]],
) -> Done:
    """Run ``action(ledger_key)`` once per key, in a savepoint, remembering its result."""
    scoped = scoped_key(principal, key)
    digest = request_digest(use_case, request)
    found = _replay(db, use_case, scoped, digest)
    if found is not None:
        return Done(found, True)
    try:
        with db.begin_nested():
            result = action(f"web:{scoped}")
            record(
                db,
                actor=principal,
                action=IDEMPOTENT_ACTION,
                object_type=use_case,
                object_id=scoped,
                detail={"request": digest, "result": result},
            )
    except (IntegrityError, DomainError):
        # A resend that raced its original answers the original's outcome, not its own:
        # PostgreSQL made it wait on the original's locks or key, then either refused the key
        # or let it judge the request against books the original had already changed.
        found = _replay(db, use_case, scoped, digest)
        if found is None:
            raise
        return Done(found, True)
    return Done(result, False)


# --- field checks -----------------------------------------------------------------------------


def check_uscc(text: str) -> str:
    try:
        return parse_uscc(text)
    except DomainError as exc:
        raise FieldInvalid.of("uscc", exc) from None


def check_id_number(text: str) -> IdNumber:
    try:
        return parse_id_number(text)
    except DomainError as exc:
        raise FieldInvalid.of("id_number", exc) from None


def check_amount(field: str, text: str, *, positive: bool = True) -> int:
    """A yuan amount typed in a form, as fen."""
    try:
        fen = parse_amount(text)
    except DomainError as exc:
        raise FieldInvalid.of(field, exc) from None
    if positive and fen <= 0:
        raise FieldInvalid(field, "金额必须大于零", "the amount must be positive")
    if fen > 10**13:
        raise FieldInvalid(field, "金额过大", "the amount is too large")
    return fen


def check_rate(field: str, text: str | Decimal) -> Decimal:
    try:
        rate = parse_rate(text)
    except DomainError as exc:
        raise FieldInvalid.of(field, exc) from None
    if not Decimal(0) <= rate <= Decimal(100):
        raise FieldInvalid(field, "比例应在0–100之间", "a rate must be between 0 and 100")
    return rate


def check_city(field: str, text: str) -> str:
    city = (text or "").replace("\x00", "").strip()
    if not city or len(city) > CITY_MAX:
        raise FieldInvalid(
            field, f"请填写城市（不超过{CITY_MAX}字）", f"the city is required (≤ {CITY_MAX})"
        )
    return city


def sex_label(sex: str) -> str:
    return SEX_LABELS.get(sex, sex)


def visible_employer_for(db: Session, principal: Principal, ref: str, field: str) -> Employer:
    """The employer a field names, if ``principal`` may see it; else a field error (404)."""
    try:
        return c.get_employer_visible(db, principal, ref.strip())
    except Problem as exc:
        raise FieldInvalid(field, exc.detail_zh, exc.detail_en, code=exc.code) from None


def branch_choices(db: Session, principal: Principal) -> list[OrgUnit]:
    """The branches ``principal`` may open an employer in."""
    units = db.scalars(select(OrgUnit).where(OrgUnit.kind == "branch").order_by(OrgUnit.code))
    return [u for u in units if principal.can_see_branch(u.id)]


def branch_for(db: Session, principal: Principal, branch_code: str) -> OrgUnit:
    """The branch an employer is opened in: the clerk's own, or the one chosen (whole center)."""
    choices = branch_choices(db, principal)
    if not principal.whole_center and len(choices) == 1 and not branch_code:
        return choices[0]
    for unit in choices:
        if unit.code == branch_code.strip():
            return unit
    raise FieldInvalid("branch_code", "请选择本人可办理的管理部", "choose a branch you serve")


# --- employers --------------------------------------------------------------------------------


def open_employer(
    db: Session,
    principal: Principal,
    policy: Policy,
    *,
    key: str,
    uscc: str,
    name: str,
    branch_code: str,
    employer_rate_pct: Decimal,
    employee_rate_pct: Decimal,
    pay_day: int,
    first_month: date | None,
    contact_name: str = "",
    contact_phone: str = "",
    employer_type: str = "other",
) -> Done:
    """开户. The credit code is checked first (field ``uscc``), then the branch and the type."""
    code = check_uscc(uscc)
    branch = branch_for(db, principal, branch_code)
    try:
        kind = parse_employer_type(employer_type)
    except InvalidInput as exc:
        raise FieldInvalid.of("employer_type", exc) from exc
    request = {
        "uscc": code,
        "name": name.strip(),
        "branch": branch.code,
        "rates": [str(employer_rate_pct), str(employee_rate_pct)],
        "pay_day": pay_day,
        "first_month": first_month,
        "contact": [contact_name.strip(), contact_phone.strip()],
        "type": kind,
    }

    def act(_ledger_key: str) -> dict[str, Any]:
        if db.scalar(select(Employer.id).where(Employer.uscc == code)) is not None:
            raise FieldInvalid(
                "uscc",
                f"该统一社会信用代码已开户：{code}",
                f"an employer with credit code {code} exists",
                code="employer_error",
            )
        employer = employer_service.open_employer(
            db,
            employer_service.EmployerInput(
                uscc=code,
                name=name,
                branch_code=branch.code,
                employer_rate_pct=employer_rate_pct,
                employee_rate_pct=employee_rate_pct,
                opened_on=date.today(),
                first_month=first_month,
                pay_day=pay_day,
                contact_name=contact_name.replace("\x00", "")[:50],
                contact_phone=contact_phone.replace("\x00", "")[:20],
                employer_type=kind,
            ),
            policy,
            principal,
        )
        return {"employer_ref": employer.employer_ref}

    return once(db, principal, "employer.open", key, request, act)


def change_rates(
    db: Session,
    principal: Principal,
    policy: Policy,
    employer: Employer,
    *,
    key: str,
    employer_rate_pct: Decimal,
    employee_rate_pct: Decimal,
) -> Done:
    """调整缴存比例 (a lower rate than the policy allows goes through the 降比 workflow)."""
    request = {
        "employer": employer.employer_ref,
        "rates": [str(employer_rate_pct), str(employee_rate_pct)],
    }

    def act(_ledger_key: str) -> dict[str, Any]:
        employer_service.change_rates(
            db, employer, employer_rate_pct, employee_rate_pct, date.today(), policy, principal
        )
        return {"employer_ref": employer.employer_ref}

    return once(db, principal, "employer.rates", key, request, act)


def close_employer(db: Session, principal: Principal, employer: Employer, *, key: str) -> Done:
    """销户: no active depositors and an empty suspense account."""

    def act(_ledger_key: str) -> dict[str, Any]:
        employer_service.close_employer(db, employer, date.today(), principal)
        return {"employer_ref": employer.employer_ref}

    return once(db, principal, "employer.close", key, {"employer": employer.employer_ref}, act)


# --- depositors -------------------------------------------------------------------------------


def open_depositor(
    db: Session,
    principal: Principal,
    policy: Policy,
    *,
    key: str,
    id_number: str,
    name: str,
    employer_ref: str,
    base_fen: int,
    phone: str = "",
    bank_card: str = "",
) -> Done:
    """开户 with an employer, or 启封/转移 of the person's existing account (same ID number)."""
    person = check_id_number(id_number)
    employer = visible_employer_for(db, principal, employer_ref, "employer_ref")
    request = {
        "id_number": person.value,
        "name": name.strip(),
        "employer": employer.employer_ref,
        "base": base_fen,
        "phone": phone.strip(),
        "bank_card": bank_card.strip(),
    }

    def act(_ledger_key: str) -> dict[str, Any]:
        existing = db.scalar(select(Depositor.id).where(Depositor.id_number == person.value))
        depositor = depositor_service.open_depositor(
            db,
            depositor_service.DepositorInput(
                id_number=person.value,
                name=name,
                employer_ref=employer.employer_ref,
                base_fen=base_fen,
                joined_on=date.today(),
                phone=phone.replace("\x00", "")[:20],
                bank_card=bank_card.replace("\x00", "")[:30],
            ),
            policy,
            principal,
        )
        # no birth date in the trail: the caller reads it from the account
        return {"depositor_ref": depositor.depositor_ref, "existing": existing is not None}

    return once(db, principal, "depositor.open", key, request, act)


def set_base(
    db: Session,
    principal: Principal,
    policy: Policy,
    depositor: Depositor,
    *,
    key: str,
    base_fen: int,
) -> Done:
    request = {"depositor": depositor.depositor_ref, "base": base_fen}

    def act(_ledger_key: str) -> dict[str, Any]:
        depositor_service.set_base(db, depositor, base_fen, date.today(), policy, principal)
        return {"depositor_ref": depositor.depositor_ref}

    return once(db, principal, "depositor.base", key, request, act)


def freeze(db: Session, principal: Principal, depositor: Depositor, *, key: str) -> Done:
    """封存: the person left the employer."""

    def act(_ledger_key: str) -> dict[str, Any]:
        depositor_service.freeze(db, depositor, date.today(), principal)
        return {"depositor_ref": depositor.depositor_ref}

    return once(db, principal, "depositor.freeze", key, {"depositor": depositor.depositor_ref}, act)


def join_employer(
    db: Session,
    principal: Principal,
    policy: Policy,
    depositor: Depositor,
    *,
    key: str,
    employer_ref: str,
    base_fen: int,
) -> Done:
    """启封 (a sealed account joins a new employer) or 内部转移 (moves to another employer)."""
    employer = visible_employer_for(db, principal, employer_ref, "employer_ref")
    request = {
        "depositor": depositor.depositor_ref,
        "employer": employer.employer_ref,
        "base": base_fen,
    }

    def act(_ledger_key: str) -> dict[str, Any]:
        depositor_service.join_employer(
            db, depositor, employer, base_fen, date.today(), policy, principal
        )
        return {"depositor_ref": depositor.depositor_ref, "employer_ref": employer.employer_ref}

    return once(db, principal, "depositor.join", key, request, act)


def merge(
    db: Session,
    principal: Principal,
    policy: Policy,
    duplicate: Depositor,
    *,
    key: str,
    keep_ref: str,
) -> Done:
    """合并: ``duplicate`` is settled (closure interest) and moved into the account kept."""
    try:
        keep = c.get_depositor_visible(db, principal, keep_ref.strip())
    except Problem as exc:
        raise FieldInvalid("keep_ref", exc.detail_zh, exc.detail_en, code=exc.code) from None
    request = {"duplicate": duplicate.depositor_ref, "keep": keep.depositor_ref}

    def act(ledger_key: str) -> dict[str, Any]:
        amount = depositor_service.merge(
            db, keep, duplicate, date.today(), policy, principal, idempotency_key=ledger_key
        )
        return {
            "depositor_ref": duplicate.depositor_ref,
            "keep_ref": keep.depositor_ref,
            "amount_fen": amount,
        }

    return once(db, principal, "depositor.merge", key, request, act)


def close_depositor(
    db: Session,
    principal: Principal,
    policy: Policy,
    depositor: Depositor,
    *,
    key: str,
    reason: str,
) -> Done:
    """销户: closure interest to the day before, the balance paid out, the account closed."""
    reason = reason.replace("\x00", "").strip()[:100]
    request = {"depositor": depositor.depositor_ref, "reason": reason}

    def act(ledger_key: str) -> dict[str, Any]:
        amount = depositor_service.settle_and_close(
            db,
            depositor,
            date.today(),
            "05",
            policy,
            principal,
            idempotency_key=ledger_key,
            payee=f"销户 {reason}".strip(),
        )
        return {"depositor_ref": depositor.depositor_ref, "amount_fen": amount}

    return once(db, principal, "depositor.close", key, request, act)


def transfer_in(
    db: Session,
    principal: Principal,
    depositor: Depositor,
    *,
    key: str,
    amount_fen: int,
    from_city: str,
) -> Done:
    """外部转入: funds from another city's center credited to the person."""
    city = check_city("from_city", from_city)
    request = {"depositor": depositor.depositor_ref, "amount": amount_fen, "from": city}

    def act(ledger_key: str) -> dict[str, Any]:
        journal = depositor_service.transfer_in(
            db, depositor, amount_fen, date.today(), city, principal, idempotency_key=ledger_key
        )
        return {"depositor_ref": depositor.depositor_ref, "journal_id": journal}

    return once(db, principal, "depositor.transfer_in", key, request, act)


def transfer_out(
    db: Session,
    principal: Principal,
    policy: Policy,
    depositor: Depositor,
    *,
    key: str,
    to_city: str,
) -> Done:
    """外部转出: closure interest, the balance paid to the other city's center, account closed."""
    city = check_city("to_city", to_city)
    request = {"depositor": depositor.depositor_ref, "to": city}

    def act(ledger_key: str) -> dict[str, Any]:
        amount = depositor_service.transfer_out(
            db, depositor, date.today(), city, policy, principal, idempotency_key=ledger_key
        )
        return {"depositor_ref": depositor.depositor_ref, "amount_fen": amount}

    return once(db, principal, "depositor.transfer_out", key, request, act)


# --- finance ----------------------------------------------------------------------------------


def receive_funds(
    db: Session,
    principal: Principal,
    employer: Employer,
    *,
    key: str,
    amount_fen: int,
    memo: str = "",
) -> Done:
    """到账: the employer's transfer lands in 单位暂收款."""
    memo = memo.replace("\x00", "").strip()[:100] or "单位汇缴到账"
    request = {"employer": employer.employer_ref, "amount": amount_fen, "memo": memo}

    def act(ledger_key: str) -> dict[str, Any]:
        journal = remittance_service.receive_funds(
            db, employer, amount_fen, date.today(), principal, idempotency_key=ledger_key, memo=memo
        )
        return {"employer_ref": employer.employer_ref, "journal_id": journal}

    return once(db, principal, "employer.funds", key, request, act)


def refund_overpayment(
    db: Session, principal: Principal, employer: Employer, *, key: str, amount_fen: int
) -> Done:
    """退款 of what the employer sent beyond its lists."""
    request = {"employer": employer.employer_ref, "amount": amount_fen}

    def act(ledger_key: str) -> dict[str, Any]:
        journal = remittance_service.refund_overpayment(
            db, employer, amount_fen, date.today(), principal, idempotency_key=ledger_key
        )
        return {"employer_ref": employer.employer_ref, "journal_id": journal}

    return once(db, principal, "employer.refund", key, request, act)


def visible_remittances(
    db: Session, principal: Principal, remittance_ids: Sequence[int]
) -> list[Remittance]:
    """The lists named, each of a branch ``principal`` may see; 404 for any other (or none)."""
    wanted = sorted(set(remittance_ids))
    found = {r.id: r for r in db.scalars(select(Remittance).where(Remittance.id.in_(wanted)))}
    for rid in wanted:
        lst = found.get(rid)
        if lst is None or not principal.can_see_branch(lst.branch_id):
            raise c.remittance_not_found(rid)
    return [found[rid] for rid in wanted]


def post_lists(db: Session, principal: Principal, lists: Sequence[Remittance], *, key: str) -> Done:
    """入账 of confirmed lists, all or nothing (each list is posted once, key ``remittance:<id>``)."""
    ids = [r.id for r in lists]
    if not ids:
        raise FieldInvalid("remittance_id", "请选择要入账的清册", "choose the lists to post")

    def act(_ledger_key: str) -> dict[str, Any]:
        outcomes = remittance_service.post_remittances(db, ids, date.today(), principal)
        return {
            "posted": [o.remittance_id for o in outcomes if not o.replayed],
            "already": [o.remittance_id for o in outcomes if o.replayed],
            "journals": [o.journal_id for o in outcomes],
            "total_fen": sum(o.total_fen for o in outcomes if not o.replayed),
        }

    return once(db, principal, "remittance.post", key, {"lists": ids}, act)


def confirmed_lists(
    db: Session, principal: Principal, limit: int = 200
) -> list[tuple[c.RemittanceRow, int | None]]:
    """Confirmed lists awaiting posting in ``principal``'s branches, with each employer's
    suspense balance (fen)."""
    rows, _total = c.list_remittances(db, principal=principal, status="confirmed", size=limit)
    out = []
    for row in rows:
        employer = db.scalar(select(Employer).where(Employer.employer_ref == row.employer_ref))
        out.append((row, c.suspense_balance(db, employer) if employer else None))
    return out


# --- the employer's own writes ----------------------------------------------------------------


def month_range(first: date, last: date) -> list[date]:
    first, last = month_start(first), month_start(last)
    if first > last:
        first, last = last, first
    if months_between(first, last) >= MAX_BACK_PAYMENT_MONTHS:
        raise FieldInvalid(
            "month_to",
            f"一次最多补缴{MAX_BACK_PAYMENT_MONTHS}个月",
            f"at most {MAX_BACK_PAYMENT_MONTHS} months at a time",
        )
    return [add_months(first, i) for i in range(months_between(first, last) + 1)]


def draft_back_payment(
    db: Session,
    principal: Principal,
    policy: Policy,
    employer: Employer,
    *,
    key: str,
    months: Sequence[date],
    depositor_refs: Sequence[str],
) -> Done:
    """补缴: one back-payment list per month for the chosen depositors of the employer."""
    refs = sorted({r.strip() for r in depositor_refs if r.strip()})
    if not refs:
        raise FieldInvalid("depositor_refs", "请选择补缴职工", "choose the depositors")
    if len(refs) > MAX_BACK_PAYMENT_PEOPLE:
        raise FieldInvalid(
            "depositor_refs",
            f"一次最多{MAX_BACK_PAYMENT_PEOPLE}人",
            f"at most {MAX_BACK_PAYMENT_PEOPLE} people at a time",
        )
    ours = set(
        db.scalars(
            select(Depositor.depositor_ref).where(
                Depositor.employer_id == employer.id,
                Depositor.status == "01",
                Depositor.depositor_ref.in_(refs),
            )
        )
    )
    stranger = next((r for r in refs if r not in ours), None)
    if stranger is not None:
        raise FieldInvalid(
            "depositor_refs",
            f"不是本单位在缴职工：{stranger}",
            f"not a current depositor of this employer: {stranger}",
        )
    this_month = month_start(date.today())
    if any(m > this_month for m in months):
        raise FieldInvalid(
            "month_to", "补缴月份不能晚于本月", "a back payment cannot be for a future month"
        )
    request = {
        "employer": employer.employer_ref,
        "months": [f"{m:%Y-%m}" for m in months],
        "people": refs,
    }

    def act(_ledger_key: str) -> dict[str, Any]:
        ids = [
            remittance_service.draft(
                db, employer, m, policy, principal, kind="back_payment", depositor_refs=refs
            ).id
            for m in months
        ]
        return {"remittance_ids": ids}

    return once(db, principal, "employer.back_payment", key, request, act)


def back_payment_lists(db: Session, employer: Employer, limit: int = 100) -> list[c.RemittanceRow]:
    rows = db.scalars(
        select(Remittance)
        .where(Remittance.employer_id == employer.id, Remittance.kind == "back_payment")
        .order_by(Remittance.id.desc())
        .limit(limit)
    )
    return [c.remittance_row(db, r) for r in rows]


class _DryRun(Exception):
    """Rolls a checking run back."""


@dataclass(frozen=True)
class BaseFile:
    """The rows of a base adjustment file, or its errors (line numbers as Excel shows them)."""

    rows: tuple[tuple[int, str, int], ...]
    errors: tuple[BaseRowError, ...]


def read_base_file(data: bytes, filename: str) -> BaseFile:
    """Read (ID number, new base) rows from a CSV/xlsx with 身份证号 and 缴存基数 columns.

    A whole-file problem raises a DomainError (``file_*`` codes); bad cells are row errors.
    """
    if len(data) > c.MAX_UPLOAD_BYTES:
        raise InvalidInput("文件超过10MB", "the file is larger than 10 MB", code="file_too_large")
    table = read_table(data, filename, limit=MAX_BASE_ROWS + 5)
    header_at, cols = None, {}
    for at, (_line, cells) in enumerate(table.rows[:5]):
        keys = {column_key(v): i for i, v in reversed(list(enumerate(cells)))}
        if "id" in keys and "base" in keys:
            header_at, cols = at, {"id": keys["id"], "base": keys["base"]}
            break
    if header_at is None:
        raise InvalidInput(
            "缺少必需的列：身份证号、缴存基数",
            "required columns missing: ID number, base",
            code="file_header",
        )
    body = table.rows[header_at + 1 :]
    if table.truncated or len(body) > MAX_BASE_ROWS:
        raise InvalidInput(
            f"文件超过{MAX_BASE_ROWS}行", f"more than {MAX_BASE_ROWS} rows", code="file_too_large"
        )
    rows: list[tuple[int, str, int]] = []
    errors: list[BaseRowError] = []
    for line_no, cells in body:
        raw_id = cells[cols["id"]] if cols["id"] < len(cells) else None
        raw_base = cells[cols["base"]] if cols["base"] < len(cells) else None
        try:
            id_number = id_cell(raw_id)
        except CellError as exc:
            errors.append(
                BaseRowError(line_no, mask(cell_text(raw_id)[:18]), exc.message_zh, exc.message_en)
            )
            continue
        try:
            base = money_cell(raw_base)
        except CellError as exc:
            errors.append(BaseRowError(line_no, mask(id_number), exc.message_zh, exc.message_en))
            continue
        rows.append((line_no, id_number, base))
    if not rows and not errors:
        raise InvalidInput("文件没有数据行", "the file has no rows", code="file_empty")
    return BaseFile(tuple(rows), tuple(errors))


def adjustment_date(today: date | None = None) -> date:
    """The July 1 the adjustment takes effect from: the start of the running contribution year."""
    return interest_year(today or date.today())[0]


def adjust_employer_bases(
    db: Session,
    principal: Principal,
    policy: Policy,
    employer: Employer,
    *,
    key: str,
    parsed: BaseFile,
) -> Done:
    """基数调整 from the employer's file: all or nothing; any bad row refuses the whole file.

    With unreadable cells the readable rows are still checked (in a savepoint rolled back), so
    the employer sees every bad row at once.
    """
    effective = adjustment_date()
    if parsed.errors:
        more: tuple[BaseRowError, ...] = ()
        try:
            with db.begin_nested():
                adjust_bases(db, employer, parsed.rows, effective, policy, principal)
                raise _DryRun
        except BaseAdjustmentRejected as exc:
            more = exc.errors
        except _DryRun:
            pass
        raise BaseAdjustmentRejected(sorted(parsed.errors + more, key=lambda e: e.line_no))
    request = {
        "employer": employer.employer_ref,
        "effective": effective,
        "rows": request_digest("rows", {"rows": [list(r[1:]) for r in parsed.rows]}),
    }

    def act(_ledger_key: str) -> dict[str, Any]:
        changed = adjust_bases(db, employer, parsed.rows, effective, policy, principal)
        return {"employer_ref": employer.employer_ref, "changed": changed}

    return once(db, principal, "employer.base_adjustment", key, request, act)


def row_errors_json(errors: Sequence[BaseRowError]) -> list[dict[str, Any]]:
    return [
        {
            "line_no": e.line_no,
            "id_number": e.id_number_masked,
            "message": e.message_zh,
            "message_en": e.message_en,
        }
        for e in errors[:MAX_ROW_ERRORS]
    ]


def active_depositor_count(db: Session, employer: Employer) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(Depositor)
            .where(Depositor.employer_id == employer.id, Depositor.status == "01")
        )
        or 0
    )
