"""REST API v1 for contribution writes (归集经办接口): the console's and portal's forms as JSON.

Every write takes an ``Idempotency-Key`` header (8-48 characters: letters, digits, ``.``, ``_``,
``:``, ``-``). The first outcome is kept; the same key with the same body answers it again with
``replayed: true`` and writes nothing; the same key with another body answers 409
``idempotency_conflict``. Errors are problem+json: a refused field names it in ``field`` (e.g. a
bad credit code: 400, ``field: "uscc"``), a record outside the caller's branch (or none) is 404,
a state that forbids the action is 409. A refusal writes nothing.

Staff of the counter (``deposit.manage``): ``POST /employers`` (开户), ``…/{ref}/rates``,
``…/{ref}/close``; ``POST /depositors`` (开户/启封), ``…/{ref}/base``, ``/freeze``, ``/join``,
``/merge``, ``/close``, ``/transfer-in``, ``/transfer-out``. Finance (``deposit.post``):
``POST /employers/{ref}/funds`` (到账), ``…/refunds`` (退款), ``POST /remittances/post`` (入账).
Employer agents (``employer.self``): ``POST /employer/back-payments`` (补缴),
``POST /employer/base-adjustments`` (基数调整, a file; 422 with ``errors`` per bad row).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from hpf.auth.principal import Principal
from hpf.deposits.adjustment import BaseAdjustmentRejected
from hpf.deposits.models import Depositor, Employer
from hpf.web import api_contributions as reads
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web.errors import problem_response
from hpf.web.schemas import AUTH_RESPONSES, ProblemOut
from hpf.web.security import DbSession, require

router = APIRouter(
    prefix="/api/v1",
    tags=["api v1: contribution writes"],
    responses={**AUTH_RESPONSES, 409: AUTH_RESPONSES[403] | {"description": "Conflict 状态冲突"}},
)

MANAGE = "deposit.manage"
POST = "deposit.post"
EMPLOYER = "employer.self"
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=actions.KEY_PATTERN,
        description="One key per intended write; a replay with the same body writes nothing",
    ),
]
Ref = reads.Ref
Rate = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Fen = Annotated[int, Field(ge=1, le=10**13, strict=True, description="Amount in fen (分)")]
BaseFen = Annotated[int, Field(ge=0, le=10**9, strict=True, description="Monthly base in fen (分)")]
Month = Annotated[str, Field(pattern=c.MONTH_PATTERN, description="YYYY-MM")]
City = Annotated[str, Field(min_length=1, max_length=actions.CITY_MAX)]
RefText = Annotated[str, Field(min_length=1, max_length=20)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmployerOpenIn(_In):
    uscc: str = Field(max_length=30, description="统一社会信用代码 (check character verified)")
    name: str = Field(min_length=1, max_length=200)
    branch_code: str = Field("", max_length=20, description="Default: the caller's branch")
    employer_rate_pct: Rate
    employee_rate_pct: Rate
    pay_day: int = Field(10, ge=1, le=28)
    first_month: Month | None = None
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)
    employer_type: str = Field(
        "other",
        max_length=30,
        description="单位性质: government, state_owned, collective, foreign_invested, private, "
        "non_profit, flexible or other (the annual report's categories)",
    )


class RatesIn(_In):
    employer_rate_pct: Rate
    employee_rate_pct: Rate


class DepositorOpenIn(_In):
    id_number: str = Field(max_length=30, description="18-character ID number (check digit)")
    name: str = Field(min_length=1, max_length=50)
    employer_ref: RefText
    base_fen: BaseFen
    phone: str = Field("", max_length=20)
    bank_card: str = Field("", max_length=30)


class BaseIn(_In):
    base_fen: BaseFen


class JoinIn(_In):
    employer_ref: RefText
    base_fen: BaseFen


class MergeIn(_In):
    keep_ref: RefText = Field(description="The account that is kept; this one is merged into it")


class CloseIn(_In):
    reason: str = Field("", max_length=100)


class TransferInIn(_In):
    amount_fen: Fen
    from_city: City


class TransferOutIn(_In):
    to_city: City


class FundsIn(_In):
    amount_fen: Fen
    memo: str = Field("", max_length=100)


class RefundIn(_In):
    amount_fen: Fen


class PostIn(_In):
    remittance_ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(
        min_length=1, max_length=200
    )


class BackPaymentIn(_In):
    month_from: Month
    month_to: Month
    depositor_refs: list[RefText] = Field(min_length=1, max_length=actions.MAX_BACK_PAYMENT_PEOPLE)


class EmployerActionOut(BaseModel):
    replayed: bool = Field(description="True when this answers an earlier request with the key")
    employer: reads.EmployerOut


class DepositorOpenedOut(BaseModel):
    replayed: bool
    depositor_ref: str
    existing: bool = Field(description="True when the person's existing account joined")
    birth_date: date = Field(description="From the ID number")
    sex: str = Field(description="M or F, from the ID number")


class DepositorActionOut(BaseModel):
    replayed: bool
    depositor_ref: str
    status: str = Field(description="01 正常, 02 封存, 03–05 销户, 06 冻结")
    employer_ref: str | None
    base_fen: int
    amount_fen: int | None = Field(None, description="Amount moved (closure, merge, transfer)")
    journal_id: int | None = None


class JournalOut(BaseModel):
    replayed: bool
    employer_ref: str
    journal_id: int
    suspense_balance_fen: int | None


class PostOut(BaseModel):
    replayed: bool
    posted: list[int] = Field(description="Lists posted now")
    already: list[int] = Field(description="Lists that had been posted before")
    journals: list[int]
    total_fen: int


class BackPaymentOut(BaseModel):
    replayed: bool
    lists: list[reads.RemittanceOut]


class BaseAdjustmentOut(BaseModel):
    replayed: bool
    effective: date
    changed: int


class BaseRowErrorOut(BaseModel):
    line_no: int
    id_number: str = Field(description="Masked")
    message: str
    message_en: str


class BaseAdjustmentRejectedOut(ProblemOut):
    errors: list[BaseRowErrorOut]


# --- helpers ----------------------------------------------------------------------------------


def _employer_out(db: DbSession, ref: str, done: actions.Done) -> EmployerActionOut:
    employer = db.scalar(select(Employer).where(Employer.employer_ref == ref))
    if employer is None:
        raise c.employer_not_found(ref)
    return EmployerActionOut(
        replayed=done.replayed, employer=reads._employer(c.employer_row(db, employer))
    )


def _depositor_out(db: DbSession, ref: str, done: actions.Done) -> DepositorActionOut:
    depositor = db.scalar(select(Depositor).where(Depositor.depositor_ref == ref))
    if depositor is None:
        raise c.depositor_not_found(ref)
    employer = db.get(Employer, depositor.employer_id) if depositor.employer_id else None
    amount, journal = done.result.get("amount_fen"), done.result.get("journal_id")
    return DepositorActionOut(
        replayed=done.replayed,
        depositor_ref=depositor.depositor_ref,
        status=depositor.status,
        employer_ref=employer.employer_ref if employer else None,
        base_fen=depositor.base_fen,
        amount_fen=int(amount) if amount is not None else None,
        journal_id=int(journal) if journal is not None else None,
    )


def _journal_out(db: DbSession, ref: str, done: actions.Done) -> JournalOut:
    employer = db.scalar(select(Employer).where(Employer.employer_ref == ref))
    if employer is None:
        raise c.employer_not_found(ref)
    return JournalOut(
        replayed=done.replayed,
        employer_ref=ref,
        journal_id=int(done.result["journal_id"]),
        suspense_balance_fen=c.suspense_balance(db, employer),
    )


# --- employers --------------------------------------------------------------------------------


@router.post("/employers", status_code=201, summary="Open an employer 单位开户")
def open_employer(
    body: EmployerOpenIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> EmployerActionOut:
    done = actions.open_employer(
        db,
        principal,
        c.policy_of(request),
        key=idempotency_key,
        uscc=body.uscc,
        name=body.name,
        branch_code=body.branch_code,
        employer_rate_pct=body.employer_rate_pct,
        employee_rate_pct=body.employee_rate_pct,
        pay_day=body.pay_day,
        first_month=c.parse_month_text(body.first_month, date.today())
        if body.first_month
        else None,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        employer_type=body.employer_type,
    )
    return _employer_out(db, str(done.result["employer_ref"]), done)


@router.post("/employers/{employer_ref}/rates", summary="Change the rates 调整缴存比例")
def change_rates(
    employer_ref: Ref,
    body: RatesIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> EmployerActionOut:
    employer = c.get_employer_visible(db, principal, employer_ref)
    done = actions.change_rates(
        db,
        principal,
        c.policy_of(request),
        employer,
        key=idempotency_key,
        employer_rate_pct=body.employer_rate_pct,
        employee_rate_pct=body.employee_rate_pct,
    )
    return _employer_out(db, employer.employer_ref, done)


@router.post("/employers/{employer_ref}/close", summary="Close the employer account 单位销户")
def close_employer(
    employer_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> EmployerActionOut:
    employer = c.get_employer_visible(db, principal, employer_ref)
    done = actions.close_employer(db, principal, employer, key=idempotency_key)
    return _employer_out(db, employer.employer_ref, done)


# --- depositors -------------------------------------------------------------------------------


@router.post("/depositors", status_code=201, summary="Open a depositor (or unseal) 个人开户")
def open_depositor(
    body: DepositorOpenIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> DepositorOpenedOut:
    done = actions.open_depositor(
        db,
        principal,
        c.policy_of(request),
        key=idempotency_key,
        id_number=body.id_number,
        name=body.name,
        employer_ref=body.employer_ref,
        base_fen=body.base_fen,
        phone=body.phone,
        bank_card=body.bank_card,
    )
    ref = str(done.result["depositor_ref"])
    depositor = db.scalar(select(Depositor).where(Depositor.depositor_ref == ref))
    if depositor is None:
        raise c.depositor_not_found(ref)
    return DepositorOpenedOut(
        replayed=done.replayed,
        depositor_ref=ref,
        existing=bool(done.result.get("existing")),
        birth_date=depositor.birth_date,
        sex=depositor.sex,
    )


@router.post("/depositors/{depositor_ref}/base", summary="Set the base 基数调整")
def set_base(
    depositor_ref: Ref,
    body: BaseIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> DepositorActionOut:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    done = actions.set_base(
        db, principal, c.policy_of(request), depositor, key=idempotency_key, base_fen=body.base_fen
    )
    return _depositor_out(db, depositor.depositor_ref, done)


@router.post("/depositors/{depositor_ref}/freeze", summary="Seal the account 封存")
def freeze(
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> DepositorActionOut:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    done = actions.freeze(db, principal, depositor, key=idempotency_key)
    return _depositor_out(db, depositor.depositor_ref, done)


@router.post("/depositors/{depositor_ref}/join", summary="Join a new employer 启封/转移")
def join_employer(
    depositor_ref: Ref,
    body: JoinIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> DepositorActionOut:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    done = actions.join_employer(
        db,
        principal,
        c.policy_of(request),
        depositor,
        key=idempotency_key,
        employer_ref=body.employer_ref,
        base_fen=body.base_fen,
    )
    return _depositor_out(db, depositor.depositor_ref, done)


@router.post("/depositors/{depositor_ref}/merge", summary="Merge a duplicate account 合并")
def merge(
    depositor_ref: Ref,
    body: MergeIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> DepositorActionOut:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    done = actions.merge(
        db, principal, c.policy_of(request), depositor, key=idempotency_key, keep_ref=body.keep_ref
    )
    return _depositor_out(db, depositor.depositor_ref, done)


@router.post("/depositors/{depositor_ref}/close", summary="Close with closure interest 销户")
def close_depositor(
    depositor_ref: Ref,
    body: CloseIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> DepositorActionOut:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    done = actions.close_depositor(
        db, principal, c.policy_of(request), depositor, key=idempotency_key, reason=body.reason
    )
    return _depositor_out(db, depositor.depositor_ref, done)


@router.post("/depositors/{depositor_ref}/transfer-in", summary="Transfer in 外部转入")
def transfer_in(
    depositor_ref: Ref,
    body: TransferInIn,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> DepositorActionOut:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    done = actions.transfer_in(
        db,
        principal,
        depositor,
        key=idempotency_key,
        amount_fen=body.amount_fen,
        from_city=body.from_city,
    )
    return _depositor_out(db, depositor.depositor_ref, done)


@router.post("/depositors/{depositor_ref}/transfer-out", summary="Transfer out 外部转出")
def transfer_out(
    depositor_ref: Ref,
    body: TransferOutIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(MANAGE))],
    idempotency_key: IdempotencyKey,
) -> DepositorActionOut:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    done = actions.transfer_out(
        db, principal, c.policy_of(request), depositor, key=idempotency_key, to_city=body.to_city
    )
    return _depositor_out(db, depositor.depositor_ref, done)


# --- finance ----------------------------------------------------------------------------------


@router.post("/employers/{employer_ref}/funds", summary="Record funds received 到账")
def receive_funds(
    employer_ref: Ref,
    body: FundsIn,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(POST))],
    idempotency_key: IdempotencyKey,
) -> JournalOut:
    employer = c.get_employer_visible(db, principal, employer_ref)
    done = actions.receive_funds(
        db, principal, employer, key=idempotency_key, amount_fen=body.amount_fen, memo=body.memo
    )
    return _journal_out(db, employer.employer_ref, done)


@router.post("/employers/{employer_ref}/refunds", summary="Refund an overpayment 多缴退款")
def refund(
    employer_ref: Ref,
    body: RefundIn,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(POST))],
    idempotency_key: IdempotencyKey,
) -> JournalOut:
    employer = c.get_employer_visible(db, principal, employer_ref)
    done = actions.refund_overpayment(
        db, principal, employer, key=idempotency_key, amount_fen=body.amount_fen
    )
    return _journal_out(db, employer.employer_ref, done)


@router.post("/remittances/post", summary="Post confirmed lists 清册入账 (all or nothing)")
def post_remittances(
    body: PostIn,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(POST))],
    idempotency_key: IdempotencyKey,
) -> PostOut:
    lists = actions.visible_remittances(db, principal, body.remittance_ids)
    done = actions.post_lists(db, principal, lists, key=idempotency_key)
    r = done.result
    return PostOut(
        replayed=done.replayed,
        posted=[int(i) for i in r.get("posted", [])],
        already=[int(i) for i in r.get("already", [])],
        journals=[int(i) for i in r.get("journals", [])],
        total_fen=int(r.get("total_fen", 0)),
    )


# --- the employer's own -----------------------------------------------------------------------


@router.post(
    "/employer/back-payments", status_code=201, summary="Draft back-payment lists 补缴清册"
)
def back_payments(
    body: BackPaymentIn,
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    idempotency_key: IdempotencyKey,
) -> BackPaymentOut:
    employer = c.own_employer(db, principal)
    months = actions.month_range(
        c.parse_month_text(body.month_from, date.today()),
        c.parse_month_text(body.month_to, date.today()),
    )
    done = actions.draft_back_payment(
        db,
        principal,
        c.policy_of(request),
        employer,
        key=idempotency_key,
        months=months,
        depositor_refs=body.depositor_refs,
    )
    ids = [int(i) for i in done.result.get("remittance_ids", [])]
    return BackPaymentOut(
        replayed=done.replayed,
        lists=[
            reads._remittance(c.remittance_row(db, c.get_remittance_of(db, employer, i)))
            for i in ids
        ],
    )


@router.post(
    "/employer/base-adjustments",
    response_model=BaseAdjustmentOut,
    summary="Annual base adjustment from a file 基数调整",
    responses={
        422: {
            "description": "The file has bad rows; nothing was changed",
            "model": BaseAdjustmentRejectedOut,
            "content": {"application/problem+json": {}},
        }
    },
)
async def base_adjustments(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    idempotency_key: IdempotencyKey,
    file: Annotated[UploadFile, File(description="身份证号 and 缴存基数 columns, .xlsx or .csv")],
) -> Any:
    employer = c.own_employer(db, principal)
    data, filename = await c.read_upload(file)
    parsed = actions.read_base_file(data, filename)
    try:
        done = actions.adjust_employer_bases(
            db, principal, c.policy_of(request), employer, key=idempotency_key, parsed=parsed
        )
    except BaseAdjustmentRejected as exc:
        return problem_response(
            request,
            422,
            exc.code,
            exc.message_zh,
            exc.message_en,
            extra={"errors": actions.row_errors_json(exc.errors)},
        )
    return BaseAdjustmentOut(
        replayed=done.replayed,
        effective=actions.adjustment_date(),
        changed=int(done.result.get("changed", 0)),
    )
