"""The employer portal (单位网上业务大厅, ``/employer``) and the depositor portal (个人网上业务大厅, ``/me``).

Both show only the signed-in principal's own data: the employer agent their employer's summary,
the depositor their profile (ID number and phone masked), their account balance and their own
applications. The depositor's "变更联系方式" form submits a ``contact_change`` application through
the online hall (网厅); it is idempotent per form (a hidden key), so a double click submits once.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth.masking import mask_id_number, mask_phone
from hpf.auth.principal import Principal
from hpf.auth.users import get_user
from hpf.errors import DomainError
from hpf.ledger import service as ledger
from hpf.ledger.chart import DEPOSITORS_FUNDS, EMPLOYER_SUSPENSE, subsidiary_code
from hpf.ledger.rules import LedgerError
from hpf.org import service as org_service
from hpf.web import applications as apps
from hpf.web.console import STATUS_LABELS
from hpf.web.i18n import _ as N_
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render
from hpf.workflow import service as workflow

router = APIRouter(tags=["pages: portals"])


def _balance(db: DbSession, code: str) -> int | None:
    try:
        return ledger.balance_of(db, code)
    except LedgerError:
        return None


def _branch_of(db: DbSession, principal: Principal) -> int:
    """The branch (管理部) that handles the principal's applications."""
    if principal.branch_id is not None:
        return principal.branch_id
    branches = [u for u in org_service.list_units(db) if u.kind == "branch"]
    units = branches or org_service.list_units(db)
    if not units:
        raise DomainError("机构未初始化", "the organisation is not set up", code="no_branch")
    return units[0].id


@router.get("/employer", response_class=HTMLResponse, summary="Employer portal 单位网厅")
def employer_home(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("employer.self"))],
) -> Response:
    ref = principal.employer_ref
    balance = _balance(db, subsidiary_code(EMPLOYER_SUSPENSE, ref)) if ref else None
    views, total = apps.list_visible(db, principal, size=20)
    return render(
        request,
        "portal/employer.html",
        {"balance": balance, "items": views, "total": total, "status_labels": STATUS_LABELS},
    )


@router.get("/me", response_class=HTMLResponse, summary="Depositor portal 个人网厅")
def my_home(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("depositor.self"))],
) -> Response:
    user = get_user(db, principal.user_id)
    ref = principal.depositor_ref
    balance = _balance(db, subsidiary_code(DEPOSITORS_FUNDS, ref)) if ref else None
    views, _total = apps.list_visible(db, principal, size=5)
    return render(
        request,
        "portal/me.html",
        {
            "id_number": mask_id_number(principal.login_name),
            "phone": mask_phone(user.phone) if user.phone else "",
            "balance": balance,
            "items": views,
            "status_labels": STATUS_LABELS,
            "idempotency_key": uuid.uuid4().hex,
        },
    )


@router.get("/me/applications", response_class=HTMLResponse, summary="My applications 我的申请")
def my_applications(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("depositor.self"))],
) -> Response:
    views, total = apps.list_visible(db, principal, size=100)
    return render(
        request,
        "portal/my_applications.html",
        {"items": views, "total": total, "status_labels": STATUS_LABELS},
    )


@router.post("/me/contact-change", summary="Change contact details 变更联系方式")
def contact_change(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("depositor.self"))],
    phone: Annotated[str, Form(max_length=20)],
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    response = RedirectResponse("/me/applications", status_code=303)
    try:
        with db.begin_nested():
            workflow.submit(
                db,
                business_type="contact_change",
                applicant=principal,
                channel="online_hall",
                payload={"phone": phone},
                subject_ref=principal.depositor_ref,
                branch_id=_branch_of(db, principal),
                idempotency_key=f"web:{principal.user_id}:{idempotency_key or uuid.uuid4().hex}",
                ip=request.client.host if request.client else "",
            )
    except DomainError as exc:
        response = RedirectResponse("/me", status_code=303)
        flash(response, exc.message(request.state.lang), "danger")
        return response
    flash(response, N_("Application submitted."))
    return response
