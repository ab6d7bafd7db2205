"""Employer applications in the employer portal (网厅·单位申请): 降比 and 缓缴 through the workflow.

- ``/employer/applications``: the two forms and the employer's applications with their status;
- POST ``/employer/applications/rate-change``: 降低缴存比例 (business type ``employer_rate_change``);
- POST ``/employer/applications/deferral``: 缓缴 (business type ``employer_deferral``).

Both are submitted by the signed-in agent for their own employer through the online hall
(channel ``online_hall``) to the employer's branch, where they wait in the console inbox for
受理 → 复核 → 审批; the payload rules are :mod:`hpf.deposits.applications`. A refused form is shown
again with the reason (nothing submitted); each form carries CSRF and an idempotency key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.principal import Principal
from hpf.deposits.applications import DEFERRAL, EMPLOYER_CHANNEL, RATE_CHANGE
from hpf.errors import DomainError
from hpf.web import applications as apps
from hpf.web import contribution_actions as actions
from hpf.web import contributions as c
from hpf.web.console import STATUS_LABELS
from hpf.web.i18n import _ as N_
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render
from hpf.workflow import service as workflow

router = APIRouter(prefix="/employer", tags=["pages: portals"])

EMPLOYER = "employer.self"
PAGE = "/employer/applications"
Key = Annotated[str, Form(pattern=actions.KEY_PATTERN, description="Idempotency key")]
MonthField = Annotated[str, Form(pattern=c.MONTH_PATTERN, description="YYYY-MM")]
Months = Annotated[int, Form(ge=1, le=120)]
Text = Annotated[str, Form(max_length=200)]
Rate = Annotated[str, Form(max_length=8)]


def _page(
    request: Request,
    db: DbSession,
    principal: Principal,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    employer = c.own_employer(db, principal)
    views, _total = apps.list_visible(db, principal, size=100)
    mine = [v for v in views if v.business_type in (RATE_CHANGE, DEFERRAL)]
    return render(
        request,
        "portal/employer_applications.html",
        {
            "employer": c.employer_row(db, employer),
            "items": mine,
            "status_labels": STATUS_LABELS,
            "form": form,
            "values": values or {},
            "error": error,
        },
        status_code=status_code,
    )


def _submit(
    request: Request,
    db: DbSession,
    principal: Principal,
    *,
    business_type: str,
    payload: dict[str, Any],
    key: str,
) -> Response:
    employer = c.own_employer(db, principal)
    try:
        with db.begin_nested():
            workflow.submit(
                db,
                business_type=business_type,
                applicant=principal,
                channel=EMPLOYER_CHANNEL,
                payload={"employer_ref": employer.employer_ref, **payload},
                subject_ref=employer.employer_ref,
                branch_id=employer.branch_id,
                idempotency_key=f"web:{actions.scoped_key(principal, key)}",
                ip=c.client_ip(request),
            )
    except DomainError as exc:
        return _page(
            request,
            db,
            principal,
            form=business_type,
            values=payload,
            error=exc.message(str(getattr(request.state, "lang", "zh"))),
            status_code=422,
        )
    response = RedirectResponse(PAGE, status_code=303)
    flash(response, N_("Application submitted."))
    return response


@router.get(
    "/applications", response_class=HTMLResponse, summary="Rate reduction and deferral 降比与缓缴"
)
def employer_applications(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
) -> Response:
    return _page(request, db, principal)


@router.post("/applications/rate-change", response_class=HTMLResponse, summary="Apply for 降比")
def rate_change(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    idempotency_key: Key,
    employer_rate_pct: Rate,
    employee_rate_pct: Rate,
    effective_month: MonthField,
    months: Months,
    reason: Text,
    consent: Text,
) -> Response:
    payload = {
        "employer_rate_pct": employer_rate_pct.strip(),
        "employee_rate_pct": employee_rate_pct.strip(),
        "effective_month": effective_month,
        "months": months,
        "reason": reason,
        "consent": consent,
    }
    return _submit(
        request, db, principal, business_type=RATE_CHANGE, payload=payload, key=idempotency_key
    )


@router.post("/applications/deferral", response_class=HTMLResponse, summary="Apply for 缓缴")
def deferral(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(EMPLOYER))],
    idempotency_key: Key,
    from_month: MonthField,
    months: Months,
    reason: Text,
    consent: Text,
) -> Response:
    payload = {"from_month": from_month, "months": months, "reason": reason, "consent": consent}
    return _submit(
        request, db, principal, business_type=DEFERRAL, payload=payload, key=idempotency_key
    )
