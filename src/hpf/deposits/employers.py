"""缴存单位 use cases: open (开户, 一链办理), change, rates, deferral (缓缴), suspend (封存), close (销户).

Nothing commits; every change is written to the audit trail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.deposits.models import Depositor, Employer
from hpf.deposits.rules import ContributionLimits, check_rates, month_start, parse_employer_type
from hpf.errors import DomainError, InvalidInput
from hpf.identifiers import parse_uscc
from hpf.ledger.chart import EMPLOYER_SUSPENSE, subsidiary_code
from hpf.ledger.service import balance_of, open_subsidiary
from hpf.org.models import OrgUnit
from hpf.policy.loader import Policy


class EmployerError(DomainError):
    """An employer action is not allowed in the employer's state."""

    code = "employer_error"


@dataclass(frozen=True)
class EmployerInput:
    """What a clerk or the online hall submits to open an employer account."""

    uscc: str
    name: str
    branch_code: str
    employer_rate_pct: Decimal
    employee_rate_pct: Decimal
    opened_on: date
    first_month: date | None = None
    pay_day: int = 10
    contact_name: str = ""
    contact_phone: str = ""
    employer_type: str = "other"
    """单位性质, a code of ``rules.EMPLOYER_TYPES`` (or its Chinese name)."""


def limits_for(policy: Policy, branch: OrgUnit, on: date) -> ContributionLimits:
    """The contribution limits in force on ``on`` for an employer of ``branch``."""
    entry = policy.on(on).contribution
    return ContributionLimits(
        employer_rate_min_pct=entry.employer_rate_min_pct,
        employer_rate_max_pct=entry.employer_rate_max_pct,
        employee_rate_min_pct=entry.employee_rate_min_pct,
        employee_rate_max_pct=entry.employee_rate_max_pct,
        base_cap_fen=entry.base_cap_fen,
        base_floor_fen=entry.base_floor_fen(county=branch.area_class == "county"),
        rounding=entry.rounding,
    )


def employer_limits(
    session: Session, policy: Policy, employer: Employer, on: date
) -> ContributionLimits:
    branch = session.get(OrgUnit, employer.branch_id)
    assert branch is not None
    return limits_for(policy, branch, on)


def open_employer(
    session: Session, data: EmployerInput, policy: Policy, actor: Principal
) -> Employer:
    """开户: validate the credit code and rates, create the account and its suspense ledger."""
    uscc = parse_uscc(data.uscc)
    name = data.name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            "单位名称不能为空且不超过200字", "employer name is required (≤ 200 characters)"
        )
    if not 1 <= data.pay_day <= 28:
        raise InvalidInput("发薪日应在1–28日之间", "pay day must be between 1 and 28")
    branch = session.scalar(select(OrgUnit).where(OrgUnit.code == data.branch_code))
    if branch is None or branch.kind != "branch":
        raise InvalidInput(
            f"管理部不存在：{data.branch_code}", f"no such branch: {data.branch_code}"
        )
    if session.scalar(select(Employer.id).where(Employer.uscc == uscc)) is not None:
        raise EmployerError(
            f"该统一社会信用代码已开户：{uscc}", f"an employer with credit code {uscc} exists"
        )
    check_rates(
        data.employer_rate_pct, data.employee_rate_pct, limits_for(policy, branch, data.opened_on)
    )
    employer_type = parse_employer_type(data.employer_type)
    employer = Employer(
        employer_ref=f"TMP{uuid.uuid4().hex[:16]}",
        uscc=uscc,
        name=name,
        branch_id=branch.id,
        status="02",
        employer_rate_pct=data.employer_rate_pct,
        employee_rate_pct=data.employee_rate_pct,
        pay_day=data.pay_day,
        first_month=month_start(data.first_month or data.opened_on),
        contact_name=data.contact_name.strip(),
        contact_phone=data.contact_phone.strip(),
        opened_on=data.opened_on,
        employer_type=employer_type,
    )
    session.add(employer)
    session.flush()
    employer.employer_ref = f"{branch.code[:6]}{employer.id:06d}"
    open_subsidiary(
        session,
        kind="employer",
        ref=employer.employer_ref,
        name=f"{name} 暂收款",
        branch_id=branch.id,
        opened_on=data.opened_on,
    )
    session.flush()
    record(
        session,
        actor=actor,
        action="employer.open",
        object_type="employer",
        object_id=employer.employer_ref,
        detail={"uscc": uscc, "name": name, "branch": branch.code, "type": employer_type},
    )
    return employer


def get_employer(session: Session, employer_ref: str) -> Employer:
    employer = session.scalar(select(Employer).where(Employer.employer_ref == employer_ref))
    if employer is None:
        raise InvalidInput(f"单位账号不存在：{employer_ref}", f"no such employer: {employer_ref}")
    return employer


def change_rates(
    session: Session,
    employer: Employer,
    employer_rate_pct: Decimal,
    employee_rate_pct: Decimal,
    on: date,
    policy: Policy,
    actor: Principal,
) -> None:
    """调整缴存比例 (a lower rate, 降比, comes here after its workflow approval)."""
    _require_active(employer)
    check_rates(
        employer_rate_pct, employee_rate_pct, employer_limits(session, policy, employer, on)
    )
    before = (str(employer.employer_rate_pct), str(employer.employee_rate_pct))
    employer.employer_rate_pct = employer_rate_pct
    employer.employee_rate_pct = employee_rate_pct
    session.flush()
    record(
        session,
        actor=actor,
        action="employer.rates",
        object_type="employer",
        object_id=employer.employer_ref,
        detail={
            "before": before,
            "after": (str(employer_rate_pct), str(employee_rate_pct)),
            "on": on,
        },
    )


def defer(
    session: Session,
    employer: Employer,
    until_month: date,
    on: date,
    policy: Policy,
    actor: Principal,
) -> None:
    """缓缴: no arrears for months up to ``until_month`` (at most the policy's months, ≤ 1 year)."""
    _require_active(employer)
    limit = policy.on(on).contribution.deferral_max_months
    months = (until_month.year - on.year) * 12 + until_month.month - on.month
    if months < 0 or months >= limit:
        raise EmployerError(
            f"缓缴期限不能超过{limit}个月", f"a deferral may not exceed {limit} months"
        )
    employer.deferred_until = month_start(until_month)
    employer.status = "03"
    session.flush()
    record(
        session,
        actor=actor,
        action="employer.defer",
        object_type="employer",
        object_id=employer.employer_ref,
        detail={"until": month_start(until_month)},
    )


def close_employer(session: Session, employer: Employer, on: date, actor: Principal) -> None:
    """销户: only with no active depositors and an empty suspense account."""
    if employer.status == "04":
        raise EmployerError("单位已销户", "the employer is already closed")
    active = session.scalar(
        select(func.count())
        .select_from(Depositor)
        .where(Depositor.employer_id == employer.id, Depositor.status == "01")
    )
    if active:
        raise EmployerError(
            f"单位仍有 {active} 名正常缴存职工，不能销户", f"{active} active depositors remain"
        )
    if balance_of(session, subsidiary_code(EMPLOYER_SUSPENSE, employer.employer_ref)) != 0:
        raise EmployerError(
            "单位暂收款不为零，请先退款", "the employer's suspense balance is not zero"
        )
    employer.status = "04"
    employer.closed_on = on
    session.flush()
    record(
        session,
        actor=actor,
        action="employer.close",
        object_type="employer",
        object_id=employer.employer_ref,
        detail={"on": on},
    )


def _require_active(employer: Employer) -> None:
    if employer.status in ("04", "05"):
        raise EmployerError("单位已销户或封存", "the employer is closed or suspended")
