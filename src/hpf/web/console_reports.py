"""Reports in the staff console (报表): the annual report and the finance statements, as pages.

- ``/console/reports/annual?year=`` (``dashboard.read`` or ``report.read``): the annual report
  of a calendar year (:func:`hpf.report.annual.annual_report`, the data ``hpf report annual
  --json`` prints), one table per section (:func:`hpf.report.render.report_tables`);
- ``/console/reports/statements?name=&period=`` (same): a finance statement
  (:func:`hpf.finance.statements.build`, as ``hpf finance statement NAME --period P --json``),
  or all four, as tables (:func:`hpf.finance.statements.tables`).
Bad input (an unknown statement, a malformed period) answers 400 with the form again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from hpf.auth.principal import Principal
from hpf.errors import DomainError
from hpf.finance import statements
from hpf.report.annual import annual_report
from hpf.report.render import report_tables
from hpf.web import contributions as c
from hpf.web.i18n import _ as N_
from hpf.web.portal_withdrawals import lang_of
from hpf.web.security import DbSession, require
from hpf.web.templating import render
from hpf.web.withdrawals import today

router = APIRouter(prefix="/console/reports", tags=["pages: staff console"])

READ = ("dashboard.read", "report.read")


@router.get("/annual", response_class=HTMLResponse, summary="Annual report 年度报告")
def annual(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    year: Annotated[int | None, Query(ge=1991, le=2100)] = None,
) -> Response:
    chosen = year if year is not None else today().year - 1
    report = annual_report(db, chosen, c.policy_of(request))
    return render(
        request,
        "console/report_tables.html",
        {
            "heading": N_("Annual report"),
            "action": "/console/reports/annual",
            "year": chosen,
            "tables": report_tables(report),
            "error": "",
        },
    )


@router.get("/statements", response_class=HTMLResponse, summary="Finance statements 财务报表")
def finance_statements(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*READ))],
    name: Annotated[str, Query(max_length=20)] = "all",
    period: Annotated[str, Query(max_length=7)] = "",
) -> Response:
    period = period.strip() or str(today().year - 1)
    tables: list[Any] = []
    error = ""
    try:
        names = statements.STATEMENTS if name == "all" else (name,)
        for n in names:
            tables.extend(statements.tables(statements.build(db, n, period)))
    except DomainError as exc:
        error = exc.message(lang_of(request))
        tables = []
    return render(
        request,
        "console/report_tables.html",
        {
            "heading": N_("Finance statements"),
            "action": "/console/reports/statements",
            "period": period,
            "name": name,
            "names": statements.STATEMENTS,
            "tables": tables,
            "error": error,
        },
        status_code=400 if error else 200,
    )
