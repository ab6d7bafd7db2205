"""Public calculator API (计算器接口) under ``/api/v1/calc``: loan schedule and deposit interest.

Each calculator answers GET with query parameters and POST with a JSON body, returning exactly
the JSON that ``hpf calc loan --json`` and ``hpf calc interest --json`` print. Invalid input is a
400 problem+json carrying the domain error's Chinese and English messages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from hpf.web.calculators import MAX_POSTINGS, MAX_TEXT, deposit_interest, loan_schedule
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


@router.get("/interest", summary="Deposit interest by the jishu method 存款结息")
def interest_get(params: Annotated[InterestInput, Query()]) -> InterestOut:
    return _interest(params)


@router.post("/interest", summary="Deposit interest (JSON body) 存款结息")
def interest_post(params: InterestInput) -> InterestOut:
    return _interest(params)
