"""Contribution pages of the staff console (柜面·归集): employers, depositors, lists, arrears, stats.

- ``/console/employers``: employers of the staff member's branch, searched and paginated; one
  employer with rates, status, depositors, remittance history, arrears and reminder notices;
- ``/console/depositors``: depositors, searched; one depositor (ID number masked unless
  ``person.unmask``, every view audited) with balance and the statement of an interest year;
- ``/console/remittances``: the remittance lists (汇缴清册) of one month with their status;
- ``/console/arrears``: employers in arrears (欠缴) with age and amount, and the action to issue
  a reminder notice (催缴通知书, ``deposit.manage``);
- ``/console/stats``: monthly contribution statistics by branch (归集统计).

Staff see their own branch unless whole-center (``Principal.can_see_branch``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.principal import Principal
from hpf.deposits import arrears as arrears_service
from hpf.errors import DomainError
from hpf.web import contributions as c
from hpf.web.i18n import _ as N_
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render

router = APIRouter(prefix="/console", tags=["pages: staff console"])

PERSON_READ = "person.read"
STATS_READERS = ("dashboard.read", "report.read")
Page = Annotated[int, Query(ge=1, le=100_000)]
Search = Annotated[str, Query(max_length=100)]
Ref = Annotated[str, Path(min_length=1, max_length=20)]
Month = Annotated[str, Query(pattern=c.MONTH_PATTERN)]
Year = Annotated[int | None, Query(ge=c.FIRST_YEAR, le=c.LAST_YEAR)]
MAX_ARREARS_SHOWN = 500
PAGE_SIZE = 20


@router.get("/employers", response_class=HTMLResponse, summary="Employers 缴存单位")
def employers(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    q: Search = "",
    status: Annotated[str, Query(max_length=2)] = "",
    page: Page = 1,
) -> Response:
    status = status if status in c.EMPLOYER_STATUS_LABELS else ""
    rows, total = c.list_employers(db, principal, q=q, status=status, page=page, size=PAGE_SIZE)
    return render(
        request,
        "console/employers.html",
        {
            "items": rows,
            "q": c.clean_query(q),
            "status": status,
            "page": page,
            "pages": c.pages_of(total, PAGE_SIZE),
            "total": total,
            "status_labels": c.EMPLOYER_STATUS_LABELS,
        },
    )


@router.get(
    "/employers/{employer_ref}", response_class=HTMLResponse, summary="One employer 单位详情"
)
def employer_page(
    request: Request,
    employer_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
) -> Response:
    employer = c.get_employer_visible(db, principal, employer_ref)
    history, history_total = c.list_remittances(db, employer=employer, size=24)
    owed = [
        item
        for item in arrears_service.arrears(
            db, date.today(), c.policy_of(request), branch_id=employer.branch_id
        )
        if item.employer_ref == employer.employer_ref
    ]
    return render(
        request,
        "console/employer.html",
        {
            "employer": c.employer_row(db, employer),
            "branch_name": c.branch_names(db).get(employer.branch_id, ""),
            "suspense": c.suspense_balance(db, employer),
            "history": history,
            "history_total": history_total,
            "owed": owed,
            "owed_total": sum(i.amount_fen for i in owed),
            "reminders": c.reminders_of(db, employer),
            "status_labels": c.EMPLOYER_STATUS_LABELS,
            "remittance_labels": c.REMITTANCE_STATUS_LABELS,
            "kind_labels": c.REMITTANCE_KIND_LABELS,
            "can_remind": principal.has("deposit.manage"),
            "can_manage": principal.has("deposit.manage"),
        },
    )


@router.get("/depositors", response_class=HTMLResponse, summary="Depositors 缴存职工")
def depositors(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    q: Search = "",
    employer: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=2)] = "",
    page: Page = 1,
) -> Response:
    status = status if status in c.DEPOSITOR_STATUS_LABELS else ""
    of_employer = c.get_employer_visible(db, principal, employer) if employer else None
    rows, total = c.list_depositors(
        db,
        principal=principal,
        employer=of_employer,
        q=q,
        status=status,
        page=page,
        size=PAGE_SIZE,
    )
    return render(
        request,
        "console/depositors.html",
        {
            "items": rows,
            "q": c.clean_query(q),
            "employer": of_employer.employer_ref if of_employer else "",
            "status": status,
            "page": page,
            "pages": c.pages_of(total, PAGE_SIZE),
            "total": total,
            "status_labels": c.DEPOSITOR_STATUS_LABELS,
        },
    )


@router.get(
    "/depositors/{depositor_ref}", response_class=HTMLResponse, summary="One depositor 职工详情"
)
def depositor_page(
    request: Request,
    depositor_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    year: Year = None,
) -> Response:
    depositor = c.get_depositor_visible(db, principal, depositor_ref)
    detail = c.depositor_detail(db, principal, depositor)
    c.audit_person_view(
        db, principal, depositor, unmasked=detail["unmasked"], ip=c.client_ip(request)
    )
    year = year or c.current_interest_year()
    return render(
        request,
        "console/depositor.html",
        {
            "d": detail,
            "year": year,
            "years": c.year_choices(),
            "statement": c.statement_of(db, depositor.depositor_ref, year),
            "status_labels": c.DEPOSITOR_STATUS_LABELS,
            "action": f"/console/depositors/{depositor.depositor_ref}",
            "can_manage": principal.has("deposit.manage"),
        },
    )


@router.get("/remittances", response_class=HTMLResponse, summary="Remittance lists 汇缴清册")
def remittances(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
    month: Month = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: Page = 1,
) -> Response:
    status = status if status in c.REMITTANCE_STATUS_LABELS else ""
    first = c.parse_month_text(month, date.today())
    rows, total = c.list_remittances(
        db, principal=principal, month=first, status=status, page=page, size=PAGE_SIZE
    )
    return render(
        request,
        "console/remittances.html",
        {
            "items": rows,
            "month": f"{first:%Y-%m}",
            "status": status,
            "page": page,
            "pages": c.pages_of(total, PAGE_SIZE),
            "total": total,
            "status_labels": c.REMITTANCE_STATUS_LABELS,
            "kind_labels": c.REMITTANCE_KIND_LABELS,
        },
    )


@router.get("/arrears", response_class=HTMLResponse, summary="Arrears 欠缴单位")
def arrears_page(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(PERSON_READ))],
) -> Response:
    items = c.arrears_visible(db, principal, c.policy_of(request))
    return render(
        request,
        "console/arrears.html",
        {
            "items": items[:MAX_ARREARS_SHOWN],
            "total": len(items),
            "by_employer": c.arrears_by_employer(items),
            "can_remind": principal.has("deposit.manage"),
        },
    )


@router.post("/arrears/{employer_ref}/reminder", summary="Issue a reminder notice 催缴")
def issue_reminder(
    request: Request,
    employer_ref: Ref,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("deposit.manage"))],
) -> Response:
    employer = c.get_employer_visible(db, principal, employer_ref)
    response = RedirectResponse(
        f"/console/employers/{employer.employer_ref}#reminders", status_code=303
    )
    try:
        with db.begin_nested():
            arrears_service.issue_reminder(
                db, employer, date.today(), c.policy_of(request), principal
            )
    except DomainError as exc:
        flash(response, exc.message(request.state.lang), "danger")
        return response
    flash(response, N_("Reminder notice issued."))
    return response


@router.get("/stats", response_class=HTMLResponse, summary="Contribution statistics 归集统计")
def stats_page(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STATS_READERS))],
    start: Annotated[str, Query(alias="from", pattern=c.MONTH_PATTERN)] = "",
    end: Annotated[str, Query(alias="to", pattern=c.MONTH_PATTERN)] = "",
) -> Response:
    day = c.books_day(db, date.today())
    first, last = c.stats_range(start, end, day)
    rows, balances = c.stats_visible(db, principal, first, last, day)
    return render(
        request,
        "console/stats.html",
        {
            "rows": rows,
            "balances": balances,
            "branch_names": c.branch_names(db),
            "start": f"{first:%Y-%m}",
            "end": f"{last:%Y-%m}",
            "totals": {
                "amount_fen": sum(r.amount_fen for r in rows),
                "new_depositors": sum(r.new_depositors for r in rows),
            },
        },
    )
