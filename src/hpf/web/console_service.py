"""Hotline tickets in the staff console (热线工单, ``/console/service/tickets``).

- ``/console/service/tickets`` (``hotline.handle``): tickets filtered by status, channel,
  category and month, with the month's call reply rate and satisfaction;
- ``/console/service/tickets/new``: the intake form (受理); its deadline comes from the policy;
- ``/console/service/tickets/{ticket_no}``: one ticket, its history and the action forms:
  assign (分派), reply (答复), escalate (升级督办), callback (回访).
Staff who are not whole-center see the tickets of their branch and those of no branch. Phone
numbers and personal numbers in free text are masked. The use cases are
:mod:`hpf.service_desk.service`; indicators :mod:`hpf.service_desk.stats`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.masking import mask_phone, mask_text
from hpf.auth.principal import Principal
from hpf.dates import add_months, month_end
from hpf.errors import DomainError, InvalidInput
from hpf.org.models import OrgUnit
from hpf.service_desk import rules, service, stats
from hpf.service_desk.models import Ticket
from hpf.web import contributions as c
from hpf.web.console_actions import form_action
from hpf.web.errors import Problem
from hpf.web.i18n import _ as N_
from hpf.web.portal_withdrawals import lang_of
from hpf.web.security import DbSession, require
from hpf.web.templating import flash, render
from hpf.workflow.stats import BUSINESS_TZ

router = APIRouter(prefix="/console/service", tags=["pages: staff console"])
TicketNo = Annotated[str, Path(min_length=1, max_length=40)]

HOTLINE = "hotline.handle"
PAGE_SIZE = 30
PAIR_TABLES: dict[str, Any] = {
    "ticket_status_names": rules.STATUS_NAMES,
    "ticket_channels": {k: (v.name_zh, v.name_en) for k, v in rules.CHANNELS.items()},
    "ticket_categories": rules.CATEGORIES,
    "ticket_ratings": rules.RATINGS,
}


def _local(value: datetime | None) -> str:
    return audit.utc(value).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _visible(principal: Principal) -> Any:
    if principal.whole_center:
        return None
    return or_(Ticket.branch_id.is_(None), Ticket.branch_id == principal.branch_id)


def _parse_month(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%Y-%m").date() if text.strip() else None
    except ValueError:
        return None


def _view(row: Ticket) -> dict[str, Any]:
    due = audit.utc(row.due_at)
    replied = audit.utc(row.replied_at) if row.replied_at else None
    return {
        "ticket_no": row.ticket_no,
        "channel": row.channel,
        "category": row.category,
        "topic": row.topic,
        "content": mask_text(row.content),
        "caller_name": row.caller_name,
        "caller_phone": mask_phone(row.caller_phone),
        "status": row.status,
        "received_at": _local(row.received_at),
        "due_at": _local(row.due_at),
        "overdue": replied is None and due < datetime.now(UTC),
        "on_time": rules.replied_on_time(replied, due) if replied else None,
        "assignee": row.assignee,
        "assigned_at": _local(row.assigned_at),
        "escalation_level": row.escalation_level,
        "escalation_reason": row.escalation_reason,
        "replied_at": _local(row.replied_at),
        "reply": row.reply,
        "replied_by": row.replied_by,
        "callback_at": _local(row.callback_at),
        "callback_reached": row.callback_reached,
        "rating": row.rating,
        "callback_note": row.callback_note,
    }


@router.get("/tickets", response_class=HTMLResponse, summary="Hotline tickets 热线工单")
def tickets(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(HOTLINE))],
    status: Annotated[str, Query(max_length=12)] = "",
    channel: Annotated[str, Query(max_length=10)] = "",
    category: Annotated[str, Query(max_length=12)] = "",
    month: Annotated[str, Query(max_length=7)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    stmt = select(Ticket)
    scope = _visible(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    status = status if status in rules.STATUS_NAMES else ""
    channel = channel if channel in rules.CHANNELS else ""
    category = category if category in rules.CATEGORIES else ""
    first = _parse_month(month)
    for value, column in ((status, Ticket.status), (channel, Ticket.channel)):
        if value:
            stmt = stmt.where(column == value)
    if category:
        stmt = stmt.where(Ticket.category == category)
    shown = first or datetime.now(BUSINESS_TZ).date().replace(day=1)
    if first is not None:
        lo = datetime.combine(first, datetime.min.time(), BUSINESS_TZ)
        hi = datetime.combine(add_months(first, 1), datetime.min.time(), BUSINESS_TZ)
        stmt = stmt.where(Ticket.received_at >= lo, Ticket.received_at < hi)
    total = int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = db.scalars(
        stmt.order_by(Ticket.received_at.desc(), Ticket.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    figures = stats.indicators(db, shown, month_end(shown))
    return render(
        request,
        "console/service_tickets.html",
        {
            "rows": [_view(r) for r in rows],
            "total": total,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "filters": {"status": status, "channel": channel, "category": category},
            "month": month if first else "",
            "shown_month": f"{shown:%Y-%m}",
            "figures": figures,
            **PAIR_TABLES,
        },
    )


def _ticket_url(ticket_no: str) -> str:
    return f"/console/service/tickets/{ticket_no}"


def _intake_page(
    request: Request, db: Session, values: dict[str, str], error: str = "", status_code: int = 200
) -> Response:
    branches = db.scalars(select(OrgUnit).where(OrgUnit.kind == "branch").order_by(OrgUnit.code))
    return render(
        request,
        "console/service_ticket_new.html",
        {"values": values, "error": error, "branches": list(branches), **PAIR_TABLES},
        status_code=status_code,
    )


@router.get("/tickets/new", response_class=HTMLResponse, summary="Ticket intake 工单受理")
def ticket_new(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(HOTLINE))],
) -> Response:
    now = datetime.now(BUSINESS_TZ).strftime("%Y-%m-%dT%H:%M")
    return _intake_page(request, db, {"received_at": now, "channel": "12329"})


@router.post("/tickets", summary="Record a ticket 受理工单")
def ticket_add(
    request: Request,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(HOTLINE))],
    channel: Annotated[str, Form(max_length=10)],
    category: Annotated[str, Form(max_length=12)],
    topic: Annotated[str, Form(max_length=200)],
    received_at: Annotated[str, Form(max_length=20)],
    content: Annotated[str, Form(max_length=4000)] = "",
    caller_name: Annotated[str, Form(max_length=50)] = "",
    caller_phone: Annotated[str, Form(max_length=20)] = "",
    branch_code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    values = {
        "channel": channel,
        "category": category,
        "topic": topic,
        "received_at": received_at,
        "content": content,
        "caller_name": caller_name,
        "caller_phone": caller_phone,
        "branch_code": branch_code,
    }
    try:
        try:
            received = datetime.strptime(received_at.strip(), "%Y-%m-%dT%H:%M")
        except ValueError:
            raise InvalidInput(
                "受理时间格式应为 日期 时:分", "the receipt time is invalid"
            ) from None
        with db.begin_nested():
            row = service.add_ticket(
                db,
                service.TicketInput(
                    channel=channel,
                    topic=topic,
                    category=category,
                    received_at=received.replace(tzinfo=BUSINESS_TZ),
                    caller_name=caller_name,
                    caller_phone=caller_phone,
                    content=content,
                    branch_code=branch_code or None,
                ),
                principal,
                policy=c.policy_of(request),
            )
            number = row.ticket_no
    except DomainError as exc:
        return _intake_page(request, db, values, exc.message(lang_of(request)), 400)
    response = RedirectResponse(_ticket_url(number), status_code=303)
    flash(response, N_("Ticket recorded."))
    return response


def ticket_not_found(ticket_no: str) -> Problem:
    return Problem(
        404, "ticket_not_found", f"工单不存在：{ticket_no}", f"no such ticket: {ticket_no}"
    )


def _get_visible(db: Session, principal: Principal, ticket_no: str) -> Ticket:
    """The ticket, if the principal may see it; a ticket of another branch is answered 404
    exactly like one that does not exist (its existence is not disclosed)."""
    try:
        row = service.get_ticket(db, ticket_no)
    except service.TicketNotFound:
        raise ticket_not_found(ticket_no) from None
    if not principal.whole_center and row.branch_id not in (None, principal.branch_id):
        raise ticket_not_found(ticket_no)
    return row


@router.get("/tickets/{ticket_no}", response_class=HTMLResponse, summary="One ticket 工单详情")
def ticket_page(
    request: Request,
    ticket_no: TicketNo,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(HOTLINE))],
) -> Response:
    row = _get_visible(db, principal, ticket_no[:40])
    return render(
        request,
        "console/service_ticket.html",
        {"t": _view(row), "replyable": row.status in rules.REPLYABLE, **PAIR_TABLES},
    )


@router.post("/tickets/{ticket_no}/assign", summary="Assign a ticket 分派")
def ticket_assign(
    request: Request,
    ticket_no: TicketNo,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(HOTLINE))],
    assignee: Annotated[str, Form(max_length=100)],
) -> Response:
    return form_action(
        request,
        db,
        _ticket_url(ticket_no),
        lambda: service.assign(db, ticket_no, assignee, principal, datetime.now(UTC)),
        find=lambda: _get_visible(db, principal, ticket_no),
    )


@router.post("/tickets/{ticket_no}/reply", summary="Reply to a ticket 答复")
def ticket_reply(
    request: Request,
    ticket_no: TicketNo,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(HOTLINE))],
    text: Annotated[str, Form(max_length=4000)],
) -> Response:
    return form_action(
        request,
        db,
        _ticket_url(ticket_no),
        lambda: service.reply(db, ticket_no, text, principal, datetime.now(UTC)),
        find=lambda: _get_visible(db, principal, ticket_no),
    )


@router.post("/tickets/{ticket_no}/escalate", summary="Escalate a ticket 升级督办")
def ticket_escalate(
    request: Request,
    ticket_no: TicketNo,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(HOTLINE))],
    reason: Annotated[str, Form(max_length=200)],
) -> Response:
    return form_action(
        request,
        db,
        _ticket_url(ticket_no),
        lambda: service.escalate(db, ticket_no, reason, principal, datetime.now(UTC)),
        find=lambda: _get_visible(db, principal, ticket_no),
    )


@router.post("/tickets/{ticket_no}/callback", summary="Record a callback 回访")
def ticket_callback(
    request: Request,
    ticket_no: TicketNo,
    db: DbSession,
    principal: Annotated[Principal, Depends(require(HOTLINE))],
    reached: Annotated[str, Form(max_length=5)],
    rating: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return form_action(
        request,
        db,
        _ticket_url(ticket_no),
        lambda: service.callback(
            db,
            ticket_no,
            reached=reached == "yes",
            rating=rating or None,
            actor=principal,
            now=datetime.now(UTC),
            note=note,
        ),
        find=lambda: _get_visible(db, principal, ticket_no),
    )
