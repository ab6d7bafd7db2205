"""Loans in the staff console (柜面·贷款): queue, loan page, counter application, steps, finance.

- ``/console/loans`` (``workflow.read`` or ``loan.finance``): the queue — the staff member's
  workflow inbox (待办) filtered to loans, the borrower masked, amount, term and age — and the
  branch's loans by status;
- ``/console/loans/{id}`` (same): contract, parties, the schedule (paged), repayments, rate
  history, overdue state, collection records and history; the workflow step buttons (POST
  ``…/act``, ``workflow.accept|review|approve``), disbursement (POST ``…/disburse``,
  ``loan.finance``), the prepayment trial and prepayment (``…/prepayment``, ``loan.finance``);
  ``…/schedule/print`` a print-friendly schedule;
- ``/console/loans/new`` + POST ``/console/loans`` (``loan.counter``): apply at the counter (窗口)
  for a depositor of the clerk's branch; the limit check answers at once;
- ``/console/loans/collection`` (``loan.finance``): the bank debit file — POST
  ``…/collection/export`` downloads a new batch (a replayed form key answers the same batch),
  ``/console/loans/debit-batches/{id}/file`` again, POST ``…/collection/results`` imports the
  bank's result file (idempotent);
- ``/console/loans/overdue`` (``workflow.read`` or ``loan.finance``): the collection work list with
  aging buckets;
- ``/console/loans/stats`` (``dashboard.read`` or ``report.read``): by branch and month.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.principal import Principal
from hpf.errors import DomainError
from hpf.loans.models import STATUSES
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web import loans as lo
from hpf.web import withdrawals as w
from hpf.web.application_pages import REPLAYED, act_and_redirect, applied_redirect, field_errors
from hpf.web.batch_file_routes import ConsolePage, add_console_routes
from hpf.web.console import ACTION_LABELS, STAFF_STEPS, STEP_LABELS
from hpf.web.console import STATUS_LABELS as APP_STATUS_LABELS
from hpf.web.console_withdrawals import DATE_PATTERN
from hpf.web.i18n import _ as N_
from hpf.web.portal_withdrawals import Key, lang_of
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render

router = APIRouter(prefix="/console/loans", tags=["pages: staff console"])

READ = lo.STAFF_READERS
COUNTER = "loan.counter"
FINANCE = "loan.finance"
STATS = ("dashboard.read", "report.read")
FormText = Annotated[str, Form(max_length=60)]
APPLY_DEFAULTS = {
    "term_months": "240",
    "method": "annuity",
    "home_number": "1",
    "security_kind": "mortgage",
}


def loan_form(
    amount: FormText = "",
    term_months: FormText = "",
    method: FormText = "",
    house_contract_ref: FormText = "",
    price: FormText = "",
    area: FormText = "",
    home_number: FormText = "",
    security_kind: FormText = "",
    security_ref: FormText = "",
    co_id_number: FormText = "",
    co_name: FormText = "",
    commercial: FormText = "",
    commercial_bank: FormText = "",
    debt: FormText = "",
    payee_name: FormText = "",
    payee_account: FormText = "",
) -> dict[str, str]:
    """The apply form's fields as typed (the counter's and the portal's)."""
    return dict(locals())


LoanForm = Annotated[dict[str, str], Depends(loan_form)]


def labels() -> dict[str, Any]:
    return {
        "status_labels": lo.STATUS_LABELS,
        "installment_labels": lo.INSTALLMENT_LABELS,
        "method_labels": lo.METHOD_LABELS,
        "option_labels": lo.OPTION_LABELS,
        "bucket_labels": lo.BUCKET_LABELS,
        "kind_labels": lo.REPAYMENT_KIND_LABELS,
        "app_status_labels": APP_STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "step_labels": STEP_LABELS,
    }


@router.get("", response_class=HTMLResponse, summary="Loan queue 贷款待办")
def queue(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    status: Annotated[str, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    status = status if status in STATUSES else ""
    size = 20
    rows, total = lo.list_staff(db, principal, page=page, size=size, status=status or None)
    return render(
        request,
        "console/loans.html",
        {
            "queue": lo.queue(db, principal),
            "rows": rows,
            "names": lo.borrower_names(db, rows, unmask=False),
            "total": total,
            "page": page,
            "pages": c.pages_of(total, size),
            "status": status,
            **labels(),
        },
    )


# --- counter application ----------------------------------------------------------------------


def _apply_page(
    request: Request,
    db: DbSession,
    principal: Principal,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    ref = values.get("depositor_ref", "")
    facts = None
    if ref and "depositor_ref" not in errors:
        try:
            depositor = w.depositor_for_counter(db, principal, ref)
            facts = lo.account_facts(db, depositor, lo.today())
        except DomainError as exc:
            errors["depositor_ref"] = exc.message(lang_of(request))
    return render(
        request,
        "console/loan_new.html",
        {"values": values, "errors": errors, "facts": facts, **labels()},
        status_code=status_code,
    )


@router.get("/new", response_class=HTMLResponse, summary="Counter loan application 窗口贷款申请")
def new_loan(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(COUNTER))],
    depositor_ref: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    values = {**APPLY_DEFAULTS, "depositor_ref": c.clean_query(depositor_ref)}
    return _apply_page(request, db, principal, values=values, errors={})


@router.post("", response_class=HTMLResponse, summary="Apply at the counter 窗口提交贷款申请")
def apply_at_counter(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(COUNTER))],
    idempotency_key: Key,
    depositor_ref: Annotated[str, Form(max_length=20)],
    fields: LoanForm,
) -> Response:
    ref = c.clean_query(depositor_ref)
    try:
        depositor = w.depositor_for_counter(db, principal, ref)
        done = lo.apply_for(
            db,
            principal,
            c.policy_of(request),
            depositor=depositor,
            request=lo.request_from(fields),
            channel="counter",
            key=idempotency_key,
        )
    except DomainError as exc:
        return _apply_page(
            request,
            db,
            principal,
            values={**fields, "depositor_ref": ref},
            errors=field_errors(request, exc),
            status_code=422,
        )
    return applied_redirect(
        f"/console/loans/{done.result['loan_id']}",
        done,
        N_("The limit check refused the loan."),
    )


# --- the bank's debit file --------------------------------------------------------------------

add_console_routes(
    router,
    lo.DEBIT_FILES,
    ConsolePage(
        path="/collection",
        name="collection_page",
        file_path="/debit-batches/{batch_id}/file",
        template="console/loan_collection.html",
        waiting=lo.due_for_collection,
        waiting_keys=("due", "due_fen"),
        page_summary="Bank debit of installments 代扣",
        export_summary="Export a debit batch 导出代扣文件 (CSV)",
        file_summary="Download a debit batch 下载代扣文件",
        results_summary="Import the bank's result 导入回盘",
    ),
)


# --- work lists and statistics ----------------------------------------------------------------


@router.get("/overdue", response_class=HTMLResponse, summary="Overdue loans 逾期催收清单")
def overdue(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    bucket: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    bucket = bucket if bucket in lo.BUCKET_LABELS else ""
    items, buckets = lo.overdue_list(db, principal, bucket=bucket)
    return render(
        request,
        "console/loan_overdue.html",
        {"items": items, "buckets": buckets, "bucket": bucket, **labels()},
    )


@router.get("/stats", response_class=HTMLResponse, summary="Loan statistics 贷款统计")
def stats(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STATS))],
    start: Annotated[str, Query(alias="from", pattern=DATE_PATTERN)] = "",
    end: Annotated[str, Query(alias="to", pattern=DATE_PATTERN)] = "",
) -> Response:
    day = c.books_day(db, lo.today())
    error = ""
    rows: list[Any] = []
    try:
        first = date.fromisoformat(start) if start else day.replace(month=1, day=1)
        last = date.fromisoformat(end) if end else day
        rows = lo.stats(db, principal, start=first, end=last)
    except (DomainError, ValueError) as exc:
        first, last = day.replace(month=1, day=1), day
        error = exc.message(lang_of(request)) if isinstance(exc, DomainError) else str(exc)
    return render(
        request,
        "console/loan_stats.html",
        {
            "start": first.isoformat(),
            "end": last.isoformat(),
            "rows": rows,
            "branch_names": c.branch_names(db),
            "totals": {
                "issued": sum(r.issued for r in rows),
                "issued_fen": sum(r.issued_fen for r in rows),
                "repaid_fen": sum(r.repaid_fen for r in rows),
                "prepaid_fen": sum(r.prepaid_fen for r in rows),
            },
            "error": error,
        },
        status_code=400 if error else 200,
    )


# --- one loan ---------------------------------------------------------------------------------


def loan_context(db: DbSession, principal: Principal, row: Any, *, page: int) -> dict[str, Any]:
    data = lo.detail(db, principal, row)
    schedule, total = lo.schedule_page(db, row.id, page=page)
    return {
        "loan": data,
        "app": data["application"],
        "schedule": schedule,
        "schedule_total": total,
        "page": page,
        "pages": c.pages_of(total, lo.SCHEDULE_PAGE),
        "repayments": lo.repayments_of(db, row.id),
        "rate_changes": lo.rate_changes_of(db, row.id),
        "collections": lo.collections_of(db, row.id),
        "prepay_on": lo.prepayment_on(row),
        **labels(),
    }


@router.get("/{loan_id}", response_class=HTMLResponse, summary="One loan 贷款详情")
def loan_page(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    lo.audit_view(db, principal, row, ip=c.client_ip(request))
    context = loan_context(db, principal, row, page=page)
    return render(
        request,
        "console/loan.html",
        {
            **context,
            "actions": lo.staff_actions(principal, row, context["app"]),
            "history": lo.history_of(db, row.id),
            "can_disburse": principal.has(FINANCE) and row.status == "approved",
            "can_prepay": principal.has(FINANCE) and context["prepay_on"] is not None,
        },
    )


@router.get(
    "/{loan_id}/schedule/print",
    response_class=HTMLResponse,
    summary="Printable schedule 还款计划（打印）",
)
def print_schedule(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    lo.audit_view(db, principal, row, ip=c.client_ip(request))
    schedule, _total = lo.schedule_page(db, row.id, page=1, size=360)
    return render(
        request,
        "loan_schedule_print.html",
        {"loan": lo.detail(db, principal, row), "schedule": schedule, **labels()},
    )


@router.post("/{loan_id}/act", summary="Take a step on a loan application 办理贷款申请")
def act(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STAFF_STEPS))],
    action: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    return act_and_redirect(
        request,
        db,
        url=f"/console/loans/{loan_id}",
        application_id=row.application_id,
        no_application=N_("This loan has no application to act on."),
        act_on=lo.act_on_application,
        actor=principal,
        action=action,
        comment=comment,
    )


@router.post("/{loan_id}/disburse", summary="Disburse a loan 贷款发放")
def disburse(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(FINANCE))],
    idempotency_key: Key,
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    response = RedirectResponse(f"/console/loans/{loan_id}", status_code=303)
    try:
        done = lo.disburse(db, principal, c.policy_of(request), row, key=idempotency_key)
    except DomainError as exc:
        flash(response, exc.message(lang_of(request)), "danger")
        return response
    flash(response, REPLAYED if done.replayed else N_("The loan was disbursed."))
    return response


@router.get(
    "/{loan_id}/prepayment", response_class=HTMLResponse, summary="Prepayment trial 提前还款试算"
)
def prepayment_page(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    amount: Annotated[str, Query(max_length=40)] = "",
    option: Annotated[str, Query(max_length=20)] = "shorter_term",
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    return prepayment_response(request, db, principal, row, amount, option, staff=True)


def prepayment_response(
    request: Request,
    db: DbSession,
    principal: Principal,
    row: Any,
    amount: str,
    option: str,
    *,
    staff: bool,
    status_code: int = 200,
    error: str = "",
) -> Response:
    trial = None
    if (amount or option == "full") and not error:
        try:
            amount_fen, chosen = lo.parse_prepayment(amount, option)
            trial = lo.prepayment_trial(row, amount_fen=amount_fen, option=chosen)
        except DomainError as exc:
            error = exc.message(lang_of(request))
            status_code = 400
    return render(
        request,
        "loan_prepayment.html",
        {
            "loan": lo.detail(db, principal, row),
            "prepay_on": lo.prepayment_on(row),
            "amount": amount,
            "option": option if option in lo.OPTION_LABELS else "shorter_term",
            "trial": trial,
            "error": error,
            "staff": staff,
            "can_prepay": staff and principal.has(FINANCE),
            "action": f"/console/loans/{row.id}/prepayment"
            if staff
            else f"/me/loans/{row.id}/prepayment",
            **labels(),
        },
        status_code=status_code,
    )


@router.post("/{loan_id}/prepayment", summary="Prepay a loan 提前还款")
def prepay(
    request: Request,
    loan_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(FINANCE))],
    idempotency_key: Key,
    option: Annotated[str, Form(max_length=20)],
    amount: FormText = "",
    source: Annotated[str, Form(max_length=20)] = "counter",
) -> Response:
    row = lo.get_visible(db, principal, loan_id)
    try:
        amount_fen, chosen = lo.parse_prepayment(amount, option)
        if source not in ("counter", "hpf_balance"):
            raise actions.FieldInvalid("source", "还款来源无效", "invalid source")
        done = lo.prepay(
            db,
            principal,
            row,
            amount_fen=amount_fen,
            option=chosen,
            source=source,
            key=idempotency_key,
        )
    except DomainError as exc:
        return prepayment_response(
            request,
            db,
            principal,
            row,
            amount,
            option,
            staff=True,
            status_code=422,
            error=exc.message(lang_of(request)),
        )
    response = RedirectResponse(f"/console/loans/{loan_id}", status_code=303)
    flash(response, REPLAYED if done.replayed else N_("The prepayment was made."))
    return response
