"""E-audit, operations and partner calls in the staff console (``/console/service/...``).

- ``/eaudit`` (``eaudit.read``): suspicious items (疑点) by month, rule and status, each rule's
  last run, the run form (``eaudit.manage``); ``/eaudit/{item_id}``: one item with its evidence
  and the assign / explain or rectify / close forms (``eaudit.manage``);
- ``/incidents`` (``ops.manage``): incidents (故障事件) and security events (安全事件), the forms
  to record them and to resolve an incident, the month's stability and data-security figures;
- ``/partner-calls`` (``audit_trail.read`` or ``ops.manage``): the partner API's partners and
  their calls (subjects masked).
Use cases: :mod:`hpf.eaudit.service`, :mod:`hpf.ops.incidents`, :mod:`hpf.ops.security`,
:mod:`hpf.ops.partners`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.masking import mask_text
from hpf.auth.principal import Principal
from hpf.dates import month_end
from hpf.eaudit import service as eaudit
from hpf.eaudit.models import ITEM_STATUSES, AuditRun, SuspiciousItem
from hpf.eaudit.rules import RULES, RULES_BY_CODE
from hpf.errors import InvalidInput
from hpf.ops import incidents, partner_rules, partners, security
from hpf.ops.models import PARTNER_RESULTS, SECURITY_KINDS, SEVERITIES, Incident, SecurityEvent
from hpf.web import contributions as c
from hpf.web.console_actions import form_action
from hpf.web.console_service import PAGE_SIZE
from hpf.web.errors import Problem
from hpf.web.schemas import RowId
from hpf.web.security import DbSession, require
from hpf.web.templating import render
from hpf.workflow.stats import BUSINESS_TZ

router = APIRouter(prefix="/console/service", tags=["pages: staff console"])

RULE_NAMES = {r.code: (r.name_zh, r.name_en) for r in RULES}
INCIDENTS = "/console/service/incidents"


def _today() -> date:
    return datetime.now(BUSINESS_TZ).date()


def _month(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date() if text.strip() else None
    except ValueError:
        return None


def _local(value: datetime | None) -> str:
    return audit.utc(value).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


# --- e-audit ----------------------------------------------------------------------------------


def _item_scope(principal: Principal) -> Any:
    if principal.whole_center:
        return None
    return or_(SuspiciousItem.branch_id.is_(None), SuspiciousItem.branch_id == principal.branch_id)


@router.get("/eaudit", response_class=HTMLResponse, summary="E-audit items 电子稽核疑点")
def eaudit_items(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("eaudit.read", "eaudit.manage"))],
    month: Annotated[str, Query(max_length=7)] = "",
    rule: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    first = _month(month)
    rule = rule if rule in RULES_BY_CODE else ""
    status = status if status in ITEM_STATUSES else ""
    stmt = select(SuspiciousItem)
    scope = _item_scope(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    if first is not None:
        stmt = stmt.where(SuspiciousItem.month == first)
    if rule:
        stmt = stmt.where(SuspiciousItem.rule_code == rule)
    if status:
        stmt = stmt.where(SuspiciousItem.status == status)
    total = int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = db.scalars(
        stmt.order_by(SuspiciousItem.month.desc(), SuspiciousItem.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    runs = db.scalars(
        select(AuditRun).order_by(AuditRun.month.desc(), AuditRun.rule_code).limit(len(RULES))
    ).all()
    shown = first or _today().replace(day=1)
    return render(
        request,
        "console/service_eaudit.html",
        {
            "rows": rows,
            "runs": runs,
            "total": total,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "month": month if first else "",
            "rule": rule,
            "status": status,
            "rule_names": RULE_NAMES,
            "item_status_names": eaudit.STATUS_NAMES,
            "indicator": eaudit.indicator(db, shown, shown, _today()),
            "today": _today(),
            "can_manage": principal.has("eaudit.manage"),
        },
    )


@router.post("/eaudit/run", summary="Run the e-audit of a month 运行稽核")
def eaudit_run(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("eaudit.manage"))],
    month: Annotated[str, Form(max_length=7)],
) -> Response:
    def run() -> None:
        first = _month(month)
        if first is None:
            raise InvalidInput("月份格式应为 YYYY-MM", "the month must be YYYY-MM")
        eaudit.run_month(db, first, c.policy_of(request), on=_today(), actor=principal)

    return form_action(request, db, f"/console/service/eaudit?month={month[:7]}", run)


def _item_url(item_id: int) -> str:
    return f"/console/service/eaudit/{item_id}"


def _item_not_found(item_id: int) -> Problem:
    return Problem(
        404,
        "eaudit_item_not_found",
        f"疑点不存在：{item_id}",
        f"no such suspicious item: {item_id}",
    )


def _visible_item(db: Session, principal: Principal, item_id: int) -> SuspiciousItem:
    """The item, if the principal may see it; an item of another branch is answered 404
    exactly like one that does not exist (its existence is not disclosed)."""
    try:
        row = eaudit.get_item(db, item_id)
    except eaudit.ItemNotFound:
        raise _item_not_found(item_id) from None
    if not principal.whole_center and row.branch_id not in (None, principal.branch_id):
        raise _item_not_found(item_id)
    return row


@router.get(
    "/eaudit/{item_id}", response_class=HTMLResponse, summary="One suspicious item 疑点详情"
)
def eaudit_item(
    request: Request,
    item_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("eaudit.read", "eaudit.manage"))],
) -> Response:
    row = _visible_item(db, principal, item_id)
    try:
        evidence = {k: mask_text(str(v)) for k, v in json.loads(row.evidence).items()}
    except (ValueError, AttributeError):
        evidence = {"evidence": mask_text(row.evidence)}
    return render(
        request,
        "console/service_eaudit_item.html",
        {
            "item": row,
            "evidence": evidence,
            "rule_names": RULE_NAMES,
            "item_status_names": eaudit.STATUS_NAMES,
            "can_manage": principal.has("eaudit.manage"),
        },
    )


@router.post("/eaudit/{item_id}/assign", summary="Assign an item 分派疑点")
def eaudit_assign(
    request: Request,
    item_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("eaudit.manage"))],
    assignee: Annotated[str, Form(max_length=100)],
) -> Response:
    return form_action(
        request,
        db,
        _item_url(item_id),
        lambda: eaudit.assign(db, item_id, assignee, _today(), principal),
        find=lambda: _visible_item(db, principal, item_id),
    )


@router.post("/eaudit/{item_id}/respond", summary="Explain or rectify 情况说明或整改")
def eaudit_respond(
    request: Request,
    item_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("eaudit.manage"))],
    text: Annotated[str, Form(max_length=4000)],
    rectified: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    return form_action(
        request,
        db,
        _item_url(item_id),
        lambda: eaudit.respond(
            db, item_id, rectified=rectified == "yes", text=text, on=_today(), actor=principal
        ),
        find=lambda: _visible_item(db, principal, item_id),
    )


@router.post("/eaudit/{item_id}/close", summary="Close an item 疑点销号")
def eaudit_close(
    request: Request,
    item_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("eaudit.manage"))],
    evidence: Annotated[str, Form(max_length=4000)],
) -> Response:
    return form_action(
        request,
        db,
        _item_url(item_id),
        lambda: eaudit.close(db, item_id, evidence=evidence, on=_today(), actor=principal),
        find=lambda: _visible_item(db, principal, item_id),
    )


# --- incidents and security events ------------------------------------------------------------


def _moment(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M").replace(tzinfo=BUSINESS_TZ)
    except ValueError:
        raise InvalidInput("时间格式应为 日期 时:分", "the time is invalid") from None


@router.get("/incidents", response_class=HTMLResponse, summary="Incidents 故障与安全事件")
def incident_list(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("ops.manage"))],
    status: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    stmt = select(Incident).order_by(Incident.occurred_at.desc(), Incident.id.desc()).limit(100)
    if status in ("open", "resolved"):
        stmt = stmt.where(Incident.status == status)
    events = db.scalars(
        select(SecurityEvent).order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc()).limit(100)
    ).all()
    first = _today().replace(day=1)
    return render(
        request,
        "console/service_incidents.html",
        {
            "incidents": db.scalars(stmt).all(),
            "events": events,
            "status": status if status in ("open", "resolved") else "",
            "local": _local,
            "severities": {s: incidents.SEVERITY_NAMES[s] for s in SEVERITIES},
            "lines": incidents.BUSINESS_LINES,
            "kinds": {k: security.KIND_NAMES[k] for k in SECURITY_KINDS},
            "stability": incidents.stability(db, first, month_end(first)),
            "data_security": security.data_security(db, first, month_end(first)),
            "now": datetime.now(BUSINESS_TZ).strftime("%Y-%m-%dT%H:%M"),
        },
    )


@router.post("/incidents", summary="Record an incident 登记故障事件")
def incident_add(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("ops.manage"))],
    severity: Annotated[str, Form(max_length=12)],
    title: Annotated[str, Form(max_length=200)],
    occurred_at: Annotated[str, Form(max_length=20)],
    business_line: Annotated[str, Form(max_length=20)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return form_action(
        request,
        db,
        INCIDENTS,
        lambda: incidents.log_incident(
            db,
            occurred_at=_moment(occurred_at),
            severity=severity,
            title=title,
            business_line=business_line,
            description=description,
            actor=principal,
        ),
    )


@router.post("/incidents/{incident_id}/resolve", summary="Close an incident 事件恢复")
def incident_resolve(
    request: Request,
    incident_id: RowId,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("ops.manage"))],
    resolved_at: Annotated[str, Form(max_length=20)],
    cause: Annotated[str, Form(max_length=4000)] = "",
    actions: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return form_action(
        request,
        db,
        INCIDENTS,
        lambda: incidents.resolve_incident(
            db,
            incident_id,
            resolved_at=_moment(resolved_at),
            cause=cause,
            actions=actions,
            actor=principal,
        ),
    )


@router.post("/security-events", summary="Record a security event 登记安全事件")
def security_add(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("ops.manage"))],
    kind: Annotated[str, Form(max_length=20)],
    detail: Annotated[str, Form(max_length=4000)],
    at: Annotated[str, Form(max_length=20)],
    who: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return form_action(
        request,
        db,
        INCIDENTS,
        lambda: security.record_event(
            db, kind=kind, at=_moment(at), detail=detail, actor_name=who, actor=principal
        ),
    )


# --- partner API calls ------------------------------------------------------------------------


@router.get("/partner-calls", response_class=HTMLResponse, summary="Partner API calls 接口调用")
def partner_calls(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require("audit_trail.read", "ops.manage"))],
    partner: Annotated[str, Query(max_length=40)] = "",
    result: Annotated[str, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    result = result if result in PARTNER_RESULTS else ""
    calls, total = partners.list_calls(
        db, partner_code=partner or None, result=result or None, page=page, size=PAGE_SIZE
    )
    return render(
        request,
        "console/service_partner_calls.html",
        {
            "partners": partners.list_partners(db),
            "calls": calls,
            "total": total,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "partner": partner,
            "result": result,
            "local": _local,
            "scope_names": {k: (s.name_zh, s.name_en) for k, s in partner_rules.SCOPES.items()},
            "result_names": partner_rules.RESULT_NAMES,
            "status_names": partner_rules.STATUS_NAMES,
        },
    )
