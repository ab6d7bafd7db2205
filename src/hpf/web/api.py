"""REST API v1 (接口) behind sign-in: the caller, applications, and ledger balances.

Every route declares its permission with ``require``; applicants (employer agents, depositors)
only ever reach their own records — another's application answers 404 and ledger accounts are
read through ``/employer/account`` and ``/me/account``, which derive the account code from the
principal instead of taking it from the URL. Lists are paginated (``?page=&size=``) and filtered
(``?status=&business_type=``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hpf.auth.masking import mask_id_number
from hpf.auth.principal import Principal
from hpf.ledger import service as ledger
from hpf.ledger.chart import DEPOSITORS_FUNDS, EMPLOYER_SUSPENSE, subsidiary_code
from hpf.ledger.rules import LedgerError
from hpf.money import format_yuan
from hpf.web import applications as apps
from hpf.web import loans as web_loans
from hpf.web.errors import Problem
from hpf.web.schemas import AUTH_RESPONSES, RowId
from hpf.web.security import DbSession, require

router = APIRouter(prefix="/api/v1", tags=["api v1"], responses=AUTH_RESPONSES)

APPLICATION_READERS = ("workflow.read", "employer.self", "depositor.self")
STAFF_STEPS = ("workflow.accept", "workflow.review", "workflow.approve")
Status = Literal[
    "submitted",
    "accepted",
    "reviewed",
    "approved",
    "completed",
    "returned",
    "rejected",
    "withdrawn",
]


class MeOut(BaseModel):
    user_id: int
    kind: str
    login_name: str
    display_name: str
    roles: list[str]
    permissions: list[str]
    branch_id: int | None
    whole_center: bool
    employer_ref: str | None
    depositor_ref: str | None


class ApplicationSummary(BaseModel):
    id: int
    business_type: str
    business_name_zh: str
    business_name_en: str
    status: str
    status_zh: str
    awaiting: str | None
    channel: str
    fully_online: bool
    amount_fen: int
    subject_ref: str | None
    branch_id: int
    created_at: str
    updated_at: str
    completed_at: str | None


class StepOut(BaseModel):
    step: str
    action: str
    actor_name: str
    at: str
    at_counter: bool
    comment: str


class ApplicationDetail(ApplicationSummary):
    route: list[str]
    payload: dict[str, Any]
    steps: list[StepOut]


class ApplicationPage(BaseModel):
    items: list[ApplicationSummary]
    page: int
    size: int
    total: int


class ActionIn(BaseModel):
    """A staff step: accept 受理, review 复核, approve 审批, return 退回 or reject 不予受理."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "review", "approve", "return", "reject"]
    comment: str = Field(default="", max_length=500)
    at_counter: bool = False


class AccountOut(BaseModel):
    code: str
    balance: str = Field(description="Balance in yuan, debit-positive (元)")
    balance_fen: int


def _me(principal: Principal) -> MeOut:
    login = principal.login_name
    if principal.kind == "depositor":
        login = mask_id_number(login)
    return MeOut(
        user_id=principal.user_id,
        kind=principal.kind,
        login_name=login,
        display_name=principal.display_name,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
        branch_id=principal.branch_id,
        whole_center=principal.whole_center,
        employer_ref=principal.employer_ref,
        depositor_ref=principal.depositor_ref,
    )


@router.get("/me", summary="The signed-in caller 当前用户")
def me(principal: Annotated[Principal, Depends(require())]) -> MeOut:
    return _me(principal)


@router.get("/applications", summary="Applications, paginated and filtered 业务申请列表")
def list_applications(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*APPLICATION_READERS))],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=apps.MAX_PAGE_SIZE)] = 20,
    status: Status | None = None,
    business_type: Annotated[str | None, Query(max_length=40)] = None,
) -> ApplicationPage:
    views, total = apps.list_visible(
        db, principal, page=page, size=size, status=status, business_type=business_type
    )
    return ApplicationPage(
        items=[ApplicationSummary.model_validate(apps.summary_json(v)) for v in views],
        page=page,
        size=size,
        total=total,
    )


@router.get("/applications/{application_id}", summary="One application 业务申请详情")
def get_application(
    application_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*APPLICATION_READERS))],
) -> ApplicationDetail:
    view = apps.get_visible(db, principal, application_id)
    apps.audit_unmasked_view(db, principal, view)
    return ApplicationDetail.model_validate(apps.detail_json(view, principal))


@router.post("/applications/{application_id}/actions", summary="Take a step on an application 办理")
def act_on_application(
    application_id: RowId,
    body: ActionIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STAFF_STEPS))],
) -> ApplicationDetail:
    apps.get_visible(db, principal, application_id)
    view = web_loans.act_on_application(
        db,
        application_id,
        actor=principal,
        action=body.action,
        comment=body.comment,
        at_counter=body.at_counter,
        ip=request.client.host if request.client else "",
    )
    return ApplicationDetail.model_validate(apps.detail_json(view, principal))


def _account(db: DbSession, code: str) -> AccountOut:
    try:
        balance = ledger.balance_of(db, code)
    except LedgerError:
        raise Problem(
            404, "account_not_found", f"账户不存在：{code}", f"no such account: {code}"
        ) from None
    return AccountOut(code=code, balance=format_yuan(balance), balance_fen=balance)


@router.get("/ledger/accounts/{code}", summary="Balance of a ledger account 账户余额")
def ledger_account(
    code: Annotated[str, Path(max_length=40)],
    db: DbSession,
    _principal: Annotated[Principal, Depends(require("ledger.read"))],
) -> AccountOut:
    return _account(db, code)


@router.get("/employer/account", summary="The employer's own suspense account 本单位账户")
def employer_account(
    db: DbSession, principal: Annotated[Principal, Depends(require("employer.self"))]
) -> AccountOut:
    if not principal.employer_ref:
        raise Problem(404, "account_not_found", "未关联单位账号", "no employer account linked")
    return _account(db, subsidiary_code(EMPLOYER_SUSPENSE, principal.employer_ref))


@router.get("/me/account", summary="The depositor's own account 本人公积金账户")
def my_account(
    db: DbSession, principal: Annotated[Principal, Depends(require("depositor.self"))]
) -> AccountOut:
    if not principal.depositor_ref:
        raise Problem(404, "account_not_found", "未关联个人账号", "no personal account linked")
    return _account(db, subsidiary_code(DEPOSITORS_FUNDS, principal.depositor_ref))
