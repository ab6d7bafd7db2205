"""Withdrawals in the staff console (柜面·提取): queue, detail, counter application, payment,
statistics.

- ``/console/withdrawals`` (``workflow.read``): the queue — the signed-in staff member's workflow
  inbox (待办) filtered to withdrawals, with type, amount, the person masked and the age — and the
  branch's withdrawals by status;
- ``/console/withdrawals/{id}`` (``workflow.read``): the rule check, the documents and facts, the
  workflow steps and the action buttons (受理/复核/审批/退回/不予受理, the generic application
  actions, through ``service.decide``); POST ``…/act`` takes the step;
- ``/console/withdrawals/new`` (``withdrawal.counter``): apply at the counter (窗口) on behalf of a
  person of the clerk's branch; the automatic check answers at once;
- ``/console/withdrawals/payments`` (``withdrawal.pay``, 财务): what waits for payment, the batches;
  POST ``…/payments/export`` downloads a new batch file (CSV), ``/console/withdrawals/batches/{id}/file``
  downloads a batch again, POST ``…/payments/results`` imports the bank's result file (idempotent)
  and shows the paid and failed counts;
- ``/console/withdrawals/stats`` (``dashboard.read`` or ``report.read``): paid withdrawals by
  type, branch, month of payment and channel.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from hpf.auth.masking import mask_name
from hpf.auth.principal import Principal
from hpf.deposits.models import Depositor
from hpf.errors import DomainError
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web import withdrawals as w
from hpf.web.application_pages import act_and_redirect, applied_redirect, field_errors
from hpf.web.batch_file_routes import ConsolePage, add_console_routes
from hpf.web.console import ACTION_LABELS, STAFF_STEPS, STEP_LABELS
from hpf.web.console import STATUS_LABELS as APP_STATUS_LABELS
from hpf.web.i18n import _ as N_
from hpf.web.portal_withdrawals import Key, WithdrawalForm, form_page, form_values, lang_of
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import render
from hpf.withdrawals.models import STATUSES
from hpf.withdrawals.stats import DIMENSIONS

router = APIRouter(prefix="/console/withdrawals", tags=["pages: staff console"])

READ = "workflow.read"
COUNTER = "withdrawal.counter"
PAY = "withdrawal.pay"
STATS = ("dashboard.read", "report.read")
DATE_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
DIMENSION_LABELS = {
    "type": N_("Type"),
    "branch": N_("Branch"),
    "month": N_("Month"),
    "channel": N_("Channel"),
}


@router.get("", response_class=HTMLResponse, summary="Withdrawal queue 提取待办")
def queue(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(READ))],
    status: Annotated[str, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    status = status if status in STATUSES else ""
    size = 20
    rows, total = w.list_staff(db, principal, page=page, size=size, status=status or None)
    names = {
        d.id: mask_name(d.name)
        for d in db.query(Depositor).filter(Depositor.id.in_({r.depositor_id for r in rows}))
    }
    return render(
        request,
        "console/withdrawals.html",
        {
            "queue": w.queue(db, principal),
            "rows": rows,
            "names": {r.id: names.get(r.depositor_id, "") for r in rows},
            "total": total,
            "page": page,
            "pages": c.pages_of(total, size),
            "status": status,
            "status_labels": w.STATUS_LABELS,
            "app_status_labels": APP_STATUS_LABELS,
            "action_labels": ACTION_LABELS,
        },
    )


# --- counter application ----------------------------------------------------------------------


def _counter_balance(db: DbSession, principal: Principal, ref: str) -> int | None:
    if not ref:
        return None
    try:
        return w.depositor_balance(db, w.depositor_for_counter(db, principal, ref))
    except DomainError:
        return None


@router.get(
    "/new", response_class=HTMLResponse, summary="Counter withdrawal application 窗口提取申请"
)
def new_withdrawal(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(COUNTER))],
    type: Annotated[str, Query(max_length=20)] = "",
    depositor_ref: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    ref = c.clean_query(depositor_ref)
    errors: dict[str, str] = {}
    if ref:
        try:
            w.depositor_for_counter(db, principal, ref)
        except actions.FieldInvalid as exc:
            errors[exc.field] = exc.message(lang_of(request))
    return form_page(
        request,
        db,
        template="console/withdrawal_new.html",
        code=type if ref and not errors else "",
        values={"depositor_ref": ref, "documents": []},
        errors=errors,
        form_action="/console/withdrawals",
        choose_action="/console/withdrawals/new",
        counter=True,
        balance=_counter_balance(db, principal, ref),
    )


@router.post("", response_class=HTMLResponse, summary="Apply at the counter 窗口提交提取申请")
def apply_at_counter(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(COUNTER))],
    idempotency_key: Key,
    depositor_ref: Annotated[str, Form(max_length=20)],
    type: Annotated[str, Form(max_length=20)],
    fields: WithdrawalForm,
    documents: Annotated[list[str], Form(max_length=60)] = [],  # noqa: B006
) -> Response:
    docs = documents[:30]
    ref = c.clean_query(depositor_ref)
    try:
        depositor = w.depositor_for_counter(db, principal, ref)
        done = w.apply_for(
            db,
            principal,
            c.policy_of(request),
            depositor=depositor,
            application=w.application_from(type, fields, docs),
            channel="counter",
            key=idempotency_key,
        )
    except DomainError as exc:
        return form_page(
            request,
            db,
            template="console/withdrawal_new.html",
            code=type,
            values=form_values(type, docs, fields, depositor_ref=ref),
            errors=field_errors(request, exc),
            form_action="/console/withdrawals",
            choose_action="/console/withdrawals/new",
            counter=True,
            balance=_counter_balance(db, principal, ref),
            status_code=422,
        )
    return applied_redirect(
        f"/console/withdrawals/{done.result['withdrawal_id']}",
        done,
        N_("The automatic check refused the withdrawal."),
    )


# --- payments ---------------------------------------------------------------------------------

add_console_routes(
    router,
    w.PAYMENT_FILES,
    ConsolePage(
        path="/payments",
        name="payments_page",
        file_path="/batches/{batch_id}/file",
        template="console/withdrawal_payments.html",
        waiting=w.waiting_for_payment,
        waiting_keys=("waiting", "waiting_fen"),
        page_summary="Withdrawal payments 提取支付",
        export_summary="Export a payment batch 导出支付批次 (CSV)",
        file_summary="Download a payment batch 下载支付批次文件",
        results_summary="Import the bank's result file 导入银行回盘",
    ),
)


# --- statistics -------------------------------------------------------------------------------


@router.get("/stats", response_class=HTMLResponse, summary="Withdrawal statistics 提取统计")
def stats(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STATS))],
    start: Annotated[str, Query(alias="from", pattern=DATE_PATTERN)] = "",
    end: Annotated[str, Query(alias="to", pattern=DATE_PATTERN)] = "",
    by: Annotated[list[str], Query(max_length=4)] = [],  # noqa: B006
) -> Response:
    today = c.books_day(db, w.today())
    first = date.fromisoformat(start) if start else today.replace(month=1, day=1)
    last = date.fromisoformat(end) if end else today
    dims = [d for d in DIMENSIONS if d in by] or list(DIMENSIONS)
    error = ""
    rows: list[Any] = []
    try:
        rows = w.stats(db, principal, start=first, end=last, by=dims)
    except DomainError as exc:
        error = exc.message(lang_of(request))
    return render(
        request,
        "console/withdrawal_stats.html",
        {
            "start": first.isoformat(),
            "end": last.isoformat(),
            "dims": dims,
            "all_dims": list(DIMENSIONS),
            "dimension_labels": DIMENSION_LABELS,
            "rows": rows,
            "totals": {
                "count": sum(r.count for r in rows),
                "amount_fen": sum(r.amount_fen for r in rows),
            },
            "branch_names": c.branch_names(db),
            "error": error,
        },
        status_code=400 if error else 200,
    )


# --- one withdrawal ---------------------------------------------------------------------------


@router.get("/{withdrawal_id}", response_class=HTMLResponse, summary="One withdrawal 提取详情")
def withdrawal_page(
    request: Request,
    withdrawal_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(READ, PAY))],
) -> Response:
    row = w.get_visible(db, principal, withdrawal_id)
    w.audit_view(db, principal, row, ip=c.client_ip(request))
    data = w.detail(db, principal, row)
    return render(
        request,
        "console/withdrawal.html",
        {
            "w": data,
            "app": data["application"],
            "actions": w.staff_actions(principal, row, data["application"]),
            "action_labels": ACTION_LABELS,
            "status_labels": w.STATUS_LABELS,
            "app_status_labels": APP_STATUS_LABELS,
            "step_labels": STEP_LABELS,
        },
    )


@router.post("/{withdrawal_id}/act", summary="Take a step on a withdrawal 办理提取")
def act(
    request: Request,
    withdrawal_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STAFF_STEPS))],
    action: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    row = w.get_visible(db, principal, withdrawal_id)
    return act_and_redirect(
        request,
        db,
        url=f"/console/withdrawals/{withdrawal_id}",
        application_id=row.application_id,
        no_application=N_("This withdrawal has no application to act on."),
        act_on=w.act_on_application,
        actor=principal,
        action=action,
        comment=comment,
    )
