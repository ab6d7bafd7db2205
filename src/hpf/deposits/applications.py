"""Employer applications as workflow business types: 降比 (employer_rate_change), 缓缴
(employer_deferral) and 一链办理 (employer_onboarding).

domain.md §3: "Deferral or a lower rate (缓缴/降比) needs the employees' representatives' consent and
the center's approval, for at most one year at a time." Both go accept → review → approve
(``routes.toml``); completion (办结) applies them with ``employers.change_rates`` / ``employers.defer``
as the approver. 一链办理 goes accept → review and on completion runs ``onboarding.onboard`` under
the key ``workflow:<application id>``.

Who may apply: an employer agent (单位经办人) for its own employer only, through the online hall
(网厅, channel ``online_hall``); staff (工作人员) at the counter (窗口, channel ``counter``) for an
employer of their branch scope (数据范围). The application's ``branch_id`` must be the employer's
branch and a ``subject_ref``, if given, its employer account (单位账号). For 一链办理 the employer does
not exist yet: staff of the branch named in the request at the counter, or an employer agent not yet
linked to any employer through the online hall (the agent is linked to the new employer on
completion).

Payloads:

- ``employer_rate_change``: ``employer_ref``, ``employer_rate_pct``, ``employee_rate_pct`` (percent
  strings, at most two decimals), ``effective_month`` (``YYYY-MM``), ``months`` (how long the lower
  rate is approved for), ``reason``, ``consent`` (the employees' representatives' consent, e.g. the
  职代会 resolution's reference).
- ``employer_deferral``: ``employer_ref``, ``from_month`` (``YYYY-MM``), ``months``, ``reason``,
  ``consent``.
- ``employer_onboarding``: ``onboarding.request_payload`` (``employer`` and ``depositors``).

Rules chosen here where domain.md is silent:

- 降比 lowers: each new rate is at most the current one and at least one is lower (raising a rate
  is no policy exception). It never goes below the policy's floor in force (``employer_rate_min_pct``
  / ``employee_rate_min_pct``, 5% shipped): domain.md names no lower floor for 降比, so a center that
  allows one lowers the policy's floor.
- "At most one year at a time" is the policy's ``deferral_max_months`` (12 shipped), for 降比 too:
  ``months`` is 1..that. The lower rate is recorded with its period but is not restored
  automatically when the period ends (the employer table keeps no rate history).
- No retroactive effect: ``effective_month`` / ``from_month`` are not before the month of
  submission, nor before the employer's first contribution month.
- 缓缴 starts at the first unpaid month: every contribution month before ``from_month`` must
  already be posted (缴清缓缴前欠缴). Arrears (``arrears.py``) treat every month up to
  ``deferred_until`` as deferred, so this rule keeps a deferral from also wiping out older arrears.
  A new deferral cannot start while one runs (``from_month`` after the current ``deferred_until``).
- ``reason`` and ``consent`` are 2-200 characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hpf.auth.models import UserAccount
from hpf.auth.principal import Principal
from hpf.auth.users import principal_of
from hpf.dates import add_months, months_between
from hpf.deposits import onboarding
from hpf.deposits.employers import (
    EmployerError,
    change_rates,
    defer,
    employer_limits,
    get_employer,
)
from hpf.deposits.models import Employer, Remittance
from hpf.deposits.rules import check_rates, parse_month
from hpf.errors import InvalidInput
from hpf.org.models import OrgUnit
from hpf.policy.loader import Policy, get_policy
from hpf.workflow.business_types import Submission, register_business_type
from hpf.workflow.rules import NotPermitted
from hpf.workflow.views import ApplicationView

RATE_CHANGE = "employer_rate_change"
DEFERRAL = "employer_deferral"
ONBOARDING = "employer_onboarding"

EMPLOYER_CHANNEL = "online_hall"
STAFF_CHANNEL = "counter"
ACTIVE_STATUSES = ("01", "02", "03")


# --- shared -----------------------------------------------------------------------------------
def _text(payload: Mapping[str, Any], key: str, zh: str, *, low: int = 2, high: int = 200) -> str:
    value = payload.get(key)
    text = value.strip() if isinstance(value, str) else ""
    if not low <= len(text) <= high:
        raise InvalidInput(f"{zh}须为{low}–{high}个字符", f"{key} must be {low}-{high} characters")
    return text


def _employer_ref(payload: Mapping[str, Any]) -> str:
    return _text(payload, "employer_ref", "单位账号", low=1, high=20)


def _month(payload: Mapping[str, Any], key: str) -> date:
    value = payload.get(key)
    return parse_month(value if isinstance(value, str) else "")


def _months(payload: Mapping[str, Any]) -> int:
    value = payload.get("months")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("期限月数须为正整数", "months must be a positive whole number")
    return value


def _check_months(months: int, policy: Policy, on: date) -> None:
    limit = policy.on(on).contribution.deferral_max_months
    if months > limit:
        raise EmployerError(
            f"期限不能超过{limit}个月（每次最长一年）",
            f"the period may not exceed {limit} months (one year at a time)",
        )


def _authorize(session: Session, submission: Submission, branch_id: int) -> None:
    """The applicant's kind, channel and scope, for an employer of ``branch_id``."""
    applicant = submission.applicant
    if applicant.kind == "staff":
        if submission.channel != STAFF_CHANNEL:
            raise InvalidInput(
                "工作人员代办须在窗口（counter）提交", "staff submit at the counter (counter)"
            )
        if not applicant.can_see_branch(branch_id):
            raise NotPermitted(
                "该单位不在您的机构范围内", "the employer is outside your branch scope"
            )
    elif applicant.kind == "employer":
        if submission.channel != EMPLOYER_CHANNEL:
            raise InvalidInput(
                "单位经办人须通过网厅（online_hall）提交",
                "employer agents submit through the online hall (online_hall)",
            )
    else:
        raise NotPermitted(
            "只有单位经办人或工作人员可以办理单位业务",
            "only employer agents or staff may apply for employer business",
        )
    if submission.branch_id != branch_id:
        raise InvalidInput(
            "申请的受理机构应为单位所属管理部", "the application's branch must be the employer's"
        )


def _own_employer(session: Session, submission: Submission, payload: Mapping[str, Any]) -> Employer:
    employer = get_employer(session, str(payload["employer_ref"]))
    applicant = submission.applicant
    if applicant.kind == "employer" and applicant.employer_ref != employer.employer_ref:
        raise NotPermitted(
            "只能为本单位申请", "an employer agent applies for its own employer only"
        )
    _authorize(session, submission, employer.branch_id)
    if submission.subject_ref is not None and submission.subject_ref != employer.employer_ref:
        raise InvalidInput(
            "业务对象账号应为该单位账号", "subject_ref must be the employer's account"
        )
    if employer.status not in ACTIVE_STATUSES:
        raise EmployerError("单位已销户或封存", "the employer is closed or suspended")
    return employer


def _not_before(month: date, submission: Submission, employer: Employer, zh: str) -> None:
    earliest = max(submission.on.replace(day=1), employer.first_month)
    if month < earliest:
        raise InvalidInput(
            f"{zh}不能早于 {earliest:%Y-%m}（不溯及既往，也不早于单位起缴月份）",
            f"{zh} may not be before {earliest:%Y-%m} (no retroactive effect)",
        )


def _completer(session: Session, application: ApplicationView) -> Principal:
    """The person who took the last step (the approver): the actor of the change."""
    return principal_of(session, application.steps[-1].actor_user_id)


# --- 降比 employer_rate_change --------------------------------------------------------------
def _validate_rate_change(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "employer_ref": _employer_ref(payload),
        "employer_rate_pct": str(onboarding.parse_rate(payload.get("employer_rate_pct"))),
        "employee_rate_pct": str(onboarding.parse_rate(payload.get("employee_rate_pct"))),
        "effective_month": f"{_month(payload, 'effective_month'):%Y-%m}",
        "months": _months(payload),
        "reason": _text(payload, "reason", "降比原因"),
        "consent": _text(payload, "consent", "职工代表同意意见"),
    }


def _check_rate_change(
    session: Session, submission: Submission, payload: Mapping[str, Any]
) -> None:
    employer = _own_employer(session, submission, payload)
    effective = _month(payload, "effective_month")
    _not_before(effective, submission, employer, "生效月份")
    policy = get_policy()
    _check_months(int(payload["months"]), policy, effective)
    new_er, new_ee = Decimal(payload["employer_rate_pct"]), Decimal(payload["employee_rate_pct"])
    check_rates(new_er, new_ee, employer_limits(session, policy, employer, effective))
    old_er, old_ee = employer.employer_rate_pct, employer.employee_rate_pct
    if new_er > old_er or new_ee > old_ee or (new_er == old_er and new_ee == old_ee):
        raise EmployerError(
            f"降比须降低缴存比例：现为单位 {old_er}%、个人 {old_ee}%，申请为 {new_er}%、{new_ee}%",
            f"a rate reduction must lower a rate: now {old_er}%/{old_ee}%, asked {new_er}%/{new_ee}%",
        )


def _complete_rate_change(session: Session, application: ApplicationView) -> None:
    payload = application.payload
    change_rates(
        session,
        get_employer(session, payload["employer_ref"]),
        Decimal(payload["employer_rate_pct"]),
        Decimal(payload["employee_rate_pct"]),
        _month(payload, "effective_month"),
        get_policy(),
        _completer(session, application),
    )


# --- 缓缴 employer_deferral -------------------------------------------------------------------
def _validate_deferral(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "employer_ref": _employer_ref(payload),
        "from_month": f"{_month(payload, 'from_month'):%Y-%m}",
        "months": _months(payload),
        "reason": _text(payload, "reason", "缓缴原因"),
        "consent": _text(payload, "consent", "职工代表同意意见"),
    }


def deferral_until(payload: Mapping[str, Any]) -> date:
    """The last deferred month of a deferral payload."""
    return add_months(_month(payload, "from_month"), int(payload["months"]) - 1)


def _check_deferral(session: Session, submission: Submission, payload: Mapping[str, Any]) -> None:
    employer = _own_employer(session, submission, payload)
    start = _month(payload, "from_month")
    _not_before(start, submission, employer, "缓缴起始月份")
    _check_months(int(payload["months"]), get_policy(), start)
    if employer.deferred_until is not None and start <= employer.deferred_until:
        raise EmployerError(
            f"单位已缓缴至 {employer.deferred_until:%Y-%m}，新的缓缴须从其后开始",
            f"the employer is deferred until {employer.deferred_until:%Y-%m}; "
            "a new deferral starts after it",
        )
    _require_paid_before(session, employer, start)


def _require_paid_before(session: Session, employer: Employer, start: date) -> None:
    """Every contribution month before ``start`` is posted (缴清缓缴前欠缴)."""
    count = months_between(employer.first_month, start)
    if count <= 0:
        return
    posted = set(
        session.scalars(
            select(Remittance.month).where(
                Remittance.employer_id == employer.id,
                Remittance.status == "posted",
                Remittance.month < start,
            )
        )
    )
    unpaid = [
        m for m in (add_months(employer.first_month, i) for i in range(count)) if m not in posted
    ]
    if unpaid:
        listed = "、".join(f"{m:%Y-%m}" for m in unpaid[:6]) + ("等" if len(unpaid) > 6 else "")
        raise EmployerError(
            f"缓缴前的月份须先缴清：{listed} 共 {len(unpaid)} 个月未入账",
            f"months before the deferral must be paid first: {len(unpaid)} unpaid "
            f"(from {unpaid[0]:%Y-%m})",
        )


def _complete_deferral(session: Session, application: ApplicationView) -> None:
    payload = application.payload
    employer = get_employer(session, payload["employer_ref"])
    start = _month(payload, "from_month")
    _require_paid_before(session, employer, start)
    defer(
        session,
        employer,
        deferral_until(payload),
        start,
        get_policy(),
        _completer(session, application),
    )


# --- 一链办理 employer_onboarding ------------------------------------------------------------
def _validate_onboarding(payload: Mapping[str, Any]) -> dict[str, Any]:
    return onboarding.request_payload(onboarding.request_from_payload(payload))


def _check_onboarding(session: Session, submission: Submission, payload: Mapping[str, Any]) -> None:
    request = onboarding.request_from_payload(payload)
    branch = session.scalar(select(OrgUnit).where(OrgUnit.code == request.employer.branch_code))
    if branch is None or branch.kind != "branch":
        raise InvalidInput(
            f"管理部不存在：{request.employer.branch_code}",
            f"no such branch: {request.employer.branch_code}",
        )
    applicant = submission.applicant
    if applicant.kind == "employer" and applicant.employer_ref:
        raise NotPermitted(
            "该经办人已属于一个单位，不能再为新单位开户",
            "this agent already belongs to an employer and cannot open another",
        )
    _authorize(session, submission, branch.id)
    onboarding.check_request(session, request, get_policy())


def _complete_onboarding(session: Session, application: ApplicationView) -> None:
    result = onboarding.onboard(
        session,
        onboarding.request_from_payload(application.payload),
        get_policy(),
        _completer(session, application),
        idempotency_key=f"workflow:{application.id}",
    )
    if application.applicant_kind == "employer":
        session.execute(
            update(UserAccount)
            .where(
                UserAccount.id == application.applicant_user_id,
                UserAccount.employer_ref.is_(None),
            )
            .values(employer_ref=result.employer_ref)
        )


register_business_type(
    RATE_CHANGE,
    "降低缴存比例",
    "employer contribution rate reduction",
    _complete_rate_change,
    validate=_validate_rate_change,
    check=_check_rate_change,
)
register_business_type(
    DEFERRAL,
    "缓缴",
    "employer contribution deferral",
    _complete_deferral,
    validate=_validate_deferral,
    check=_check_deferral,
)
register_business_type(
    ONBOARDING,
    "单位开户一链办理",
    "employer onboarding (open, enrol, first remittance list)",
    _complete_onboarding,
    validate=_validate_onboarding,
    check=_check_onboarding,
)
