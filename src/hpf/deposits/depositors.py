"""缴存职工 use cases: open (开户), join an employer / unfreeze (启封), freeze (封存), transfers within
the city (内部转移) and between cities (外部转入/转出), merging duplicates (合并), closure (销户).

Closure, transfer-out and merge first post closure interest (销户结息) up to the day before the
event (domain.md §4). Nothing commits; every change is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.deposits.employers import employer_limits
from hpf.deposits.models import Depositor, Employer, EmploymentSpell
from hpf.deposits.rules import CLOSED_DEPOSITOR_STATUSES, check_base
from hpf.errors import DomainError, InvalidInput
from hpf.identifiers import parse_id_number
from hpf.interest.service import CLOSURE_KIND, closure_interest
from hpf.ledger import chart
from hpf.ledger.models import Account
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import balance_of, close_account, open_subsidiary, post
from hpf.policy.loader import Policy


class DepositorError(DomainError):
    """A depositor action is not allowed in the account's state."""

    code = "depositor_error"


@dataclass(frozen=True)
class DepositorInput:
    id_number: str
    name: str
    employer_ref: str
    base_fen: int
    joined_on: date
    phone: str = ""
    bank_card: str = ""


def ledger_code(depositor: Depositor) -> str:
    return chart.subsidiary_code(chart.DEPOSITORS_FUNDS, depositor.depositor_ref)


def balance_fen(session: Session, depositor: Depositor) -> int:
    """The depositor's balance in fen, positive (the ledger keeps liabilities negative)."""
    return -balance_of(session, ledger_code(depositor))


def get_depositor(
    session: Session, *, depositor_ref: str | None = None, id_number: str | None = None
) -> Depositor:
    stmt = select(Depositor)
    if depositor_ref is not None:
        stmt = stmt.where(Depositor.depositor_ref == depositor_ref)
    elif id_number is not None:
        stmt = stmt.where(Depositor.id_number == id_number.strip().upper())
    else:
        raise InvalidInput(
            "需要个人账号或身份证号", "a personal account number or ID number is required"
        )
    found = session.scalar(stmt)
    if found is None:
        raise InvalidInput("个人账户不存在", "no such personal account")
    return found


def open_depositor(
    session: Session, data: DepositorInput, policy: Policy, actor: Principal
) -> Depositor:
    """开户 and join the employer; an existing frozen account of the same person is unfrozen."""
    person = parse_id_number(data.id_number)
    employer = _active_employer(session, data.employer_ref)
    existing = session.scalar(select(Depositor).where(Depositor.id_number == person.value))
    if existing is not None:
        join_employer(session, existing, employer, data.base_fen, data.joined_on, policy, actor)
        return existing
    name = data.name.strip()
    if not name or len(name) > 50:
        raise InvalidInput("姓名不能为空且不超过50字", "name is required (≤ 50 characters)")
    check_base(data.base_fen, employer_limits(session, policy, employer, data.joined_on))
    depositor = Depositor(
        depositor_ref=f"TMP{uuid.uuid4().hex[:16]}",
        id_number=person.value,
        name=name,
        birth_date=person.birth_date,
        sex=person.sex,
        phone=data.phone.strip(),
        bank_card=data.bank_card.strip(),
        status="01",
        employer_id=employer.id,
        branch_id=employer.branch_id,
        base_fen=data.base_fen,
        opened_on=data.joined_on,
    )
    session.add(depositor)
    session.flush()
    depositor.depositor_ref = f"{depositor.id:012d}"
    open_subsidiary(
        session,
        kind="depositor",
        ref=depositor.depositor_ref,
        name=name,
        branch_id=employer.branch_id,
        opened_on=data.joined_on,
    )
    session.add(
        EmploymentSpell(
            depositor_id=depositor.id, employer_id=employer.id, joined_on=data.joined_on
        )
    )
    session.flush()
    _audit(session, actor, "depositor.open", depositor, {"employer": employer.employer_ref})
    return depositor


def join_employer(
    session: Session,
    depositor: Depositor,
    employer: Employer,
    base_fen: int,
    on: date,
    policy: Policy,
    actor: Principal,
) -> None:
    """启封 / 内部转移: the person starts with ``employer``; any current spell ends the day before."""
    if depositor.status in CLOSED_DEPOSITOR_STATUSES:
        raise DepositorError("个人账户已销户", "the personal account is closed")
    if depositor.status == "06":
        raise DepositorError(
            "个人账户已冻结", "the personal account is frozen by a court or the center"
        )
    if depositor.employer_id == employer.id and depositor.status == "01":
        raise DepositorError(
            "该职工已在本单位缴存", "the person already contributes with this employer"
        )
    check_base(base_fen, employer_limits(session, policy, employer, on))
    _end_spell(session, depositor, on)
    action = "depositor.unfreeze" if depositor.status == "02" else "depositor.transfer_internal"
    depositor.employer_id = employer.id
    depositor.branch_id = employer.branch_id
    depositor.base_fen = base_fen
    depositor.status = "01"
    depositor.frozen_on = None
    session.execute(
        update(Account)
        .where(Account.code == ledger_code(depositor))
        .values(branch_id=employer.branch_id)
    )
    session.add(EmploymentSpell(depositor_id=depositor.id, employer_id=employer.id, joined_on=on))
    session.flush()
    _audit(session, actor, action, depositor, {"employer": employer.employer_ref, "on": on})


def freeze(session: Session, depositor: Depositor, on: date, actor: Principal) -> None:
    """封存: the person left the employer; the balance stays and keeps earning interest."""
    if depositor.status != "01":
        raise DepositorError(
            "只有正常状态的账户可以封存", "only a normal account can be frozen (封存)"
        )
    _end_spell(session, depositor, on)
    depositor.status = "02"
    depositor.frozen_on = on
    depositor.employer_id = None
    session.flush()
    _audit(session, actor, "depositor.freeze", depositor, {"on": on})


def set_base(
    session: Session,
    depositor: Depositor,
    base_fen: int,
    on: date,
    policy: Policy,
    actor: Principal,
) -> None:
    """基数调整 of one person (the yearly July adjustment does this in bulk)."""
    if depositor.employer_id is None:
        raise DepositorError("账户未在单位缴存", "the account has no employer")
    employer = session.get(Employer, depositor.employer_id)
    assert employer is not None
    check_base(base_fen, employer_limits(session, policy, employer, on))
    before = depositor.base_fen
    depositor.base_fen = base_fen
    session.flush()
    _audit(
        session, actor, "depositor.base", depositor, {"before": before, "after": base_fen, "on": on}
    )


def transfer_in(
    session: Session,
    depositor: Depositor,
    amount_fen: int,
    on: date,
    from_city: str,
    actor: Principal,
    *,
    idempotency_key: str,
) -> int:
    """外部转入: funds from another city's center credited to the person (value date ``on``)."""
    _require_open(depositor)
    if amount_fen <= 0:
        raise InvalidInput("转入金额必须大于零", "the transfer-in amount must be positive")
    posted = post(
        session,
        JournalDraft(
            "transfer_in",
            depositor.branch_id,
            on,
            on,
            (
                debit(chart.HPF_BANK_DEPOSITS, amount_fen),
                credit(ledger_code(depositor), amount_fen),
            ),
            memo=f"异地转入 {from_city}"[:200],
        ),
        idempotency_key=idempotency_key,
    )
    _audit(
        session,
        actor,
        "depositor.transfer_in",
        depositor,
        {"amount": amount_fen, "from": from_city},
    )
    return posted.journal_id


def settle_and_close(
    session: Session,
    depositor: Depositor,
    on: date,
    status: str,
    policy: Policy,
    actor: Principal,
    *,
    idempotency_key: str,
    payee: str,
    target: Depositor | None = None,
) -> int:
    """Post closure interest, move the whole balance out (to the bank or, when merging, to
    ``target``), close the ledger account and set ``status``. Returns the amount moved (fen)."""
    _require_open(depositor)
    code = ledger_code(depositor)
    interest = closure_interest(session, code, on, policy)
    if interest:
        post(
            session,
            JournalDraft(
                CLOSURE_KIND,
                depositor.branch_id,
                on,
                on,
                (debit(chart.EXPENSE_DEPOSITOR_INTEREST, interest), credit(code, interest)),
                memo="销户结息",
            ),
            idempotency_key=f"{idempotency_key}:interest",
        )
    amount = balance_fen(session, depositor)
    if amount < 0:
        raise DepositorError("账户余额为负，不能销户", "negative balance: cannot close")
    if amount:
        other = chart.HPF_BANK_DEPOSITS if target is None else ledger_code(target)
        post(
            session,
            JournalDraft(
                _closure_kind(status),
                depositor.branch_id,
                on,
                on,
                (debit(code, amount), credit(other, amount)),
                memo=payee[:200],
            ),
            idempotency_key=f"{idempotency_key}:payout",
        )
    mark_closed(
        session,
        depositor,
        on,
        status,
        actor,
        detail={"interest": interest, "amount": amount, "payee": payee},
        target=target,
    )
    return amount


def mark_closed(
    session: Session,
    depositor: Depositor,
    on: date,
    status: str,
    actor: Principal,
    *,
    detail: dict[str, object] | None = None,
    target: Depositor | None = None,
) -> None:
    """销户 once the balance has left the account (by this module or by a withdrawal's payment):
    close the ledger account, end the employment spell, set ``status``; audited."""
    close_account(session, ledger_code(depositor), on)
    _end_spell(session, depositor, on)
    depositor.status = status
    depositor.closed_on = on
    depositor.employer_id = None
    if target is not None:
        depositor.merged_into_id = target.id
    session.flush()
    _audit(session, actor, f"depositor.close.{status}", depositor, {"on": on, **(detail or {})})


def transfer_out(
    session: Session,
    depositor: Depositor,
    on: date,
    to_city: str,
    policy: Policy,
    actor: Principal,
    *,
    idempotency_key: str,
) -> int:
    """外部转出: closure interest to the day before, the balance paid to the other city's center."""
    return settle_and_close(
        session,
        depositor,
        on,
        "04",
        policy,
        actor,
        idempotency_key=idempotency_key,
        payee=f"异地转出 {to_city}",
    )


def merge(
    session: Session,
    keep: Depositor,
    duplicate: Depositor,
    on: date,
    policy: Policy,
    actor: Principal,
    *,
    idempotency_key: str,
) -> int:
    """合并: the duplicate account of the same person is settled and moved into ``keep``."""
    if keep.id == duplicate.id:
        raise DepositorError("不能与自身合并", "an account cannot merge into itself")
    if keep.id_number != duplicate.id_number and keep.name != duplicate.name:
        raise DepositorError(
            "两个账户不属于同一人", "the two accounts do not belong to the same person"
        )
    _require_open(keep)
    return settle_and_close(
        session,
        duplicate,
        on,
        "03",
        policy,
        actor,
        idempotency_key=idempotency_key,
        payee=f"合并至 {keep.depositor_ref}",
        target=keep,
    )


def _closure_kind(status: str) -> str:
    return {"03": "merge", "04": "transfer_out", "05": "closing_withdrawal"}[status]


def _active_employer(session: Session, employer_ref: str) -> Employer:
    employer = session.scalar(select(Employer).where(Employer.employer_ref == employer_ref))
    if employer is None:
        raise InvalidInput(f"单位账号不存在：{employer_ref}", f"no such employer: {employer_ref}")
    if employer.status in ("04", "05"):
        raise DepositorError("单位已销户或封存", "the employer is closed or suspended")
    return employer


def _require_open(depositor: Depositor) -> None:
    if depositor.status in CLOSED_DEPOSITOR_STATUSES:
        raise DepositorError("个人账户已销户", "the personal account is closed")


def _end_spell(session: Session, depositor: Depositor, on: date) -> None:
    spell = session.scalar(
        select(EmploymentSpell).where(
            EmploymentSpell.depositor_id == depositor.id, EmploymentSpell.left_on.is_(None)
        )
    )
    if spell is not None:
        spell.left_on = on


def _audit(
    session: Session, actor: Principal, action: str, depositor: Depositor, detail: dict[str, object]
) -> None:
    record(
        session,
        actor=actor,
        action=action,
        object_type="depositor",
        object_id=depositor.depositor_ref,
        detail=detail,
    )
