"""Partner-department API use cases (合作部门接口): partners, their tokens, calls, look-ups.

A partner (e.g. 不动产登记中心 checking a seller's HPF loan before a transfer, another center
checking a person's deposit status) gets a bearer token (32 random bytes, prefix ``hpfp_``,
shown once, stored as its SHA-256 like staff API tokens but in its own table, so neither kind
of token resolves as the other). Every call is recorded in ``ops_partner_call`` with the subject
masked; registering, suspending and issuing or revoking a token go to the audit trail. A
partner may make at most the policy's ``partner_calls_per_minute`` calls in any 60 seconds.
Nothing here commits. docs/service.md.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.masking import mask_id_number, mask_name
from hpf.auth.principal import Principal
from hpf.auth.sessions import claim_for_touch, token_hash, touch_due
from hpf.dates import add_months
from hpf.deposits.arrears import due_date
from hpf.deposits.models import Depositor, Employer, Remittance, RemittanceLine
from hpf.deposits.rules import DEPOSITOR_STATUSES, EMPLOYER_STATUSES
from hpf.errors import DomainError, InvalidInput
from hpf.identifiers import is_valid_id_number, parse_uscc
from hpf.loans import service as loans
from hpf.loans.directory import hpf_loan_directory
from hpf.ops import partner_rules as rules
from hpf.ops.models import PartnerCall, PartnerClient, PartnerToken
from hpf.policy.loader import Policy

TOKEN_BYTES = 32
WINDOW = timedelta(seconds=60)


class PartnerNotFound(DomainError):
    code = "partner_not_found"


@dataclass(frozen=True)
class PartnerAuth:
    """The partner behind a live partner token."""

    partner_id: int
    token_id: int
    code: str
    department: str
    scopes: frozenset[str]


def _now(now: datetime | None) -> datetime:
    return audit.utc(now) if now is not None else datetime.now(UTC)


def get_partner(session: Session, code: str) -> PartnerClient:
    row = session.scalar(select(PartnerClient).where(PartnerClient.code == code.strip().lower()))
    if row is None:
        raise PartnerNotFound(f"合作部门不存在：{code}", f"no such partner: {code}")
    return row


def register_partner(
    session: Session,
    *,
    code: str,
    department: str,
    scopes: str | list[str] | tuple[str, ...],
    contact: str = "",
    actor: Principal | None = None,
    now: datetime | None = None,
) -> PartnerClient:
    """登记合作部门 with the scopes (kinds of look-up) it may use."""
    code = rules.parse_code(code)
    chosen = rules.parse_scopes(scopes)
    department = department.strip()
    if not department:
        raise InvalidInput("部门名称不能为空", "the department's name is required")
    if session.scalar(select(PartnerClient.id).where(PartnerClient.code == code)) is not None:
        raise InvalidInput(f"合作部门代码已存在：{code}", f"partner code already exists: {code}")
    row = PartnerClient(
        code=code,
        department=department[:100],
        scopes=" ".join(sorted(chosen)),
        status="active",
        contact=contact.strip()[:100],
        created_at=_now(now),
        created_by=(actor.login_name if actor else "system")[:100],
    )
    session.add(row)
    session.flush()
    _audit(session, actor, "partner.register", row, {"scopes": sorted(chosen)})
    return row


def set_status(
    session: Session, code: str, status: str, *, actor: Principal | None = None
) -> PartnerClient:
    """停用/启用: a suspended partner's tokens stop resolving at once (and resume on reactivation)."""
    if status not in rules.STATUS_NAMES:
        raise InvalidInput(f"未知的状态：{status}", f"unknown partner status: {status}")
    row = get_partner(session, code)
    if row.status != status:
        row.status = status
        _audit(session, actor, f"partner.{status}", row, {})
    return row


def issue_token(
    session: Session, code: str, *, actor: Principal | None = None, now: datetime | None = None
) -> tuple[int, str]:
    """签发令牌: (token id, the token itself — shown once, only its SHA-256 is kept)."""
    partner = get_partner(session, code)
    token = rules.TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = PartnerToken(partner_id=partner.id, token_hash=token_hash(token), created_at=_now(now))
    session.add(row)
    session.flush()
    _audit(session, actor, "partner.token_issue", partner, {"token_id": row.id})
    return row.id, token


def revoke_token(
    session: Session, token_id: int, *, actor: Principal | None = None, now: datetime | None = None
) -> None:
    """吊销令牌 by id; revoking twice is a no-op."""
    row = session.get(PartnerToken, token_id)
    if row is None:
        raise PartnerNotFound(f"令牌不存在：{token_id}", f"no such partner token: {token_id}")
    if row.revoked_at is not None:
        return
    row.revoked_at = _now(now)
    partner = session.get(PartnerClient, row.partner_id)
    assert partner is not None
    _audit(session, actor, "partner.token_revoke", partner, {"token_id": row.id})


def resolve_token(
    session: Session, token: str, *, now: datetime | None = None
) -> PartnerAuth | None:
    """The partner of a live token of an active partner; None otherwise."""
    if not token or not token.startswith(rules.TOKEN_PREFIX):
        return None
    row = session.scalar(select(PartnerToken).where(PartnerToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    partner = session.get(PartnerClient, row.partner_id)
    if partner is None or partner.status != "active":
        return None
    at = _now(now)  # refreshed at most once a minute: a call writes only its call record
    if touch_due(row.last_used_at, at) and claim_for_touch(session, PartnerToken.id, row.id):
        row.last_used_at = at
    return PartnerAuth(
        partner.id, row.id, partner.code, partner.department, frozenset(partner.scopes.split())
    )


def calls_in_window(session: Session, partner_id: int, now: datetime) -> int:
    """Calls of the partner counted against its rate limit: the last 60 seconds, not refused."""
    at = audit.utc(now)
    return int(
        session.scalar(
            select(func.count())
            .select_from(PartnerCall)
            .where(
                PartnerCall.partner_id == partner_id,
                PartnerCall.at > at - WINDOW,
                PartnerCall.at <= at,
                PartnerCall.result != "rate_limited",
            )
        )
        or 0
    )


def over_limit(
    session: Session, partner_id: int, policy: Policy, now: datetime | None = None
) -> bool:
    """Whether the partner's calls of the last 60 seconds (up to ``now``, by default the time
    the lock is granted) already reach its limit.

    Counting and the admitted call's record (written later in the same transaction) must be one
    step, or two simultaneous calls could both take the last free call. So the partner is locked
    first and stays locked until the transaction ends: PostgreSQL locks its row ``FOR NO KEY
    UPDATE`` (which still lets other transactions insert rows referring to the partner, such as
    the record of a refused call); on SQLite the transaction already holds the database's write
    lock (``BEGIN IMMEDIATE``).
    The clock is read after the lock: a call that waited for it must count the calls recorded
    meanwhile.
    """
    session.scalar(
        select(PartnerClient.id)
        .where(PartnerClient.id == partner_id)
        .with_for_update(key_share=True)
    )
    now = _now(now)
    limit = policy.service_on(audit.utc(now).date()).partner_calls_per_minute
    return calls_in_window(session, partner_id, now) >= limit


def record_call(
    session: Session,
    auth: PartnerAuth,
    *,
    route: str,
    subject: str,
    result: str,
    status_code: int,
    ip: str = "",
    now: datetime | None = None,
) -> PartnerCall:
    """调用记录: one row per call; ``subject`` must already be masked (see ``masked_subject``)."""
    row = PartnerCall(
        partner_id=auth.partner_id,
        token_id=auth.token_id,
        at=_now(now),
        route=route[:60],
        subject=subject[:60],
        result=result,
        status_code=status_code,
        ip=ip[:64],
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class CallView:
    id: int
    at: datetime
    partner_code: str
    department: str
    route: str
    subject: str
    result: str
    status_code: int
    ip: str


def list_calls(
    session: Session,
    *,
    partner_code: str | None = None,
    result: str | None = None,
    page: int = 1,
    size: int = 50,
) -> tuple[list[CallView], int]:
    """Calls, newest first, with the total matching."""
    stmt = select(PartnerCall, PartnerClient.code, PartnerClient.department).join(
        PartnerClient, PartnerClient.id == PartnerCall.partner_id
    )
    if partner_code:
        stmt = stmt.where(PartnerClient.code == partner_code.strip().lower())
    if result:
        stmt = stmt.where(PartnerCall.result == result)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(
        stmt.order_by(PartnerCall.id.desc()).limit(size).offset((page - 1) * size)
    ).all()
    return [
        CallView(
            c.id,
            audit.utc(c.at),
            code,
            department,
            c.route,
            c.subject,
            c.result,
            c.status_code,
            c.ip,
        )
        for c, code, department in rows
    ], total


@dataclass(frozen=True)
class PartnerView:
    code: str
    department: str
    scopes: tuple[str, ...]
    status: str
    contact: str
    created_at: datetime
    live_tokens: int
    calls: int


def list_partners(session: Session) -> list[PartnerView]:
    live = (
        select(PartnerToken.partner_id, func.count().label("n"))
        .where(PartnerToken.revoked_at.is_(None))
        .group_by(PartnerToken.partner_id)
        .subquery()
    )
    calls = (
        select(PartnerCall.partner_id, func.count().label("n"))
        .group_by(PartnerCall.partner_id)
        .subquery()
    )
    rows = session.execute(
        select(PartnerClient, func.coalesce(live.c.n, 0), func.coalesce(calls.c.n, 0))
        .outerjoin(live, live.c.partner_id == PartnerClient.id)
        .outerjoin(calls, calls.c.partner_id == PartnerClient.id)
        .order_by(PartnerClient.code)
    ).all()
    return [
        PartnerView(
            p.code,
            p.department,
            tuple(p.scopes.split()),
            p.status,
            p.contact,
            audit.utc(p.created_at),
            int(n_live),
            int(n_calls),
        )
        for p, n_live, n_calls in rows
    ]


def tokens_of(session: Session, code: str) -> list[PartnerToken]:
    partner = get_partner(session, code)
    return list(
        session.scalars(
            select(PartnerToken)
            .where(PartnerToken.partner_id == partner.id)
            .order_by(PartnerToken.id)
        )
    )


# --- look-ups (what partners may learn; nothing more) ------------------------------------------


def _id_number(text: str) -> str:
    value = (text or "").strip().upper()
    if not is_valid_id_number(value):
        raise InvalidInput("身份证号码无效", "invalid ID number")
    return value


def depositor_status(session: Session, id_number: str, as_of: date) -> dict[str, Any]:
    """职工缴存及贷款状态: whether the person has an account, its status, the last month paid,
    and whether an HPF loan is outstanding on which the person is a borrower or co-borrower.
    The ID number is answered masked; no balance, address or employer is disclosed.
    """
    number = _id_number(id_number)
    loans_out = hpf_loan_directory(session, frozenset({number}))
    person = session.scalar(select(Depositor).where(Depositor.id_number == number))
    base: dict[str, Any] = {
        "id_number": mask_id_number(number),
        "as_of": as_of.isoformat(),
        "hpf_loan_outstanding": bool(loans_out),
        "outstanding_loans": len(loans_out),
    }
    if person is None:
        return {"found": False, **base}
    last_paid = session.scalar(
        select(func.max(Remittance.month))
        .join(RemittanceLine, RemittanceLine.remittance_id == Remittance.id)
        .where(RemittanceLine.depositor_id == person.id, Remittance.status == "posted")
    )
    return {
        "found": True,
        **base,
        "name": mask_name(person.name),
        "account_status": person.status,
        "account_status_name": DEPOSITOR_STATUSES.get(person.status, person.status),
        "contributing": person.status == "01",
        "last_paid_month": last_paid.strftime("%Y-%m") if last_paid else None,
    }


def loan_certificate(session: Session, loan_ref: str, id_number: str) -> dict[str, Any]:
    """贷款（结清）证明核验: does the loan (贷款账号 or 借款合同编号) exist with this person as a
    party, and is it outstanding or settled (and when)? Amounts are not disclosed.
    """
    number = _id_number(id_number)
    ref = (loan_ref or "").strip().upper()
    if not ref or len(ref) > 30:
        raise InvalidInput("贷款账号或合同编号无效", "invalid loan or contract number")
    try:
        loan = loans.find(session, ref)
    except loans.LoanError:
        return {"found": False, "loan_ref": ref, "id_number": mask_id_number(number)}
    if number not in loans.party_ids(session, loan.id):
        # the loan exists but not for this person: answered as not found (no fishing)
        return {"found": False, "loan_ref": ref, "id_number": mask_id_number(number)}
    return {
        "found": True,
        "loan_ref": loan.loan_ref,
        "id_number": mask_id_number(number),
        "status": loan.status,
        "outstanding": loan.status in ("approved", "active"),
        "settled": loan.status == "settled",
        "settled_on": loan.settled_on.isoformat() if loan.settled_on else None,
        "disbursed_on": loan.disbursed_on.isoformat() if loan.disbursed_on else None,
    }


def employer_status(session: Session, uscc: str, as_of: date, policy: Policy) -> dict[str, Any]:
    """单位缴存状态 by 统一社会信用代码: account status, last month paid, months unpaid past their
    remittance deadline (deferred months excluded) as of ``as_of``.
    """
    code = parse_uscc(uscc)
    employer = session.scalar(select(Employer).where(Employer.uscc == code))
    if employer is None:
        return {"found": False, "uscc": code, "as_of": as_of.isoformat()}
    paid = set(
        session.scalars(
            select(Remittance.month).where(
                Remittance.employer_id == employer.id, Remittance.status == "posted"
            )
        )
    )
    unpaid = 0
    if employer.status in ("01", "02", "03"):
        deadline = policy.on(as_of).contribution.remit_deadline_days
        month = employer.first_month
        while due_date(employer, month, deadline) < as_of:
            deferred = employer.deferred_until is not None and month <= employer.deferred_until
            if month not in paid and not deferred:
                unpaid += 1
            month = add_months(month, 1)
    last = max(paid) if paid else None
    return {
        "found": True,
        "uscc": code,
        "name": employer.name,
        "as_of": as_of.isoformat(),
        "account_status": employer.status,
        "account_status_name": EMPLOYER_STATUSES.get(employer.status, employer.status),
        "last_paid_month": last.strftime("%Y-%m") if last else None,
        "months_in_arrears": unpaid,
        "in_good_standing": unpaid == 0 and employer.status in ("01", "02"),
    }


def _audit(
    session: Session,
    actor: Principal | None,
    action: str,
    row: PartnerClient,
    detail: dict[str, object],
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="ops_partner",
        object_id=row.code,
        detail=detail,
    )
