"""REST API v1 for withdrawals (提取接口): apply, read, decide, pay, statistics.

- ``GET /withdrawal-types`` (signed in): the policy's types with their documents and limits;
- depositors (``depositor.self``): ``POST /me/withdrawals`` (online application with the automatic
  check; ``Idempotency-Key`` required; a refusal is 201 with ``status: refused`` and every reason),
  ``GET /me/withdrawals``, ``GET /me/withdrawals/{id}`` (another person's: 404);
- staff: ``GET /withdrawals`` and ``/withdrawals/{id}`` (``workflow.read``, branch scope, the person
  masked without ``person.unmask``), ``POST /withdrawals`` (``withdrawal.counter``: a counter
  application for a depositor of the branch), ``POST /withdrawals/{id}/actions`` (the workflow
  steps);
- finance (``withdrawal.pay``): ``POST /withdrawal-batches`` (export; ``Idempotency-Key``),
  ``GET /withdrawal-batches``, ``GET /withdrawal-batches/{id}/file`` (CSV),
  ``POST /withdrawal-batches/results`` (the bank's result file; idempotent);
- ``GET /stats/withdrawals`` (``dashboard.read`` or ``report.read``).

Errors are problem+json; a refused field is named in ``field``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hpf.auth.principal import Principal
from hpf.web import batch_file_routes as routes
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web import withdrawals as w
from hpf.web.api import STAFF_STEPS, ActionIn
from hpf.web.api_contribution_actions import IdempotencyKey as IdempotencyKey
from hpf.web.batch_file_routes import ApiSummaries, add_api_routes
from hpf.web.schemas import AUTH_RESPONSES, RowId
from hpf.web.security import DbSession, require
from hpf.withdrawals.models import Withdrawal
from hpf.withdrawals.service import WithdrawalError
from hpf.withdrawals.stats import DIMENSIONS

router = APIRouter(
    prefix="/api/v1",
    tags=["api v1: withdrawals"],
    responses={**AUTH_RESPONSES, 409: AUTH_RESPONSES[403] | {"description": "Conflict 状态冲突"}},
)

DEPOSITOR = "depositor.self"
READ = "workflow.read"
COUNTER = "withdrawal.counter"
PAY = "withdrawal.pay"
STATS = ("dashboard.read", "report.read")
TypeCode = Literal[
    "purchase",
    "build",
    "loan_repayment",
    "rent",
    "retirement",
    "incapacity",
    "emigration",
    "death",
    "subsistence",
    "unemployment",
    "elevator",
    "serious_illness",
]
StatusCode = Literal[
    "refused", "in_review", "approved", "in_batch", "paid", "failed", "rejected", "withdrawn"
]
Dimension = Literal["type", "branch", "month", "channel"]
Fen = Annotated[int, Field(ge=1, le=10**13, strict=True, description="Amount in fen (分)")]
IdText = Annotated[str, Field(min_length=15, max_length=18, description="18-character ID number")]


class TypeOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    enabled: bool
    closes_account: bool
    documents: list[str]
    window_months: int
    min_interval_months: int
    max_times_per_year: int
    cap_fen: int
    min_balance_fen: int
    rent_cap_monthly_fen: int | None
    rent_cap_yearly_fen: int | None
    fields: list[str] = Field(description="The facts this type needs besides the documents")


class WithdrawalIn(BaseModel):
    """A withdrawal request: the type, the documents provided and the facts they show."""

    model_config = ConfigDict(extra="forbid")

    type: TypeCode
    documents: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default=[], max_length=30
    )
    amount_fen: Fen | None = Field(None, description="Empty: the most allowed")
    event_date: date | None = Field(None, ge=date(1950, 1, 1), le=date(2100, 12, 31))
    cost_fen: Fen | None = None
    contract_ref: str | None = Field(None, max_length=60)
    rent_months: int = Field(0, ge=0, le=120)
    loan_ref: str | None = Field(None, max_length=40)
    loan_borrower_id: IdText | None = None
    loan_outstanding_fen: Fen | None = None
    spouse_id: IdText | None = None
    heir_id: IdText | None = None
    heir_name: str | None = Field(None, max_length=50)
    heir_card: str | None = Field(None, max_length=25)
    owns_home: bool = False

    def as_fields(self) -> dict[str, str]:
        """The body as the form's text fields (so both go through one parser)."""

        def yuan(fen: int | None) -> str:
            return "" if fen is None else str(Decimal(fen) / 100)

        return {
            "amount": yuan(self.amount_fen),
            "event_date": self.event_date.isoformat() if self.event_date else "",
            "cost": yuan(self.cost_fen),
            "contract_ref": self.contract_ref or "",
            "rent_months": str(self.rent_months) if self.rent_months else "",
            "loan_ref": self.loan_ref or "",
            "loan_borrower_id": self.loan_borrower_id or "",
            "loan_outstanding": yuan(self.loan_outstanding_fen),
            "spouse_id": self.spouse_id or "",
            "heir_id": self.heir_id or "",
            "heir_name": self.heir_name or "",
            "heir_card": self.heir_card or "",
            "owns_home": "1" if self.owns_home else "",
        }


class CounterWithdrawalIn(WithdrawalIn):
    depositor_ref: str = Field(min_length=1, max_length=20)


class ReasonOut(BaseModel):
    code: str
    text: str = Field(description="The reason in Chinese")
    text_en: str
    advice: str = Field(description="What to do, in Chinese")
    advice_en: str


class WithdrawalOut(BaseModel):
    id: int
    reference: str = Field(description="业务编号 on bank files")
    type: str
    type_name_zh: str
    type_name_en: str
    status: str = Field(description="refused, in_review, approved, in_batch, paid, failed, …")
    channel: str
    fully_online: bool
    depositor_ref: str
    person_name: str = Field(description="Masked for staff without person.unmask")
    branch_id: int
    applied_on: date
    applied_at: datetime
    requested_fen: int | None
    amount_fen: int
    closes_account: bool
    decision: str
    decision_en: str
    reasons: list[ReasonOut] = Field(description="Every reason of a refusal, with what to do")
    documents: list[str]
    payee_name: str
    payee_card: str = Field(description="Masked")
    application_id: int | None
    application_status: str | None
    awaiting: str | None
    batch_id: int | None
    paid_on: date | None
    failure: str


class AppliedOut(WithdrawalOut):
    replayed: bool = Field(description="True when this answers an earlier request with the key")


class WithdrawalPage(BaseModel):
    items: list[WithdrawalOut]
    page: int
    size: int
    total: int


class BatchOut(routes.BatchOut):
    file: str = Field(description="Download path of the batch file (CSV)")


class ImportOut(routes.ImportOut):
    unchanged: int = Field(description="Lines settled before with the same result")


class StatOut(BaseModel):
    type: str | None = None
    branch: int | None = None
    month: str | None = Field(None, description="Month of payment, YYYY-MM")
    channel: str | None = None
    count: int
    amount_fen: int
    average_days: Decimal = Field(description="Average days from application to payment")
    online_share: Decimal = Field(description="Share handled entirely online (0..1)")


def _out(db: DbSession, principal: Principal, row: Withdrawal) -> WithdrawalOut:
    data = w.detail(db, principal, row)
    data.pop("application")
    return WithdrawalOut.model_validate(data)


def _applied(db: DbSession, principal: Principal, done: actions.Done) -> AppliedOut:
    row = w.get_visible(db, principal, int(done.result["withdrawal_id"]))
    if principal.kind != "depositor":
        w.audit_view(db, principal, row)
    return AppliedOut(**_out(db, principal, row).model_dump(), replayed=done.replayed)


@router.get("/withdrawal-types", summary="Withdrawal types, documents and limits 提取类型")
def withdrawal_types(
    request: Request, _principal: Annotated[Principal, Depends(require())]
) -> list[TypeOut]:
    return [
        TypeOut(
            code=t.code,
            name_zh=t.name_zh,
            name_en=t.name_en,
            enabled=t.enabled,
            closes_account=t.closes_account,
            documents=list(t.documents),
            window_months=t.window_months,
            min_interval_months=t.min_interval_months,
            max_times_per_year=t.max_times_per_year,
            cap_fen=t.cap_fen,
            min_balance_fen=t.min_balance_fen,
            rent_cap_monthly_fen=t.rent_cap_monthly_fen,
            rent_cap_yearly_fen=t.rent_cap_yearly_fen,
            fields=list(t.fields),
        )
        for t in w.type_views(c.policy_of(request), w.today())
    ]


# --- the depositor's own ----------------------------------------------------------------------


@router.post("/me/withdrawals", status_code=201, summary="Apply for a withdrawal 提取申请")
def apply(
    body: WithdrawalIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    idempotency_key: IdempotencyKey,
) -> AppliedOut:
    depositor = w.own_depositor(db, principal)
    done = w.apply_for(
        db,
        principal,
        c.policy_of(request),
        depositor=depositor,
        application=w.application_from(body.type, body.as_fields(), body.documents),
        channel="online_hall",
        key=idempotency_key,
    )
    return _applied(db, principal, done)


@router.get("/me/withdrawals", summary="My withdrawals 我的提取")
def my_withdrawals(
    db: DbSession, principal: Annotated[Principal, Depends(require(DEPOSITOR))]
) -> list[WithdrawalOut]:
    return [_out(db, principal, row) for row in w.list_own(db, principal)]


@router.get("/me/withdrawals/{withdrawal_id}", summary="One of my withdrawals 提取详情")
def my_withdrawal(
    withdrawal_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
) -> WithdrawalOut:
    return _out(db, principal, w.get_visible(db, principal, withdrawal_id))


# --- staff ------------------------------------------------------------------------------------


@router.get("/withdrawals", summary="Withdrawals of the branch 提取列表")
def list_withdrawals(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(READ))],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=w.MAX_PAGE_SIZE)] = 20,
    status: StatusCode | None = None,
    type: TypeCode | None = None,
) -> WithdrawalPage:
    rows, total = w.list_staff(db, principal, page=page, size=size, status=status, wtype=type)
    return WithdrawalPage(
        items=[_out(db, principal, r) for r in rows], page=page, size=size, total=total
    )


@router.post("/withdrawals", status_code=201, summary="Apply at the counter 窗口提取申请")
def apply_at_counter(
    body: CounterWithdrawalIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(COUNTER))],
    idempotency_key: IdempotencyKey,
) -> AppliedOut:
    depositor = w.depositor_for_counter(db, principal, body.depositor_ref)
    done = w.apply_for(
        db,
        principal,
        c.policy_of(request),
        depositor=depositor,
        application=w.application_from(body.type, body.as_fields(), body.documents),
        channel="counter",
        key=idempotency_key,
    )
    return _applied(db, principal, done)


@router.get("/withdrawals/{withdrawal_id}", summary="One withdrawal 提取详情")
def get_withdrawal(
    withdrawal_id: RowId,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(READ))],
) -> WithdrawalOut:
    row = w.get_visible(db, principal, withdrawal_id)
    w.audit_view(db, principal, row, ip=c.client_ip(request))
    return _out(db, principal, row)


@router.post("/withdrawals/{withdrawal_id}/actions", summary="Take a step 办理提取")
def act(
    withdrawal_id: RowId,
    body: ActionIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STAFF_STEPS))],
) -> WithdrawalOut:
    row = w.get_visible(db, principal, withdrawal_id)
    if row.application_id is None:
        raise WithdrawalError(
            f"提取申请 {withdrawal_id} 不在审核中", f"withdrawal {withdrawal_id} is not in review"
        )
    w.act_on_application(
        db,
        row.application_id,
        actor=principal,
        action=body.action,
        comment=body.comment,
        at_counter=body.at_counter,
        ip=c.client_ip(request),
    )
    db.refresh(row)
    return _out(db, principal, row)


# --- finance ----------------------------------------------------------------------------------


add_api_routes(
    router,
    w.PAYMENT_FILES,
    path="/withdrawal-batches",
    summaries=ApiSummaries(
        export="Export a payment batch 导出支付批次",
        list="Payment batches 支付批次",
        file="The batch file for the bank 支付批次文件 (CSV)",
        results="Import the bank's result file 导入银行回盘",
    ),
    batch_out=BatchOut,
    import_out=ImportOut,
)


# --- statistics -------------------------------------------------------------------------------


@router.get("/stats/withdrawals", summary="Withdrawal statistics 提取统计")
def stats(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STATS))],
    start: Annotated[date, Query(alias="from", ge=date(1991, 1, 1), le=date(2100, 12, 31))],
    end: Annotated[date, Query(alias="to", ge=date(1991, 1, 1), le=date(2100, 12, 31))],
    by: Annotated[list[Dimension] | None, Query(max_length=4)] = None,
) -> list[StatOut]:
    out = []
    for row in w.stats(db, principal, start=start, end=end, by=by or list(DIMENSIONS)):
        keys: dict[str, Any] = dict(row.keys)
        if keys.get("month") is not None:
            keys["month"] = f"{keys['month']:%Y-%m}"
        out.append(
            StatOut(
                **keys,
                count=row.count,
                amount_fen=row.amount_fen,
                average_days=row.average_days,
                online_share=row.online_share,
            )
        )
    return out
