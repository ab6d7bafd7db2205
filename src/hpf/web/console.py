"""The staff console (柜面/管理端, ``/console``): inbox, applications, acting on one, users.

- ``/console``: the dashboard with the signed-in staff member's inbox (待办);
- ``/console/applications``: the applications of their branch, filtered and paginated;
- ``/console/applications/{id}``: one application with its steps and the action buttons
  (受理/复核/审批/退回/不予受理) as CSRF-protected forms;
- ``/console/users``: for the system administrator, locked accounts with an unlock button.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hpf.auth import service as auth_service
from hpf.auth.principal import Principal
from hpf.errors import DomainError
from hpf.web import applications as apps
from hpf.web.i18n import _ as N_
from hpf.web.loans import act_on_application
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render
from hpf.workflow import rules as wf_rules
from hpf.workflow import service as workflow

router = APIRouter(prefix="/console", tags=["pages: staff console"])

CONSOLE_USERS = ("workflow.read", "users.manage", "dashboard.read")
STAFF_STEPS = ("workflow.accept", "workflow.review", "workflow.approve")
ACTION_LABELS = {
    "accept": N_("Accept"),
    "review": N_("Review"),
    "approve": N_("Approve"),
    "return": N_("Return"),
    "reject": N_("Reject"),
}
STATUS_LABELS = {
    "submitted": N_("Submitted"),
    "accepted": N_("Accepted"),
    "reviewed": N_("Reviewed"),
    "approved": N_("Approved"),
    "completed": N_("Completed"),
    "returned": N_("Returned"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
STEP_LABELS = {
    "submit": N_("Submit"),
    "resubmit": N_("Resubmit"),
    "withdraw": N_("Withdraw"),
    **ACTION_LABELS,
}


@router.get("", response_class=HTMLResponse, summary="Staff dashboard 工作台")
def dashboard(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*CONSOLE_USERS))],
) -> Response:
    inbox = workflow.inbox(db, principal, limit=50)
    return render(
        request,
        "console/dashboard.html",
        {"inbox": inbox, "status_labels": STATUS_LABELS, "action_labels": ACTION_LABELS},
    )


@router.get("/applications", response_class=HTMLResponse, summary="Applications 业务申请")
def applications(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("workflow.read"))],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    status: Annotated[str, Query(max_length=20)] = "",
    business_type: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    size = 20
    status = status if status in wf_rules.STATUSES else ""
    views, total = apps.list_visible(
        db, principal, page=page, size=size, status=status or None, business_type=business_type
    )
    return render(
        request,
        "console/applications.html",
        {
            "items": views,
            "page": page,
            "pages": max(1, (total + size - 1) // size),
            "total": total,
            "status": status,
            "business_type": business_type,
            "business_types": workflow.business_types(),
            "status_labels": STATUS_LABELS,
        },
    )


@router.get(
    "/applications/{application_id}", response_class=HTMLResponse, summary="One application"
)
def application_page(
    request: Request,
    application_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("workflow.read"))],
) -> Response:
    view = apps.get_visible(db, principal, application_id)
    apps.audit_unmasked_view(db, principal, view)
    return render(
        request,
        "console/application.html",
        {
            "app": view,
            "detail": apps.detail_json(view, principal),
            "actions": apps.available_actions(view, principal),
            "action_labels": ACTION_LABELS,
            "status_labels": STATUS_LABELS,
            "step_labels": STEP_LABELS,
        },
    )


@router.post("/applications/{application_id}/act", summary="Take a step 办理")
def act(
    request: Request,
    application_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(*STAFF_STEPS))],
    action: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    target = f"/console/applications/{application_id}"
    apps.get_visible(db, principal, application_id)
    response = RedirectResponse(target, status_code=303)
    try:
        with db.begin_nested():
            act_on_application(
                db,
                application_id,
                actor=principal,
                action=action,
                comment=comment,
                ip=request.client.host if request.client else "",
            )
    except DomainError as exc:
        flash(response, exc.message(request.state.lang), "danger")
        return response
    flash(response, N_("Done."))
    return response


@router.get("/users", response_class=HTMLResponse, summary="Users and locked accounts 用户")
def users(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("users.manage"))],
) -> Response:
    return render(request, "console/users.html", {"locked": auth_service.list_locked(db)})


@router.post("/users/{user_id}/unlock", summary="Unlock an account 解锁")
def unlock(
    request: Request,
    user_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("users.manage"))],
) -> Response:
    response = RedirectResponse("/console/users", status_code=303)
    try:
        with db.begin_nested():
            auth_service.unlock(db, user_id, actor=principal)
    except DomainError as exc:
        flash(response, exc.message(request.state.lang), "danger")
        return response
    flash(response, N_("Account unlocked."))
    return response
