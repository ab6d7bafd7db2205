"""Public calculator API (计算器接口) under ``/api/v1/calc``: loan schedule, loan limit trial and
deposit interest.

Each calculator answers GET with query parameters and POST with a JSON body, returning exactly
the JSON that ``hpf calc loan --json``, ``hpf calc loan-limit --json`` and ``hpf calc interest
--json`` print. Invalid input is a
400 problem+json carrying the domain error's Chinese and English messages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hpf.web.calculators import (
    MAX_POSTINGS,
    MAX_TEXT,
    deposit_interest,
    loan_limit_trial,
    loan_schedule,
)
from hpf.web.contributions import policy_of
from hpf.web.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/calc", tags=["calculators 计算器"], responses=PROBLEM_RESPONSES)

Text = Annotated[str, Field(max_length=MAX_TEXT)]


class LoanInput(BaseModel):
    """Loan parameters: principal in yuan (``100万`` allowed), annual rate in %, months."""

    model_config = ConfigDict(extra="forbid")

    principal: Text = Field(examples=["1000000"])
    rate: Text = Field(examples=["3.1"])
    months: int = Field(ge=1, le=360, examples=[360])
    first_due: Text = Field(examples=["2023-02-20"])
    method: Text = Field(default="annuity", examples=["annuity", "linear"])


class InterestInput(BaseModel):
    """Deposit interest parameters; postings and rate changes are ``DATE:VALUE`` strings."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Text = Field(alias="from", examples=["2022-07-01"])
    end: Text = Field(alias="to", examples=["2023-06-30"])
    opening: Text = Field(default="0", examples=["10000"])
    txn: list[Text] = Field(default_factory=list, max_length=MAX_POSTINGS)
    rate: Text = Field(default="1.5", examples=["1.5"])
    rate_change: list[Text] = Field(default_factory=list, max_length=MAX_POSTINGS)


Months = Annotated[int, Field(ge=0, le=1200)]


class LoanLimitInput(BaseModel):
    """The facts the loan limit needs (the options of ``hpf calc loan-limit``); money in yuan.

    Give ``monthly_contribution`` (单位+个人月缴存额) with both rates, or ``monthly_income`` (月工资)
    with ``employer_rate``. The spouse (co-borrower) fields are optional.
    """

    model_config = ConfigDict(extra="forbid")

    balance: Text = Field(examples=["50000"], description="公积金余额（元）")
    contribution_months: Months = Field(examples=[24], description="连续缴存月数")
    price: Text = Field(examples=["1000000"], description="房价（元）")
    area: Text = Field(examples=["89.5"], description="建筑面积（㎡）")
    age: int = Field(ge=0, le=150, examples=[35])
    sex: Text = Field(examples=["male"], description="male/female")
    monthly_contribution: Text | None = Field(None, examples=["2400"])
    monthly_income: Text | None = None
    employer_rate: Text | None = Field(None, examples=["12"])
    employee_rate: Text | None = Field(None, examples=["12"])
    total_contribution_months: Months | None = None
    spouse_balance: Text | None = None
    spouse_contribution_months: Months | None = None
    spouse_monthly_contribution: Text | None = None
    spouse_monthly_income: Text | None = None
    spouse_employer_rate: Text | None = None
    spouse_employee_rate: Text | None = None
    debt: Text = Field("0", description="已有月还款额（元）")
    home: int = Field(1, ge=1, le=9, description="第几套住房")
    term: int | None = Field(None, ge=1, le=1200, description="贷款期限（月），默认最长")
    date: Text | None = Field(None, description="政策日期 YYYY-MM-DD（默认今天）")


class ConstraintOut(BaseModel):
    amount: str
    zh: str
    en: str


class ReasonOut(BaseModel):
    code: str
    zh: str
    en: str


class LoanLimitOut(BaseModel):
    """The limit, the binding constraint and every constraint with its reason."""

    eligible: bool
    limit: str
    binding_constraint: str | None
    binding_constraints: list[str]
    constraints: dict[str, ConstraintOut]
    term_months: int
    max_term_months: int
    term_limited_by: str
    rate_pct: str | None
    monthly_payment: str
    down_payment_pct: str | None
    two_contributors: bool
    policy_date: str
    refusals: list[ReasonOut]
    reasons: list[ReasonOut]


class InstallmentOut(BaseModel):
    """One installment; amounts are yuan strings with two decimals."""

    n: int
    due_date: str
    payment: str
    principal: str
    interest: str
    balance: str


class LoanOut(BaseModel):
    schedule: list[InstallmentOut]
    total_interest: str


class InterestOut(BaseModel):
    jishu: str
    interest: str


def _loan(params: LoanInput) -> LoanOut:
    data = loan_schedule(
        params.principal, params.rate, params.months, params.first_due, params.method
    )
    return LoanOut.model_validate(data)


def _limit(request: Request, params: LoanLimitInput) -> LoanLimitOut:
    fields = params.model_dump()
    on = fields.pop("date")
    data = loan_limit_trial(policy_of(request), on=on, **fields)
    return LoanLimitOut.model_validate(data)


def _interest(params: InterestInput) -> InterestOut:
    data = deposit_interest(
        params.start, params.end, params.opening, params.txn, params.rate, params.rate_change
    )
    return InterestOut.model_validate(data)


@router.get("/loan", summary="Loan repayment schedule 贷款还款计划")
def loan_get(params: Annotated[LoanInput, Query()]) -> LoanOut:
    return _loan(params)


@router.post("/loan", summary="Loan repayment schedule (JSON body) 贷款还款计划")
def loan_post(params: LoanInput) -> LoanOut:
    return _loan(params)


@router.get("/loan-limit", summary="Loan limit trial 可贷额度试算")
def loan_limit_get(request: Request, params: Annotated[LoanLimitInput, Query()]) -> LoanLimitOut:
    return _limit(request, params)


@router.post("/loan-limit", summary="Loan limit trial (JSON body) 可贷额度试算")
def loan_limit_post(request: Request, params: LoanLimitInput) -> LoanLimitOut:
    return _limit(request, params)


@router.get("/interest", summary="Deposit interest by the jishu method 存款结息")
def interest_get(params: Annotated[InterestInput, Query()]) -> InterestOut:
    return _interest(params)


@router.post("/interest", summary="Deposit interest (JSON body) 存款结息")
def interest_post(params: InterestInput) -> InterestOut:
    return _interest(params)
