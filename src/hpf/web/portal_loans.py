"""The depositor's loans in the portal (个人网厅·贷款, channel ``online_hall``).

- ``/me/loans``: my loans — the current one's balance, next installment and schedule link;
- ``/me/loans/{id}``: one loan (borrower or co-borrower only; another's answers 404): contract,
  balance, next installment, the schedule (paged), repayments; a refusal shows its reasons;
- ``/me/loans/{id}/prepayment``: the prepayment trial (试算) for a shorter term, a lower payment
  or in full — it shows the new schedule and writes nothing;
- ``/me/loans/{id}/schedule/print``: the print-friendly schedule;
- ``/me/loans/new``: apply online (网厅) with the limit trial prefilled from the account (balance,
  contribution months, wage, age); POST ``/me/loans`` applies with the limit check.

Every route needs ``depositor.self``; every form carries CSRF and an idempotency key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.principal import Principal
from hpf.errors import DomainError
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web import loans as lo
from hpf.web import withdrawals as w
from hpf.web.application_pages import REPLAYED, field_errors
from hpf.web.console_loans import (
    APPLY_DEFAULTS,
    LoanForm,
    labels,
    loan_context,
    prepayment_response,
)
from hpf.web.portal_withdrawals import Key, lang_of
from hpf.web.public import CONSTRAINT_LABELS
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render

router = APIRouter(prefix="/me", tags=["pages: portals"])

DEPOSITOR = "depositor.self"
Text40 = Annotated[str, Query(max_length=40)]


@router.get("/loans", response_class=HTMLResponse, summary="My loans 我的贷款")
def my_loans(
    request: Request, db: DbSession, principal: Annotated[Principal, Depends(require(DEPOSITOR))]
) -> Response:
    rows = lo.list_own(db, principal)
    current = next((r for r in rows if r.status in ("active", "approved", "in_review")), None)
    return render(
        request,
        "portal/loans.html",
        {
            "rows": rows,
            "current": lo.detail(db, principal, current) if current is not None else None,
            **labels(),
        },
    )


def _apply_page(
    request: Request,
    db: DbSession,
    principal: Principal,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    depositor = w.own_depositor(db, principal)
    facts = lo.account_facts(db, depositor, lo.today())
    trial: dict[str, Any] | None = None
    trial_error = ""
    if values.get("price") and values.get("area"):
        term = lo.whole_number(values.get("term_months", ""))
        try:
            trial = lo.limit_trial(
                db,
                c.policy_of(request),
                depositor,
                price_fen=actions.check_amount("price", values["price"]),
                area_m2=lo.area_of(values),
                home_number=lo.whole_number(values.get("home_number", "")) or 1,
                term_months=term if term is not None and 1 <= term <= 360 else None,
                debt_fen=actions.check_amount("debt", values["debt"], positive=False)
                if values.get("debt")
                else 0,
            )
        except DomainError as exc:
            trial_error = exc.message(lang_of(request))
    return render(
        request,
        "portal/loan_new.html",
        {
            "values": values,
            "errors": errors,
            "facts": facts,
            "result": trial,
            "error": trial_error,
            "constraint_labels": CONSTRAINT_LABELS,
            **labels(),
        },
        status_code=status_code,
    )


@router.get("/loans/new", response_class=HTMLResponse, summary="Apply for a loan 贷款申请")
def new_loan(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    price: Text40 = "",
    area: Text40 = "",
    home_number: Text40 = "",
    term_months: Text40 = "",
    debt: Text40 = "",
) -> Response:
    values = {**APPLY_DEFAULTS}
    for name, value in (
        ("price", price),
        ("area", area),
        ("home_number", home_number),
        ("term_months", term_months),
        ("debt", debt),
    ):
        if value.strip():
            values[name] = value.strip()
    return _apply_page(request, db, principal, values=values, errors={})


@router.post("/loans", response_class=HTMLResponse, summary="Apply 提交贷款申请")
def apply(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    idempotency_key: Key,
    fields: LoanForm,
) -> Response:
    depositor = w.own_depositor(db, principal)
    try:
        done = lo.apply_for(
            db,
            principal,
            c.policy_of(request),
            depositor=depositor,
            request=lo.request_from(fields),
            channel="online_hall",
            key=idempotency_key,
        )
    except DomainError as exc:
        return _apply_page(
            request,
            db,
            principal,
            values=fields,
            errors=field_errors(request, exc),
            status_code=422,
        )
    response = RedirectResponse(f"/me/loans/{done.result['loan_id']}", status_code=303)
    if done.replayed:
        flash(response, REPLAYED, "info")
    return response


@router.get("/loans/{loan_id}", response_class=HTMLResponse, summary="My loan 贷款详情")
def my_loan(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    return render(request, "portal/loan.html", loan_context(db, principal, row, page=page))


@router.get(
    "/loans/{loan_id}/prepayment",
    response_class=HTMLResponse,
    summary="Prepayment trial 提前还款试算",
)
def prepayment_trial(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    amount: Text40 = "",
    option: Annotated[str, Query(max_length=20)] = "shorter_term",
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    return prepayment_response(request, db, principal, row, amount, option, staff=False)


@router.get(
    "/loans/{loan_id}/schedule/print",
    response_class=HTMLResponse,
    summary="Printable schedule 还款计划（打印）",
)
def print_schedule(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    schedule, _total = lo.schedule_page(db, row.id, page=1, size=360)
    return render(
        request,
        "loan_schedule_print.html",
        {"loan": lo.detail(db, principal, row), "schedule": schedule, **labels()},
    )
