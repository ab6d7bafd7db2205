"""Applications as the web shows them (业务申请查询): scoped lists, IDOR-safe reads, masking.

Who sees what (数据范围): staff with ``workflow.read`` see the applications of their branch (all
branches when whole-center); employer agents and depositors only their own. Reading someone
else's application answers 404, exactly like a missing one, so ids cannot be probed.

The paginated list is a query over the workflow tables until ``hpf.workflow.service`` offers
one; reading one application and every change go through ``hpf.workflow.service``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.masking import mask_text
from hpf.auth.principal import Principal
from hpf.workflow import rules as wf_rules
from hpf.workflow import service as workflow
from hpf.workflow.models import Application
from hpf.workflow.service import ApplicationView

MAX_PAGE_SIZE = 100


def not_found(application_id: int) -> wf_rules.ApplicationNotFound:
    return wf_rules.ApplicationNotFound(
        f"申请不存在：{application_id}", f"no such application: {application_id}"
    )


def may_see(principal: Principal, view: ApplicationView) -> bool:
    """True when ``principal`` may read ``view`` (own application, or staff of its branch)."""
    if principal.kind in ("employer", "depositor"):
        return view.applicant_user_id == principal.user_id
    return principal.has("workflow.read") and principal.can_see_branch(view.branch_id)


def get_visible(session: Session, principal: Principal, application_id: int) -> ApplicationView:
    """The application if ``principal`` may read it; ApplicationNotFound (404) otherwise."""
    view = workflow.get(session, application_id)
    if not may_see(principal, view):
        raise not_found(application_id)
    return view


def list_visible(
    session: Session,
    principal: Principal,
    *,
    page: int = 1,
    size: int = 20,
    status: str | None = None,
    business_type: str | None = None,
) -> tuple[list[ApplicationView], int]:
    """One page of the applications ``principal`` may see, newest first, and the total count."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    page = max(1, page)
    stmt = select(Application.id)
    if principal.kind in ("employer", "depositor"):
        stmt = stmt.where(Application.applicant_user_id == principal.user_id)
    elif not principal.has("workflow.read"):
        return [], 0
    elif not principal.whole_center:
        if principal.branch_id is None:
            return [], 0
        stmt = stmt.where(Application.branch_id == principal.branch_id)
    if status:
        stmt = stmt.where(Application.status == status)
    if business_type:
        stmt = stmt.where(Application.business_type == business_type)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    ids = session.scalars(
        stmt.order_by(Application.created_at.desc(), Application.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return [workflow.get(session, app_id) for app_id in ids], total


def _masked(value: Any, unmask: bool) -> Any:
    if unmask:
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(v, unmask) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, unmask) for v in value]
    return value


def summary_json(view: ApplicationView) -> dict[str, Any]:
    """The list form of an application (no payload, no steps)."""
    return {
        "id": view.id,
        "business_type": view.business_type,
        "business_name_zh": view.business_name_zh,
        "business_name_en": view.business_name_en,
        "status": view.status,
        "status_zh": view.status_zh,
        "awaiting": view.awaiting,
        "channel": view.channel,
        "fully_online": view.fully_online,
        "amount_fen": view.amount_fen,
        "subject_ref": view.subject_ref,
        "branch_id": view.branch_id,
        "created_at": view.created_at.isoformat(),
        "updated_at": view.updated_at.isoformat(),
        "completed_at": view.completed_at.isoformat() if view.completed_at else None,
    }


def detail_json(view: ApplicationView, principal: Principal) -> dict[str, Any]:
    """An application with its payload (masked unless own or ``person.unmask``) and steps."""
    own = view.applicant_user_id == principal.user_id
    unmask = own or principal.has("person.unmask")
    return {
        **summary_json(view),
        "route": list(view.route),
        "payload": _masked(dict(view.payload), unmask),
        "steps": [
            {
                "step": s.step,
                "action": s.action,
                "actor_name": s.actor_name,
                "at": s.at.isoformat(),
                "at_counter": s.at_counter,
                "comment": s.comment,
            }
            for s in view.steps
        ],
    }


def audit_unmasked_view(session: Session, principal: Principal, view: ApplicationView) -> None:
    """Write the audit record of a staff member seeing an applicant's data unmasked (查看留痕)."""
    if view.applicant_user_id != principal.user_id and principal.has("person.unmask"):
        audit.record_read(
            session,
            actor=principal,
            action="person.unmask",
            object_type="workflow_application",
            object_id=view.id,
            detail={"fields": sorted(view.payload)},
        )


def available_actions(view: ApplicationView, principal: Principal) -> list[str]:
    """The staff actions worth offering ``principal`` on ``view`` (the service decides)."""
    step = view.awaiting
    if step not in wf_rules.STEPS or not principal.has(wf_rules.STEP_PERMISSIONS[step]):
        return []
    if not principal.can_see_branch(view.branch_id):
        return []
    return [step, wf_rules.RETURN, wf_rules.REJECT]
