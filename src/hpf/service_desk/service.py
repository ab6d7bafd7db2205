"""Ticket use cases (工单办理): intake, assignment, escalation, reply, callback (回访).

Each function takes a session and commits nothing; every action is written to the audit trail.
domain.md §9; the rules (deadlines, ratings) are in :mod:`hpf.service_desk.rules`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hpf.auth import audit
from hpf.auth.principal import Principal
from hpf.errors import DomainError, InvalidInput
from hpf.org.service import unit_by_code
from hpf.policy.loader import Policy, get_policy
from hpf.service_desk import rules
from hpf.service_desk.models import Ticket
from hpf.workflow.stats import BUSINESS_TZ


class TicketNotFound(DomainError):
    code = "ticket_not_found"


class TicketStateError(DomainError):
    code = "ticket_state"


@dataclass(frozen=True)
class TicketInput:
    """A ticket as an agent enters it or a platform export row gives it."""

    channel: str
    topic: str
    category: str
    received_at: datetime
    caller_name: str = ""
    caller_phone: str = ""
    content: str = ""
    branch_code: str | None = None
    ticket_no: str | None = None
    due_days: int | None = None
    due_at: datetime | None = None


def _aware(value: datetime) -> datetime:
    """The moment in UTC (as stored); a naive moment is China Standard Time (the platform's and
    the agents' clock), while a moment read back from SQLite is naive UTC (use ``audit.utc``).
    """
    return (value.replace(tzinfo=BUSINESS_TZ) if value.tzinfo is None else value).astimezone(UTC)


def add_ticket(
    session: Session,
    data: TicketInput,
    actor: Principal,
    *,
    source: str = "agent",
    audited: bool = True,
    policy: Policy | None = None,
) -> Ticket:
    """受理: record a new ticket with its reply deadline; returns the row (flushed).

    Without an explicit deadline (``due_at`` or ``due_days``) it is the category's
    ``ticket_reply_days`` of the policy in force on the day of receipt (China Standard Time).
    """
    channel = rules.parse_channel(data.channel)
    category = rules.parse_category(data.category)
    topic = data.topic.strip()
    if not topic:
        raise InvalidInput("工单主题不能为空", "the ticket's topic is required")
    received = _aware(data.received_at)
    if data.due_at is not None:
        deadline = _aware(data.due_at)
    else:
        days = data.due_days
        if days is None:
            entry = (policy or get_policy()).service_on(received.astimezone(BUSINESS_TZ).date())
            days = rules.reply_days(entry.ticket_reply_days, category)
        deadline = rules.due_at(received, days)
    if deadline < received:
        raise InvalidInput("答复时限早于受理时间", "the reply deadline is before receipt")
    branch_id = unit_by_code(session, data.branch_code).id if data.branch_code else None
    number = (data.ticket_no or "").strip()
    if number and session.scalar(select(Ticket.id).where(Ticket.ticket_no == number)):
        raise InvalidInput(f"工单编号已存在：{number}", f"ticket number already exists: {number}")
    row = Ticket(
        ticket_no=number or f"pending-{uuid.uuid4().hex}",
        source=source,
        channel=channel,
        caller_name=data.caller_name.strip()[:50],
        caller_phone=data.caller_phone.strip()[:20],
        topic=topic[:200],
        content=data.content,
        category=category,
        branch_id=branch_id,
        status="open",
        received_at=received,
        due_at=deadline,
        assignee="",
        escalation_level=0,
        escalation_reason="",
        reply="",
        replied_by="",
        callback_note="",
        created_by=actor.login_name[:100],
    )
    session.add(row)
    session.flush()
    if not number:
        row.ticket_no = f"GD{received.astimezone(BUSINESS_TZ):%Y%m%d}{row.id:06d}"
        session.flush()
    if audited:
        _audit(session, actor, "ticket.add", row, {"channel": channel, "category": category})
    return row


def get_ticket(session: Session, ticket_no: str, *, lock: bool = False) -> Ticket:
    stmt = select(Ticket).where(Ticket.ticket_no == ticket_no.strip())
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is None:
        raise TicketNotFound(f"工单不存在：{ticket_no}", f"no such ticket: {ticket_no}")
    return row


def assign(
    session: Session, ticket_no: str, assignee: str, actor: Principal, now: datetime
) -> Ticket:
    """分派: hand the ticket to an agent or a branch's handler."""
    row = get_ticket(session, ticket_no, lock=True)
    _require(row, rules.REPLYABLE, "分派", "assign")
    if not assignee.strip():
        raise InvalidInput("承办人不能为空", "the assignee is required")
    row.assignee = assignee.strip()[:100]
    row.assigned_at = _aware(now)
    if row.status == "open":
        row.status = "assigned"
    _audit(session, actor, "ticket.assign", row, {"assignee": row.assignee}, now)
    return row


def escalate(
    session: Session, ticket_no: str, reason: str, actor: Principal, now: datetime
) -> Ticket:
    """升级督办: raise the ticket one level (to a supervisor or the center's leadership)."""
    row = get_ticket(session, ticket_no, lock=True)
    _require(row, rules.REPLYABLE, "升级", "escalate")
    if not reason.strip():
        raise InvalidInput("升级原因不能为空", "the reason for escalation is required")
    row.escalation_level += 1
    row.escalated_at = _aware(now)
    row.escalation_reason = reason.strip()[:200]
    row.status = "escalated"
    _audit(session, actor, "ticket.escalate", row, {"level": row.escalation_level}, now)
    return row


def escalate_overdue(session: Session, now: datetime) -> int:
    """Escalate every unanswered ticket past its deadline that is not escalated yet (set-based)."""
    at = _aware(now)
    result = session.execute(
        update(Ticket)
        .where(
            Ticket.status.in_(("open", "assigned")),
            Ticket.due_at < at,
            Ticket.escalation_level == 0,
        )
        .values(
            status="escalated",
            escalation_level=1,
            escalated_at=at,
            escalation_reason="超过答复时限自动升级 overdue",
        )
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        audit.record(
            session, actor=None, action="ticket.escalate_overdue", detail={"count": count}, now=at
        )
    return count


def reply(session: Session, ticket_no: str, text: str, actor: Principal, now: datetime) -> Ticket:
    """答复/办结: the answer given to the caller; on time when no later than ``due_at``."""
    row = get_ticket(session, ticket_no, lock=True)
    _require(row, rules.REPLYABLE, "答复", "reply to")
    if not text.strip():
        raise InvalidInput("答复内容不能为空", "the reply text is required")
    at = _aware(now)
    if at < audit.utc(row.received_at):
        raise InvalidInput("答复时间早于受理时间", "the reply is dated before receipt")
    row.reply = text.strip()
    row.replied_at = at
    row.replied_by = actor.login_name[:100]
    row.status = "replied"
    on_time = rules.replied_on_time(at, audit.utc(row.due_at))
    _audit(session, actor, "ticket.reply", row, {"on_time": on_time}, now)
    return row


def callback(
    session: Session,
    ticket_no: str,
    *,
    reached: bool,
    rating: str | None,
    actor: Principal,
    now: datetime,
    note: str = "",
) -> Ticket:
    """回访: record whether the person was reached and, if so, their rating; reached closes it."""
    row = get_ticket(session, ticket_no, lock=True)
    _require(row, frozenset({"replied"}), "回访", "call back")
    code = rules.parse_rating(rating) if rating else None
    rules.check_callback(reached, code)
    row.callback_at = _aware(now)
    row.callback_reached = reached
    row.rating = code
    row.callback_note = note.strip()[:500]
    if reached:
        row.status = "closed"
    _audit(session, actor, "ticket.callback", row, {"reached": reached, "rating": code}, now)
    return row


def _require(row: Ticket, allowed: frozenset[str], verb_zh: str, verb_en: str) -> None:
    if row.status not in allowed:
        name_zh, name_en = rules.STATUS_NAMES[row.status]
        raise TicketStateError(
            f"工单 {row.ticket_no} 状态为{name_zh}，不能{verb_zh}",
            f"ticket {row.ticket_no} is {name_en}: cannot {verb_en} it",
        )


def _audit(
    session: Session,
    actor: Principal,
    action: str,
    row: Ticket,
    detail: dict[str, object],
    now: datetime | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="service_ticket",
        object_id=row.ticket_no,
        detail=detail,
        now=_aware(now) if now is not None else None,
    )
