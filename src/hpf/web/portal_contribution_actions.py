"""Employer portal writes beyond the monthly list (网厅·单位): back payments and the July bases.

- ``/employer/back-payment``: draft back-payment lists (补缴清册), one per month of the range
  chosen, for the depositors ticked (the employer's own, contributing now); the lists are then
  confirmed here and funded and posted like monthly lists;
- ``/employer/base-adjustment``: the yearly base adjustment (基数调整, effective July 1 of the
  running contribution year) from the employer's file (.xlsx or .csv with the columns 身份证号
  and 缴存基数): all or nothing — any bad row refuses the whole file, every bad row is listed and
  nothing is changed.

The employer is always the signed-in agent's own (``employer.self``); any other employer's list
answers 404. Each form carries CSRF and an idempotency key generated when it was rendered.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.principal import Principal
from hpf.deposits import remittance as remittance_service
from hpf.deposits.adjustment import BaseAdjustmentRejected
from hpf.errors import DomainError
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web.i18n import _ as N_
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render

router = APIRouter(prefix="/employer", tags=["pages: portals"])

EMPLOYER = "employer.self"
Key = Annotated[str, Form(pattern=actions.KEY_PATTERN, description="Idempotency key")]
MonthField = Annotated[str, Form(pattern=c.MONTH_PATTERN, description="YYYY-MM")]
BACK_PAYMENT_PAGE = "/employer/back-payment"
BASE_PAGE = "/employer/base-adjustment"
REPLAYED = N_("This form had already been submitted; nothing was done again.")


def _lang(request: Request) -> str:
    return str(getattr(request.state, "lang", "zh"))


def _back_payment_page(
    request: Request,
    db: DbSession,
    principal: Principal,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    employer = c.own_employer(db, principal)
    people, total = c.list_depositors(db, employer=employer, status="01", size=c.MAX_PAGE_SIZE)
    return render(
        request,
        "portal/back_payment.html",
        {
            "employer": c.employer_row(db, employer),
            "people": people,
            "people_total": total,
            "values": values,
            "errors": errors,
            "lists": actions.back_payment_lists(db, employer),
            "status_labels": c.REMITTANCE_STATUS_LABELS,
        },
        status_code=status_code,
    )


@router.get("/back-payment", response_class=HTMLResponse, summary="Back payment 补缴")
def back_payment(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> Response:
    month = f"{date.today():%Y-%m}"
    values = {"month_from": month, "month_to": month, "chosen": []}
    return _back_payment_page(request, db, principal, values, {})


@router.post(
    "/back-payment", response_class=HTMLResponse, summary="Draft back-payment lists 生成补缴清册"
)
def back_payment_draft(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    idempotency_key: Key,
    month_from: MonthField,
    month_to: MonthField,
    depositor_ref: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    employer = c.own_employer(db, principal)
    refs = [r[:20] for r in depositor_ref[: actions.MAX_BACK_PAYMENT_PEOPLE + 1]]
    values = {"month_from": month_from, "month_to": month_to, "chosen": refs}
    try:
        months = actions.month_range(
            c.parse_month_text(month_from, date.today()),
            c.parse_month_text(month_to, date.today()),
        )
        done = actions.draft_back_payment(
            db,
            principal,
            c.policy_of(request),
            employer,
            key=idempotency_key,
            months=months,
            depositor_refs=refs,
        )
    except DomainError as exc:
        field = exc.field if isinstance(exc, actions.FieldInvalid) else ""
        errors = {field: exc.message(_lang(request))}
        return _back_payment_page(request, db, principal, values, errors, 422)
    response = RedirectResponse(BACK_PAYMENT_PAGE, status_code=303)
    flash(
        response,
        REPLAYED if done.replayed else N_("The back-payment lists have been drafted."),
        "info" if done.replayed else "success",
    )
    return response


@router.post(
    "/back-payment/{remittance_id}/confirm", summary="Confirm a back-payment list 确认补缴清册"
)
def back_payment_confirm(
    request: Request,
    remittance_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> Response:
    """Confirming twice is harmless: a confirmed list stays confirmed (the second is refused)."""
    employer = c.own_employer(db, principal)
    lst = c.get_remittance_of(db, employer, remittance_id)
    response = RedirectResponse(BACK_PAYMENT_PAGE, status_code=303)
    if lst.status == "confirmed":
        flash(response, REPLAYED, "info")
        return response
    try:
        with db.begin_nested():
            remittance_service.confirm(db, lst, principal)
    except DomainError as exc:
        flash(response, exc.message(_lang(request)), "danger")
        return response
    flash(response, N_("The list has been confirmed."))
    return response


def _base_page(
    request: Request,
    db: DbSession,
    principal: Principal,
    *,
    errors: list[dict[str, Any]] | None = None,
    message: str = "",
    status_code: int = 200,
) -> Response:
    employer = c.own_employer(db, principal)
    return render(
        request,
        "portal/base_adjustment.html",
        {
            "employer": c.employer_row(db, employer),
            "effective": actions.adjustment_date(),
            "row_errors": errors or [],
            "message": message,
            "max_errors": actions.MAX_ROW_ERRORS,
        },
        status_code=status_code,
    )


@router.get(
    "/base-adjustment", response_class=HTMLResponse, summary="Annual base adjustment 基数调整"
)
def base_adjustment(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> Response:
    return _base_page(request, db, principal)


@router.post(
    "/base-adjustment",
    response_class=HTMLResponse,
    summary="Upload the base adjustment file 上传基数调整文件",
)
async def base_adjustment_upload(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    file: Annotated[UploadFile, File(description="身份证号 and 缴存基数 columns, .xlsx or .csv")],
    idempotency_key: Key,
) -> Response:
    employer = c.own_employer(db, principal)
    data, filename = await c.read_upload(file)
    try:
        parsed = actions.read_base_file(data, filename)
        done = actions.adjust_employer_bases(
            db, principal, c.policy_of(request), employer, key=idempotency_key, parsed=parsed
        )
    except BaseAdjustmentRejected as exc:
        return _base_page(
            request,
            db,
            principal,
            errors=actions.row_errors_json(exc.errors),
            message=exc.message(_lang(request)),
            status_code=422,
        )
    except DomainError as exc:
        return _base_page(
            request, db, principal, message=exc.message(_lang(request)), status_code=400
        )
    response = RedirectResponse(BASE_PAGE, status_code=303)
    if done.replayed:
        flash(response, REPLAYED, "info")
    else:
        flash(response, N_("The bases have been adjusted."))
    return response
