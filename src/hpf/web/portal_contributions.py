"""Contribution pages of the portals (网厅·归集): the employer's lists and the depositor's statement.

Employer portal (``/employer/…``, ``employer.self``; the agent's own employer only, any other
list answers 404):
- ``/employer/remittance?month=``: the month's remittance list (汇缴清册), drafting it, the
  drafted list as a CSV template, uploading an edited file (xlsx/csv, UTF-8 or GBK) with an
  upload progress bar, the row-level error report of a rejected file (on the page and as a CSV
  download, UTF-8 with BOM) and confirming the list;
- ``/employer/remittances``: the history of its lists; ``/employer/depositors``: its depositors.

Depositor portal: ``/me/statement?year=``: balance and the statement (对账单) of one interest
year (July 1 – June 30, named by the year it ends in) of the depositor's own account.

A rejected upload writes nothing but its audit record; the error report is produced again from
the same file (the browser sends it once more), so no upload is kept on the server.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.audit import record_read
from hpf.auth.principal import Principal
from hpf.deposits import remittance as remittance_service
from hpf.deposits.remittance_file import (
    ParsedRemittance,
    RemittanceFileRejected,
    RowError,
    error_report_csv,
    template_csv,
)
from hpf.deposits.upload import context_for, upload
from hpf.errors import DomainError
from hpf.web import contributions as c
from hpf.web.i18n import _ as N_
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render

router = APIRouter(tags=["pages: portals"])

EMPLOYER = "employer.self"
DEPOSITOR = "depositor.self"
PAGE_SIZE = 20
Page = Annotated[int, Query(ge=1, le=100_000)]
CSV_MEDIA = "text/csv; charset=utf-8"


def _page_url(month: date) -> str:
    return f"/employer/remittance?month={month:%Y-%m}"


def _redirect(request: Request, target: str) -> Response:
    """303 to ``target``; for htmx a 204 with ``HX-Redirect`` so the whole page reloads."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _csv(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type=CSV_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _remittance_page(
    request: Request,
    db: DbSession,
    principal: Principal,
    month: date,
    outcome: c.UploadOutcome | None = None,
) -> Response:
    employer = c.own_employer(db, principal)
    lst = c.regular_list_of_month(db, employer, month)
    context = {
        "employer": c.employer_row(db, employer),
        "month": f"{month:%Y-%m}",
        "lst": c.remittance_row(db, lst) if lst else None,
        "lines": c.lines_of(db, lst) if lst else [],
        "can_draft": lst is None
        and employer.status not in ("04", "05")
        and month >= employer.first_month,
        "outcome": outcome,
        "status_labels": c.REMITTANCE_STATUS_LABELS,
        "max_lines": c.MAX_LINES_SHOWN,
    }
    if outcome is not None and request.headers.get("hx-request") == "true":
        return render(request, "portal/_upload_result.html", context)
    return render(request, "portal/remittance.html", context)


@router.get(
    "/employer/remittance",
    response_class=HTMLResponse,
    summary="The month's remittance list 本月汇缴清册",
)
def employer_remittance(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    month: Annotated[str, Query(pattern=c.MONTH_PATTERN)] = "",
) -> Response:
    return _remittance_page(request, db, principal, c.parse_month_text(month, date.today()))


@router.post("/employer/remittance/draft", summary="Draft the month's list 生成清册")
def employer_draft(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    month: Annotated[str, Form(pattern=c.MONTH_PATTERN)],
) -> Response:
    employer = c.own_employer(db, principal)
    first = c.parse_month_text(month, date.today())
    response = RedirectResponse(_page_url(first), status_code=303)
    if c.regular_list_of_month(db, employer, first) is not None:  # a second click: nothing to do
        return response
    try:
        with db.begin_nested():
            remittance_service.draft(db, employer, first, c.policy_of(request), principal)
    except DomainError as exc:
        flash(response, exc.message(request.state.lang), "danger")
        return response
    flash(response, N_("The list has been drafted."))
    return response


@router.get(
    "/employer/remittances/{remittance_id}/template.csv",
    summary="The drafted list as a CSV template 下载清册模板",
)
def employer_template(
    request: Request,
    remittance_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> Response:
    employer = c.own_employer(db, principal)
    lst = c.get_remittance_of(db, employer, remittance_id)
    data = template_csv(context_for(db, lst, c.policy_of(request)))
    record_read(
        db,
        actor=principal,
        action="remittance.template",
        object_type="remittance",
        object_id=lst.id,
        ip=c.client_ip(request),
    )
    return _csv(data, f"remittance-{employer.employer_ref}-{lst.month:%Y%m}.csv")


@router.post(
    "/employer/remittances/{remittance_id}/upload",
    response_class=HTMLResponse,
    summary="Upload the list file 上传汇缴清册",
)
async def employer_upload(
    request: Request,
    remittance_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    file: Annotated[UploadFile, File(description="汇缴清册 .xlsx or .csv (UTF-8 or GBK)")],
) -> Response:
    employer = c.own_employer(db, principal)
    lst = c.get_remittance_of(db, employer, remittance_id)
    data, filename = await c.read_upload(file)
    try:
        with db.begin_nested():
            parsed = upload(db, lst, data, filename, c.policy_of(request), principal)
        outcome = c.UploadOutcome(parsed)
    except RemittanceFileRejected as exc:
        outcome = c.UploadOutcome(None, exc)
    except DomainError as exc:  # the list is no longer a draft
        response = _redirect(request, _page_url(lst.month))
        flash(response, exc.message(request.state.lang), "danger")
        return response
    if outcome.ok:
        response = _redirect(request, _page_url(lst.month))
        flash(response, N_("The file has been accepted as the list."))
        return response
    return _remittance_page(request, db, principal, lst.month, outcome)


@router.post(
    "/employer/remittances/{remittance_id}/upload/errors.csv",
    summary="Row-level error report of a file 下载错误报告",
)
async def employer_upload_errors(
    request: Request,
    remittance_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    file: Annotated[UploadFile, File(description="The file that was rejected")],
) -> Response:
    """Check the file again (nothing is written) and answer its errors as CSV (UTF-8, BOM)."""
    employer = c.own_employer(db, principal)
    lst = c.get_remittance_of(db, employer, remittance_id)
    data, filename = await c.read_upload(file)
    outcome = c.check_only(db, lst, data, filename, c.policy_of(request))
    if outcome.refused is not None:
        report = error_report_csv_of_file(outcome.refused)
    else:
        assert outcome.parsed is not None
        report = error_report_csv(outcome.parsed)
    return _csv(report, f"errors-{employer.employer_ref}-{lst.month:%Y%m}.csv")


def error_report_csv_of_file(exc: RemittanceFileRejected) -> bytes:
    """A whole-file refusal as a one-line error report (line 0: the file itself)."""
    return error_report_csv(
        ParsedRemittance((), (RowError(0, "", exc.code, exc.message_zh, exc.message_en),), 0)
    )


@router.post("/employer/remittances/{remittance_id}/confirm", summary="Confirm the list 确认清册")
def employer_confirm(
    request: Request,
    remittance_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> Response:
    employer = c.own_employer(db, principal)
    lst = c.get_remittance_of(db, employer, remittance_id)
    response = RedirectResponse(_page_url(lst.month), status_code=303)
    try:
        with db.begin_nested():
            remittance_service.confirm(db, lst, principal)
    except DomainError as exc:
        flash(response, exc.message(request.state.lang), "danger")
        return response
    flash(response, N_("The list has been confirmed."))
    return response


@router.get(
    "/employer/remittances", response_class=HTMLResponse, summary="Remittance history 缴存记录"
)
def employer_remittances(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    page: Page = 1,
) -> Response:
    employer = c.own_employer(db, principal)
    rows, total = c.list_remittances(db, employer=employer, page=page, size=PAGE_SIZE)
    return render(
        request,
        "portal/remittances.html",
        {
            "items": rows,
            "page": page,
            "pages": c.pages_of(total, PAGE_SIZE),
            "total": total,
            "status_labels": c.REMITTANCE_STATUS_LABELS,
            "kind_labels": c.REMITTANCE_KIND_LABELS,
        },
    )


@router.get(
    "/employer/depositors", response_class=HTMLResponse, summary="The employer's depositors 职工"
)
def employer_depositors(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    q: Annotated[str, Query(max_length=100)] = "",
    page: Page = 1,
) -> Response:
    employer = c.own_employer(db, principal)
    rows, total = c.list_depositors(db, employer=employer, q=q, page=page, size=PAGE_SIZE)
    return render(
        request,
        "portal/depositors.html",
        {
            "items": rows,
            "q": c.clean_query(q),
            "page": page,
            "pages": c.pages_of(total, PAGE_SIZE),
            "total": total,
            "status_labels": c.DEPOSITOR_STATUS_LABELS,
        },
    )


@router.get("/me/statement", response_class=HTMLResponse, summary="My statement 个人对账单")
def my_statement(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(DEPOSITOR))],
    year: Annotated[int | None, Query(ge=c.FIRST_YEAR, le=c.LAST_YEAR)] = None,
) -> Response:
    ref = principal.depositor_ref
    year = year or c.current_interest_year()
    return render(
        request,
        "portal/statement.html",
        {
            "balance": c.balance_of_ref(db, ref) if ref else None,
            "statement": c.statement_of(db, ref, year) if ref else None,
            "year": year,
            "years": c.year_choices(),
            "action": "/me/statement",
        },
    )
