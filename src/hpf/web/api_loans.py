"""REST API v1 for loans (贷款接口): apply, read, decide, disburse, prepay, collect, statistics.

- depositors (``depositor.self``): ``GET /me/loans``, ``GET /me/loans/{id}``,
  ``GET /me/loans/{id}/schedule``, ``GET /me/loans/{id}/prepayment-trial`` (writes nothing),
  ``POST /me/loans`` (online application with the limit check; ``Idempotency-Key`` required; a
  refusal is 201 with ``status: refused`` and its reasons); another person's loan: 404;
- staff (``workflow.read`` or ``loan.finance``, branch scope, people masked without
  ``person.unmask``): ``GET /loans``, ``/loans/{id}``, ``/loans/{id}/schedule``,
  ``/loans/{id}/prepayment-trial``, ``GET /loan-collections`` (overdue work list);
  ``POST /loans`` (``loan.counter``: a counter application), ``POST /loans/{id}/actions``
  (workflow steps);
- finance (``loan.finance``, ``Idempotency-Key`` on writes): ``POST /loans/{id}/disbursement``,
  ``POST /loans/{id}/prepayments``, ``POST /loan-debit-batches`` (export), ``GET
  /loan-debit-batches``, ``GET /loan-debit-batches/{id}/file`` (CSV), ``POST
  /loan-debit-batches/results`` (the bank's result file; idempotent);
- ``GET /stats/loans`` (``dashboard.read`` or ``report.read``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hpf.auth.principal import Principal
from hpf.loans.models import Loan
from hpf.loans.service import LoanError
from hpf.web import batch_file_routes as routes
from hpf.web import contributions as c
from hpf.web import loans as lo
from hpf.web import withdrawals as w
from hpf.web.api import STAFF_STEPS, ActionIn
from hpf.web.api_withdrawals import IdempotencyKey
from hpf.web.batch_file_routes import ApiSummaries, add_api_routes
from hpf.web.schemas import AUTH_RESPONSES, RowId
from hpf.web.security import DbSession, require

router = APIRouter(
    prefix="/api/v1",
    tags=["api v1: loans"],
    responses={**AUTH_RESPONSES, 409: AUTH_RESPONSES[403] | {"description": "Conflict 状态冲突"}},
)

DEPOSITOR = "depositor.self"
READ = lo.STAFF_READERS
COUNTER = "loan.counter"
FINANCE = "loan.finance"
STATS = ("dashboard.read", "report.read")
Fen = Annotated[int, Field(ge=1, le=10**13, strict=True, description="Amount in fen (分)")]
StatusCode = Literal[
    "refused", "in_review", "approved", "active", "settled", "rejected", "withdrawn"
]
Option = Literal["shorter_term", "lower_payment", "full"]


class LoanIn(BaseModel):
    """A loan request: amount, term, the home, the security and the co-borrower (spouse)."""

    model_config = ConfigDict(extra="forbid")

    amount_fen: Fen
    term_months: int = Field(ge=1, le=360)
    method: Literal["annuity", "linear"] = "annuity"
    house_contract_ref: str = Field(min_length=1, max_length=60)
    price_fen: Fen
    area_m2: Decimal = Field(gt=0, le=99999, max_digits=7, decimal_places=2)
    home_number: int = Field(1, ge=1, le=9)
    security_kind: Literal["mortgage", "guarantee"] = "mortgage"
    security_ref: str = Field(min_length=1, max_length=60)
    co_id_number: str | None = Field(None, min_length=15, max_length=18)
    co_name: str | None = Field(None, max_length=50)
    commercial_fen: int = Field(0, ge=0, le=10**13)
    commercial_bank: str = Field("", max_length=60)
    existing_monthly_debt_fen: int = Field(0, ge=0, le=10**13)
    payee_name: str = Field("", max_length=60)
    payee_account: str = Field("", max_length=30)

    def as_fields(self) -> dict[str, str]:
        """The body as the form's text fields (so both go through one parser)."""

        def yuan(fen: int) -> str:
            return str(Decimal(fen) / 100) if fen else ""

        return {
            "amount": yuan(self.amount_fen),
            "term_months": str(self.term_months),
            "method": self.method,
            "house_contract_ref": self.house_contract_ref,
            "price": yuan(self.price_fen),
            "area": str(self.area_m2),
            "home_number": str(self.home_number),
            "security_kind": self.security_kind,
            "security_ref": self.security_ref,
            "co_id_number": self.co_id_number or "",
            "co_name": self.co_name or "",
            "commercial": yuan(self.commercial_fen),
            "commercial_bank": self.commercial_bank,
            "debt": yuan(self.existing_monthly_debt_fen),
            "payee_name": self.payee_name,
            "payee_account": self.payee_account,
        }


class CounterLoanIn(LoanIn):
    depositor_ref: str = Field(min_length=1, max_length=20)


class InstallmentOut(BaseModel):
    n: int
    due_date: date
    payment_fen: int
    principal_fen: int
    interest_fen: int
    balance_after_fen: int
    rate_pct: str
    status: str = Field(description="scheduled, overdue or paid")
    paid_on: date | None
    days_overdue: int
    penalty_fen: int


class PartyOut(BaseModel):
    role: str
    name: str = Field(description="Masked for staff without person.unmask")
    id_number: str
    relation: str


class LoanOut(BaseModel):
    id: int
    loan_ref: str
    contract_ref: str | None
    status: str
    channel: str
    depositor_ref: str
    person_name: str
    branch_id: int
    applied_on: date
    house_contract_ref: str
    price_fen: int
    area_m2: str
    home_number: int
    commercial_fen: int
    requested_fen: int
    limit_fen: int
    binding_constraint: str
    decision: str
    decision_en: str
    term_months: int
    method: str
    annual_rate_pct: str
    security_kind: str
    security_ref: str
    payee_name: str
    payee_account: str
    principal_fen: int
    balance_fen: int
    disbursed_on: date | None
    first_due: date | None
    paid_n: int
    last_n: int
    level_fen: int
    settled_on: date | None
    days_past_due: int
    overdue_principal_fen: int
    overdue_interest_fen: int
    penalty_fen: int
    risk_grade: str
    next_installment: InstallmentOut | None
    parties: list[PartyOut]
    application_id: int | None
    application_status: str | None
    awaiting: str | None


class AppliedOut(LoanOut):
    replayed: bool = Field(description="True when this answers an earlier request with the key")


class DoneOut(LoanOut):
    replayed: bool


class LoanPage(BaseModel):
    items: list[LoanOut]
    page: int
    size: int
    total: int


class SchedulePage(BaseModel):
    items: list[InstallmentOut]
    page: int
    size: int
    total: int


class TrialRowOut(BaseModel):
    n: int
    due_date: date
    payment_fen: int
    principal_fen: int
    interest_fen: int
    balance_after_fen: int


class TrialOut(BaseModel):
    """A prepayment trial: the schedule after it; nothing was written."""

    on: date = Field(description="The due date of the last paid installment")
    amount_fen: int
    option: str
    full: bool
    balance_before_fen: int
    balance_after_fen: int
    installments_before: int
    installments_after: int
    level_before_fen: int
    level_after_fen: int
    interest_saved_fen: int
    schedule: list[TrialRowOut]


class PrepaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    option: Option
    amount_fen: Fen | None = Field(None, description="Required unless option is full")
    source: Literal["counter", "hpf_balance"] = "counter"


class BatchOut(routes.BatchOut):
    pass


class ImportOut(routes.ImportOut):
    pass


class CollectionOut(BaseModel):
    loan_id: int
    loan_ref: str
    person_name: str
    opened_on: date
    days_past_due: int
    bucket: str
    overdue_principal_fen: int
    overdue_interest_fen: int
    penalty_fen: int
    last_action: str


class CollectionsOut(BaseModel):
    buckets: dict[str, int] = Field(description="Open items per aging bucket")
    items: list[CollectionOut]


class StatOut(BaseModel):
    branch: int
    month: str
    issued: int
    issued_fen: int
    repaid_fen: int
    prepayments: int
    prepaid_fen: int
    balance_fen: int
    deposit_balance_fen: int
    overdue_fen: int
    overdue_ratio: Decimal
    loan_to_deposit: Decimal


def _out(db: DbSession, principal: Principal, row: Loan) -> LoanOut:
    data = lo.detail(db, principal, row)
    data.pop("application")
    return LoanOut.model_validate(data)


def _applied(db: DbSession, principal: Principal, loan_id: int, replayed: bool) -> AppliedOut:
    row = lo.get_visible(db, principal, loan_id)
    lo.audit_view(db, principal, row)
    return AppliedOut(**_out(db, principal, row).model_dump(), replayed=replayed)


def _schedule(db: DbSession, loan_id: int, page: int, size: int) -> SchedulePage:
    rows, total = lo.schedule_page(db, loan_id, page=page, size=size)
    return SchedulePage(
        items=[InstallmentOut.model_validate(lo.installment_json(r)) for r in rows],
        page=page,
        size=size,
        total=total,
    )


def _trial(row: Loan, option: Option, amount_fen: int | None) -> TrialOut:
    if option != "full" and amount_fen is None:
        raise LoanError("须填写提前还款金额", "amount_fen is required unless option is full")
    return TrialOut.model_validate(
        lo.prepayment_trial(row, amount_fen=None if option == "full" else amount_fen, option=option)
    )


Page = Annotated[int, Query(ge=1, le=100_000)]
Size = Annotated[int, Query(ge=1, le=360)]


# --- the depositor's own ----------------------------------------------------------------------


@router.post("/me/loans", status_code=201, summary="Apply for a loan 贷款申请")
def apply(
    body: LoanIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    idempotency_key: IdempotencyKey,
) -> AppliedOut:
    depositor = w.own_depositor(db, principal)
    done = lo.apply_for(
        db,
        principal,
        c.policy_of(request),
        depositor=depositor,
        request=lo.request_from(body.as_fields()),
        channel="online_hall",
        key=idempotency_key,
    )
    return _applied(db, principal, int(done.result["loan_id"]), done.replayed)


@router.get("/me/loans", summary="My loans 我的贷款")
def my_loans(
    db: DbSession, principal: Annotated[Principal, Depends(require(DEPOSITOR))]
) -> list[LoanOut]:
    return [_out(db, principal, row) for row in lo.list_own(db, principal)]


@router.get("/me/loans/{loan_id}", summary="One of my loans 贷款详情")
def my_loan(
    loan_id: RowId, db: DbSession, principal: Annotated[Principal, Depends(require(DEPOSITOR))]
) -> LoanOut:
    return _out(db, principal, lo.get_visible(db, principal, loan_id))


@router.get("/me/loans/{loan_id}/schedule", summary="My loan's schedule 还款计划")
def my_schedule(
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    page: Page = 1,
    size: Size = lo.SCHEDULE_PAGE,
) -> SchedulePage:
    row = lo.get_visible(db, principal, loan_id)
    return _schedule(db, row.id, page, size)


@router.get("/me/loans/{loan_id}/prepayment-trial", summary="Prepayment trial 提前还款试算")
def my_prepayment_trial(
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    option: Option = "shorter_term",
    amount_fen: Annotated[int | None, Query(ge=1, le=10**13)] = None,
) -> TrialOut:
    return _trial(lo.get_visible(db, principal, loan_id), option, amount_fen)


# --- staff ------------------------------------------------------------------------------------


@router.get("/loans", summary="Loans of the branch 贷款列表")
def list_loans(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    page: Page = 1,
    size: Annotated[int, Query(ge=1, le=lo.MAX_PAGE_SIZE)] = 20,
    status: StatusCode | None = None,
) -> LoanPage:
    rows, total = lo.list_staff(db, principal, page=page, size=size, status=status)
    return LoanPage(items=[_out(db, principal, r) for r in rows], page=page, size=size, total=total)


@router.post("/loans", status_code=201, summary="Apply at the counter 窗口贷款申请")
def apply_at_counter(
    body: CounterLoanIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(COUNTER))],
    idempotency_key: IdempotencyKey,
) -> AppliedOut:
    depositor = w.depositor_for_counter(db, principal, body.depositor_ref)
    done = lo.apply_for(
        db,
        principal,
        c.policy_of(request),
        depositor=depositor,
        request=lo.request_from(body.as_fields()),
        channel="counter",
        key=idempotency_key,
    )
    return _applied(db, principal, int(done.result["loan_id"]), done.replayed)


@router.get("/loans/{loan_id}", summary="One loan 贷款详情")
def get_loan(
    loan_id: RowId,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
) -> LoanOut:
    row = lo.get_visible(db, principal, loan_id)
    lo.audit_view(db, principal, row, ip=c.client_ip(request))
    return _out(db, principal, row)


@router.get("/loans/{loan_id}/schedule", summary="A loan's schedule 还款计划")
def schedule(
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    page: Page = 1,
    size: Size = lo.SCHEDULE_PAGE,
) -> SchedulePage:
    row = lo.get_visible(db, principal, loan_id)
    return _schedule(db, row.id, page, size)


@router.get("/loans/{loan_id}/prepayment-trial", summary="Prepayment trial 提前还款试算")
def prepayment_trial(
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    option: Option = "shorter_term",
    amount_fen: Annotated[int | None, Query(ge=1, le=10**13)] = None,
) -> TrialOut:
    return _trial(lo.get_visible(db, principal, loan_id), option, amount_fen)


@router.post("/loans/{loan_id}/actions", summary="Take a step 办理贷款申请")
def act(
    loan_id: RowId,
    body: ActionIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STAFF_STEPS))],
) -> LoanOut:
    row = lo.get_visible(db, principal, loan_id)
    if row.application_id is None:
        raise LoanError(f"贷款 {row.loan_ref} 不在审核中", f"loan {row.loan_ref} is not in review")
    lo.act_on_application(
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


@router.post("/loans/{loan_id}/disbursement", summary="Disburse a loan 贷款发放")
def disburse(
    loan_id: RowId,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(FINANCE))],
    idempotency_key: IdempotencyKey,
) -> DoneOut:
    row = lo.get_visible(db, principal, loan_id)
    done = lo.disburse(db, principal, c.policy_of(request), row, key=idempotency_key)
    db.refresh(row)
    return DoneOut(**_out(db, principal, row).model_dump(), replayed=done.replayed)


@router.post("/loans/{loan_id}/prepayments", status_code=201, summary="Prepay 提前还款")
def prepay(
    loan_id: RowId,
    body: PrepaymentIn,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(FINANCE))],
    idempotency_key: IdempotencyKey,
) -> DoneOut:
    row = lo.get_visible(db, principal, loan_id)
    if body.option != "full" and body.amount_fen is None:
        raise LoanError("须填写提前还款金额", "amount_fen is required unless option is full")
    done = lo.prepay(
        db,
        principal,
        row,
        amount_fen=None if body.option == "full" else body.amount_fen,
        option=body.option,
        source=body.source,
        key=idempotency_key,
    )
    db.refresh(row)
    return DoneOut(**_out(db, principal, row).model_dump(), replayed=done.replayed)


add_api_routes(
    router,
    lo.DEBIT_FILES,
    path="/loan-debit-batches",
    summaries=ApiSummaries(
        export="Export a debit batch 导出代扣文件",
        list="Debit batches 代扣批次",
        file="The debit file for the bank 代扣文件 (CSV)",
        results="Import the bank's result file 导入回盘",
    ),
    batch_out=BatchOut,
    import_out=ImportOut,
)


# --- work list and statistics -----------------------------------------------------------------


@router.get("/loan-collections", summary="Overdue loans (collection work list) 逾期催收清单")
def collections(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    bucket: Literal["1-30", "31-90", "91-180", "over-180"] | None = None,
) -> CollectionsOut:
    items, buckets = lo.overdue_list(db, principal, bucket=bucket or "")
    return CollectionsOut(
        buckets={code: buckets.get(code, (0, 0))[0] for code in lo.BUCKET_LABELS},
        items=[
            CollectionOut(
                loan_id=i.loan.id,
                loan_ref=i.loan.loan_ref,
                person_name=i.person,
                opened_on=i.collection.opened_on,
                days_past_due=i.collection.days_past_due,
                bucket=i.collection.bucket,
                overdue_principal_fen=i.collection.overdue_principal_fen,
                overdue_interest_fen=i.collection.overdue_interest_fen,
                penalty_fen=i.collection.penalty_fen,
                last_action=i.collection.last_action,
            )
            for i in items
        ],
    )


@router.get("/stats/loans", summary="Loan statistics by branch and month 贷款统计")
def stats(
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STATS))],
    start: Annotated[date, Query(alias="from", ge=date(1991, 1, 1), le=date(2100, 12, 31))],
    end: Annotated[date, Query(alias="to", ge=date(1991, 1, 1), le=date(2100, 12, 31))],
) -> list[StatOut]:
    out: list[StatOut] = []
    for r in lo.stats(db, principal, start=start, end=end):
        data: dict[str, Any] = {
            "branch": r.branch_id,
            "month": f"{r.month:%Y-%m}",
            "issued": r.issued,
            "issued_fen": r.issued_fen,
            "repaid_fen": r.repaid_fen,
            "prepayments": r.prepayments,
            "prepaid_fen": r.prepaid_fen,
            "balance_fen": r.balance_fen,
            "deposit_balance_fen": r.deposit_balance_fen,
            "overdue_fen": r.overdue_fen,
            "overdue_ratio": r.overdue_ratio,
            "loan_to_deposit": r.loan_to_deposit,
        }
        out.append(StatOut(**data))
    return out
